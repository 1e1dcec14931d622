/**
 * What a shop can reach, end to end over HTTP (anvil, the real database code, the Express app and
 * the sender): only its own users, its own limits, the ad merchants it was allowed, referrers
 * only on the order that creates a user, and ids that the rest of the API can look up. Each case
 * is tried the way a hostile or broken shop would, and what it leaves behind is read back.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { expect } from "chai";
import { ZeroHash, formatUnits, parseUnits } from "ethers";
import pino from "pino";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { freshPostgresDb } from "../helpers/postgres";
import {
  TEST_ADMIN_TOKEN,
  TEST_USER_SALT,
  type TestRelayer,
  call,
  createShop,
  postOrder,
  settledOperation,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

type Shop = { shopId: string; webhookSecret: string };
const DEPLOYMENT_PER_DAY = "150000";
const account = (userId: string) => custodialUserId(TEST_USER_SALT, userId);

function shouldKeepShopsToTheirOwn(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`a shop reaches only what is its own (${label})`, function () {
    this.timeout(240_000);
    let relayer: TestRelayer;
    let base: string;
    let shopA: Shop;
    let shopB: Shop;
    let external = null as { db: Db; close(): Promise<void> } | null;
    const logLines: string[] = [];
    const key = () => ({ "idempotency-key": randomUUID() });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
    const asShop = (shop: Shop, method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: shop.webhookSecret, body, headers: { ...key(), "x-gp-shop": shop.shopId } });
    const order = async (shop: Shop, body: Record<string, string>) => postOrder(base, shop, body);
    const accepted = async (shop: Shop, body: Record<string, string>) => {
      const res = await order(shop, body);
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return res;
    };
    const count = async (sql: string, params: unknown[]) => (await relayer.db.query<{ n: number }>(sql, params))[0].n;
    const ordersNamed = (userId: string) => count("SELECT count(*)::int AS n FROM orders WHERE user_id = $1", [userId]);

    before(async function () {
      external = database ? await database() : null;
      const sink = new Writable({
        write(chunk, _enc, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      relayer = await startTestRelayer({
        db: external?.db,
        log: pino({ level: "info" }, sink),
        orderLimits: { perOrder: "10000", perDay: "100000", outstanding: "1000000", deploymentPerDay: DEPLOYMENT_PER_DAY },
      });
      base = relayer.url;
      shopA = await createShop(base, "Shop A");
      shopB = await createShop(base, "Shop B");
    });
    after(async function () {
      await relayer?.stop();
      await external?.close();
    });

    describe("registering users", function () {
      it("refuses a shop registering a user whose points another shop's orders paid for, and the operator registers it", async function () {
        await accepted(shopA, { orderId: "carol-1", userId: "carol", amount: "100" });
        expect((await settledOrder(base, shopA.shopId, "carol-1")).state).to.equal("confirmed");
        const held = (await relayer.chain.custody.accountOf(account("carol"))).points;
        expect(held > 0n).to.equal(true);

        const takeover = await asShop(shopB, "POST", "/v1/users", {
          userId: "carol",
          password: "b-chose-this",
          paymentPassword: "b-pay-pw",
        });
        expect([takeover.status, takeover.body.error?.code]).to.deep.equal([403, "NOT_YOUR_USER"]);
        expect(await count("SELECT count(*)::int AS n FROM users WHERE user_id = $1", ["carol"])).to.equal(0);
        expect(await count("SELECT count(*)::int AS n FROM operations WHERE account = $1", [account("carol")])).to.equal(0);
        const login = await call(base, "POST", "/v1/sessions", { body: { userId: "carol", password: "b-chose-this" } });
        expect(login.status).to.equal(401);

        const byOperator = await admin("POST", "/v1/users", { userId: "carol", password: "carol-own-pw" });
        expect(byOperator.status, JSON.stringify(byOperator.body)).to.equal(201);
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, byOperator.body.operation.operationId)).state).to.equal("confirmed");
        expect((await relayer.chain.custody.accountOf(account("carol"))).points).to.equal(held);
      });

      it("refuses a shop registering a user its own orders named once other shops' orders paid points to it too", async function () {
        await accepted(shopA, { orderId: "dora-1", userId: "dora", amount: "10" });
        await accepted(shopB, { orderId: "dora-2", userId: "dora", amount: "10" });
        const res = await asShop(shopA, "POST", "/v1/users", { userId: "dora", password: "a-chose-this" });
        expect([res.status, res.body.error?.code]).to.deep.equal([403, "NOT_YOUR_USER"]);
        expect(res.body.error.message).to.contain("other shops' orders");
      });

      it("lets a shop register a user only its own orders named, and a new user id, which is then its own", async function () {
        await accepted(shopA, { orderId: "ezra-1", userId: "ezra", amount: "10" });
        const own = await asShop(shopA, "POST", "/v1/users", { userId: "ezra", password: "ezra-login-pw" });
        expect(own.status, JSON.stringify(own.body)).to.equal(201);
        const fresh = await asShop(shopB, "POST", "/v1/users", { userId: "fay", password: "fay-login-pw" });
        expect(fresh.status, JSON.stringify(fresh.body)).to.equal(201);
        // Shop B made fay; shop A's orders for fay now go to B's registered user, which is how a
        // shared ecosystem id works, but A cannot register it again or claim it.
        expect((await asShop(shopA, "POST", "/v1/users", { userId: "fay", password: "a-chose-this" })).body.error.code).to.equal(
          "NOT_YOUR_USER",
        );
      });

      it("refuses a shop registering a user id another shop made but has not registered", async function () {
        await accepted(shopB, { orderId: "gus-1", userId: "gus", amount: "1" });
        // Shop B's order created gus and (rejected or not) gus is B's; shop A may not register it.
        const res = await asShop(shopA, "POST", "/v1/users", { userId: "gus", password: "a-chose-this" });
        expect([res.status, res.body.error?.code]).to.deep.equal([403, "NOT_YOUR_USER"]);
        expect(res.body.error.message).to.contain("another shop");
      });
    });

    describe("referrers", function () {
      before(async function () {
        const res = await admin("POST", "/v1/users", { userId: "ref-olga", password: "olga-login-pw" });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
      });

      it("ignores a referrer a shop's order names for a user another shop registered", async function () {
        const res = await asShop(shopB, "POST", "/v1/users", { userId: "hal", password: "hal-login-pw" });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
        await accepted(shopA, { orderId: "hal-1", userId: "hal", amount: "0.10", referrerId: "ref-olga" });
        expect((await settledOrder(base, shopA.shopId, "hal-1")).state).to.equal("confirmed");
        expect((await relayer.chain.custody.accountOf(account("hal"))).referrer).to.equal(ZeroHash);
        expect(
          await count("SELECT count(*)::int AS n FROM operations WHERE kind = 'register' AND account = $1", [account("hal")]),
        ).to.equal(1);
      });

      it("ignores a referrer named on a later order of a user the same shop's order created", async function () {
        await accepted(shopA, { orderId: "ivy-1", userId: "ivy", amount: "5" });
        await accepted(shopA, { orderId: "ivy-2", userId: "ivy", amount: "5", referrerId: "ref-olga" });
        expect((await settledOrder(base, shopA.shopId, "ivy-2")).state).to.equal("confirmed");
        expect((await relayer.chain.custody.accountOf(account("ivy"))).referrer).to.equal(ZeroHash);
      });

      it("sets the referrer named by the order that creates the user", async function () {
        await accepted(shopA, { orderId: "jo-1", userId: "jo", amount: "5", referrerId: "ref-olga" });
        expect((await settledOrder(base, shopA.shopId, "jo-1")).state).to.equal("confirmed");
        expect((await relayer.chain.custody.accountOf(account("jo"))).referrer).to.equal(account("ref-olga"));
      });
    });

    describe("ad merchants", function () {
      let merchant: { merchantId: string; apiKey: string };
      before(async function () {
        const res = await admin("POST", "/v1/admin/merchants", { name: "Boundary merchant" });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        merchant = res.body;
      });

      it("refuses an order naming an ad merchant nobody allowed for that shop, recording nothing", async function () {
        const res = await order(shopA, { orderId: "ad-x", userId: "kim", amount: "50", adMerchantId: merchant.merchantId });
        expect([res.status, res.body.error?.code]).to.deep.equal([403, "AD_MERCHANT_NOT_ALLOWED"]);
        expect((await call(base, "GET", `/v1/shops/${shopA.shopId}/orders/ad-x`, { token: TEST_ADMIN_TOKEN })).status).to.equal(404);
        expect(await count("SELECT count(*)::int AS n FROM voucher_sales WHERE merchant_id = $1", [merchant.merchantId])).to.equal(0);
      });

      it("takes the orders of a shop the operator or the merchant allowed, until it is withdrawn", async function () {
        expect(
          (await call(base, "PUT", `/v1/admin/shops/${shopA.shopId}/ad-merchants/${merchant.merchantId}`, { token: TEST_ADMIN_TOKEN }))
            .status,
        ).to.equal(200);
        await accepted(shopA, { orderId: "ad-1", userId: "kim", amount: "50", adMerchantId: merchant.merchantId });
        const bySelf = await call(base, "PUT", `/v1/merchant/shops/${shopB.shopId}`, { token: merchant.apiKey });
        expect(bySelf.body).to.deep.equal({ shopId: shopB.shopId, merchantId: merchant.merchantId, allowed: true });
        await accepted(shopB, { orderId: "ad-2", userId: "kim", amount: "50", adMerchantId: merchant.merchantId });
        const list = await call(base, "GET", `/v1/admin/shops/${shopB.shopId}/ad-merchants`, { token: TEST_ADMIN_TOKEN });
        expect(list.body.adMerchants.map((a: { allowedBy: string }) => a.allowedBy)).to.deep.equal([`merchant:${merchant.merchantId}`]);

        // The merchant withdraws what the operator allowed too.
        expect((await call(base, "DELETE", `/v1/merchant/shops/${shopA.shopId}`, { token: merchant.apiKey })).status).to.equal(200);
        const after = await order(shopA, { orderId: "ad-3", userId: "kim", amount: "50", adMerchantId: merchant.merchantId });
        expect(after.body.error?.code).to.equal("AD_MERCHANT_NOT_ALLOWED");
        // An order accepted before is still answered with its state when the shop sends it again.
        const repeat = await order(shopA, { orderId: "ad-1", userId: "kim", amount: "50", adMerchantId: merchant.merchantId });
        expect([repeat.status, repeat.body.orderId]).to.deep.equal([200, "ad-1"]);
        expect(await count("SELECT count(*)::int AS n FROM voucher_sales WHERE merchant_id = $1", [merchant.merchantId])).to.equal(2);
      });

      it("does not let a shop allow itself with its own secret", async function () {
        const res = await call(base, "PUT", `/v1/admin/shops/${shopA.shopId}/ad-merchants/${merchant.merchantId}`, {
          token: shopA.webhookSecret,
          headers: { "x-gp-shop": shopA.shopId },
        });
        expect(res.status).to.equal(401);
      });
    });

    describe("ids", function () {
      for (const [what, body] of [
        ["an order id with a space", { orderId: "a b", userId: "quinn", amount: "1" }],
        ["an order id with a NUL", { orderId: "a\u0000b", userId: "quinn", amount: "1" }],
        ["a user id with a slash", { orderId: "q-1", userId: "quinn/x", amount: "1" }],
        ["a user id with a NUL", { orderId: "q-2", userId: "quinn\u0000", amount: "1" }],
        ["a referrer id with a space", { orderId: "q-3", userId: "quinn", amount: "1", referrerId: "ref olga" }],
        ["an order id of 129 characters", { orderId: "x".repeat(129), userId: "quinn", amount: "1" }],
      ] as const) {
        it(`refuses ${what} with 400 VALIDATION_FAILED, recording nothing`, async function () {
          const res = await order(shopA, body);
          expect([res.status, res.body.error?.code], JSON.stringify(res.body)).to.deep.equal([400, "VALIDATION_FAILED"]);
          expect(await count("SELECT count(*)::int AS n FROM orders WHERE user_id LIKE 'quinn%'", [])).to.equal(0);
        });
      }

      it("accepts every id the rest of the API takes, which can then be looked up and registered", async function () {
        await accepted(shopA, { orderId: "Q.1:x@y_z-2", userId: "quinn.r@shop_1:x-2", amount: "1" });
        const found = await call(base, "GET", `/v1/shops/${shopA.shopId}/orders/Q.1:x@y_z-2`, { token: shopA.webhookSecret });
        expect(found.status).to.equal(200);
        const reg = await asShop(shopA, "POST", "/v1/users", { userId: "quinn.r@shop_1:x-2", password: "quinn-login-pw" });
        expect(reg.status, JSON.stringify(reg.body)).to.equal(201);
      });
    });
    describe("limits", function () {
      it("refuses an order above the default per-order limit of a new shop, recording nothing", async function () {
        const shop = await createShop(base, "Small shop");
        const res = await order(shop, { orderId: "big-1", userId: "lou", amount: "10000.01" });
        expect([res.status, res.body.error?.code, res.body.error?.details?.limit]).to.deep.equal([422, "SHOP_LIMIT_EXCEEDED", "perOrder"]);
        expect(await ordersNamed("lou")).to.equal(0);
        expect((await order(shop, { orderId: "big-2", userId: "lou", amount: "10000" })).status).to.equal(202);
        const usage = await call(base, "GET", `/v1/admin/shops/${shop.shopId}/limits`, { token: TEST_ADMIN_TOKEN });
        expect(usage.body).to.deep.include({ today: "10000", outstanding: "10000" });
        expect(usage.body.limits).to.deep.equal({
          perOrder: "10000",
          perDay: "100000",
          outstanding: "1000000",
          own: { perOrder: false, perDay: false, outstanding: false },
        });
      });

      it("holds a shop to its day's limit under concurrent orders, alerting as it nears it, and leaves other shops alone", async function () {
        const shop = await createShop(base, "Day-limited shop");
        expect((await admin("PUT", `/v1/admin/shops/${shop.shopId}/limits`, { perDay: "1000" })).status).to.equal(200);
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => order(shop, { orderId: `day-${i}`, userId: `day-user-${i}`, amount: "100" })),
        );
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses.filter((s) => s === 202)).to.have.length(10);
        expect(statuses.filter((s) => s === 422)).to.have.length(10);
        const refused = answers.find((a) => a.status === 422)!;
        expect(refused.body.error).to.deep.include({ code: "SHOP_LIMIT_EXCEEDED" });
        expect(refused.body.error.details).to.deep.include({ limit: "perDay", max: "1000", used: "1000", amount: "100" });
        expect(await count("SELECT count(*)::int AS n FROM orders WHERE shop_id = $1", [shop.shopId])).to.equal(10);
        const alerts = logLines.map((l) => JSON.parse(l)).filter((l) => l.shopId === shop.shopId);
        expect(alerts.filter((l) => l.alert === "shop-limit-near" && l.limit === "perDay")).to.have.length(1);
        expect(alerts.filter((l) => l.alert === "shop-limit-reached")).to.have.length(10);
        await accepted(shopB, { orderId: "other-shop-today", userId: "mo", amount: "100" });
      });

      it("refuses past the outstanding total until the operator records the shop's settlement; a rejected order frees its amount", async function () {
        const shop = await createShop(base, "Owing shop");
        expect((await admin("PUT", `/v1/admin/shops/${shop.shopId}/limits`, { outstanding: "250" })).status).to.equal(200);
        await accepted(shop, { orderId: "owe-1", userId: "ned", amount: "100" });
        await accepted(shop, { orderId: "owe-2", userId: "ned", amount: "100" });
        const refused = await order(shop, { orderId: "owe-3", userId: "ned", amount: "100" });
        expect([refused.status, refused.body.error?.details?.limit]).to.deep.equal([422, "outstanding"]);
        // One base unit mints nothing: the relayer rejects it, and nobody fronted its amount.
        await accepted(shop, { orderId: "owe-dust", userId: "ned", amount: "0.000001" });
        expect((await settledOrder(base, shop.shopId, "owe-dust")).state).to.equal("rejected");
        let usage = await call(base, "GET", `/v1/admin/shops/${shop.shopId}/limits`, { token: TEST_ADMIN_TOKEN });
        expect(usage.body.outstanding).to.equal("200");

        const tooMuch = await admin("POST", `/v1/admin/shops/${shop.shopId}/settlements`, { amount: "200.01" });
        expect([tooMuch.status, tooMuch.body.error?.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        const settled = await admin("POST", `/v1/admin/shops/${shop.shopId}/settlements`, { amount: "100" });
        expect(settled.status, JSON.stringify(settled.body)).to.equal(200);
        expect(settled.body.outstanding).to.equal("100");
        await accepted(shop, { orderId: "owe-3", userId: "ned", amount: "100" });
        usage = await call(base, "GET", `/v1/admin/shops/${shop.shopId}/limits`, { token: TEST_ADMIN_TOKEN });
        expect(usage.body.outstanding).to.equal("200");
        const listed = (await call(base, "GET", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN })).body.shops.find(
          (s: { shopId: string }) => s.shopId === shop.shopId,
        );
        expect(listed).to.deep.include({ outstanding: "200" });
        expect(listed.limits.outstanding).to.equal("250");
      });

      it("refuses past a limit however the order is recorded (alone, with a referral, with an ad sale), recording none of its parts", async function () {
        const shop = await createShop(base, "Capped shop");
        expect((await admin("PUT", `/v1/admin/shops/${shop.shopId}/limits`, { perDay: "100" })).status).to.equal(200);
        const merchant = await admin("POST", "/v1/admin/merchants", { name: "Capped merchant" });
        const merchantId = merchant.body.merchantId as string;
        expect(
          (await call(base, "PUT", `/v1/admin/shops/${shop.shopId}/ad-merchants/${merchantId}`, { token: TEST_ADMIN_TOKEN })).status,
        ).to.equal(200);
        await accepted(shop, { orderId: "cap-0", userId: "cap-user-0", amount: "60" });
        const users = ["cap-user-1", "cap-user-2", "cap-user-3"];
        const bodies = (suffix: string, amount: string): Record<string, string>[] => [
          { orderId: `cap-1${suffix}`, userId: users[0], amount },
          { orderId: `cap-2${suffix}`, userId: users[1], amount, referrerId: "cap-user-0" },
          { orderId: `cap-3${suffix}`, userId: users[2], amount, adMerchantId: merchantId },
        ];
        const parts = async () => [
          await count("SELECT count(*)::int AS n FROM orders WHERE shop_id = $1", [shop.shopId]),
          await count("SELECT count(*)::int AS n FROM user_origins WHERE user_id = ANY($1)", [users]),
          await count("SELECT count(*)::int AS n FROM operations WHERE kind = 'register' AND account = ANY($1)", [users.map(account)]),
          await count("SELECT count(*)::int AS n FROM voucher_sales WHERE merchant_id = $1", [merchantId]),
        ];
        for (const body of bodies("", "50")) {
          const res = await order(shop, body);
          expect([res.status, res.body.error?.code, res.body.error?.details], body.orderId).to.deep.equal([
            422,
            "SHOP_LIMIT_EXCEEDED",
            { shopId: shop.shopId, limit: "perDay", max: "100", used: "60", amount: "50" },
          ]);
        }
        expect(await parts()).to.deep.equal([1, 0, 0, 0]);
        // Within the limit, each way records the order and its part; a repeat answers the same.
        for (const body of bodies("-ok", "10")) await accepted(shop, body);
        for (const body of bodies("-ok", "10")) expect((await order(shop, body)).status, body.orderId).to.equal(200);
        expect(await parts()).to.deep.equal([4, 3, 1, 1]);
        const usage = await call(base, "GET", `/v1/admin/shops/${shop.shopId}/limits`, { token: TEST_ADMIN_TOKEN });
        expect(usage.body).to.deep.include({ today: "90", outstanding: "90" });
      });

      it("stops every shop at the deployment's daily limit with DEPLOYMENT_LIMIT_REACHED, recording nothing", async function () {
        const shop = await createShop(base, "Large shop");
        expect((await admin("PUT", `/v1/admin/shops/${shop.shopId}/limits`, { perOrder: "150000", perDay: "1000000" })).status).to.equal(
          200,
        );
        const [{ total }] = await relayer.db.query<{ total: string }>("SELECT total::text AS total FROM daily_totals");
        const decimals = relayer.chain.deployments.settlementDecimals;
        // The deployment's daily limit (set in `before`) less today's orders, in whole units rounded down.
        const left = parseUnits(DEPLOYMENT_PER_DAY, decimals) - BigInt(total);
        const fill = await order(shop, {
          orderId: "fill",
          userId: "pia",
          amount: formatUnits(left - (left % 10n ** BigInt(decimals)), decimals),
        });
        expect(fill.status, JSON.stringify(fill.body)).to.equal(202);
        const res = await order(shopB, { orderId: "over-the-day", userId: "pia", amount: "1" });
        expect([res.status, res.body.error?.code]).to.deep.equal([429, "DEPLOYMENT_LIMIT_REACHED"]);
        expect((await call(base, "GET", `/v1/shops/${shopB.shopId}/orders/over-the-day`, { token: TEST_ADMIN_TOKEN })).status).to.equal(
          404,
        );
      });
    });
  });
}

shouldKeepShopsToTheirOwn("PGlite");
if (process.env.DATABASE_URL) {
  shouldKeepShopsToTheirOwn("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
