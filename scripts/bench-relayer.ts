/**
 * `npm run bench`, the relayer's part: webhook ingestion on PGlite and, when DATABASE_URL is set,
 * on PostgreSQL (a fresh schema), each beside a bare Express handler that only verifies the HMAC,
 * measured just before it; webhooks beside a shop registering users; and 1,000 orders end to end
 * (webhook -> confirmed on the local chain) on PGlite, on PostgreSQL with one relayer and with two
 * (two relayers in this process on one database, each with its own key, half the webhooks to
 * each), each beside calling the custody's batch function directly with the same orders on the
 * same chain. BENCH_PARTS (ingestion,registrations,e2e by default) picks parts. Prints the figures
 * and adds them to bench/results.json under "relayer". Wall-clock figures: they vary with the machine.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, NonceManager, Wallet, parseEther, parseUnits } from "ethers";
import express from "express";
import pino from "pino";
import { connectChain } from "../server/adapters/chain/chain";
import { chainOrderId, custodialUserId } from "../server/adapters/chain/ids";
import { DEFAULT_SETTLEMENT_FLOAT, EMBEDDED_REFILL_BUDGET, grantRelayerRoles } from "../server/adapters/chain/local-deployment";
import { orderKey } from "../server/adapters/chain/order-key";
import type { Db } from "../server/adapters/db/db";
import { countByState } from "../server/adapters/db/orders";
import { openPglite } from "../server/adapters/db/pglite";
import { openPostgres } from "../server/adapters/db/postgres";
import { verifyInboundSignature } from "../server/domain/inbound-signature";
import { MODULE_DEPLOYMENTS } from "../server/modules";
import { startRelayer } from "../server/relayer";
import { Custody__factory, MockStablecoin__factory, Pool__factory } from "../typechain-types";
import { mergeResults } from "./bench-results";
import { CONCURRENCY, type Load, drive, round } from "./bench-load";
import { freePort } from "../test/helpers/net";
import { freshSchema } from "../test/helpers/postgres";
import { TEST_ADMIN_TOKEN, TEST_USER_SALT, type TestRelayer, createShop, startTestRelayer } from "../test/helpers/relayer";
import { signedInboundOrder } from "../test/helpers/inbound-orders";

const INGEST_REQUESTS = 2_000;
const E2E_ORDERS = 1_000;
const BATCH = 100;
const ORDER_AMOUNT = "10.00";

function signedRequests(shop: { shopId: string; webhookSecret: string }, prefix: string, n: number) {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => {
    const s = signedInboundOrder(
      shop.shopId,
      shop.webhookSecret,
      { orderId: `${prefix}-${i}`, userId: `user-${i % 50}`, amount: ORDER_AMOUNT },
      now,
    );
    return {
      headers: { "content-type": "application/json", "x-gp-shop": s.shopId, "x-gp-timestamp": s.timestamp, "x-gp-signature": s.signature },
      body: s.rawBody.toString("utf8"),
    };
  });
}

/** The floor: Express, the raw body, the HMAC check, an answer; no database, no validation. */
async function bareHandler(secret: string) {
  const app = express();
  app.post("/v1/webhooks/orders", express.raw({ type: () => true }), (req, res) => {
    verifyInboundSignature(
      { rawBody: req.body as Buffer, timestamp: req.header("x-gp-timestamp"), signature: req.header("x-gp-signature") },
      secret,
      Math.floor(Date.now() / 1000),
    );
    res.status(202).json({ ok: true });
  });
  const port = await freePort();
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${port}/v1/webhooks/orders`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The relayer on `db` (PGlite in memory when absent) beside the bare handler, measured one after
 * the other in the same relayer's lifetime so both see the same machine.
 */
async function ingestion(label: string, db?: Db) {
  const relayer = await startTestRelayer(db ? { db } : {});
  try {
    const shop = await createShop(relayer.url, `Bench ingest ${label}`);
    const bare = await bareHandler(shop.webhookSecret);
    await drive(bare.url, signedRequests(shop, "warm-bare", 200), 202);
    const bareLoad = await drive(bare.url, signedRequests(shop, "bare", INGEST_REQUESTS), 202);
    await bare.close();
    await drive(`${relayer.url}/v1/webhooks/orders`, signedRequests(shop, "warm", 200), 202);
    const relayerLoad = await drive(`${relayer.url}/v1/webhooks/orders`, signedRequests(shop, "ingest", INGEST_REQUESTS), 202);
    return {
      database: label,
      relayer: relayerLoad,
      bareExpressHmac: bareLoad,
      throughputRatio: round(relayerLoad.perSecond / bareLoad.perSecond, 3),
    };
  } finally {
    await relayer.stop();
  }
}

const BESIDE_WEBHOOKS = 1_000;
const BESIDE_REGISTRATIONS = 200;

/**
 * Webhooks alone, then the same number while the shop registers users (argon2id twice each) at
 * the same time, on PGlite's one connection: the slow work of a registration runs before its
 * transaction opens, so the webhooks should not wait behind it.
 */
async function webhooksBesideRegistrations() {
  const relayer = await startTestRelayer();
  try {
    const shop = await createShop(relayer.url, "Bench registrations");
    const url = `${relayer.url}/v1/webhooks/orders`;
    await drive(url, signedRequests(shop, "warm-beside", 200), 202);
    const alone = await drive(url, signedRequests(shop, "alone", BESIDE_WEBHOOKS), 202);
    const registrations = Array.from({ length: BESIDE_REGISTRATIONS }, (_, i) => ({
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${shop.webhookSecret}`,
        "x-gp-shop": shop.shopId,
        "idempotency-key": `bench-registration-${i}`,
      },
      body: JSON.stringify({ userId: `registered-${i}`, password: "bench-login-pw", paymentPassword: "bench-pay" }),
    }));
    const [beside, registered] = await Promise.all([
      drive(url, signedRequests(shop, "beside", BESIDE_WEBHOOKS), 202),
      drive(`${relayer.url}/v1/users`, registrations, 201),
    ]);
    return {
      webhooksAlone: alone,
      webhooksBesideRegistrations: beside,
      registrations: registered,
      throughputRatio: round(beside.perSecond / alone.perSecond, 2),
      p99Ratio: round(beside.p99Ms / alone.p99Ms, 2),
    };
  } finally {
    await relayer.stop();
  }
}

/**
 * A second relayer on the first one's chain and database, with a key of its own that the
 * deployment's admin (the treasury) equips as ensureLocalDeployment equips the first: gas, the
 * relayer roles, a settlement float, a refill budget, and the key's own allowances bounded by its
 * float.
 */
async function startSecondRelayer(first: TestRelayer, db: Db) {
  const d = first.chain.deployments;
  const provider = new JsonRpcProvider(first.anvil.url, undefined, { staticNetwork: true });
  try {
    const admin = new NonceManager(new Wallet(fs.readFileSync(path.join(first.dir, "admin-key"), "utf8").trim(), provider));
    const key = Wallet.createRandom().privateKey;
    const own = new NonceManager(new Wallet(key, provider));
    const address = await own.getAddress();
    const modules = MODULE_DEPLOYMENTS.flatMap((m) =>
      m.contracts.flatMap((entry) => {
        const at = (d as unknown as Record<string, unknown>)[entry.name];
        return typeof at === "string" ? [{ entry, address: at }] : [];
      }),
    );
    await (await admin.sendTransaction({ to: address, value: parseEther("100") })).wait();
    await grantRelayerRoles(admin, Pool__factory.connect(d.pool, admin), Custody__factory.connect(d.custody, admin), modules, address);
    const settlement = MockStablecoin__factory.connect(d.settlement, admin);
    await (await settlement.transfer(address, DEFAULT_SETTLEMENT_FLOAT)).wait();
    await (await settlement.approve(address, EMBEDDED_REFILL_BUDGET)).wait();
    const asSecond = settlement.connect(own);
    await (await asSecond.approve(d.pool, DEFAULT_SETTLEMENT_FLOAT)).wait();
    for (const { entry, address: at } of modules) if (entry.spender) await (await asSecond.approve(at, DEFAULT_SETTLEMENT_FLOAT)).wait();
    const chain = connectChain(first.anvil.url, key, d);
    const relayer = await startRelayer({
      db,
      chain,
      userSalt: TEST_USER_SALT,
      adminToken: TEST_ADMIN_TOKEN,
      log: pino({ level: "silent" }),
      sender: {
        batchSize: BATCH,
        confirmations: 0,
        replaceAfterMs: 60_000,
        settlement: { float: DEFAULT_SETTLEMENT_FLOAT, treasury: d.treasury! },
      },
      batchWaitMs: 20,
      listen: { port: 0, host: "127.0.0.1" },
    });
    return {
      url: relayer.url,
      sender: chain.sender,
      stop: async () => {
        await relayer.stop();
        chain.close();
      },
    };
  } finally {
    provider.destroy();
  }
}

/** How long the orders may take to be confirmed before the run is reported as stalled. */
const E2E_DEADLINE_MS = 240_000;

/**
 * 1,000 orders webhook -> confirmed through `relayers` relayers on `db` (the webhooks split evenly
 * between them), then the same orders by direct batch calls on the same chain. Each order must be
 * credited on the chain exactly once; a second credit (two relayers sending the same order, under
 * their two shop addresses) or a stall is reported, not hidden.
 */
async function endToEnd(label: string, db: Db, relayers: 1 | 2) {
  const first = await startTestRelayer({ db });
  const second = relayers === 2 ? await startSecondRelayer(first, db) : null;
  try {
    const shop = await createShop(first.url, `Bench ${label} ${relayers}`);
    const requests = signedRequests(shop, `e2e-${label}-${relayers}`, E2E_ORDERS);
    const urls = [first.url, ...(second ? [second.url] : [])].map((u) => `${u}/v1/webhooks/orders`);
    const senders = [first.chain.sender, ...(second ? [second.sender] : [])];
    const blockBefore = await first.chain.blockNumber();
    const started = performance.now();
    const loads = await Promise.all(
      urls.map((url, k) =>
        drive(
          url,
          requests.filter((_, i) => i % urls.length === k),
          202,
        ),
      ),
    );
    let counts = await countByState(db);
    while ((counts.received > 0 || counts.submitted > 0) && performance.now() - started < E2E_DEADLINE_MS) {
      await new Promise((r) => setTimeout(r, 20));
      counts = await countByState(db);
    }
    const seconds = (performance.now() - started) / 1000;
    const gas = await gasSince(first, blockBefore, senders);
    const credits = await creditsOf(
      first,
      blockBefore,
      senders,
      requests.map((_, i) => chainOrderId(shop.shopId, `e2e-${label}-${relayers}-${i}`)),
    );
    const stalled = counts.received > 0 || counts.submitted > 0;

    // The same orders (same users and amounts, new ids), straight into the custody's batch
    // function from the first key, as the sender would send them.
    const orders = Array.from({ length: E2E_ORDERS }, (_, i) => ({
      orderId: chainOrderId(shop.shopId, `direct-${label}-${relayers}-${i}`),
      user: custodialUserId(TEST_USER_SALT, `user-${i % 50}`),
      amount: parseUnits(ORDER_AMOUNT, first.chain.deployments.settlementDecimals),
    }));
    const directBlock = await first.chain.blockNumber();
    const directStarted = performance.now();
    for (let i = 0; i < orders.length; i += BATCH) {
      const tx = await first.chain.custody.recordOrders([{ shop: first.chain.sender, orders: orders.slice(i, i + BATCH) }]);
      await tx.wait();
    }
    const directSeconds = (performance.now() - directStarted) / 1000;
    const directGas = await gasSince(first, directBlock, [first.chain.sender]);
    return {
      database: label,
      relayers,
      orders: E2E_ORDERS,
      webhooksAcceptedPerSecond: round(loads.reduce((sum, l) => sum + l.requests, 0) / Math.max(...loads.map((l) => l.seconds)), 1),
      states: counts,
      stalled,
      credits,
      secondsToLastConfirmation: round(seconds, 3),
      ordersConfirmedPerSecond: round(counts.confirmed / seconds, 1),
      gasPerOrder: Math.round(gas.gas / E2E_ORDERS),
      transactions: gas.transactions,
      transactionsPerSender: senders.map((s) => gas.perSender[s.toLowerCase()] ?? 0),
      revertedTransactions: gas.reverted,
      direct: {
        seconds: round(directSeconds, 3),
        ordersPerSecond: round(E2E_ORDERS / directSeconds, 1),
        gasPerOrder: Math.round(directGas.gas / E2E_ORDERS),
        transactions: directGas.transactions,
      },
      relayerToDirectRate: round(counts.confirmed / seconds / (E2E_ORDERS / directSeconds), 3),
    };
  } finally {
    await second?.stop();
    await first.stop();
  }
}

/** Gas of the transactions from `senders` mined after `fromBlock`, per sender too, and how many reverted. */
async function gasSince(relayer: TestRelayer, fromBlock: number, senders: string[]) {
  const provider = relayer.chain.custody.runner!.provider!;
  const head = await provider.getBlockNumber();
  const from = new Set(senders.map((s) => s.toLowerCase()));
  let gas = 0;
  let transactions = 0;
  let reverted = 0;
  const perSender: Record<string, number> = {};
  for (let n = fromBlock + 1; n <= head; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (!from.has(tx.from.toLowerCase())) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      gas += Number(receipt!.gasUsed);
      transactions++;
      if (receipt!.status !== 1) reverted++;
      perSender[tx.from.toLowerCase()] = (perSender[tx.from.toLowerCase()] ?? 0) + 1;
    }
  }
  return { gas, transactions, reverted, perSender };
}

/**
 * How often the custody credited each of `orderIds` since `fromBlock`, under any of the
 * senders' shop keys (the sender records an order under its own address): each must be once.
 */
async function creditsOf(relayer: TestRelayer, fromBlock: number, senders: string[], orderIds: string[]) {
  const custody = relayer.chain.custody;
  const keys = new Map<string, string>();
  for (const id of orderIds) for (const s of senders) keys.set(orderKey(s, id), id);
  const times = new Map<string, number>();
  for (const log of await custody.queryFilter(custody.filters.OrderCredited(), fromBlock + 1)) {
    const id = keys.get((log as unknown as { args: { orderKey: string } }).args.orderKey);
    if (id) times.set(id, (times.get(id) ?? 0) + 1);
  }
  const counts = [...times.values()];
  return { credited: times.size, creditedTwiceOrMore: counts.filter((n) => n > 1).length, neverCredited: orderIds.length - times.size };
}

const PARTS = (process.env.BENCH_PARTS ?? "ingestion,registrations,e2e").split(",");

async function main() {
  console.log(`relayer benchmark (${os.cpus().length} cores, node ${process.version}; anvil automine, confirmations 0)`);
  const pgUrl = process.env.DATABASE_URL;
  if (!pgUrl) console.log("(the PostgreSQL parts are skipped: DATABASE_URL is not set)");
  const onPostgres = async <T>(work: (db: Db) => Promise<T>): Promise<T> => {
    const schema = await freshSchema(pgUrl!);
    const db = await openPostgres(schema.url);
    try {
      return await work(db);
    } finally {
      await db.close();
      await schema.drop();
    }
  };
  const onPglite = async <T>(work: (db: Db) => Promise<T>): Promise<T> => {
    const db = await openPglite(null);
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  };
  const line = (name: string, l: Load) =>
    console.log(`  ${name.padEnd(34)} ${String(l.perSecond).padStart(8)}/s  p50 ${l.p50Ms} ms  p99 ${l.p99Ms} ms`);

  const ingest = [];
  if (PARTS.includes("ingestion")) {
    console.log(
      `\nwebhook ingestion: ${INGEST_REQUESTS} signed webhooks, ${CONCURRENCY} in flight, each beside the bare handler just before it`,
    );
    ingest.push(await ingestion("PGlite"));
    if (pgUrl) ingest.push(await onPostgres((db) => ingestion("PostgreSQL", db)));
    for (const r of ingest) {
      line(`relayer (${r.database}, sender running)`, r.relayer);
      line("bare Express + HMAC only", r.bareExpressHmac);
      console.log(`  ratio relayer on ${r.database} / bare: ${r.throughputRatio}`);
    }
  }

  let beside = null;
  if (PARTS.includes("registrations")) {
    console.log(
      `\nwebhooks beside registrations: ${BESIDE_WEBHOOKS} webhooks alone, then ${BESIDE_WEBHOOKS} while the shop registers ${BESIDE_REGISTRATIONS} users`,
    );
    beside = await webhooksBesideRegistrations();
    line("webhooks alone", beside.webhooksAlone);
    line("webhooks beside registrations", beside.webhooksBesideRegistrations);
    line("registrations (argon2id x2 each)", beside.registrations);
    console.log(`  webhooks beside registrations / alone: throughput ${beside.throughputRatio}, p99 ${beside.p99Ratio}`);
  }

  const endToEndRuns = [];
  if (PARTS.includes("e2e")) {
    console.log(`\nend to end: ${E2E_ORDERS} orders, webhook -> confirmed, batches of up to ${BATCH}`);
    const runs: [string, 1 | 2][] = [
      ["PGlite", 1],
      ...(pgUrl
        ? ([
            ["PostgreSQL", 1],
            ["PostgreSQL", 2],
          ] as [string, 1 | 2][])
        : []),
    ];
    for (const [label, relayers] of runs) {
      const r = await (label === "PGlite" ? onPglite : onPostgres)((db) => endToEnd(label, db, relayers));
      endToEndRuns.push(r);
      console.log(
        `  ${r.database.padEnd(11)} ${r.relayers} relayer${r.relayers > 1 ? "s" : " "} ${r.ordersConfirmedPerSecond}/s confirmed, ` +
          `last after ${r.secondsToLastConfirmation} s, ${r.gasPerOrder} gas/order in ${r.transactions} tx (${r.transactionsPerSender.join(" + ")} by sender, ${r.revertedTransactions} reverted); ` +
          `direct batch calls ${r.direct.ordersPerSecond}/s, ${r.direct.gasPerOrder} gas/order; relayer/direct rate ${r.relayerToDirectRate}`,
      );
      if (r.stalled || r.credits.creditedTwiceOrMore > 0 || r.credits.neverCredited > 0) {
        process.exitCode = 1;
        console.log(
          `    NOT RIGHT: states ${JSON.stringify(r.states)}${r.stalled ? ` still open after ${E2E_DEADLINE_MS / 1000} s` : ""}; ` +
            `credited on the chain ${r.credits.credited}, twice or more ${r.credits.creditedTwiceOrMore}, never ${r.credits.neverCredited}`,
        );
      }
    }
  }

  const written = mergeResults({
    relayer: {
      generatedAt: new Date().toISOString(),
      environment: { node: process.version, cores: os.cpus().length, chain: "anvil (automine), confirmations 0", concurrency: CONCURRENCY },
      parts: PARTS,
      ingestion: ingest,
      besideRegistrations: beside,
      endToEnd: endToEndRuns,
    },
  });
  console.log(`\nadded to ${written}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
