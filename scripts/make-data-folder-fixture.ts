/**
 * Makes the data folder fixture of test/server/data-folder-upgrade.test.ts: `npm start` run as a
 * process on a fresh data folder and driven over HTTP, stopped with Ctrl-C (SIGINT), packed.
 * Run it with the code whose data folder the fixture stands for (a fixture is made once, before a
 * schema change, and kept):
 *
 *   npx hardhat compile && npx ts-node --transpile-only scripts/make-data-folder-fixture.ts test/fixtures/data-folder-v7
 *
 * It writes `<name>.tar.br` (the data folder: chain/state.json, db/ (PGlite), deployments.json,
 * admin-key, admin-token; a tar compressed with Node's own brotli, 1.5 MB where gzip makes 5) and `<name>.json` (what that code answered before it stopped, for the test to
 * compare with). The folder holds a shop, users registered with a custodial account, confirmed
 * orders, a merchant, a confirmed GP transfer, and one order and one transfer received but not
 * yet sent (the second start waits a minute between rounds, and is stopped before its next).
 */
import { execFileSync } from "node:child_process";
import * as zlib from "node:zlib";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { call, createShop, postOrder, settledOperation, settledOrder } from "../test/helpers/relayer";
import { type RelayerProcess, startRelayerProcess } from "../test/helpers/process";

const ORDERS = [
  { orderId: "A", userId: "alice", amount: "100" },
  { orderId: "B", userId: "alice", amount: "100" },
  { orderId: "C", userId: "bob", amount: "100", referrerId: "alice" },
  { orderId: "D", userId: "dave", amount: "12.5" },
];
const PENDING_ORDER = { orderId: "E", userId: "erin", amount: "40" };

async function expectStatus(answer: Promise<{ status: number; body: any }>, status: number) {
  const res = await answer;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function stop(p: RelayerProcess) {
  p.child.kill("SIGINT");
  const code = await p.exited;
  if (code !== 0) throw new Error(`the relayer stopped with ${code}:\n${p.output()}`);
}

async function main() {
  const out = path.resolve(process.argv[2] ?? "test/fixtures/data-folder");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-fixture-"));
  const key = () => ({ "idempotency-key": randomUUID() });

  const first = await startRelayerProcess(dir);
  const admin = (method: string, route: string, body?: unknown) =>
    call(first.url, method, route, { token: first.adminToken, body, headers: key() });
  const shop = await createShop(first.url, "Before the upgrade", first.adminToken);
  const users: Record<string, { account: string; operationId: string }> = {};
  for (const [userId, paymentPassword] of [
    ["alice", "alice-pay"],
    ["bob", "bob-pay"],
  ]) {
    const body = await expectStatus(admin("POST", "/v1/users", { userId, password: `${userId}-login-pw`, paymentPassword }), 201);
    await settledOperation(first.url, first.adminToken, body.operation.operationId, 60_000);
    users[userId] = { account: body.account, operationId: body.operation.operationId };
  }
  for (const order of ORDERS) await expectStatus(postOrder(first.url, shop, order), 202);
  for (const order of ORDERS) await settledOrder(first.url, shop.shopId, order.orderId, 60_000, first.adminToken);
  const merchant = await expectStatus(admin("POST", "/v1/admin/merchants", { name: "Corner Café" }), 201);
  await settledOperation(first.url, first.adminToken, merchant.operation.operationId, 60_000);
  const alice = (
    await expectStatus(call(first.url, "POST", "/v1/sessions", { body: { userId: "alice", password: "alice-login-pw" } }), 201)
  ).token;
  const pay = (url: string, body: unknown) =>
    call(url, "POST", "/v1/me/transfers", { token: alice, body, headers: { ...key(), "x-gp-payment-password": "alice-pay" } });
  const transfer = await expectStatus(pay(first.url, { toUserId: "bob", asset: "GP", amount: "1.5" }), 202);
  await settledOperation(first.url, alice, transfer.operationId, 60_000);
  await stop(first);

  // A minute between rounds: what arrives after the first round stays received until the next start.
  const second = await startRelayerProcess(dir, { GP_BATCH_WAIT_MS: "60000" });
  await new Promise((r) => setTimeout(r, 3_000));
  await expectStatus(postOrder(second.url, shop, PENDING_ORDER), 202);
  const pendingTransfer = await expectStatus(pay(second.url, { toUserId: "bob", asset: "GP", amount: "0.25" }), 202);
  const read = (route: string, token = second.adminToken) => expectStatus(call(second.url, "GET", route, { token }), 200);
  const orders: Record<string, unknown> = {};
  for (const { orderId } of [...ORDERS, PENDING_ORDER]) orders[orderId] = await read(`/v1/shops/${shop.shopId}/orders/${orderId}`);
  const operations: Record<string, unknown> = {};
  for (const id of [
    users.alice.operationId,
    users.bob.operationId,
    merchant.operation.operationId,
    transfer.operationId,
    pendingTransfer.operationId,
  ])
    operations[id] = await read(`/v1/operations/${id}`);
  const pendingStates = [(orders[PENDING_ORDER.orderId] as any).state, (operations[pendingTransfer.operationId] as any).state];
  if (pendingStates.join() !== "received,queued")
    throw new Error(`the pending order and transfer were sent already: ${pendingStates.join()}`);
  const me: Record<string, unknown> = {};
  for (const userId of ["alice", "bob"]) {
    const token = (await expectStatus(call(second.url, "POST", "/v1/sessions", { body: { userId, password: `${userId}-login-pw` } }), 201))
      .token;
    me[userId] = await read("/v1/me", token);
  }
  const snapshot = {
    adminToken: second.adminToken,
    shop,
    users,
    merchant: { merchantId: merchant.merchantId, account: merchant.account, operationId: merchant.operation.operationId },
    transfer: transfer.operationId,
    pendingOrder: PENDING_ORDER.orderId,
    pendingTransfer: pendingTransfer.operationId,
    orders,
    operations,
    me,
    pool: await read("/v1/pool"),
  };
  await stop(second);

  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tar = execFileSync("tar", ["--sort=name", "-cf", "-", "-C", dir, "."], { maxBuffer: 1 << 30 });
  const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_LGWIN, BROTLI_PARAM_SIZE_HINT } = zlib.constants;
  const packed = zlib.brotliCompressSync(tar, {
    params: { [BROTLI_PARAM_QUALITY]: 11, [BROTLI_PARAM_LGWIN]: 24, [BROTLI_PARAM_SIZE_HINT]: tar.length },
  });
  fs.writeFileSync(`${out}.tar.br`, packed);
  fs.writeFileSync(`${out}.json`, JSON.stringify(snapshot, null, 2) + "\n");
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`wrote ${out}.tar.br (${packed.length} bytes) and ${out}.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
