/**
 * The operator console's lookups over HTTP (anvil with the embedded deployment, the real database
 * code, the Express app, the sender loop and the memory SMS sender): members found by phone however
 * it is written or by user id, their profile read from the chain at one block, their history as
 * they read it themselves, a grant's preview against the pool's own, orders and operations by
 * filter with the stable code of why they were refused; and every endpoint refused to a merchant's
 * staff session, a merchant's key, a shop's secret, a shopper's session and no credentials.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { formatUnits, parseUnits } from "ethers";
import type { Db } from "../../server/adapters/db/db";
import { createMemorySender } from "../../server/adapters/sms/memory";
import { ChainRevertError } from "../../server/adapters/chain/errors";
import {
  OWN_REJECTION_CODES,
  REFERRER_SET_ELSEWHERE,
  REFUSAL_NAMES,
  orderRejection,
  parkedReason,
  reasonOf,
  refusalCode,
} from "../../server/services/refusals";
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
import { freshPostgresDb } from "../helpers/postgres";

let numbers = 0;
/** A fresh mainland mobile number, as typed and in E.164. */
function newNumber(): { typed: string; e164: string } {
  const typed = `136${String(process.pid % 10_000).padStart(4, "0")}${String(numbers++).padStart(4, "0")}`;
  return { typed, e164: `+86${typed}` };
}
const units = (value: bigint, decimals: number) => formatUnits(value, decimals).replace(/\.0$/, "");
const refusal = (name: string, args: unknown[] = [], names: string[] = []) =>
  new ChainRevertError(name, args, names, "pool", undefined, { cause: null });

function shouldLookUpMembers(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`the operator's member, order and operation lookups (${label})`, function () {
    this.timeout(240_000);
    let external = null as { db: Db; close(): Promise<void> } | null;
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    const sms = createMemorySender();
    let operator: string;
    const hostile: Record<string, { token?: string; headers?: Record<string, string> }> = {};
    const alice = newNumber();
    const bob = newNumber();
    let aliceId: string;
    let bobId: string;
    let bobToken: string;
    const confirmedOrder = `m-${randomUUID()}`;
    const dustOrder = `dust-${randomUUID()}`;

    const as = (token: string, route: string) => call(base, "GET", route, { token });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
    const signUp = async (n: { typed: string; e164: string }, extra: Record<string, string> = {}) => {
      const sent = await call(base, "POST", "/v1/phone-codes", { body: { phone: n.typed, purpose: "signup" } });
      expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
      const res = await call(base, "POST", "/v1/phone/signup", {
        body: { phone: n.typed, code: sms.lastCode(n.e164, "signup"), password: "correct horse", ...extra },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect((await settledOperation(base, res.body.token, res.body.operation.operationId)).state).to.equal("confirmed");
      return res.body as { token: string; userId: string };
    };
    const logIn = async (login: string, password: string) => {
      const res = await call(base, "POST", "/v1/staff/sessions", { body: { login, password } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.token as string;
    };

    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({ db: external?.db, sms: { sender: sms } });
      base = relayer.url;
      shop = await createShop(base, "Members shop");
      expect((await admin("POST", "/v1/admin/operators", { login: "op-members", password: "op-members-password" })).status).to.equal(201);
      operator = await logIn("op-members", "op-members-password");
      expect(operator).to.match(/^gpo_/);
      const merchant = await admin("POST", "/v1/admin/merchants", { name: "Members merchant" });
      expect(merchant.status, JSON.stringify(merchant.body)).to.equal(201);
      expect((await settledOperation(base, TEST_ADMIN_TOKEN, merchant.body.operation.operationId)).state).to.equal("confirmed");
      const staff = await admin("POST", `/v1/admin/merchants/${merchant.body.merchantId}/staff`, {
        login: "members-staff",
        password: "members-staff-password",
        role: "staff",
      });
      expect(staff.status, JSON.stringify(staff.body)).to.equal(201);
      const a = await signUp(alice);
      aliceId = a.userId;
      const { code } = (await call(base, "GET", "/v1/me/referral", { token: a.token })).body;
      const b = await signUp(bob, { referralCode: code });
      bobId = b.userId;
      bobToken = b.token;
      expect((await postOrder(base, shop, { orderId: confirmedOrder, phone: bob.typed, amount: "100.00" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, confirmedOrder)).state).to.equal("confirmed");
      expect((await postOrder(base, shop, { orderId: dustOrder, phone: bob.typed, amount: "0.000001" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, dustOrder)).state).to.equal("rejected");

      hostile["no credentials"] = {};
      hostile["a shopper's session"] = { token: a.token };
      hostile["a merchant staff's session"] = { token: await logIn("members-staff", "members-staff-password") };
      hostile["a merchant's API key"] = { token: merchant.body.apiKey };
      hostile["a shop's webhook secret"] = { token: shop.webhookSecret, headers: { "x-gp-shop": shop.shopId } };
    });
    after(async () => {
      await relayer?.stop();
      await external?.close();
    });

    describe("finding a member", function () {
      it("finds one by phone however it is written, in E.164, or by user id", async function () {
        const spaced = `${bob.typed.slice(0, 3)} ${bob.typed.slice(3, 7)} ${bob.typed.slice(7)}`;
        for (const written of [bob.typed, bob.e164, `+86 ${spaced}`, `+86-${bob.typed}`]) {
          const res = await as(operator, `/v1/admin/members?phone=${encodeURIComponent(written)}`);
          expect(res.status, `${written}: ${JSON.stringify(res.body)}`).to.equal(200);
          expect(res.body.userId).to.equal(bobId);
          expect(res.body.phone).to.equal(bob.e164);
          expect(Date.parse(res.body.signedUpAt)).to.be.within(Date.now() - 300_000, Date.now());
        }
        const byId = await call(base, "GET", `/v1/admin/members?userId=${encodeURIComponent(bobId)}`, { token: TEST_ADMIN_TOKEN });
        expect(byId.status).to.equal(200);
        expect(byId.body).to.deep.include({ userId: bobId, phone: bob.e164 });
      });

      it("answers a number no account has with 404 PHONE_NOT_REGISTERED, an unknown user id with 404 NOT_FOUND", async function () {
        const stranger = newNumber();
        const res = await as(operator, `/v1/admin/members?phone=${stranger.typed}`);
        expect(res.status).to.equal(404);
        expect(res.body.error).to.deep.include({ code: "PHONE_NOT_REGISTERED", details: { phone: stranger.e164 } });
        const unknown = await as(operator, "/v1/admin/members?userId=nobody-at-all");
        expect(unknown.status).to.equal(404);
        expect(unknown.body.error.code).to.equal("NOT_FOUND");
        expect((await as(operator, "/v1/admin/members/nobody-at-all")).body.error.code).to.equal("NOT_FOUND");
        expect((await as(operator, "/v1/admin/members/nobody-at-all/history")).body.error.code).to.equal("NOT_FOUND");
      });

      it("refuses a number that is not one, both keys at once, and neither", async function () {
        for (const query of ["phone=12345678901", `phone=${bob.typed}&userId=${bobId}`, ""]) {
          const res = await as(operator, `/v1/admin/members?${query}`);
          expect(res.status, query).to.equal(400);
          expect(res.body.error.code).to.equal("VALIDATION_FAILED");
        }
      });
    });

    describe("a member's profile", function () {
      it("shows the chain's balances at one block with their value at the pool's price then", async function () {
        const res = await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}`);
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        const p = res.body;
        const at = { blockTag: p.asOfBlock };
        const d = relayer.chain.deployments.settlementDecimals;
        const held = await relayer.chain.custody.accountOf(p.account, at);
        expect(held.points).to.be.greaterThan(0n);
        expect(p.balances).to.deep.equal({
          points: units(held.points, 18),
          constantPoints: units(held.constantPoints, d),
          settlement: units(held.settlement, d),
        });
        const quote = await relayer.chain.pool.previewRedeem(held.points, at);
        expect(p.value.points).to.equal(units(quote.gross, d));
        expect(p.value.redeemableNow).to.equal(units(quote.payout, d));
        const [assets, supply] = await relayer.chain.pool.priceRatio(at);
        // The price is the pool's ratio to 18 places (half-up, for display): within half a last place, cross-multiplied.
        const scaled = assets * 10n ** BigInt(36 - relayer.chain.deployments.settlementDecimals);
        const off = parseUnits(p.value.price, 18) * supply - scaled;
        expect(2n * (off < 0n ? -off : off)).to.be.at.most(supply);
        expect(p).to.deep.include({ userId: bobId, phone: bob.e164, registeredOnChain: true, hasPassword: true, madeByShop: null });
      });

      it("names the referrer as the chain holds it, and the referees with what their orders credited", async function () {
        const b = (await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}`)).body;
        expect(b.referrer).to.deep.equal({ userId: aliceId, phone: alice.e164 });
        const a = (await as(operator, `/v1/admin/members/${encodeURIComponent(aliceId)}`)).body;
        expect(a.referrer).to.equal(null);
        expect(a.referees.referrals).to.have.length(1);
        const credited = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited(undefined, a.account));
        expect(credited).to.have.length(1);
        expect(a.referees.referrals[0]).to.deep.include({
          userId: bobId,
          phone: bob.e164,
          registration: "confirmed",
          earned: units(credited[0].args.points, 18),
        });
      });

      it("lists the member's orders, a rejected one with its reason and its stable code", async function () {
        const { orders } = (await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}`)).body;
        expect(orders.map((o: any) => o.orderId)).to.deep.equal([dustOrder, confirmedOrder]);
        expect(orders[0]).to.deep.include({
          state: "rejected",
          reason: "the amount is too small to mint any GP at the current price",
          reasonCode: "PoolOrderTooSmall",
        });
        expect(orders[1]).to.deep.include({ state: "confirmed", reasonCode: null });
        expect(orders[1].txHash).to.match(/^0x[0-9a-f]{64}$/);
      });

      it("answers the member's history as the member reads it", async function () {
        const own = await call(base, "GET", "/v1/me/history?limit=200", { token: bobToken });
        const seen = await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}/history?limit=200`);
        expect(seen.status, JSON.stringify(seen.body)).to.equal(200);
        expect(seen.body).to.deep.equal(own.body);
        expect(seen.body.entries.map((e: any) => e.kind)).to.include.members(["order"]);
        const csv = await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}/history?format=csv`);
        expect(csv.headers.get("content-type")).to.contain("text/csv");
        expect(String(csv.body)).to.contain(dustOrder);
      });
    });

    describe("a grant's preview, then the grant", function () {
      it("previews what the pool's previewContribution says, and the grant mints it; the operation list finds it", async function () {
        const preview = await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}/grant-preview?contribution=10`);
        expect(preview.status, JSON.stringify(preview.body)).to.equal(200);
        const expected = await relayer.chain.pool.previewContribution(parseUnits("10", relayer.chain.deployments.settlementDecimals));
        expect(preview.body).to.deep.include({ contribution: "10", points: units(expected, 18) });
        const granted = await call(base, "POST", `/v1/admin/users/${encodeURIComponent(bobId)}/grants`, {
          token: operator,
          body: { contribution: "10", reason: "members test" },
          headers: { "idempotency-key": randomUUID() },
        });
        expect(granted.status, JSON.stringify(granted.body)).to.equal(202);
        const done = await settledOperation(base, operator, granted.body.operationId);
        expect(done.state).to.equal("confirmed");
        expect(done.events.find((e: any) => e.name === "Granted").args.points).to.equal(expected.toString());
        const listed = await as(operator, `/v1/admin/operations?phone=${bob.typed}&kind=grant`);
        expect(listed.status, JSON.stringify(listed.body)).to.equal(200);
        expect(listed.body.operations.map((o: any) => [o.operationId, o.state, o.actor, o.reasonCode])).to.deep.equal([
          [granted.body.operationId, "confirmed", "admin", null],
        ]);
        const one = await as(operator, `/v1/admin/operations?operationId=${granted.body.operationId}`);
        expect(one.body.operations).to.have.length(1);
        expect((await as(operator, `/v1/admin/operations?userId=${aliceId}&kind=grant`)).body.operations).to.deep.equal([]);
      });

      it("refuses a preview for a user nobody named, and one too small to mint", async function () {
        expect((await as(operator, "/v1/admin/members/nobody-at-all/grant-preview?contribution=10")).body.error.code).to.equal("NOT_FOUND");
        const dust = await as(operator, `/v1/admin/members/${encodeURIComponent(bobId)}/grant-preview?contribution=0.000001`);
        expect(dust.status).to.equal(400);
        expect(dust.body.error.code).to.equal("AMOUNT_OUT_OF_RANGE");
      });
    });

    describe("orders by filter", function () {
      it("narrows by order id, phone, state and when it was received", async function () {
        const get = async (query: string) => {
          const res = await as(operator, `/v1/admin/orders?${query}`);
          expect(res.status, `${query}: ${JSON.stringify(res.body)}`).to.equal(200);
          return res.body.orders.map((o: any) => o.orderId);
        };
        expect(await get(`orderId=${dustOrder}`)).to.deep.equal([dustOrder]);
        expect(await get(`phone=${encodeURIComponent(bob.e164)}`)).to.deep.equal([dustOrder, confirmedOrder]);
        expect(await get(`phone=${bob.typed}&state=rejected`)).to.deep.equal([dustOrder]);
        expect(await get(`shopId=${shop.shopId}&state=rejected`)).to.deep.equal([dustOrder]);
        const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
        expect(await get(`userId=${bobId}&from=${hourAgo}`)).to.deep.equal([dustOrder, confirmedOrder]);
        expect(await get(`userId=${bobId}&to=${hourAgo}`)).to.deep.equal([]);
        const [row] = (await as(operator, `/v1/admin/orders?orderId=${dustOrder}`)).body.orders;
        expect(row.reasonCode).to.equal("PoolOrderTooSmall");
        expect(Date.parse(row.createdAt)).to.be.within(Date.now() - 300_000, Date.now());
        const stranger = await as(operator, `/v1/admin/orders?phone=${newNumber().typed}`);
        expect(stranger.status).to.equal(404);
        expect(stranger.body.error.code).to.equal("PHONE_NOT_REGISTERED");
      });
    });

    describe("who may call", function () {
      const routes = () => [
        `/v1/admin/members?phone=${bob.typed}`,
        `/v1/admin/members/${encodeURIComponent(bobId)}`,
        `/v1/admin/members/${encodeURIComponent(bobId)}/history`,
        `/v1/admin/members/${encodeURIComponent(bobId)}/grant-preview?contribution=10`,
        `/v1/admin/operations?userId=${encodeURIComponent(bobId)}`,
        `/v1/admin/orders?phone=${bob.typed}`,
      ];
      it("refuses every caller but the operator with 401, showing nothing of the member", async function () {
        for (const [who, credentials] of Object.entries(hostile)) {
          for (const route of routes()) {
            const res = await call(base, "GET", route, credentials);
            expect(res.status, `${who} ${route}`).to.equal(401);
            expect(res.body.error.code).to.equal("UNAUTHORIZED");
            expect(JSON.stringify(res.body)).to.not.contain(bob.e164).and.not.contain(bobId);
          }
        }
        for (const route of routes()) expect((await as(operator, route)).status, route).to.equal(200);
      });
    });
  });
}

shouldLookUpMembers("PGlite");
if (process.env.DATABASE_URL) {
  const url = process.env.DATABASE_URL;
  shouldLookUpMembers("PostgreSQL", () => freshPostgresDb(url));
}

describe("the console's refusal codes", function () {
  it("reads the code back from every shape a reason is stored in", function () {
    expect(refusalCode(orderRejection(refusal("PoolOrderTooSmall")))).to.equal("PoolOrderTooSmall");
    expect(refusalCode(orderRejection(refusal("GreenPointsCapExceeded")))).to.equal("GreenPointsCapExceeded");
    expect(refusalCode(orderRejection(refusal("SomethingNew")))).to.equal("SomethingNew");
    expect(refusalCode(reasonOf(refusal("CustodyInsufficientBalance")))).to.equal("CustodyInsufficientBalance");
    expect(refusalCode(reasonOf(refusal("SomethingNew", [1n, "x"])))).to.equal("SomethingNew");
    const short = refusal("ERC20InsufficientBalance", ["0xabc", 5n, 10n], ["sender", "balance", "needed"]);
    const parked = `parked: ${parkedReason(short)} (${short.name}); tried again from 2026-01-01T00:00:00.000Z`;
    expect(refusalCode(parked)).to.equal("ERC20InsufficientBalance");
    expect(refusalCode(REFERRER_SET_ELSEWHERE)).to.equal("CustodyReferrerAlreadySet");
    expect(refusalCode("test isolation")).to.equal(null);
    expect(refusalCode(null)).to.equal(null);
  });

  it("has the console's words for every code, in both languages", function () {
    const codes = [...REFUSAL_NAMES, ...Object.values(OWN_REJECTION_CODES)];
    expect(codes).to.include("PoolOrderTooSmall");
    for (const language of ["en", "zh-CN"]) {
      const file = path.join(__dirname, "..", "..", "web", "i18n", language, "admin-refusals.json");
      const words = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, string>;
      expect(
        codes.filter((c) => !words[`code.${c}`]),
        language,
      ).to.deep.equal([]);
    }
  });
});
