/**
 * `npm run bench`, the relayer's part: webhook ingestion beside a bare Express handler that only
 * verifies the HMAC, and 1,000 orders end to end (webhook -> confirmed on the local chain) on
 * PGlite and, when DATABASE_URL is set, PostgreSQL, beside calling the custody's batch function
 * directly with the same orders on the same chain; and webhooks beside a shop registering users.
 * Prints the figures and adds them to bench/results.json under "relayer". Wall-clock figures: they vary with the machine.
 */
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { parseUnits } from "ethers";
import express from "express";
import { chainOrderId, custodialUserId } from "../server/adapters/chain/ids";
import type { Db } from "../server/adapters/db/db";
import { countByState } from "../server/adapters/db/orders";
import { openPglite } from "../server/adapters/db/pglite";
import { openPostgres } from "../server/adapters/db/postgres";
import { verifyInboundSignature } from "../server/domain/inbound-signature";
import { mergeResults } from "./bench-results";
import { CONCURRENCY, type Load, drive, round } from "./bench-load";
import { freePort } from "../test/helpers/net";
import { freshSchema } from "../test/helpers/postgres";
import { TEST_USER_SALT, createShop, startTestRelayer } from "../test/helpers/relayer";
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

async function ingestion() {
  const relayer = await startTestRelayer();
  try {
    const shop = await createShop(relayer.url, "Bench ingest");
    const bare = await bareHandler(shop.webhookSecret);
    await drive(bare.url, signedRequests(shop, "warm-bare", 200), 202);
    const bareLoad = await drive(bare.url, signedRequests(shop, "bare", INGEST_REQUESTS), 202);
    await bare.close();
    await drive(`${relayer.url}/v1/webhooks/orders`, signedRequests(shop, "warm", 200), 202);
    const relayerLoad = await drive(`${relayer.url}/v1/webhooks/orders`, signedRequests(shop, "ingest", INGEST_REQUESTS), 202);
    return { relayer: relayerLoad, bareExpressHmac: bareLoad, throughputRatio: round(relayerLoad.perSecond / bareLoad.perSecond, 3) };
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

async function endToEnd(label: string, db: Db) {
  const relayer = await startTestRelayer({ db });
  try {
    const shop = await createShop(relayer.url, `Bench ${label}`);
    const requests = signedRequests(shop, `e2e-${label}`, E2E_ORDERS);
    const blockBefore = await relayer.chain.blockNumber();
    const started = performance.now();
    const load = await drive(`${relayer.url}/v1/webhooks/orders`, requests, 202);
    for (;;) {
      const c = await countByState(db);
      if (c.received === 0 && c.submitted === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const counts = await countByState(db);
    if (counts.confirmed < E2E_ORDERS) throw new Error(`only ${counts.confirmed} of ${E2E_ORDERS} confirmed`);
    const gas = await gasSince(relayer, blockBefore);

    // The same orders (same users and amounts, new ids), straight into the custody's batch
    // function from the same key, as the sender would send them.
    const orders = Array.from({ length: E2E_ORDERS }, (_, i) => ({
      orderId: chainOrderId(shop.shopId, `direct-${i}`),
      user: custodialUserId(TEST_USER_SALT, `user-${i % 50}`),
      amount: parseUnits(ORDER_AMOUNT, relayer.chain.deployments.settlementDecimals),
    }));
    const directBlock = await relayer.chain.blockNumber();
    const directStarted = performance.now();
    for (let i = 0; i < orders.length; i += BATCH) {
      const tx = await relayer.chain.custody.recordOrders([{ shop: relayer.chain.sender, orders: orders.slice(i, i + BATCH) }]);
      await tx.wait();
    }
    const directSeconds = (performance.now() - directStarted) / 1000;
    const directGas = await gasSince(relayer, directBlock);
    return {
      database: label,
      orders: E2E_ORDERS,
      webhooksAcceptedPerSecond: load.perSecond,
      secondsToLastConfirmation: round(seconds, 3),
      ordersConfirmedPerSecond: round(E2E_ORDERS / seconds, 1),
      gasPerOrder: Math.round(gas.gas / E2E_ORDERS),
      transactions: gas.transactions,
      direct: {
        seconds: round(directSeconds, 3),
        ordersPerSecond: round(E2E_ORDERS / directSeconds, 1),
        gasPerOrder: Math.round(directGas.gas / E2E_ORDERS),
        transactions: directGas.transactions,
      },
      relayerToDirectRate: round(E2E_ORDERS / seconds / (E2E_ORDERS / directSeconds), 3),
    };
  } finally {
    await relayer.stop();
  }
}

/** Gas of the relayer key's transactions mined after `fromBlock`. */
async function gasSince(relayer: Awaited<ReturnType<typeof startTestRelayer>>, fromBlock: number) {
  const provider = relayer.chain.custody.runner!.provider!;
  const head = await provider.getBlockNumber();
  let gas = 0;
  let transactions = 0;
  for (let n = fromBlock + 1; n <= head; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() !== relayer.chain.sender.toLowerCase()) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      gas += Number(receipt!.gasUsed);
      transactions++;
    }
  }
  return { gas, transactions };
}

async function main() {
  console.log(`relayer benchmark (${os.cpus().length} cores, node ${process.version}; anvil automine, confirmations 0)`);
  console.log(`\nwebhook ingestion: ${INGEST_REQUESTS} signed webhooks, ${CONCURRENCY} in flight`);
  const ingest = await ingestion();
  const line = (name: string, l: Load) =>
    console.log(`  ${name.padEnd(34)} ${String(l.perSecond).padStart(8)}/s  p50 ${l.p50Ms} ms  p99 ${l.p99Ms} ms`);
  line("relayer (PGlite, sender running)", ingest.relayer);
  line("bare Express + HMAC only", ingest.bareExpressHmac);
  console.log(`  ratio relayer / bare: ${ingest.throughputRatio}`);

  console.log(
    `\nwebhooks beside registrations: ${BESIDE_WEBHOOKS} webhooks alone, then ${BESIDE_WEBHOOKS} while the shop registers ${BESIDE_REGISTRATIONS} users`,
  );
  const beside = await webhooksBesideRegistrations();
  line("webhooks alone", beside.webhooksAlone);
  line("webhooks beside registrations", beside.webhooksBesideRegistrations);
  line("registrations (argon2id x2 each)", beside.registrations);
  console.log(`  webhooks beside registrations / alone: throughput ${beside.throughputRatio}, p99 ${beside.p99Ratio}`);

  const endToEndRuns = [];
  console.log(`\nend to end: ${E2E_ORDERS} orders, webhook -> confirmed, batches of up to ${BATCH}`);
  const targets: { label: string; open: () => Promise<{ db: Db; done: () => Promise<void> }> }[] = [
    {
      label: "PGlite",
      open: async () => {
        const db = await openPglite(null);
        return { db, done: () => db.close() };
      },
    },
  ];
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    targets.push({
      label: "PostgreSQL",
      open: async () => {
        const schema = await freshSchema(url);
        const db = await openPostgres(schema.url);
        return {
          db,
          done: async () => {
            await db.close();
            await schema.drop();
          },
        };
      },
    });
  } else {
    console.log("  (PostgreSQL skipped: DATABASE_URL is not set)");
  }
  for (const target of targets) {
    const { db, done } = await target.open();
    try {
      const r = await endToEnd(target.label, db);
      endToEndRuns.push(r);
      console.log(
        `  ${r.database.padEnd(11)} ${r.ordersConfirmedPerSecond}/s confirmed, last confirmation after ${r.secondsToLastConfirmation} s, ` +
          `${r.gasPerOrder} gas/order in ${r.transactions} tx; direct batch calls ${r.direct.ordersPerSecond}/s, ${r.direct.gasPerOrder} gas/order; ` +
          `relayer/direct rate ${r.relayerToDirectRate}`,
      );
    } finally {
      await done();
    }
  }

  const written = mergeResults({
    relayer: {
      generatedAt: new Date().toISOString(),
      environment: { node: process.version, cores: os.cpus().length, chain: "anvil (automine), confirmations 0", concurrency: CONCURRENCY },
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
