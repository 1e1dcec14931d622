/**
 * What the merchant portal calls, as a hostile caller would try it: an owner's session lists,
 * issues (the secret shown once) and revokes the merchant's own API keys, recorded in the audit
 * log under the owner's name; staff are refused key management and withdrawals (403 FORBIDDEN
 * naming the role); another merchant's owner never reaches the keys; a shopper's session is no
 * merchant; a cookie session without its CSRF token changes nothing. The payments list shows a
 * shopper's payment in every state and narrows by asset and state, to the paid merchant only; the
 * quote answers what the pool's own preview pays.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { formatUnits, parseUnits } from "ethers";
import { merchantAccountId } from "../../server/adapters/chain/ids";
import { Rounding, toPoints } from "../../server/domain/points-math";
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

const TO = "0x000000000000000000000000000000000000dEaD";
const valueOf = (line: string) => line.split(";")[0].split("=").slice(1).join("=");

describe("the merchant portal's API", function () {
  this.timeout(180_000);
  let relayer: TestRelayer;
  let base: string;
  let shop: { shopId: string; webhookSecret: string };
  let merchantA: { merchantId: string; keyId: string; apiKey: string };
  let merchantB: { merchantId: string; keyId: string; apiKey: string };
  let ownerA: string;
  let ownerAId: string;
  let staffA: string;
  let ownerB: string;
  let shopper: string;

  const key = () => ({ "idempotency-key": randomUUID() });
  const admin = (method: string, route: string, body?: unknown) =>
    call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
  const as = (token: string, method: string, route: string, body?: unknown) => call(base, method, route, { token, body, headers: key() });
  async function makeMerchant(name: string) {
    const made = await admin("POST", "/v1/admin/merchants", { name });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, made.body.operation.operationId)).state).to.equal("confirmed");
    return made.body as { merchantId: string; keyId: string; apiKey: string };
  }
  async function staffSession(merchantId: string, login: string, role: "owner" | "staff") {
    const made = await admin("POST", `/v1/admin/merchants/${merchantId}/staff`, { login, password: `${login}-password`, role });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    const session = await call(base, "POST", "/v1/staff/sessions", { body: { login, password: `${login}-password` } });
    expect(session.status).to.equal(201);
    return { token: session.body.token as string, staffId: made.body.staffId as string };
  }
  const pay = (body: unknown) =>
    call(base, "POST", "/v1/me/payments", { token: shopper, body, headers: { ...key(), "x-gp-payment-password": "shopper-pay" } });

  before(async function () {
    relayer = await startTestRelayer();
    base = relayer.url;
    shop = await createShop(base, "Portal shop");
    merchantA = await makeMerchant("Portal Café");
    merchantB = await makeMerchant("Portal Other");
    const a = await staffSession(merchantA.merchantId, "portal-boss", "owner");
    ownerA = a.token;
    ownerAId = a.staffId;
    staffA = (await staffSession(merchantA.merchantId, "portal-till", "staff")).token;
    ownerB = (await staffSession(merchantB.merchantId, "portal-other-boss", "owner")).token;
    const user = await admin("POST", "/v1/users", { userId: "portal-shopper", password: "shopper-login", paymentPassword: "shopper-pay" });
    expect(user.status, JSON.stringify(user.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, user.body.operation.operationId)).state).to.equal("confirmed");
    for (const orderId of ["portal-1", "portal-2"]) {
      expect((await postOrder(base, shop, { orderId, userId: "portal-shopper", amount: "100" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, orderId)).state).to.equal("confirmed");
    }
    shopper = (await call(base, "POST", "/v1/sessions", { body: { userId: "portal-shopper", password: "shopper-login" } })).body.token;
  });
  after(async () => relayer?.stop());

  describe("API keys", function () {
    it("lets the owner list, issue (the secret shown once) and revoke its merchant's keys, each in the audit log", async function () {
      const listed = await as(ownerA, "GET", "/v1/merchant/keys");
      expect(listed.status, JSON.stringify(listed.body)).to.equal(200);
      expect(listed.body.keys.map((k: any) => k.keyId)).to.deep.equal([merchantA.keyId]);
      expect(listed.body.keys[0].revokedAt).to.equal(null);

      const issued = await as(ownerA, "POST", "/v1/merchant/keys");
      expect(issued.status, JSON.stringify(issued.body)).to.equal(201);
      expect(issued.body.merchantId).to.equal(merchantA.merchantId);
      expect(issued.body.apiKey).to.match(/^gpk_/);
      expect((await as(issued.body.apiKey, "GET", "/v1/merchant")).body.merchantId).to.equal(merchantA.merchantId);
      const after = (await as(ownerA, "GET", "/v1/merchant/keys")).body;
      expect(after.keys.map((k: any) => k.keyId)).to.deep.equal([merchantA.keyId, issued.body.keyId]);
      // The list never carries a secret again.
      expect(JSON.stringify(after)).to.not.contain(issued.body.apiKey);
      expect(JSON.stringify(after)).to.not.match(/gpk_/);

      const revoked = await as(ownerA, "DELETE", `/v1/merchant/keys/${issued.body.keyId}`);
      expect(revoked.status).to.equal(200);
      expect(revoked.body).to.deep.equal({ keyId: issued.body.keyId, revoked: true });
      expect((await as(issued.body.apiKey, "GET", "/v1/merchant")).status).to.equal(401);
      const final = (await as(ownerA, "GET", "/v1/merchant/keys")).body.keys;
      expect(final.find((k: any) => k.keyId === issued.body.keyId).revokedAt).to.be.a("string");

      const entries = (await admin("GET", "/v1/admin/audit?limit=50")).body.entries as any[];
      const named = entries.filter(
        (e) => e.subject === `merchant:${merchantA.merchantId}` && String(e.details?.keyId) === issued.body.keyId,
      );
      expect(named.map((e) => [e.action, e.actor]).sort()).to.deep.equal([
        ["merchant-key-issued", `merchant:${merchantA.merchantId}:staff:${ownerAId}`],
        ["merchant-key-revoked", `merchant:${merchantA.merchantId}:staff:${ownerAId}`],
      ]);
    });

    it("refuses staff listing, issuing and revoking keys, and withdrawing (403 FORBIDDEN naming the role); nothing is issued", async function () {
      const before = (await as(ownerA, "GET", "/v1/merchant/keys")).body.keys.length;
      for (const [method, route, body] of [
        ["GET", "/v1/merchant/keys"],
        ["POST", "/v1/merchant/keys"],
        ["DELETE", `/v1/merchant/keys/${merchantA.keyId}`],
        ["POST", "/v1/merchant/withdrawals", { to: TO, amount: "1" }],
      ] as [string, string, unknown?][]) {
        const res = await as(staffA, method, route, body);
        expect(res.status, `${method} ${route}`).to.equal(403);
        expect(res.body.error).to.deep.include({ code: "FORBIDDEN", details: { role: "staff" } });
      }
      expect((await as(ownerA, "GET", "/v1/merchant/keys")).body.keys.length).to.equal(before);
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
      // What staff may do: read the balance, the payments and a quote.
      expect((await as(staffA, "GET", "/v1/merchant")).status).to.equal(200);
      expect((await as(staffA, "GET", "/v1/merchant/payments")).status).to.equal(200);
    });

    it("never lets another merchant's owner see or revoke a merchant's keys", async function () {
      const theirs = (await as(ownerB, "GET", "/v1/merchant/keys")).body.keys.map((k: any) => k.keyId);
      expect(theirs).to.deep.equal([merchantB.keyId]);
      const refused = await as(ownerB, "DELETE", `/v1/merchant/keys/${merchantA.keyId}`);
      expect([refused.status, refused.body.error.code]).to.deep.equal([404, "NOT_FOUND"]);
      // B's own API key neither.
      expect((await as(merchantB.apiKey, "DELETE", `/v1/merchant/keys/${merchantA.keyId}`)).status).to.equal(404);
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
    });

    it("refuses a shopper's session and the operator's token on the merchant's keys (401)", async function () {
      for (const token of [shopper, TEST_ADMIN_TOKEN])
        for (const [method, route] of [
          ["GET", "/v1/merchant/keys"],
          ["POST", "/v1/merchant/keys"],
          ["DELETE", `/v1/merchant/keys/${merchantA.keyId}`],
        ]) {
          const res = await as(token, method, route);
          expect([res.status, res.body.error.code], `${method} ${route}`).to.deep.equal([401, "UNAUTHORIZED"]);
        }
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
    });

    it("refuses an owner's cookie session without its CSRF token (403 CSRF_REFUSED), issuing and revoking nothing", async function () {
      const res = await call(base, "POST", "/v1/staff/sessions", {
        body: { login: "portal-boss", password: "portal-boss-password" },
        headers: { "x-gp-session": "cookie" },
      });
      const lines = Object.fromEntries(res.headers.getSetCookie().map((l) => [l.split("=")[0], l]));
      const cookie = `gp_session=${valueOf(lines.gp_session)}; gp_csrf=${valueOf(lines.gp_csrf)}`;
      const before = (await as(ownerA, "GET", "/v1/merchant/keys")).body.keys;
      for (const [method, route] of [
        ["POST", "/v1/merchant/keys"],
        ["DELETE", `/v1/merchant/keys/${merchantA.keyId}`],
      ]) {
        const refused = await call(base, method, route, { headers: { cookie, ...key() } });
        expect([refused.status, refused.body.error.code], `${method} ${route}`).to.deep.equal([403, "CSRF_REFUSED"]);
      }
      expect((await as(ownerA, "GET", "/v1/merchant/keys")).body.keys).to.deep.equal(before);
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
      // With the token the same cookie issues one.
      const made = await call(base, "POST", "/v1/merchant/keys", { headers: { cookie, "x-gp-csrf": valueOf(lines.gp_csrf), ...key() } });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect((await as(ownerA, "DELETE", `/v1/merchant/keys/${made.body.keyId}`)).status).to.equal(200);
    });
  });

  describe("payments received", function () {
    let gpPayment: string;
    let cpPayment: string;
    before(async function () {
      const gp = await pay({ merchantId: merchantA.merchantId, asset: "GP", amount: "1.5" });
      expect(gp.status, JSON.stringify(gp.body)).to.equal(202);
      gpPayment = gp.body.operationId;
      const convert = await call(base, "POST", "/v1/me/conversions", {
        token: shopper,
        body: { points: "3" },
        headers: { ...key(), "x-gp-payment-password": "shopper-pay" },
      });
      expect((await settledOperation(base, shopper, convert.body.operationId)).state).to.equal("confirmed");
      const cp = await pay({ merchantId: merchantA.merchantId, asset: "CP", amount: "2" });
      expect(cp.status, JSON.stringify(cp.body)).to.equal(202);
      cpPayment = cp.body.operationId;
      for (const id of [gpPayment, cpPayment]) expect((await settledOperation(base, merchantA.apiKey, id)).state).to.equal("confirmed");
    });

    it("lists the shopper's payments newest first, with who paid, the asset and the state, to staff as well", async function () {
      const res = await as(staffA, "GET", "/v1/merchant/payments");
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.payments.map((p: any) => [p.operationId, p.from, p.asset, p.amount, p.state])).to.deep.equal([
        [cpPayment, "portal-shopper", "CP", "2", "confirmed"],
        [gpPayment, "portal-shopper", "GP", "1.5", "confirmed"],
      ]);
      expect(res.body.payments[0].txHash).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("narrows by asset, state and time, and refuses a bad filter (400)", async function () {
      const gp = (await as(ownerA, "GET", "/v1/merchant/payments?asset=GP")).body.payments;
      expect(gp.map((p: any) => p.operationId)).to.deep.equal([gpPayment]);
      expect((await as(ownerA, "GET", "/v1/merchant/payments?state=rejected")).body.payments).to.deep.equal([]);
      expect((await as(ownerA, "GET", "/v1/merchant/payments?limit=1")).body.payments.length).to.equal(1);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await as(ownerA, "GET", `/v1/merchant/payments?from=${encodeURIComponent(future)}`)).body.payments).to.deep.equal([]);
      for (const q of ["asset=BTC", "state=lost", "limit=0", "from=yesterday"]) {
        const res = await as(ownerA, "GET", `/v1/merchant/payments?${q}`);
        expect([res.status, res.body.error.code], q).to.deep.equal([400, "VALIDATION_FAILED"]);
      }
    });

    it("shows another merchant none of them, and a shopper's session nothing (401)", async function () {
      expect((await as(ownerB, "GET", "/v1/merchant/payments")).body.payments).to.deep.equal([]);
      expect((await as(shopper, "GET", "/v1/merchant/payments")).status).to.equal(401);
    });

    it("shows a payment the chain refused as rejected, with its reason", async function () {
      // Two payments of the whole balance at once: both pass the check on the chain's state now, the second fails on the chain.
      const held = (await as(shopper, "GET", "/v1/me")).body.points as string;
      const both = await Promise.all([1, 2].map(() => pay({ merchantId: merchantA.merchantId, asset: "GP", amount: held })));
      expect(
        both.map((r) => r.status),
        JSON.stringify(both.map((r) => r.body)),
      ).to.deep.equal([202, 202]);
      const settled = await Promise.all(both.map((r) => settledOperation(base, merchantA.apiKey, r.body.operationId)));
      expect(settled.map((o) => o.state).sort()).to.deep.equal(["confirmed", "rejected"]);
      const refused = settled.find((o) => o.state === "rejected");
      const listed = (await as(staffA, "GET", "/v1/merchant/payments?state=rejected")).body.payments;
      expect(listed.map((p: any) => [p.operationId, p.state, p.amount])).to.deep.equal([[refused.operationId, "rejected", held]]);
      expect(listed[0].reason)
        .to.be.a("string")
        .and.match(/CustodyInsufficientBalance/);
    });
  });

  describe("the quote and the balances", function () {
    it("answers what the pool's own preview pays for GP and for CP, and the account's redeemable figures", async function () {
      const quote = await as(staffA, "GET", "/v1/merchant/quote?asset=GP&amount=1.5");
      expect(quote.status, JSON.stringify(quote.body)).to.equal(200);
      const [gross, fee, payout] = await relayer.chain.pool.previewRedeem(parseUnits("1.5", 18));
      const usd = (v: bigint) => formatUnits(v, 6).replace(/\.0$/, "");
      expect(quote.body).to.deep.include({
        asset: "GP",
        amount: "1.5",
        points: "1.5",
        gross: usd(gross),
        fee: usd(fee),
        payout: usd(payout),
      });

      const cp = (await as(ownerA, "GET", "/v1/merchant/quote?asset=CP&amount=2")).body;
      const [assets, supply] = [await relayer.chain.pool.assets(), await relayer.chain.points.totalSupply()];
      const points = toPoints(parseUnits("2", 6), assets, supply, Rounding.Floor);
      const [, , cpPayout] = await relayer.chain.pool.previewRedeem(points);
      expect(cp.points).to.equal(formatUnits(points, 18).replace(/\.0$/, ""));
      expect(cp.payout).to.equal(usd(cpPayout));

      const me = (await as(ownerA, "GET", "/v1/merchant")).body;
      const onChain = await relayer.chain.custody.accountOf(merchantAccountId(TEST_USER_SALT, merchantA.merchantId));
      expect(me).to.include({ points: formatUnits(onChain.points, 18).replace(/\.0$/, ""), constantPoints: "2" });
      const [, , allPayout] = await relayer.chain.pool.previewRedeem(onChain.points);
      expect(me.redeemableNow).to.deep.equal({ points: usd(allPayout), constantPoints: cp.payout });

      for (const q of ["asset=GP&amount=0", "asset=GP&amount=-1", "asset=XX&amount=1", "asset=CP&amount=1.1234567"]) {
        const res = await as(ownerA, "GET", `/v1/merchant/quote?${q}`);
        expect([res.status, res.body.error.code], q).to.deep.equal([400, "VALIDATION_FAILED"]);
      }
      expect((await as(shopper, "GET", "/v1/merchant/quote?asset=GP&amount=1")).status).to.equal(401);
    });
  });
});
