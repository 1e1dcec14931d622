/**
 * Several relayers (issue 14): two `npm start` processes on one chain and one PostgreSQL, with a
 * key each and with one shared key. A shop sends 1,000 signed orders to the two alternately; the
 * first process is killed outright half-way and started again on its data folder, and the shop
 * sends to the other meanwhile what got no answer. Then, from the database and from the chain:
 * every order minted exactly once, under exactly one relayer address, and every key's nonces used
 * once each, none left stalling the chain. PGlite cannot be shared by two processes, so this runs
 * only with DATABASE_URL.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Wallet, parseUnits } from "ethers";
import pg from "pg";
import { DEFAULT_SETTLEMENT_FLOAT } from "../../server/adapters/chain/local-deployment";
import { orderKey } from "../../server/adapters/chain/order-key";
import { contribution } from "../../server/domain/points-math";
import { LOCKED_POINTS } from "../../models/pool-model";
import { Custody__factory, GreenPoints__factory, MockStablecoin__factory, Pool__factory } from "../../typechain-types";
import { type ExternalStack, startExternalStack } from "../helpers/external-stack";
import { freshSchema } from "../helpers/postgres";
import { type RelayerProcess, killHard, startRelayerProcess } from "../helpers/process";
import { TEST_ADMIN_TOKEN, call, createShop, postOrder } from "../helpers/relayer";

const ORDERS = 1_000;
/** Webhooks in flight at once, as a shop's workers would send them. */
const CONCURRENCY = 12;
/** Process 1 is killed when this many orders have been answered... */
const KILL_AT = 500;
/** ...and orders from this one on wait for its restart, so the rest go to both again. */
const AFTER_RESTART = 700;
const USERS = 40;

const amountOf = (i: number) => String(5 + (i % 10));
const orderOf = (i: number) => ({ orderId: `order-${i}`, userId: `user-${i % USERS}`, amount: amountOf(i) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pino lines of a process's output with message `msg`. */
function logLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** One run of a process (a start until it stopped or was killed), and what the shop saw of it. */
interface Life {
  name: string;
  process: RelayerProcess;
  accepted: number;
  replayed: number;
  unanswered: number;
}

describe("several relayers on one chain and one PostgreSQL", function () {
  this.timeout(240_000);

  before(function () {
    if (!process.env.DATABASE_URL) {
      console.log("      (skipped: two relayer processes need a shared PostgreSQL; set DATABASE_URL, PGlite is one process's)");
      this.skip();
    }
  });

  let stack: ExternalStack | null = null;
  let schema: Awaited<ReturnType<typeof freshSchema>> | null = null;
  let db: pg.Client | null = null;
  const lives: Life[] = [];
  const dirs: string[] = [];
  afterEach(async function () {
    for (const life of lives.splice(0)) killHard(life.process.child.pid);
    await db?.end();
    db = null;
    await schema?.drop();
    schema = null;
    await stack?.stop();
    stack = null;
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const scenario of [
    { name: "a key each", keys: 2 },
    { name: "one shared key", keys: 1 },
  ]) {
    it(`with ${scenario.name}: mints each of 1,000 orders once through a SIGKILL and a restart, and leaves no nonce gap`, async function () {
      const startedAt = Date.now();
      stack = await startExternalStack({ moreRelayerKeys: scenario.keys - 1 });
      schema = await freshSchema(process.env.DATABASE_URL!);
      const keys = [stack.relayerKeys[0], stack.relayerKeys[scenario.keys - 1]];
      const senders = [...new Set(keys.map((k) => new Wallet(k).address))];
      const dataDirs = [0, 1].map(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-relayers-"));
        dirs.push(dir);
        return dir;
      });
      const envOf = (n: number) => ({
        RPC_URL: stack!.rpcUrl,
        RELAYER_PRIVATE_KEY: keys[n],
        DEPLOYMENTS_FILE: stack!.deploymentsFile,
        DATABASE_URL: schema!.url,
        GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        // The sender's "batch sent" and "operation sent" lines are the per-process figures.
        LOG_LEVEL: "info",
      });
      const startLife = async (n: number, name: string) => {
        const life: Life = { name, process: await startRelayerProcess(dataDirs[n], envOf(n)), accepted: 0, replayed: 0, unanswered: 0 };
        lives.push(life);
        return life;
      };
      // One after the other: the first migrates the schema.
      const current: Life[] = [await startLife(0, "process 1"), await startLife(1, "process 2")];
      db = new pg.Client({ connectionString: schema.url });
      await db.connect();
      const client = db;
      const rows = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
        (await client.query<T>(sql, params)).rows;
      let firstUp = true;
      const shop = await createShop(current[0].process.url, "Two relayers");
      const sendingAt = Date.now();

      let answered = 0;
      let restart: Promise<void> | null = null;
      let atKill: Promise<{ orders: string; open: number }> | null = null;
      const killFirst = () => {
        firstUp = false;
        const killed = current[0];
        killHard(killed.process.child.pid);
        // What the kill cut into: orders not yet minted, and transactions sent and not yet confirmed.
        atKill = (async () => {
          const states = await rows<{ state: string; n: number }>(
            "SELECT state, count(*)::int AS n FROM orders GROUP BY state ORDER BY state",
          );
          const [open] = await rows<{ n: number }>("SELECT count(*)::int AS n FROM transactions WHERE state IN ('sent', 'mined')");
          return { orders: states.map((r) => `${r.n} ${r.state}`).join(", "), open: open.n };
        })();
        restart = (async () => {
          expect(await killed.process.exited).to.equal("SIGKILL");
          current[0] = await startLife(0, "process 1, restarted");
          firstUp = true;
        })();
      };
      const send = async (i: number) => {
        if (i >= AFTER_RESTART) await restart;
        // Even orders to process 1 while it is up, odd ones (and the even ones meanwhile) to process 2.
        let target = i % 2 === 0 && firstUp ? 0 : 1;
        for (let attempt = 1; ; attempt++) {
          const life = current[target];
          const answer = await postOrder(life.process.url, shop, orderOf(i)).catch(() => null);
          if (answer) {
            expect(answer.status, `order ${i} at ${life.name}: ${JSON.stringify(answer.body)}`).to.be.oneOf([200, 202]);
            if (answer.status === 202) life.accepted++;
            else life.replayed++;
            if (++answered === KILL_AT) killFirst();
            return;
          }
          // No answer: the shop sends it again, to the other process when this one is gone.
          life.unanswered++;
          if (attempt === 5)
            throw new Error(`order ${i} got no answer 5 times; last from ${life.name}:\n${life.process.output().slice(-3_000)}`);
          target = firstUp ? 1 - target : 1;
          await sleep(50);
        }
      };
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ORDERS) await send(next++);
        }),
      );
      const sentAt = Date.now();
      expect(restart, "process 1 was killed").to.not.equal(null);

      const progress = async () => {
        const counts = Object.fromEntries(
          (await rows<{ state: string; n: number }>("SELECT state, count(*)::int AS n FROM orders GROUP BY state")).map((r) => [
            r.state,
            r.n,
          ]),
        );
        const [open] = await rows<{ n: number }>("SELECT count(*)::int AS n FROM transactions WHERE state IN ('sent', 'mined')");
        const [queued] = await rows<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE state IN ('queued', 'submitted')");
        return { counts, open: open.n, queued: queued.n };
      };
      const { provider, deployments } = stack;
      const custody = Custody__factory.connect(deployments.custody, provider);
      const fromOf = new Map<string, string>();
      const txFrom = async (hash: string) => {
        if (!fromOf.has(hash)) fromOf.set(hash, (await provider.getTransaction(hash))!.from);
        return fromOf.get(hash)!;
      };
      /** The figures, printed also when a check fails: per process life from its log, per sender from the database and the chain. */
      const printFigures = async () => {
        const byProcess = lives.map((l) => {
          const batches = logLines(l.process.output(), "batch sent");
          return {
            process: l.name,
            sender: new Wallet(keys[l.name.startsWith("process 1") ? 0 : 1]).address.slice(0, 10),
            "orders accepted (202)": l.accepted,
            "answered again (200)": l.replayed,
            "got no answer": l.unanswered,
            "batches sent": batches.length,
            "orders in them": batches.reduce((n, b) => n + Number(b.orders), 0),
            "operations sent": logLines(l.process.output(), "operation sent").length,
            "steps failed": logLines(l.process.output(), "relayer step failed; retrying").length,
          };
        });
        const transactions = await rows<{ sender: string; nonce: number; kind: string; state: string }>(
          "SELECT sender, nonce::int AS nonce, kind, state FROM transactions",
        );
        const credited = await custody.queryFilter(custody.filters.OrderCredited(), deployments.deployedAtBlock);
        const creditedBy = new Map<string, number>();
        for (const e of credited) {
          const from = await txFrom(e.transactionHash);
          creditedBy.set(from, (creditedBy.get(from) ?? 0) + 1);
        }
        const bySender = senders.map((s) => {
          const own = transactions.filter((t) => t.sender.toLowerCase() === s.toLowerCase());
          const count = (kind: string, state: string) => own.filter((t) => t.kind === kind && t.state === state).length;
          const nonces = own.map((t) => t.nonce);
          const distinct = new Set(nonces).size;
          return {
            sender: s.slice(0, 10),
            "OrderCredited events": creditedBy.get(s) ?? 0,
            "order batches confirmed": count("orders", "confirmed"),
            "order batches abandoned": count("orders", "abandoned"),
            "operations confirmed": count("operation", "confirmed"),
            "operations abandoned": count("operation", "abandoned"),
            "nonces recorded": nonces.length === 0 ? "-" : `${Math.min(...nonces)}..${Math.max(...nonces)}`,
            "recorded twice": nonces.length - distinct,
          };
        });
        const seconds = (from: number, to: number | null) => (to === null ? "-" : `${((to - from) / 1000).toFixed(1)} s`);
        const cut = await atKill;
        if (cut) console.log(`      at the SIGKILL: orders ${cut.orders}; ${cut.open} transactions sent and not yet confirmed`);
        console.log(
          `      ${scenario.name}: ${ORDERS} orders sent in ${seconds(sendingAt, sentAt)}, all confirmed ${seconds(sentAt, settledAt)} later; ` +
            `${seconds(startedAt, Date.now())} in all with the checks`,
        );
        console.table(byProcess);
        console.table(bySender);
        for (const l of lives) {
          const failures = new Map<string, number>();
          for (const line of logLines(l.process.output(), "relayer step failed; retrying")) {
            const why = String((line.err as { message?: string } | undefined)?.message ?? "?").slice(0, 160);
            failures.set(why, (failures.get(why) ?? 0) + 1);
          }
          for (const [why, n] of failures) console.log(`      ${l.name}: step failed ${n}x: ${why}`);
        }
      };
      let settledAt: number | null = null;
      try {
        // Every order confirmed, and nothing left in flight: no transaction or operation waiting on a nonce.
        const settleBy = Date.now() + 120_000;
        let seen = await progress();
        while (!(seen.counts.confirmed === ORDERS && seen.open === 0 && seen.queued === 0)) {
          const stuck = Date.now() > settleBy || (seen.counts.rejected ?? 0) > 0;
          if (stuck) {
            const lastLines = lives.map(
              (l) =>
                `--- ${l.name}\n${l.process
                  .output()
                  .split("\n")
                  .filter((s) => !s.includes('"req"'))
                  .slice(-15)
                  .join("\n")}`,
            );
            throw new Error(`not settled: ${JSON.stringify(seen)}\n${lastLines.join("\n")}`);
          }
          await sleep(500);
          seen = await progress();
        }
        settledAt = Date.now();

        // --- The database: each order once, confirmed with points; each (sender, nonce) confirmed once.
        const orders = await rows<{ order_id: string; chain_order_id: string; gp_minted: string; tx_hash: string; amount: string }>(
          "SELECT order_id, chain_order_id, gp_minted::text AS gp_minted, tx_hash, amount::text AS amount FROM orders WHERE shop_id = $1",
          [shop.shopId],
        );
        expect(orders.length).to.equal(ORDERS);
        expect(new Set(orders.map((o) => o.order_id)).size).to.equal(ORDERS);
        for (const o of orders) expect(BigInt(o.gp_minted), o.order_id).to.be.greaterThan(0n);
        const sharedNonces = await rows(
          "SELECT sender, nonce, count(*)::int AS n FROM transactions WHERE state = 'confirmed' GROUP BY sender, nonce HAVING count(*) > 1",
        );
        expect(sharedNonces, "confirmed transactions sharing a sender's nonce").to.deep.equal([]);
        const transactions = await rows<{ id: string; sender: string; nonce: number; tx_hash: string; kind: string; state: string }>(
          "SELECT id::text AS id, sender, nonce::int AS nonce, tx_hash, kind, state FROM transactions ORDER BY sender, nonce, id",
        );
        expect(
          transactions.filter((t) => !senders.some((s) => s.toLowerCase() === t.sender.toLowerCase())),
          "transactions of another sender",
        ).to.deep.equal([]);

        // --- The chain: each order recorded under exactly one relayer address, credited once, as the database says.
        const pool = Pool__factory.connect(deployments.pool, provider);
        const points = GreenPoints__factory.connect(deployments.points, provider);
        const credited = await custody.queryFilter(custody.filters.OrderCredited(), deployments.deployedAtBlock);
        const creditsOf = new Map<string, { points: bigint; txHash: string; block: number }[]>();
        for (const e of credited) {
          const key = e.args.orderKey.toLowerCase();
          creditsOf.set(key, [...(creditsOf.get(key) ?? []), { points: e.args.points, txHash: e.transactionHash, block: e.blockNumber }]);
        }
        const problems: string[] = [];
        let minted = 0n;
        let assets = 0n;
        const poolInfo = (await call(current[1].process.url, "GET", "/v1/pool")).body;
        for (let i = 0; i < orders.length; i += 50) {
          await Promise.all(
            orders.slice(i, i + 50).map(async (o) => {
              const under = [];
              for (const s of senders) {
                const key = orderKey(s, o.chain_order_id);
                const credits = creditsOf.get(key.toLowerCase()) ?? [];
                if (await pool.isOrderRecorded(key)) under.push({ sender: s, credits });
                else if (credits.length > 0) problems.push(`${o.order_id}: credited under ${s} but not recorded there`);
              }
              minted += BigInt(o.gp_minted);
              assets += contribution(BigInt(o.amount), BigInt(poolInfo.params.poolShareBps));
              const credits = under.flatMap((u) => u.credits.map((c) => ({ ...c, sender: u.sender })));
              const facts = async () =>
                JSON.stringify({
                  db: { gpMinted: o.gp_minted, txHash: o.tx_hash },
                  chain: await Promise.all(credits.map(async (c) => ({ ...c, points: String(c.points), from: await txFrom(c.txHash) }))),
                  transactions: transactions.filter((t) => credits.some((c) => c.txHash === t.tx_hash) || t.tx_hash === o.tx_hash),
                });
              if (under.length !== 1 || credits.length !== 1) {
                problems.push(`${o.order_id}: recorded under ${under.length} senders, credited ${credits.length} times: ${await facts()}`);
                return;
              }
              const [credit] = credits;
              if (credit.points !== BigInt(o.gp_minted) || credit.txHash !== o.tx_hash || (await txFrom(credit.txHash)) !== credit.sender)
                problems.push(`${o.order_id}: the chain and the database disagree: ${await facts()}`);
            }),
          );
        }
        if (problems.length > 0)
          console.log(`      ${problems.length} orders wrong on chain:\n        ${problems.slice(0, 20).join("\n        ")}`);
        expect(problems.length, "orders not minted exactly once as the database says").to.equal(0);
        expect(credited.length, "OrderCredited events").to.equal(ORDERS);
        // Nothing minted but these orders (and the GP the first one locked in the pool), and the pool holds each contribution once.
        expect(await points.totalSupply(), "GP supply").to.equal(minted + LOCKED_POINTS);
        expect(await pool.assets(), "pool assets").to.equal(assets);
        expect(parseUnits(poolInfo.assets, poolInfo.settlement.decimals)).to.equal(assets);

        // --- Each key's nonces: none pending (a gap would hold everything after it), and each
        // transaction the database calls confirmed mined at its recorded nonce, from its sender.
        for (const s of senders) {
          const [latest, pending] = await Promise.all([
            provider.getTransactionCount(s, "latest"),
            provider.getTransactionCount(s, "pending"),
          ]);
          expect(pending, `${s}'s pending nonce against its latest`).to.equal(latest);
        }
        for (const t of transactions.filter((t) => t.state === "confirmed")) {
          const mined = await provider.getTransaction(t.tx_hash);
          expect(mined, `confirmed transaction ${t.tx_hash} on chain`).to.not.equal(null);
          expect([mined!.from, mined!.nonce], `confirmed transaction ${t.tx_hash}`).to.deep.equal([
            senders.find((s) => s.toLowerCase() === t.sender.toLowerCase()),
            t.nonce,
          ]);
          expect((await provider.getTransactionReceipt(t.tx_hash))!.status, `${t.tx_hash}'s status`).to.equal(1);
        }
        // A nonce is taken once: a replacement keeps its row, so a second row at one (sender, nonce) is a
        // nonce handed out twice, whose loser is abandoned and its orders queued again.
        const twice = await rows(
          `SELECT sender, nonce::int AS nonce, array_agg(state || ' ' || tx_hash ORDER BY id) AS recorded FROM transactions
             GROUP BY sender, nonce HAVING count(*) > 1 ORDER BY sender, nonce`,
        );
        for (const t of twice) {
          const recorded = t.recorded as string[];
          t.onChain = await Promise.all(
            recorded.map(async (r) => ((await provider.getTransaction(r.split(" ")[1])) ? "mined" : "not on chain")),
          );
        }
        expect(twice, "transactions recorded at a nonce already handed out").to.deep.equal([]);
      } catch (error) {
        // The processes' logs, kept for whoever reads the failure (the data folders are removed).
        const logs = fs.mkdtempSync(path.join(os.tmpdir(), "gp-relayers-logs-"));
        for (const [i, l] of lives.entries())
          fs.writeFileSync(path.join(logs, `${i + 1}-${l.name.replace(/\W+/g, "-")}.log`), l.process.output());
        console.log(`      the processes' logs: ${logs}`);
        throw error;
      } finally {
        await printFigures();
      }
      // An order answered 200 was recorded by a process that died before its answer: one the shop had to send again.
      const total = (field: "replayed" | "unanswered") => lives.reduce((n, l) => n + l[field], 0);
      expect(total("replayed"), "orders answered 200 against the ones sent again").to.be.at.most(total("unanswered"));

      for (const l of lives.slice(-2)) {
        l.process.child.kill("SIGINT");
        expect(await l.process.exited, `${l.name} on Ctrl-C`).to.equal(0);
      }
    });
  }

  it("gives a second key no float: it pulls its float from the treasury and approves the pool itself, as npm start runs it", async function () {
    stack = await startExternalStack({ moreRelayerKeys: 1, withFloat: false });
    schema = await freshSchema(process.env.DATABASE_URL!);
    const key = stack.relayerKeys[1];
    const sender = new Wallet(key).address;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-relayers-"));
    dirs.push(dir);
    const env = {
      RPC_URL: stack.rpcUrl,
      RELAYER_PRIVATE_KEY: key,
      DEPLOYMENTS_FILE: stack.deploymentsFile,
      DATABASE_URL: schema.url,
      GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    };
    const life: Life = { name: "second key", process: await startRelayerProcess(dir, env), accepted: 0, replayed: 0, unanswered: 0 };
    lives.push(life);
    const { provider, deployments } = stack;
    const settlement = MockStablecoin__factory.connect(deployments.settlement, provider);
    expect([await settlement.balanceOf(sender), await settlement.allowance(sender, deployments.pool)]).to.deep.equal([0n, 0n]);
    const shop = await createShop(life.process.url, "Second key");
    const ids = Array.from({ length: 20 }, (_, i) => i);
    for (const i of ids) expect((await postOrder(life.process.url, shop, orderOf(i))).status).to.equal(202);
    db = new pg.Client({ connectionString: schema.url });
    await db.connect();
    const client = db;
    const confirmedBy = Date.now() + 60_000;
    for (;;) {
      const [row] = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE state = 'confirmed'")).rows;
      if (row.n === ids.length) break;
      if (Date.now() > confirmedBy) throw new Error(`${row.n} of ${ids.length} confirmed:\n${life.process.output().slice(-3_000)}`);
      await sleep(250);
    }
    const pool = Pool__factory.connect(deployments.pool, provider);
    const chainOrderIds = (await client.query<{ chain_order_id: string }>("SELECT chain_order_id FROM orders")).rows;
    for (const { chain_order_id } of chainOrderIds) expect(await pool.isOrderRecorded(orderKey(sender, chain_order_id))).to.equal(true);
    // The float was pulled once, in full; the orders then took the pool's contributions from it and from its allowance.
    const paid = await pool.assets();
    const float = DEFAULT_SETTLEMENT_FLOAT;
    expect([await settlement.balanceOf(sender), await settlement.allowance(sender, deployments.pool)]).to.deep.equal([
      float - paid,
      float - paid,
    ]);
    const operations = (
      await client.query<{ kind: string; state: string }>("SELECT kind, state FROM operations WHERE kind LIKE 'settlement-%' ORDER BY kind")
    ).rows;
    expect(operations).to.deep.equal([
      { kind: "settlement-approve", state: "confirmed" },
      { kind: "settlement-refill", state: "confirmed" },
    ]);
    const senders = (await client.query<{ sender: string }>("SELECT DISTINCT sender FROM transactions")).rows.map((r) => r.sender);
    expect(senders).to.deep.equal([sender]);
    life.process.child.kill("SIGINT");
    expect(await life.process.exited, life.process.output()).to.equal(0);
  });
});
