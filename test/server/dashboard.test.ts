/**
 * The operator's dashboard and daily ledger over HTTP, against anvil, the relayer's own loop and
 * its pool index: who may read them (the admin token and an operator; a merchant's staff or key, a
 * shopper, a shop and no one are refused); a run of orders, an ad conversion, a grant, a removal
 * and a redemption, 30 days after the first orders, whose ledger sums to the chain's totalSupply
 * and assets day by day and whose dashboard compares now with the chain as it was 30 days ago; the
 * CSV by format and by Accept header; and an index built before the payer was kept, filled again
 * by the migration's re-walk, so that old days are right.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { formatUnits, parseUnits } from "ethers";
import pino from "pino";
import { connectChain } from "../../server/adapters/chain/chain";
import { ANVIL_DEV_KEY, jsonRpc } from "../../server/adapters/chain/anvil";
import type { Db } from "../../server/adapters/db/db";
import { migrate, migrationVersionOf, rerunMigration } from "../../server/adapters/db/migrations";
import { openPglite } from "../../server/adapters/db/pglite";
import { signPayload } from "../../server/domain/inbound-signature";
import { sourcePolicies } from "../../server/modules/ads/release-policy";
import { readLedger } from "../../server/services/dashboard";
import { createPoolIndexer } from "../../server/services/pool-indexer";
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

const DAY = 86_400;
/** The chain's clock moves this far between the first orders and the rest: past 30 days, with half a day either side of the comparison. */
const WARP = 30 * DAY + DAY / 2;
/** The source's daily share (2% once the day's 3 tasks are done). */
const POLICY = { ...sourcePolicies(6).dailyShare, tasksPerDay: 3 } as const;
const GP = (text: string) => parseUnits(text, 18);
const USD = (text: string) => parseUnits(text, 6);
const gp = (units: bigint) => formatUnits(units, 18).replace(/\.0$/, "");
const usd = (units: bigint) => formatUnits(units, 6).replace(/\.0$/, "");
const dayText = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

function shouldKeepTheLedger(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`the operator's dashboard and daily ledger (${label})`, function () {
    this.timeout(300_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    let offset = 0;
    const clock = () => Math.floor(Date.now() / 1000) + offset;
    let external = null as { db: Db; close(): Promise<void> } | null;
    let merchant: { merchantId: string; apiKey: string };
    let hmac: { networkId: string; secret: string };
    const tokens: Record<string, string> = {};

    const key = () => ({ "idempotency-key": randomUUID() });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
    const rpc = <T = string>(method: string, params: unknown[] = []) => jsonRpc<T>(relayer.anvil.url, method, params);
    const head = async () => Number(BigInt(await rpc("eth_blockNumber")));
    const blockTime = async (block: number) =>
      Number(BigInt((await rpc<{ timestamp: string }>("eth_getBlockByNumber", [`0x${block.toString(16)}`, false])).timestamp));
    const confirmed = async (res: { status: number; body: any }, token = TEST_ADMIN_TOKEN) => {
      expect(res.status, JSON.stringify(res.body)).to.be.oneOf([201, 202]);
      const done = await settledOperation(base, token, res.body.operationId ?? res.body.operation.operationId);
      expect(done.state, JSON.stringify(done)).to.equal("confirmed");
      return done;
    };
    const order = async (orderId: string, body: Record<string, string>) => {
      expect((await postOrder(base, shop, { orderId, ...body }, clock())).status).to.equal(202);
      const settled = await settledOrder(base, shop.shopId, orderId, 60_000);
      expect(settled.state).to.equal("confirmed");
      return settled;
    };
    const register = async (userId: string) =>
      confirmed(await admin("POST", "/v1/users", { userId, password: `${userId}-login-pw`, paymentPassword: `${userId}-pay` }));
    /** The dashboard once the index reached the head and agrees with the chain there. */
    async function caughtUp(token = TEST_ADMIN_TOKEN) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await call(base, "GET", "/v1/admin/dashboard", { token });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        if (res.body.indexedBlock >= (await head()) && res.body.check.agrees === true) return res.body;
        if (Date.now() > deadline) throw new Error(`the index did not catch up: ${JSON.stringify(res.body).slice(0, 400)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const kpi = (dashboard: any, name: string) => dashboard.kpis.find((k: any) => k.name === name);

    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({ db: external?.db, nowSeconds: clock, ads: { policy: POLICY, dailyTaskCap: 4 } });
      base = relayer.url;
      shop = await createShop(base, "Dashboard shop");
      const made = await admin("POST", "/v1/admin/merchants", { name: "Ad merchant" });
      await confirmed(made);
      merchant = made.body;
      expect((await call(base, "PUT", `/v1/merchant/shops/${shop.shopId}`, { token: merchant.apiKey })).status).to.equal(200);
      await confirmed(await admin("POST", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`, { amount: "100" }));
      hmac = (await admin("POST", "/v1/admin/ad-networks", { name: "HMAC network", scheme: "hmac-sha256" })).body;

      expect((await admin("POST", "/v1/admin/operators", { login: "dash-op", password: "dash-op-password" })).status).to.equal(201);
      const owner = await admin("POST", `/v1/admin/merchants/${merchant.merchantId}/staff`, {
        login: "dash-owner",
        password: "dash-owner-password",
        role: "owner",
      });
      expect(owner.status, JSON.stringify(owner.body)).to.equal(201);
      const logIn = async (login: string, password: string) => {
        const res = await call(base, "POST", "/v1/staff/sessions", { body: { login, password } });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body.token as string;
      };
      tokens.operator = await logIn("dash-op", "dash-op-password");
      tokens.merchantOwner = await logIn("dash-owner", "dash-owner-password");
      tokens.merchantKey = merchant.apiKey;
      tokens.shop = shop.webhookSecret;
      await register("alice");
      tokens.shopper = (await call(base, "POST", "/v1/sessions", { body: { userId: "alice", password: "alice-login-pw" } })).body.token;
    });
    after(async () => {
      await relayer?.stop();
      await external?.close();
    });

    describe("who may read them", function () {
      for (const route of ["/v1/admin/dashboard", "/v1/admin/ledger", "/v1/admin/ledger?format=csv"]) {
        it(`answers ${route} to the admin token and an operator's session`, async function () {
          for (const token of [TEST_ADMIN_TOKEN, tokens.operator]) {
            const res = await call(base, "GET", route, { token });
            expect(res.status, JSON.stringify(res.body)).to.equal(200);
          }
        });
        it(`refuses ${route} to a merchant's owner and key, a shopper, a shop's secret and no credentials`, async function () {
          for (const who of ["merchantOwner", "merchantKey", "shopper", "shop", "none"]) {
            const res = await call(base, "GET", route, { token: who === "none" ? undefined : tokens[who] });
            expect(res.status, `${who}: ${JSON.stringify(res.body)}`).to.equal(401);
            expect(res.body.error.code, who).to.equal("UNAUTHORIZED");
            expect(JSON.stringify(res.body)).to.not.match(/mintedBy|kpis/);
          }
        });
      }
      it("refuses a period that ends before it starts or is longer than a year", async function () {
        for (const q of ["from=2025-02-01&to=2025-01-01", "from=2023-01-01&to=2025-01-01", "from=2025-13-01", "from=yesterday"]) {
          const res = await call(base, "GET", `/v1/admin/ledger?${q}`, { token: TEST_ADMIN_TOKEN });
          expect(res.status, q).to.equal(400);
          expect(res.body.error.code, q).to.equal("VALIDATION_FAILED");
        }
      });
    });

    describe("a run of orders, an ad conversion, a grant, a removal and a redemption over 30 days", function () {
      let firstDay: number;
      let endOfFirst: number;
      const minted: Record<string, bigint> = {};
      let redemption: { points: bigint; payout: bigint; fee: bigint };

      before(async function () {
        // The first days: two orders (bob is named by an order only: no member).
        const a = await order("A", { userId: "alice", amount: "100" });
        const b = await order("B", { userId: "bob", amount: "50" });
        endOfFirst = await head();
        firstDay = Math.floor((await blockTime(endOfFirst)) / DAY);

        // 30½ days later, by the chain's clock and the relayer's.
        await rpc("evm_increaseTime", [WARP]);
        await rpc("evm_mine");
        offset = WARP;
        await register("carol");
        const c = await order("C", { userId: "carol", amount: "200", adMerchantId: merchant.merchantId });
        const carol = (await call(base, "POST", "/v1/sessions", { body: { userId: "carol", password: "carol-login-pw" } })).body.token;
        const ads = () => call(base, "GET", "/v1/me/ads", { token: carol }).then((r) => r.body);
        const until = async (done: (v: any) => boolean, what: string) => {
          const deadline = Date.now() + 60_000;
          for (let v = await ads(); ; v = await ads()) {
            if (done(v)) return v;
            if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        await until((v) => v.vouchers === "200", "vouchers issued");
        // Three ad tasks release 2% of carol's 200 vouchers, which the relayer converts on the chain.
        for (const n of [1, 2, 3]) {
          const raw = JSON.stringify({ transactionId: `dash-${n}`, userId: "carol" });
          const at = clock();
          const res = await call(base, "POST", `/v1/ads/callbacks/${hmac.networkId}`, {
            body: raw,
            headers: {
              "content-type": "application/json",
              "x-gp-timestamp": String(at),
              "x-gp-signature": signPayload(hmac.secret, at, raw),
            },
          });
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
        }
        const conversion = (await until((v) => v.conversions[0]?.state === "confirmed", "conversion confirmed")).conversions[0];
        await confirmed(await admin("POST", "/v1/admin/users/alice/grants", { contribution: "2", reason: "goodwill" }));
        await confirmed(await admin("POST", "/v1/admin/users/alice/removals", { points: "0.5", reason: "correction" }));
        await confirmed(
          await call(base, "POST", "/v1/me/redemptions", {
            token: tokens.shopper,
            body: { asset: "GP", amount: "3" },
            headers: { ...key(), "x-gp-payment-password": "alice-pay" },
          }),
          tokens.shopper,
        );
        // The relayer's records of these 30½ days move with the chain's clock.
        await relayer.db.query(`UPDATE users SET created_at = created_at + interval '${WARP} seconds' WHERE user_id = 'carol'`);
        await relayer.db.query(`UPDATE orders SET created_at = created_at + interval '${WARP} seconds' WHERE order_id = 'C'`);

        // What the chain says each of them minted, read from its own events.
        const points = relayer.chain.points;
        const locked = await relayer.chain.pool.LOCKED_POINTS();
        minted.orders = GP(a.gpMinted) + GP(b.gpMinted) + GP(c.gpMinted) + locked;
        minted.ads = GP(conversion.points);
        const granted = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.Granted());
        expect(granted).to.have.length(1);
        minted.grants = granted[0].args.points;
        const redeemed = await relayer.chain.pool.queryFilter(relayer.chain.pool.filters.Redeemed());
        expect(redeemed).to.have.length(1);
        redemption = { points: redeemed[0].args.points, payout: redeemed[0].args.payout, fee: redeemed[0].args.fee };
        expect(await points.totalMinted()).to.equal(minted.orders + minted.ads + minted.grants);
        await caughtUp();
      });

      async function ledger(query = "") {
        const res = await call(base, "GET", `/v1/admin/ledger?from=${dayText(firstDay * DAY)}${query}`, { token: tokens.operator });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        return res.body;
      }

      it("lists every day, and each day's outstanding GP and assets are the day before's plus its movements", async function () {
        const l = await ledger();
        const today = Math.floor(clock() / DAY);
        expect(l.from).to.equal(dayText(firstDay * DAY));
        expect(l.to).to.equal(dayText(today * DAY));
        expect(l.days.map((d: any) => d.day)).to.deep.equal(
          Array.from({ length: today - firstDay + 1 }, (_, i) => dayText((firstDay + i) * DAY)),
        );
        expect(l.opening).to.deep.equal({ outstanding: "0", assets: "0" });
        let outstanding = 0n;
        let assets = 0n;
        for (const d of l.days) {
          outstanding += GP(d.mintedByOrders) + GP(d.mintedByAds) + GP(d.mintedByGrants) - GP(d.redeemed) - GP(d.retired);
          assets += USD(d.assetsIn) - USD(d.assetsOut);
          expect(GP(d.outstanding), d.day).to.equal(outstanding);
          expect(USD(d.assets), d.day).to.equal(assets);
        }
      });

      it("ends at the chain's totalSupply and assets, and its first days at the chain's as they were then", async function () {
        const l = await ledger();
        const last = l.days.at(-1);
        expect(GP(last.outstanding)).to.equal(await relayer.chain.points.totalSupply());
        expect(USD(last.assets)).to.equal(await relayer.chain.pool.assets());
        expect(l.totals).to.include({ outstanding: last.outstanding, assets: last.assets });
        // Nothing happened for 30 days after the first orders: those days close at the chain's state then.
        const at = { blockTag: endOfFirst };
        const quiet = l.days.filter((d: any) => d.day < dayText((firstDay + 30) * DAY));
        expect(quiet.length).to.be.greaterThan(25);
        for (const d of quiet) {
          expect(GP(d.outstanding), d.day).to.equal(await relayer.chain.points.totalSupply(at));
          expect(USD(d.assets), d.day).to.equal(await relayer.chain.pool.assets(at));
        }
        expect(l.days[0]).to.include({ mintedByAds: "0", mintedByGrants: "0", redeemed: "0", retired: "0", assetsOut: "0", orders: 2 });
      });

      it("tells GP minted by orders, by ads and by grants apart, with what was redeemed, retired and paid out", async function () {
        const { totals } = await ledger();
        expect(totals).to.deep.include({
          mintedByOrders: gp(minted.orders),
          mintedByAds: gp(minted.ads),
          mintedByGrants: gp(minted.grants),
          redeemed: gp(redemption.points),
          retired: "0.5",
          assetsOut: usd(redemption.payout),
          exitFees: usd(redemption.fee),
          orders: 3,
        });
        expect(redemption.points).to.equal(GP("3"));
        // In: the orders' contributions, the conversion's backing and the grant's 2.
        expect(USD(totals.assetsIn) - USD("2")).to.be.greaterThan(0n);
        expect(USD(totals.assetsIn) - USD(totals.assetsOut)).to.equal(await relayer.chain.pool.assets());
      });

      it("answers the days as CSV by format=csv and by Accept: text/csv, line for line the JSON's", async function () {
        const l = await ledger();
        const url = `/v1/admin/ledger?from=${dayText(firstDay * DAY)}`;
        const byFormat = await fetch(`${base}${url}&format=csv`, { headers: { authorization: `Bearer ${tokens.operator}` } });
        const byAccept = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, accept: "text/csv" } });
        const json = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, accept: "*/*" } });
        expect(json.headers.get("content-type")).to.match(/^application\/json/);
        for (const res of [byFormat, byAccept]) {
          expect(res.status).to.equal(200);
          expect(res.headers.get("content-type")).to.equal("text/csv; charset=utf-8");
          expect(res.headers.get("vary")).to.match(/Accept/);
          expect(res.headers.get("content-disposition")).to.equal(`attachment; filename="green-points-ledger-${l.from}-${l.to}.csv"`);
        }
        const text = await byFormat.text();
        expect(await byAccept.text()).to.equal(text);
        const lines = text.split("\r\n");
        expect(lines.pop()).to.equal("");
        const columns = lines[0].split(",");
        expect(columns).to.deep.equal([
          "day",
          "mintedByOrders",
          "mintedByAds",
          "mintedByGrants",
          "redeemed",
          "retired",
          "outstanding",
          "assetsIn",
          "assetsOut",
          "assets",
          "exitFees",
          "orders",
        ]);
        expect(lines.slice(1)).to.deep.equal(l.days.map((d: any) => columns.map((c) => String(d[c])).join(",")));
      });

      it("compares each figure now with the chain and the records as they were 30 days ago", async function () {
        const dash = await caughtUp(tokens.operator);
        const at = { blockTag: endOfFirst };
        const pool = (await call(base, "GET", "/v1/pool")).body;
        const chain = relayer.chain;
        const expected: Record<string, [string, string]> = {
          members: ["2", "1"],
          ordersPerDay: ["1", "2"],
          minted: [gp(await chain.points.totalMinted()), gp(await chain.points.totalMinted(at))],
          redeemed: ["3", "0"],
          outstanding: [gp(await chain.points.totalSupply()), gp(await chain.points.totalSupply(at))],
          assets: [usd(await chain.pool.assets()), usd(await chain.pool.assets(at))],
        };
        for (const [name, [now, before]] of Object.entries(expected)) {
          expect(kpi(dash, name), name).to.include({ now, before });
        }
        expect(kpi(dash, "outstanding").now).to.equal(pool.supply);
        expect(kpi(dash, "assets").now).to.equal(pool.assets);
        expect(GP(kpi(dash, "minted").now)).to.equal(GP(pool.minted));
        // The price as /v1/pool gives it (18 places, half up), now and at the first days' end.
        expect(GP(kpi(dash, "price").now)).to.equal(GP(pool.price));
        const [assetsThen, supplyThen] = [await chain.pool.assets(at), await chain.points.totalSupply(at)];
        const priceThen = GP(kpi(dash, "price").before);
        // price × supply = assets, to within one unit of the price's last place, cross-multiplied in integers.
        const scaledAssets = assetsThen * 10n ** 12n * 10n ** 18n;
        expect(
          priceThen * supplyThen <= scaledAssets + supplyThen / 2n && priceThen * supplyThen + supplyThen / 2n >= scaledAssets,
        ).to.equal(true);
        // The redemption rate: 3 GP of all minted, none 30 days ago.
        const rate = GP(kpi(dash, "redemptionRate").now);
        const total = await chain.points.totalMinted();
        expect(rate * total <= GP("3") * 10n ** 18n + total / 2n && rate * total + total / 2n >= GP("3") * 10n ** 18n).to.equal(true);
        expect(kpi(dash, "redemptionRate").before).to.equal("0");
        // Every change is now − before, and relative to before when there was one.
        for (const k of dash.kpis) {
          const places = k.unit === "count" ? 0 : k.unit === "settlement" ? 6 : 18;
          const change = parseUnits(k.now, places) - parseUnits(k.before, places);
          expect(parseUnits(k.change, places), k.name).to.equal(change);
          if (parseUnits(k.before, places) === 0n) expect(k.relativeChange, k.name).to.equal(null);
          else expect(parseUnits(k.relativeChange, 4), k.name).to.equal((change * 10_000n) / parseUnits(k.before, places));
        }
        expect(kpi(dash, "members").relativeChange).to.equal("1");
        expect(kpi(dash, "ordersPerDay")).to.include({ change: "-1", relativeChange: "-0.5" });
        expect(Date.parse(dash.asOf) - Date.parse(dash.comparedWith)).to.equal(30 * DAY * 1000);
      });

      it("fills an index built before the payer was kept again, so that its old days are right", async function () {
        const own = database ? await database() : { db: await openPglite(null), close: async () => undefined };
        const chain = connectChain(relayer.anvil.url, ANVIL_DEV_KEY, relayer.chain.deployments);
        try {
          const db = own.db;
          const version = await migrate(db);
          const indexer = createPoolIndexer({ db, chain, log: pino({ level: "silent" }) });
          const target = await head();
          const walk = async () => {
            for (let i = 0; i < 50; i++) {
              await indexer.step();
              const [c] = await db.query<{ block_number: string }>("SELECT block_number::text FROM pool_index_cursor");
              if (c && Number(c.block_number) >= target) return;
            }
            throw new Error("the index did not reach the head");
          };
          await walk();
          // The schema and rows as the version before kept them: no payer, no GP minted per settlement.
          await db.query("ALTER TABLE pool_events DROP COLUMN account");
          await db.query("ALTER TABLE pool_events DROP COLUMN minted");
          await db.query("DROP INDEX users_created");
          await db.query("DROP INDEX orders_created");
          const dashboardVersion = migrationVersionOf("ALTER TABLE pool_events ADD COLUMN account");
          const [{ n }] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM pool_events");
          expect(Number(n)).to.be.greaterThan(10);

          // The migration empties the old index; the indexer walks the events again from the deployment.
          await rerunMigration(db, dashboardVersion);
          expect(await migrate(db)).to.equal(version);
          expect(await db.query("SELECT 1 FROM pool_events")).to.deep.equal([]);
          expect(await db.query("SELECT 1 FROM pool_index_cursor")).to.deep.equal([]);
          await walk();
          const today = Math.floor(clock() / DAY);
          const rewalked = await readLedger(db, chain, firstDay, today);
          const kept = await readLedger(relayer.db, relayer.chain, firstDay, today);
          expect(rewalked.days).to.deep.equal(kept.days);
          expect(rewalked.days[0].mintedByOrders).to.not.equal("0");
          expect(GP(rewalked.totals.mintedByGrants)).to.equal(minted.grants);
          expect(GP(rewalked.days.at(-1)!.outstanding)).to.equal(await relayer.chain.points.totalSupply({ blockTag: target }));
        } finally {
          chain.close();
          await own.close();
          if (!database) await own.db.close();
        }
      });
    });
  });
}

shouldKeepTheLedger("PGlite");
if (process.env.DATABASE_URL) shouldKeepTheLedger("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
