/**
 * The operator console's shops, merchants and ad networks over HTTP, as a hostile caller would try
 * them: every endpoint the console calls refuses no token, a merchant's key and staff sessions, a
 * shopper's session and a shop's secret, and a cookie session's change without its CSRF token,
 * changing nothing; each change an operator's session makes is in the audit log under that
 * operator. The shops' list counts each shop's orders by state; a new merchant may come with its
 * owner in one transaction; a suspended merchant is refused a payment and an ad order at once, and
 * by the chain (its custody flag off), keeps its own API, and takes both again once resumed. On
 * PGlite, and on PostgreSQL too when DATABASE_URL is set.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { parseUnits } from "ethers";
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

type Merchant = { merchantId: string; keyId: string; apiKey: string; account: string };

const valueOf = (line: string) => line.split(";")[0].split("=").slice(1).join("=");

function shouldServeTheConsole(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`the operator console's shops, merchants and ad networks over HTTP (${label})`, function () {
    this.timeout(240_000);
    let external = null as { db: Db; close(): Promise<void> } | null;
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    let merchant: Merchant;
    let operator: { token: string; staffId: string; cookie: string; csrf: string };
    let ownerToken: string;
    let staffToken: string;
    let shopperToken: string;

    const as = (token: string | undefined, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
      call(base, method, route, { token, body, headers: { "idempotency-key": randomUUID(), ...headers } });
    const admin = (method: string, route: string, body?: unknown) => as(TEST_ADMIN_TOKEN, method, route, body);
    const op = (method: string, route: string, body?: unknown) => as(operator.token, method, route, body);
    const staffLogIn = async (login: string, password: string) => {
      const res = await call(base, "POST", "/v1/staff/sessions", { body: { login, password } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body as { token: string; staffId: string };
    };
    const confirmed = async (operationId: string) =>
      expect((await settledOperation(base, TEST_ADMIN_TOKEN, operationId)).state).to.equal("confirmed");
    const auditCount = async () => (await admin("GET", "/v1/admin/audit?limit=1000")).body.entries.length as number;
    const merchantNow = async (merchantId: string) =>
      ((await admin("GET", "/v1/admin/merchants")).body.merchants as any[]).find((m) => m.merchantId === merchantId);

    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({ db: external?.db });
      base = relayer.url;
      shop = await createShop(base, "Console shop");
      expect((await admin("POST", "/v1/admin/operators", { login: "op-console", password: "op-console-password" })).status).to.equal(201);
      const session = await staffLogIn("op-console", "op-console-password");
      const cookieSession = await call(base, "POST", "/v1/staff/sessions", {
        body: { login: "op-console", password: "op-console-password" },
        headers: { "x-gp-session": "cookie" },
      });
      const cookies = Object.fromEntries(cookieSession.headers.getSetCookie().map((line) => [line.split("=")[0], line]));
      operator = {
        token: session.token,
        staffId: session.staffId,
        cookie: `gp_session=${valueOf(cookies.gp_session)}; gp_csrf=${valueOf(cookies.gp_csrf)}`,
        csrf: decodeURIComponent(valueOf(cookies.gp_csrf)),
      };
      const made = await op("POST", "/v1/admin/merchants", {
        name: "Console merchant",
        owner: { login: "console.owner", password: "owner-password" },
      });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      await confirmed(made.body.operation.operationId);
      merchant = made.body;
      ownerToken = (await staffLogIn("console.owner", "owner-password")).token;
      const staff = await as(ownerToken, "POST", "/v1/merchant/staff", { login: "console.till", password: "till-password", role: "staff" });
      expect(staff.status, JSON.stringify(staff.body)).to.equal(201);
      staffToken = (await staffLogIn("console.till", "till-password")).token;
      const user = await admin("POST", "/v1/users", { userId: "console-alice", password: "alice-login-pw", paymentPassword: "alice-pay" });
      expect(user.status, JSON.stringify(user.body)).to.equal(201);
      await confirmed(user.body.operation.operationId);
      shopperToken = (await call(base, "POST", "/v1/sessions", { body: { userId: "console-alice", password: "alice-login-pw" } })).body
        .token;
      // GP to pay merchants with.
      expect((await postOrder(base, shop, { orderId: "alice-1", userId: "console-alice", amount: "100" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, "alice-1")).state).to.equal("confirmed");
    });
    after(async () => {
      await relayer?.stop();
      await external?.close();
    });

    /** Every endpoint the console's shops, merchants and ad-networks tabs call. */
    const endpoints = (): [string, string, unknown?][] => [
      ["GET", "/v1/admin/shops"],
      ["POST", "/v1/admin/shops", { name: "Hostile shop" }],
      ["POST", `/v1/admin/shops/${shop.shopId}/rotate-secret`],
      ["GET", `/v1/admin/shops/${shop.shopId}/limits`],
      ["PUT", `/v1/admin/shops/${shop.shopId}/limits`, { perOrder: "1" }],
      ["POST", `/v1/admin/shops/${shop.shopId}/settlements`, { amount: "1" }],
      ["GET", `/v1/admin/shops/${shop.shopId}/ad-merchants`],
      ["PUT", `/v1/admin/shops/${shop.shopId}/ad-merchants/${merchant.merchantId}`],
      ["DELETE", `/v1/admin/shops/${shop.shopId}/ad-merchants/${merchant.merchantId}`],
      ["GET", "/v1/admin/merchants"],
      ["POST", "/v1/admin/merchants", { name: "Hostile merchant", owner: { login: "hostile.owner", password: "hostile-password" } }],
      ["PUT", `/v1/admin/merchants/${merchant.merchantId}/suspension`, { suspended: true, reason: "hostile" }],
      ["GET", `/v1/admin/merchants/${merchant.merchantId}/keys`],
      ["POST", `/v1/admin/merchants/${merchant.merchantId}/keys`],
      ["DELETE", `/v1/admin/merchants/${merchant.merchantId}/keys/${merchant.keyId}`],
      ["GET", `/v1/admin/merchants/${merchant.merchantId}/staff`],
      ["POST", `/v1/admin/merchants/${merchant.merchantId}/staff`, { login: "hostile.staff", password: "hostile-password", role: "owner" }],
      ["GET", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`],
      ["POST", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`, { amount: "1" }],
      ["GET", "/v1/admin/ad-networks"],
      ["POST", "/v1/admin/ad-networks", { name: "Hostile network", scheme: "hmac-sha256" }],
    ];

    describe("who may call", function () {
      it("refuses no token, a merchant's key, its owner's and staff's sessions, a shopper's session and a shop's secret (401), changing nothing", async function () {
        const before = await auditCount();
        const callers: [string, string | undefined, Record<string, string>?][] = [
          ["no token", undefined],
          ["a merchant's API key", merchant.apiKey],
          ["a merchant owner's session", ownerToken],
          ["a merchant staff's session", staffToken],
          ["a shopper's session", shopperToken],
          ["a shop's secret", shop.webhookSecret, { "x-gp-shop": shop.shopId }],
        ];
        for (const [who, token, headers] of callers)
          for (const [method, route, body] of endpoints()) {
            const res = await as(token, method, route, body, headers);
            expect(res.status, `${who}: ${method} ${route}: ${JSON.stringify(res.body)}`).to.equal(401);
            expect(res.body.error.code).to.equal("UNAUTHORIZED");
          }
        expect(await auditCount()).to.equal(before);
        expect((await merchantNow(merchant.merchantId)).suspended).to.equal(false);
        const names = ((await admin("GET", "/v1/admin/shops")).body.shops as any[]).map((s) => s.name);
        expect(names).to.not.include("Hostile shop");
        expect((await admin("GET", "/v1/admin/ad-networks")).body.networks.map((n: any) => n.name)).to.not.include("Hostile network");
        // The shop's secret still signs its orders: nothing rotated it.
        expect((await postOrder(base, shop, { orderId: "still-signed", userId: "console-bob", amount: "1" })).status).to.equal(202);
      });

      it("refuses an operator's cookie session a change without its CSRF token (403 CSRF_REFUSED), and reads with it", async function () {
        const before = await auditCount();
        for (const [method, route, body] of endpoints()) {
          const res = await call(base, method, route, { body, headers: { cookie: operator.cookie, "idempotency-key": randomUUID() } });
          if (method === "GET") expect(res.status, `${method} ${route}`).to.equal(200);
          else {
            expect(res.status, `${method} ${route}: ${JSON.stringify(res.body)}`).to.equal(403);
            expect(res.body.error.code).to.equal("CSRF_REFUSED");
          }
        }
        expect(await auditCount()).to.equal(before);
        expect((await merchantNow(merchant.merchantId)).suspended).to.equal(false);
        // With the token it goes through, under the operator's name.
        const made = await call(base, "POST", "/v1/admin/ad-networks", {
          body: { name: "Cookie network", scheme: "hmac-sha256" },
          headers: { cookie: operator.cookie, "x-gp-csrf": operator.csrf },
        });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        const [entry] = (await admin("GET", "/v1/admin/audit?action=ad-network-registered&limit=1")).body.entries;
        expect(entry).to.deep.include({ actor: `operator:${operator.staffId}`, subject: `ad-network:${made.body.networkId}` });
      });
    });

    describe("the audit log", function () {
      it("names the operator whose session made each change, with the operation it queued", async function () {
        const actor = `operator:${operator.staffId}`;
        const made = await op("POST", "/v1/admin/shops", { name: "Audited shop" });
        expect(made.status).to.equal(201);
        const s = `shop:${made.body.shopId}`;
        expect((await op("POST", `/v1/admin/shops/${made.body.shopId}/rotate-secret`)).status).to.equal(200);
        expect((await op("PUT", `/v1/admin/shops/${made.body.shopId}/limits`, { perOrder: "500", perDay: null })).status).to.equal(200);
        expect((await postOrder(base, made.body, { orderId: "o1", userId: "console-bob", amount: "1" })).status).to.equal(401);
        const rotated = (await op("POST", `/v1/admin/shops/${made.body.shopId}/rotate-secret`)).body;
        expect((await postOrder(base, rotated, { orderId: "o1", userId: "console-bob", amount: "10" })).status).to.equal(202);
        expect((await op("POST", `/v1/admin/shops/${made.body.shopId}/settlements`, { amount: "4" })).status).to.equal(200);
        const m = `/v1/admin/shops/${made.body.shopId}/ad-merchants/${merchant.merchantId}`;
        expect((await op("PUT", m)).status).to.equal(200);
        expect((await op("DELETE", m)).status).to.equal(200);
        const key = await op("POST", `/v1/admin/merchants/${merchant.merchantId}/keys`);
        expect(key.status).to.equal(201);
        expect((await op("DELETE", `/v1/admin/merchants/${merchant.merchantId}/keys/${key.body.keyId}`)).status).to.equal(200);
        const topUp = await op("POST", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`, { amount: "5" });
        expect(topUp.status, JSON.stringify(topUp.body)).to.equal(202);
        await confirmed(topUp.body.operationId);
        const network = await op("POST", "/v1/admin/ad-networks", { name: "Audited network", scheme: "ed25519" });
        expect(network.status).to.equal(201);
        const staff = await op("POST", `/v1/admin/merchants/${merchant.merchantId}/staff`, {
          login: "console.second",
          password: "second-password",
          role: "staff",
        });
        expect(staff.status).to.equal(201);

        const entries = (await admin("GET", "/v1/admin/audit?limit=50")).body.entries as any[];
        const find = (action: string, subject: string) => entries.find((e) => e.action === action && e.subject === subject);
        const merchantSubject = `merchant:${merchant.merchantId}`;
        for (const [action, subject] of [
          ["shop-created", s],
          ["shop-secret-rotated", s],
          ["shop-limits-set", s],
          ["shop-settled", s],
          ["shop-ad-merchant-allowed", s],
          ["shop-ad-merchant-revoked", s],
          ["merchant-key-issued", merchantSubject],
          ["merchant-key-revoked", merchantSubject],
          ["ad-credit-top-up", merchantSubject],
          ["ad-network-registered", `ad-network:${network.body.networkId}`],
          ["staff-created", `staff:${staff.body.staffId}`],
        ])
          expect(find(action, subject), `${action} ${subject}`).to.include({ actor });
        expect(find("shop-limits-set", s).details).to.deep.include({ perOrder: "500", perDay: null });
        expect(find("shop-settled", s).details).to.deep.equal({ amount: "4" });
        expect(find("ad-credit-top-up", merchantSubject)).to.include({ operationId: topUp.body.operationId });
        expect(find("ad-network-registered", `ad-network:${network.body.networkId}`).details).to.deep.include({ keyMadeHere: true });
        // The merchant made in `before`, with its owner, by the same operator.
        const created = (await admin("GET", `/v1/admin/audit?action=merchant-created&subject=merchant:${merchant.merchantId}`)).body
          .entries;
        expect(created[0]).to.include({ actor });
        // The admin token is named as such.
        const byToken = await admin("POST", "/v1/admin/shops", { name: "Token shop" });
        const [tokenEntry] = (await admin("GET", `/v1/admin/audit?subject=shop:${byToken.body.shopId}`)).body.entries;
        expect(tokenEntry).to.include({ actor: "admin-token", action: "shop-created" });
      });
    });

    describe("the shops' list", function () {
      it("counts each shop's orders by state, and a shop without orders as none", async function () {
        const counted = await op("POST", "/v1/admin/shops", { name: "Counted shop" });
        const empty = await op("POST", "/v1/admin/shops", { name: "Empty shop" });
        expect((await postOrder(base, counted.body, { orderId: "c1", userId: "console-carol", amount: "10" })).status).to.equal(202);
        expect((await settledOrder(base, counted.body.shopId, "c1")).state).to.equal("confirmed");
        // Past the shop's per-order limit: refused at intake, so never counted.
        await op("PUT", `/v1/admin/shops/${counted.body.shopId}/limits`, { perOrder: "20" });
        expect((await postOrder(base, counted.body, { orderId: "c2", userId: "console-carol", amount: "21" })).status).to.equal(422);
        const shops = (await op("GET", "/v1/admin/shops")).body.shops as any[];
        expect(shops.find((x) => x.shopId === counted.body.shopId).orders).to.deep.equal({
          pending: 0,
          received: 0,
          submitted: 0,
          confirmed: 1,
          rejected: 0,
          cancelled: 0,
        });
        expect(shops.find((x) => x.shopId === empty.body.shopId).orders).to.deep.equal({
          pending: 0,
          received: 0,
          submitted: 0,
          confirmed: 0,
          rejected: 0,
          cancelled: 0,
        });
      });
    });

    describe("creating a merchant with its owner", function () {
      it("makes both in one transaction: the owner logs in to the portal; a login taken makes neither", async function () {
        const made = await op("POST", "/v1/admin/merchants", {
          name: "Owned merchant",
          owner: { login: "owned.owner", password: "owned-password" },
        });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        expect(made.body.owner).to.include({ login: "owned.owner", role: "owner", merchantId: made.body.merchantId, disabledAt: null });
        const session = await staffLogIn("owned.owner", "owned-password");
        expect((await as(session.token, "GET", "/v1/merchant")).body.merchantId).to.equal(made.body.merchantId);

        const before = await auditCount();
        const taken = await op("POST", "/v1/admin/merchants", {
          name: "Second owned",
          owner: { login: "owned.owner", password: "other-password" },
        });
        expect(taken.status).to.equal(409);
        expect(taken.body.error.code).to.equal("NAME_TAKEN");
        const names = ((await admin("GET", "/v1/admin/merchants")).body.merchants as any[]).map((m) => m.name);
        expect(names).to.include("Owned merchant").and.not.include("Second owned");
        expect(await auditCount()).to.equal(before);
        const short = await op("POST", "/v1/admin/merchants", {
          name: "Short password",
          owner: { login: "short.owner", password: "short" },
        });
        expect(short.status).to.equal(400);
      });
    });

    describe("keys and networks", function () {
      it("lists a merchant's keys, live and revoked, and never the key itself", async function () {
        const issued = (await op("POST", `/v1/admin/merchants/${merchant.merchantId}/keys`)).body;
        await op("DELETE", `/v1/admin/merchants/${merchant.merchantId}/keys/${issued.keyId}`);
        const res = await op("GET", `/v1/admin/merchants/${merchant.merchantId}/keys`);
        expect(res.status).to.equal(200);
        const listed = (res.body.keys as any[]).find((k) => k.keyId === issued.keyId);
        expect(listed.revokedAt).to.be.a("string");
        expect((res.body.keys as any[]).find((k) => k.keyId === merchant.keyId).revokedAt).to.equal(null);
        expect(JSON.stringify(res.body)).to.not.include("gpk_");
        expect((await call(base, "GET", "/v1/merchant", { token: issued.apiKey })).status).to.equal(401);
        expect((await op("GET", "/v1/admin/merchants/mer_000000000000/keys")).status).to.equal(404);
      });

      it("lists ad networks with their callback paths and public keys, never an HMAC secret", async function () {
        const hmac = await op("POST", "/v1/admin/ad-networks", { name: "Listed HMAC", scheme: "hmac-sha256" });
        const ed = await op("POST", "/v1/admin/ad-networks", { name: "Listed Ed25519", scheme: "ed25519" });
        const res = await op("GET", "/v1/admin/ad-networks");
        expect(res.status).to.equal(200);
        const listed = (id: string) => (res.body.networks as any[]).find((n) => n.networkId === id);
        expect(listed(hmac.body.networkId)).to.include({ name: "Listed HMAC", scheme: "hmac-sha256", publicKey: null });
        expect(listed(hmac.body.networkId).callbackPath).to.equal(hmac.body.callbackPath);
        expect(listed(ed.body.networkId).publicKey).to.match(/^-----BEGIN PUBLIC KEY-----/);
        expect(JSON.stringify(res.body)).to.not.include(hmac.body.secret).and.not.include("PRIVATE KEY");
      });

      it("shows a merchant's ad credit after a top-up", async function () {
        const before = (await op("GET", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`)).body.credit;
        const topUp = await op("POST", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`, { amount: "7.5" });
        await confirmed(topUp.body.operationId);
        const after = (await op("GET", `/v1/admin/merchants/${merchant.merchantId}/ad-credit`)).body.credit;
        expect(parseUnits(after, 6) - parseUnits(before, 6)).to.equal(parseUnits("7.5", 6));
      });
    });

    describe("suspending a merchant", function () {
      let suspended: Merchant;
      const pay = (merchantId: string, amount = "0.5") =>
        call(base, "POST", "/v1/me/payments", {
          token: shopperToken,
          body: { merchantId, asset: "GP", amount },
          headers: { "idempotency-key": randomUUID(), "x-gp-payment-password": "alice-pay" },
        });
      const onChain = async () => (await relayer.chain.custody.accountOf(suspended.account)).merchant;

      before(async function () {
        const made = await op("POST", "/v1/admin/merchants", { name: "Suspended merchant" });
        await confirmed(made.body.operation.operationId);
        suspended = made.body;
        expect((await op("PUT", `/v1/admin/shops/${shop.shopId}/ad-merchants/${suspended.merchantId}`)).status).to.equal(200);
        expect(await onChain()).to.equal(true);
      });

      it("needs a reason and a merchant that exists", async function () {
        const route = `/v1/admin/merchants/${suspended.merchantId}/suspension`;
        expect((await op("PUT", route, { suspended: true })).status).to.equal(400);
        expect((await op("PUT", route, { suspended: true, reason: "  " })).status).to.equal(400);
        const unknown = await op("PUT", "/v1/admin/merchants/mer_000000000000/suspension", { suspended: true, reason: "x" });
        expect(unknown.status).to.equal(404);
        expect((await merchantNow(suspended.merchantId)).suspended).to.equal(false);
      });

      it("refuses payments to it and ad orders naming it at once, and the chain's flag goes off", async function () {
        const res = await op("PUT", `/v1/admin/merchants/${suspended.merchantId}/suspension`, { suspended: true, reason: "chargebacks" });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.body.merchant).to.include({ suspended: true, suspensionReason: "chargebacks" });
        expect(res.body.operation).to.include({ kind: "set-merchant" });
        const opsBefore = (await call(base, "GET", "/v1/me/operations", { token: shopperToken })).body;

        // At once, before the chain's flag is even sent.
        const paid = await pay(suspended.merchantId);
        expect(paid.status, JSON.stringify(paid.body)).to.equal(422);
        expect(paid.body.error).to.deep.include({ code: "MERCHANT_SUSPENDED", details: { merchantId: suspended.merchantId } });
        const order = await postOrder(base, shop, {
          orderId: "ad-while-suspended",
          userId: "console-alice",
          amount: "10",
          adMerchantId: suspended.merchantId,
        });
        expect(order.status, JSON.stringify(order.body)).to.equal(422);
        expect(order.body.error.code).to.equal("MERCHANT_SUSPENDED");
        // Nothing recorded: not the order, not an operation.
        expect((await admin("GET", `/v1/shops/${shop.shopId}/orders/ad-while-suspended`)).status).to.equal(404);
        expect((await call(base, "GET", "/v1/me/operations", { token: shopperToken })).body).to.deep.equal(opsBefore);

        await confirmed(res.body.operation.operationId);
        expect(await onChain()).to.equal(false);
        // The custody itself refuses a payment to it, whoever would send one.
        const alice = custodialUserId(TEST_USER_SALT, "console-alice");
        const refused = await relayer.chain.custody.payMerchant.staticCall(`0x${"ab".repeat(32)}`, alice, suspended.account, 0, 1n).then(
          () => null,
          (error: unknown) => error,
        );
        expect(refused, "the chain took a payment to a suspended merchant").to.not.equal(null);
        expect(relayer.chain.custody.interface.parseError((refused as { data: string }).data)?.name).to.equal("CustodyNotMerchant");

        // Another merchant is paid as before.
        expect((await pay(merchant.merchantId)).status).to.equal(202);
        // The merchant's own API still reads its account (it keeps what it holds).
        const own = await call(base, "GET", "/v1/merchant", { token: suspended.apiKey });
        expect(own.status).to.equal(200);
        expect(own.body.merchantOnChain).to.equal(false);

        const [entry] = (await admin("GET", `/v1/admin/audit?action=merchant-suspended&subject=merchant:${suspended.merchantId}`)).body
          .entries;
        expect(entry).to.include({
          actor: `operator:${operator.staffId}`,
          reason: "chargebacks",
          operationId: res.body.operation.operationId,
        });
      });

      it("answers a second suspension with nothing changed and nothing queued", async function () {
        const before = await auditCount();
        const again = await op("PUT", `/v1/admin/merchants/${suspended.merchantId}/suspension`, { suspended: true, reason: "again" });
        expect(again.status).to.equal(200);
        expect(again.body).to.not.have.property("operation");
        expect(again.body.merchant.suspensionReason).to.equal("chargebacks");
        expect(await auditCount()).to.equal(before);
      });

      it("takes payments and ad orders again once resumed", async function () {
        const res = await op("PUT", `/v1/admin/merchants/${suspended.merchantId}/suspension`, { suspended: false, reason: "cleared" });
        expect(res.status).to.equal(200);
        expect(res.body.merchant).to.include({ suspended: false, suspendedAt: null, suspensionReason: null });
        await confirmed(res.body.operation.operationId);
        expect(await onChain()).to.equal(true);
        const paid = await pay(suspended.merchantId);
        expect(paid.status, JSON.stringify(paid.body)).to.equal(202);
        expect((await settledOperation(base, shopperToken, paid.body.operationId)).state).to.equal("confirmed");
        const order = await postOrder(base, shop, {
          orderId: "ad-after-resume",
          userId: "console-alice",
          amount: "10",
          adMerchantId: suspended.merchantId,
        });
        expect(order.status, JSON.stringify(order.body)).to.equal(202);
        const [entry] = (await admin("GET", `/v1/admin/audit?action=merchant-resumed&subject=merchant:${suspended.merchantId}`)).body
          .entries;
        expect(entry).to.include({ actor: `operator:${operator.staffId}`, reason: "cleared" });
      });
    });
  });
}

shouldServeTheConsole("PGlite");
if (process.env.DATABASE_URL) {
  shouldServeTheConsole("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
