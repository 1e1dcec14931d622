/**
 * A data folder made by an earlier version (test/fixtures/data-folder-v7, made by
 * scripts/make-data-folder-fixture.ts at schema version 7) started by this code as `npm start`
 * runs it: the migrations carry it over, and the relayer resumes with its orders, operations and
 * balances intact, sends what was received but not yet sent, and takes new orders.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { JsonRpcProvider, parseUnits } from "ethers";
import { Custody__factory, GreenPoints__factory } from "../../typechain-types";
import { openPglite } from "../../server/adapters/db/pglite";
import { contribution } from "../../server/domain/points-math";
import { call, postOrder, settledOperation, settledOrder } from "../helpers/relayer";
import { freePort } from "../helpers/net";
import { type RelayerProcess, isAlive, killHard, startRelayerProcess } from "../helpers/process";

const FIXTURE = path.join(__dirname, "..", "fixtures", "data-folder-v7");
const GP = (amount: string) => parseUnits(amount, 18);

describe("a data folder made before the upgrade", function () {
  this.timeout(300_000);
  const made = JSON.parse(fs.readFileSync(`${FIXTURE}.json`, "utf8"));
  let dir: string;
  let relayer: RelayerProcess;
  let provider: JsonRpcProvider;
  const read = async (route: string, token = relayer.adminToken) => {
    const res = await call(relayer.url, "GET", route, { token });
    expect(res.status, `${route}: ${JSON.stringify(res.body)}`).to.equal(200);
    return res.body;
  };
  const login = async (userId: string) => {
    const res = await call(relayer.url, "POST", "/v1/sessions", { body: { userId, password: `${userId}-login-pw` } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.token as string;
  };
  const orderRoute = (orderId: string) => `/v1/shops/${made.shop.shopId}/orders/${orderId}`;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-upgrade-"));
    execFileSync("tar", ["-xf", "-", "-C", dir], { input: zlib.brotliDecompressSync(fs.readFileSync(`${FIXTURE}.tar.br`)) });
    const chainPort = await freePort();
    relayer = await startRelayerProcess(dir, { GP_CHAIN_PORT: String(chainPort) });
    provider = new JsonRpcProvider(`http://127.0.0.1:${chainPort}`, undefined, { staticNetwork: true });
  });
  after(async function () {
    provider?.destroy();
    if (relayer && relayer.child.exitCode === null) {
      const anvil = relayer.anvilPid();
      killHard(relayer.child.pid);
      killHard(anvil);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("starts with the admin token kept in the folder", function () {
    expect(relayer.adminToken).to.equal(made.adminToken);
    expect(relayer.output()).to.contain(`admin token: in ${path.join(dir, "admin-token")}`);
  });

  it("keeps every confirmed order as it was: state, GP minted, transaction", async function () {
    for (const [orderId, order] of Object.entries<any>(made.orders)) {
      if (order.state === "confirmed") expect(await read(orderRoute(orderId)), orderId).to.deep.equal(order);
    }
  });

  it("keeps every confirmed operation as it was", async function () {
    for (const [operationId, operation] of Object.entries<any>(made.operations)) {
      if (operation.state === "confirmed") expect(await read(`/v1/operations/${operationId}`), operationId).to.deep.equal(operation);
    }
  });

  it("sends the order and the transfer that were received but not sent, once", async function () {
    const pending = made.orders[made.pendingOrder];
    expect(pending.state).to.equal("received");
    const order = await settledOrder(relayer.url, made.shop.shopId, made.pendingOrder, 60_000, relayer.adminToken);
    expect(order.state, JSON.stringify(order)).to.equal("confirmed");
    expect(GP(order.gpMinted)).to.be.greaterThan(0n);
    expect(made.operations[made.pendingTransfer].state).to.equal("queued");
    const transfer = await settledOperation(relayer.url, relayer.adminToken, made.pendingTransfer, 60_000);
    expect(transfer.state, JSON.stringify(transfer)).to.equal("confirmed");
    // A replay of the pending order is the same order, not a second one.
    const again = await postOrder(relayer.url, made.shop, { orderId: made.pendingOrder, userId: pending.userId, amount: pending.amount });
    expect(again.status, JSON.stringify(again.body)).to.equal(200);
  });

  it("keeps the balances: what the users had, moved only by the pending transfer, on the chain as over HTTP", async function () {
    const deployments = JSON.parse(fs.readFileSync(path.join(dir, "deployments.json"), "utf8"));
    const custody = Custody__factory.connect(deployments.custody, provider);
    const moved = GP(made.operations[made.pendingTransfer].details.amount);
    for (const [userId, sign] of [
      ["alice", -1n],
      ["bob", 1n],
    ] as const) {
      const was = made.me[userId];
      const now = await read("/v1/me", await login(userId));
      expect(GP(now.points), userId).to.equal(GP(was.points) + sign * moved);
      // `phone` came after the folder was made (issue 15): an account made then has none.
      // `pendingOrders` too (issue 18): a folder from before has no shop with a pending window.
      const { points: _p, redeemableNow: _r, phone, pendingOrders, ...rest } = now;
      expect(phone, userId).to.equal(null);
      expect(pendingOrders, userId).to.deep.equal([]);
      const { points: _wp, redeemableNow: _wr, ...restBefore } = was;
      expect(rest, userId).to.deep.equal(restBefore);
      const onChain = await custody.accountOf(made.users[userId].account);
      expect(onChain.points, userId).to.equal(GP(now.points));
    }
  });

  it("takes and confirms new orders, and knows the old ones", async function () {
    const poolBefore = await read("/v1/pool");
    const answer = await postOrder(relayer.url, made.shop, { orderId: "after-1", userId: "frank", amount: "100" });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(202);
    const order = await settledOrder(relayer.url, made.shop.shopId, "after-1", 60_000, relayer.adminToken);
    expect(order.state, JSON.stringify(order)).to.equal("confirmed");
    const old = made.orders.A;
    expect((await postOrder(relayer.url, made.shop, { orderId: "A", userId: old.userId, amount: old.amount })).status).to.equal(200);

    const pool = await read("/v1/pool");
    const decimals = pool.settlement.decimals;
    expect(GP(pool.supply)).to.equal(GP(poolBefore.supply) + GP(order.gpMinted));
    expect(parseUnits(pool.assets, decimals)).to.equal(
      parseUnits(poolBefore.assets, decimals) + contribution(parseUnits("100", decimals), BigInt(pool.params.poolShareBps)),
    );
    const deployments = JSON.parse(fs.readFileSync(path.join(dir, "deployments.json"), "utf8"));
    expect(await GreenPoints__factory.connect(deployments.points, provider).totalSupply()).to.equal(GP(pool.supply));
  });

  it("counts every order since the folder was made in the pool", async function () {
    const pool = await read("/v1/pool");
    const minted = [made.pendingOrder, "after-1"].map(async (id) => GP((await read(orderRoute(id))).gpMinted));
    let total = GP(made.pool.supply);
    for (const m of await Promise.all(minted)) total += m;
    expect(GP(pool.supply)).to.equal(total);
  });

  it("stops cleanly again (Ctrl-C)", async function () {
    const anvil = relayer.anvilPid();
    relayer.child.kill("SIGINT");
    expect(await relayer.exited, relayer.output()).to.equal(0);
    expect(isAlive(anvil)).to.equal(false);
  });

  it("holds the transactions it sent before and after under their new name, in the folder's database", async function () {
    const db = await openPglite(path.join(dir, "db"));
    try {
      const [{ before: stale }] = await db.query<{ before: string | null }>("SELECT to_regclass('batches')::text AS before");
      expect(stale).to.equal(null);
      const rows = await db.query<{ kind: string; state: string; orders: string | number; operations: string | number }>(
        `SELECT t.kind, t.state,
           (SELECT count(*) FROM orders o WHERE o.transaction_id = t.id) AS orders,
           (SELECT count(*) FROM operations p WHERE p.transaction_id = t.id) AS operations
         FROM transactions t ORDER BY t.id`,
      );
      // The folder's five (one of orders A-D, four operations), then E's, the pending transfer's and the new order's.
      expect(rows.length).to.be.at.least(8);
      expect(
        rows.every((r) => r.state === "confirmed"),
        JSON.stringify(rows),
      ).to.equal(true);
      const ordersSent = rows.reduce((n, r) => n + Number(r.orders), 0);
      const operationsSent = rows.reduce((n, r) => n + Number(r.operations), 0);
      expect([ordersSent, operationsSent]).to.deep.equal([Object.keys(made.orders).length + 1, Object.keys(made.operations).length]);
      // Every order sent, before the upgrade or after, is bound to the key of its transaction (migration 9 for the old ones).
      const unbound = await db.query(
        `SELECT o.order_id, o.sent_by, t.sender FROM orders o JOIN transactions t ON t.id = o.transaction_id
         WHERE o.sent_by IS DISTINCT FROM t.sender`,
      );
      expect(unbound, JSON.stringify(unbound)).to.deep.equal([]);
      const [{ bound }] = await db.query<{ bound: number }>("SELECT count(*)::int AS bound FROM orders WHERE sent_by IS NOT NULL");
      expect(bound).to.equal(ordersSent);
    } finally {
      await db.close();
    }
  });
});
