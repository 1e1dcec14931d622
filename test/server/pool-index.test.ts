/**
 * The pool's event index behind the public page's history, against anvil and the relayer's own
 * loop: orders, a backed grant, a removal and a redemption are indexed with the pool's state after
 * each; the history's last point and the daily sums equal the chain's; a reorg that takes blocks
 * away is walked back so that the index holds exactly the chain's events; and an index built from
 * scratch afterwards by two indexers racing on one fresh database holds the very same rows.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { JsonRpcProvider, formatUnits } from "ethers";
import pino from "pino";
import { jsonRpc } from "../../server/adapters/chain/anvil";
import { type ChainPort, connectChain } from "../../server/adapters/chain/chain";
import { ANVIL_DEV_KEY } from "../../server/adapters/chain/anvil";
import { migrate } from "../../server/adapters/db/migrations";
import { openPglite } from "../../server/adapters/db/pglite";
import { createPoolIndexer } from "../../server/services/pool-indexer";
import { cachedPoolHistory } from "../../server/services/pool-history";
import type { Db } from "../../server/adapters/db/db";
import { Pool__factory } from "../../typechain-types";
import { freshPostgresDb } from "../helpers/postgres";
import {
  TEST_ADMIN_TOKEN,
  type TestRelayer,
  call,
  createShop,
  postOrder,
  settledOperation,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

const ROWS = `SELECT block_number::text, log_index, block_hash, block_time::text, tx_hash, name, order_key, orders, amount::text,
  contribution::text, points::text, gross::text, fee::text, payout::text, assets_after::text, supply_after::text
  FROM pool_events ORDER BY pool_events.block_number, pool_events.log_index`;

function shouldIndexThePool(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`the pool's event index, the public page's history (${label})`, function () {
    this.timeout(300_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    const key = () => ({ "idempotency-key": randomUUID() });
    const rpc = <T = string>(method: string, params: unknown[] = []) => jsonRpc<T>(relayer.anvil.url, method, params);
    const head = async () => Number(BigInt(await rpc("eth_blockNumber")));
    const confirmed = async (token: string, res: { status: number; body: any }) => {
      expect(res.status, JSON.stringify(res.body)).to.be.oneOf([201, 202]);
      const done = await settledOperation(base, token, res.body.operationId ?? res.body.operation.operationId);
      expect(done.state, JSON.stringify(done)).to.equal("confirmed");
    };
    const order = async (orderId: string, userId: string, amount: string) => {
      expect((await postOrder(base, shop, { orderId, userId, amount })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, orderId, 60_000)).state).to.equal("confirmed");
    };
    /** The history once the index reached the head and agrees with the chain there. */
    async function caughtUp() {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const h = (await call(base, "GET", "/v1/pool/history?range=all")).body;
        if (h.indexedBlock >= (await head()) && h.check.agrees === true) return h;
        if (Date.now() > deadline) throw new Error(`the index did not catch up: ${JSON.stringify(h).slice(0, 400)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    /** The pool's events as the chain has them now, read here without the relayer. */
    async function chainEvents() {
      const provider = new JsonRpcProvider(relayer.anvil.url);
      const pool = Pool__factory.connect(relayer.chain.deployments.pool, provider);
      const logs = await provider.getLogs({ address: relayer.chain.deployments.pool, fromBlock: 0, toBlock: "latest" });
      provider.destroy();
      const names = new Set(["OrderRecorded", "ContributionRecorded", "OrdersSettled", "Redeemed", "PointsRetired", "SurplusAbsorbed"]);
      return logs
        .map((l) => ({ log: l, parsed: pool.interface.parseLog(l) }))
        .filter((x) => x.parsed && names.has(x.parsed.name))
        .map((x) => `${x.log.blockNumber}:${x.log.index}:${x.log.transactionHash.toLowerCase()}:${x.parsed!.name}`);
    }
    async function indexedEvents(db = relayer.db) {
      const rows = await db.query<{ block_number: string; log_index: number; tx_hash: string; name: string }>(ROWS);
      return rows.map((r) => `${r.block_number}:${r.log_index}:${r.tx_hash}:${r.name}`);
    }

    /** What the relayer logged at warn and above, to see the walk back happen. */
    const warnings: string[] = [];
    let external = null as { db: Db; close(): Promise<void> } | null;
    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({
        db: external?.db,
        log: pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) }),
      });
      base = relayer.url;
      shop = await createShop(base, "Index shop");
      await confirmed(
        TEST_ADMIN_TOKEN,
        await call(base, "POST", "/v1/users", {
          token: TEST_ADMIN_TOKEN,
          body: { userId: "alice", password: "alice-login-pw", paymentPassword: "alice-pay" },
          headers: key(),
        }),
      );
    });
    after(async () => {
      await relayer?.stop();
      await external?.close();
    });

    it("indexes orders, a grant, a removal and a redemption with the pool's state after each, as the chain has them", async function () {
      await order("A", "alice", "100");
      // A thousand empty blocks: the next events' block numbers have a digit more (sorting them as
      // text would put block 1030 before block 98).
      await rpc("anvil_mine", ["0x3e8"]);
      await order("B", "bob", "50");
      await confirmed(
        TEST_ADMIN_TOKEN,
        await call(base, "POST", "/v1/admin/users/alice/grants", {
          token: TEST_ADMIN_TOKEN,
          body: { contribution: "2", reason: "goodwill" },
          headers: key(),
        }),
      );
      await confirmed(
        TEST_ADMIN_TOKEN,
        await call(base, "POST", "/v1/admin/users/alice/removals", {
          token: TEST_ADMIN_TOKEN,
          body: { points: "0.5", reason: "error" },
          headers: key(),
        }),
      );
      const session = (await call(base, "POST", "/v1/sessions", { body: { userId: "alice", password: "alice-login-pw" } })).body.token;
      await confirmed(
        session,
        await call(base, "POST", "/v1/me/redemptions", {
          token: session,
          body: { asset: "GP", amount: "3" },
          headers: { ...key(), "x-gp-payment-password": "alice-pay" },
        }),
      );

      const history = await caughtUp();
      const pool = (await call(base, "GET", "/v1/pool")).body;
      expect(await indexedEvents()).to.deep.equal(await chainEvents());
      const blocks = history.points.map((p: any) => p.block);
      expect(blocks).to.deep.equal([...blocks].sort((a: number, b: number) => a - b));
      expect(new Set(blocks.slice(0, -1)).size).to.be.at.least(5); // one point per block that changed the pool
      const last = history.points.at(-1);
      expect([last.assets, last.supply, last.price]).to.deep.equal([pool.assets, pool.supply, pool.price]);
      // Each point's price is its own assets / supply; assets never go below what was paid out.
      for (const p of history.points)
        if (p.price !== null) expect(Number(p.price)).to.be.closeTo(Number(p.assets) / Number(p.supply), 1e-9);

      // The day's bars: what the orders paid in (30% of 150, and the grant's 2) and the redemption's fee.
      const today = history.daily.at(-1);
      const activity = (await call(base, "GET", "/v1/pool/activity?limit=50")).body;
      const redemption = activity.items.find((x: any) => x.kind === "redemption");
      expect(today.contributions).to.equal("47");
      expect(today.orders).to.equal(2); // the grant's contribution is paid in, but is no order
      expect(today.redemptions).to.equal(1);
      expect(today.exitFees).to.equal(redemption.fee);
      expect(Number(redemption.fee)).to.be.greaterThan(0);
      expect(redemption.points).to.equal("3");
      const newestFirst = activity.items.map((x: any) => x.block);
      expect(newestFirst).to.deep.equal([...newestFirst].sort((a: number, b: number) => b - a));
      expect(Math.max(...newestFirst)).to.be.greaterThan(1000);
      expect(Math.min(...newestFirst)).to.be.lessThan(1000);
      const week = (await call(base, "GET", "/v1/pool/history?range=week")).body;
      expect(week.points[0].supply).to.equal("0"); // the week began before the pool's first order
      expect(week.points.length).to.equal(history.points.length + 1);
      const orders = activity.items.filter((x: any) => x.kind === "order");
      expect(orders.map((x: any) => x.amount).sort()).to.deep.equal(["100", "50"]);
      for (const o of orders) expect(o.orderKey).to.match(/^0x[0-9a-f]{64}$/);
      expect(activity.items.some((x: any) => x.kind === "contribution" && x.contribution === "2")).to.equal(true);
      // No personal data: nothing in the answer names the users.
      expect(JSON.stringify(activity)).to.not.match(/alice|bob/);
    });

    it("walks back after a reorg took indexed blocks away, and holds exactly the chain's events again", async function () {
      await caughtUp();
      const kept = new Set(await indexedEvents());
      const snapshot = await rpc("evm_snapshot");
      await order("C", "carol", "40");
      await order("D", "dave", "60");
      await caughtUp();
      const lostTxs = (await indexedEvents()).filter((e) => !kept.has(e));
      expect(lostTxs.length).to.be.at.least(4); // C's and D's OrderRecorded and OrdersSettled

      await rpc("evm_revert", [snapshot]); // C's and D's blocks are gone
      for (let i = 0; i < 3; i++) await rpc("evm_mine"); // and other blocks take their heights
      // The sender mints C and D again in new blocks; the index must follow the chain, not its memory.
      const after = await caughtUp();
      await settledOrder(base, shop.shopId, "D", 60_000);
      const now = await caughtUp();
      const indexed = await indexedEvents();
      expect(indexed).to.deep.equal(await chainEvents());
      for (const lost of lostTxs) {
        const [, , tx] = lost.split(":");
        const stillOnChain = (await chainEvents()).some((e) => e.includes(tx));
        expect(indexed.some((e) => e.includes(tx))).to.equal(stillOnChain);
      }
      const walkBack = warnings.map((w) => JSON.parse(w)).find((w) => /walked back/.test(w.msg));
      expect(walkBack, warnings.join("\n")).to.not.equal(undefined);
      expect(walkBack.droppedEvents).to.be.at.least(lostTxs.length);
      // Every indexed block is the chain's own block at that height.
      const blocks = await relayer.db.query<{ block_number: string; block_hash: string }>(
        "SELECT DISTINCT block_number::text, block_hash FROM pool_events",
      );
      for (const b of blocks) expect((await relayer.chain.blockHash(Number(b.block_number)))?.toLowerCase()).to.equal(b.block_hash);
      const pool = (await call(base, "GET", "/v1/pool")).body;
      expect(now.points.at(-1).supply).to.equal(pool.supply);
      expect(after.check.agrees).to.equal(true);
    });

    it("notices a reorg that lands inside one run, between its check of the cursor and its read of the logs", async function () {
      // A fresh index on its own database over this chain, by an indexer whose chain port reorganises
      // the chain the moment the run reads the head: the cursor's block is among those replaced.
      const db = await openPglite(null);
      await migrate(db);
      try {
        await caughtUp();
        let armed = false;
        let snapshot = "";
        const real = relayer.chain;
        const chain = new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === "blockNumber")
              return async () => {
                if (armed) {
                  armed = false;
                  await rpc("evm_revert", [snapshot]);
                  for (let i = 0; i < 3; i++) await rpc("evm_mine");
                }
                return target.blockNumber();
              };
            return Reflect.get(target, prop, receiver);
          },
        }) as ChainPort;
        const indexer = createPoolIndexer({ db, chain, log: pino({ level: "silent" }) });
        const cursorBlock = async () =>
          Number((await db.query<{ b: string }>("SELECT block_number::text AS b FROM pool_index_cursor"))[0]?.b ?? -1);
        for (let i = 0; i < 20 && (await cursorBlock()) < (await head()); i++) await indexer.step();
        snapshot = await rpc("evm_snapshot");
        await order("E", "erin", "30");
        for (let i = 0; i < 20 && (await cursorBlock()) < (await head()); i++) await indexer.step();
        expect(await indexedEvents(db)).to.deep.equal(await chainEvents()); // E is indexed
        armed = true;
        await indexer.step(); // E's block goes away during this run
        await settledOrder(base, shop.shopId, "E", 60_000); // the sender mints E again, in a new block
        let indexed: string[] = [];
        for (let i = 0; i < 20; i++) {
          await indexer.step();
          indexed = await indexedEvents(db);
          if ((await cursorBlock()) >= (await head()) && JSON.stringify(indexed) === JSON.stringify(await chainEvents())) break;
        }
        expect(indexed).to.deep.equal(await chainEvents());
      } finally {
        await db.close();
      }
    });

    it("answers a crowd of history requests from one reading per range while the index stands still", async function () {
      // An index of its own, which no relayer loop moves during the test.
      const db = await openPglite(null);
      await migrate(db);
      try {
        const indexer = createPoolIndexer({ db, chain: relayer.chain, log: pino({ level: "silent" }) });
        for (let i = 0; i < 10; i++) await indexer.step();
        const sql: string[] = [];
        const counting = { query: (text: string, params?: readonly unknown[]) => (sql.push(text), db.query(text, params)) } as Db;
        let clock = Date.now();
        const history = cachedPoolHistory(counting, relayer.chain, { now: () => clock });
        const answers = await Promise.all(Array.from({ length: 50 }, () => history("all")));
        const grouped = () => sql.filter((q) => /GROUP BY|DISTINCT ON/.test(q)).length;
        expect(grouped()).to.equal(2); // one states query and one daily query, for 50 requests
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).to.equal(1);
        expect(answers[0].points.length).to.be.greaterThan(1);
        clock += 2_500;
        await history("all");
        expect(grouped()).to.equal(4); // read again once the answer is older than its 2 s
      } finally {
        await db.close();
      }
    });

    it("builds the same index from scratch, with two indexers racing on one fresh database", async function () {
      const db = await openPglite(null);
      await migrate(db);
      const chains = [0, 1].map(() => connectChain(relayer.anvil.url, ANVIL_DEV_KEY, relayer.chain.deployments));
      try {
        const log = pino({ level: "silent" });
        const indexers = chains.map((chain) => createPoolIndexer({ db, chain, log }));
        await caughtUp(); // the relayer's own index, after the reorgs above
        const target = await head();
        for (let i = 0; i < 50; i++) {
          await Promise.all(indexers.map((x) => x.step()));
          const [c] = await db.query<{ block_number: string }>("SELECT block_number::text FROM pool_index_cursor");
          if (Number(c.block_number) >= target) break;
        }
        const fresh = await db.query(ROWS);
        const kept = await relayer.db.query(ROWS);
        const upTo = (rows: any[]) => rows.filter((r) => Number(r.block_number) <= target);
        expect(upTo(fresh)).to.deep.equal(upTo(kept));
        const [cursor] = await db.query<{ assets: string; supply: string }>("SELECT assets::text, supply::text FROM pool_index_cursor");
        const at = { blockTag: target };
        expect(formatUnits(BigInt(cursor.assets), 6)).to.equal(formatUnits(await relayer.chain.pool.assets(at), 6));
        expect(cursor.supply).to.equal((await relayer.chain.points.totalSupply(at)).toString());
      } finally {
        for (const c of chains) c.close();
        await db.close();
      }
    });
  });
}

shouldIndexThePool("PGlite");
if (process.env.DATABASE_URL) shouldIndexThePool("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
