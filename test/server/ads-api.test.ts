/**
 * Rewarded ads end to end over HTTP: anvil, the ad-credit contract, PGlite, the Express app and
 * the relayer loop. A merchant's credit backs the vouchers of its sales; verified callbacks count
 * tasks once and release vouchers by the deployment's policy; the relayer converts them on the
 * chain; forgeries, replays, late and unknown callbacks and the daily cap are refused.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Wallet, parseUnits } from "ethers";
import { custodialUserId, merchantAccountId } from "../../server/adapters/chain/ids";
import { signEd25519 } from "../../server/modules/ads/ad-callback-signature";
import { adBacking, releasedBacking } from "../../server/domain/points-math";
import { sourcePolicies } from "../../server/modules/ads/release-policy";
import { signPayload } from "../../server/domain/inbound-signature";
import { dayOf } from "../../server/modules/ads/service";
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

const USD = (text: string) => parseUnits(text, 6);

describe("rewarded ads over HTTP", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let base: string;
  let shop: { shopId: string; webhookSecret: string };
  let clock = Math.floor(Date.now() / 1000);
  let merchant: { merchantId: string; apiKey: string };
  let poorMerchant: { merchantId: string; apiKey: string };
  let hmac: { networkId: string; secret: string };
  let ed: { networkId: string; privateKey: string };
  let alice: string;
  // The source's daily share (2% once the day's tasks are done), 3 tasks a day, at most 4 counted.
  const policy = { ...sourcePolicies(6).dailyShare, tasksPerDay: 3 } as const;

  const admin = (method: string, route: string, body?: unknown) =>
    call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
  const callback = (networkId: string, body: unknown, sign: (ts: number, raw: string) => string, at = clock) => {
    const raw = JSON.stringify(body);
    return call(base, "POST", `/v1/ads/callbacks/${networkId}`, {
      body: raw,
      headers: { "content-type": "application/json", "x-gp-timestamp": String(at), "x-gp-signature": sign(at, raw) },
    });
  };
  const hmacCallback = (body: unknown, at = clock) => callback(hmac.networkId, body, (ts, raw) => signPayload(hmac.secret, ts, raw), at);
  const myAds = async (token: string) => (await call(base, "GET", "/v1/me/ads", { token })).body;
  const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const createMerchant = async (name: string) => {
    const res = await admin("POST", "/v1/admin/merchants", { name });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
    // The test shop may name it on its orders.
    const allowed = await call(base, "PUT", `/v1/merchant/shops/${shop.shopId}`, { token: res.body.apiKey });
    expect(allowed.status, JSON.stringify(allowed.body)).to.equal(200);
    return res.body as { merchantId: string; apiKey: string };
  };
  const topUp = async (merchantId: string, amount: string) => {
    const res = await admin("POST", `/v1/admin/merchants/${merchantId}/ad-credit`, { amount });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId)).state).to.equal("confirmed");
  };

  before(async function () {
    relayer = await startTestRelayer({ nowSeconds: () => clock, ads: { policy, dailyTaskCap: 4 } });
    base = relayer.url;
    shop = await createShop(base, "Ads shop", TEST_ADMIN_TOKEN);
    merchant = await createMerchant("Ad merchant");
    poorMerchant = await createMerchant("Merchant with little credit");
    const user = await admin("POST", "/v1/users", { userId: "ad-alice", password: "alice-login-pw", paymentPassword: "alice-pay" });
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, user.body.operation.operationId)).state).to.equal("confirmed");
    alice = (await call(base, "POST", "/v1/sessions", { body: { userId: "ad-alice", password: "alice-login-pw" } })).body.token;
    hmac = (await admin("POST", "/v1/admin/ad-networks", { name: "HMAC network", scheme: "hmac-sha256" })).body;
    ed = (await admin("POST", "/v1/admin/ad-networks", { name: "Ed25519 network", scheme: "ed25519" })).body;
  });
  after(async function () {
    await relayer?.stop();
  });

  it("tops up a merchant's credit from the operator's wallet", async function () {
    await topUp(merchant.merchantId, "100");
    await topUp(poorMerchant.merchantId, "1");
    const view = await call(base, "GET", "/v1/merchant/ad-credit", { token: merchant.apiKey });
    expect(view.status, JSON.stringify(view.body)).to.equal(200);
    expect(view.body).to.include({ credit: "100", vouchersIssued: "0", adShare: "15%" });
    expect(view.body.withdrawal).to.equal(null);
  });

  it("gives the shopper X vouchers for an ad merchant's sale of X, debiting the merchant X x 15%", async function () {
    expect(
      (await postOrder(base, shop, { orderId: "ad-1", userId: "ad-alice", amount: "200", adMerchantId: merchant.merchantId }, clock))
        .status,
    ).to.equal(202);
    expect((await settledOrder(base, shop.shopId, "ad-1")).state).to.equal("confirmed");
    const ads = await until(
      () => myAds(alice),
      (v) => v.vouchers !== "0",
      "vouchers issued",
    );
    expect(ads).to.deep.include({
      vouchers: "200",
      byMerchant: [{ merchantId: merchant.merchantId, vouchers: "200" }],
      tasksToday: 0,
      dailyTaskCap: 4,
    });
    expect(ads.nextCompletion).to.deep.equal({ converts: "0", tasksUntilRelease: 3 });
    const bucket = await relayer.chain.adCredit!.bucketOf(
      custodialUserId(TEST_USER_SALT, "ad-alice"),
      merchantAccountId(TEST_USER_SALT, merchant.merchantId),
    );
    const adShare = (await relayer.chain.adCredit!.parameters()).adShare;
    expect([bucket.vouchers, bucket.backing]).to.deep.equal([USD("200"), adBacking(USD("200"), adShare)]);
    expect(bucket.backing).to.equal(USD("30"));
    expect((await call(base, "GET", "/v1/merchant/ad-credit", { token: merchant.apiKey })).body).to.include({
      credit: "70",
      vouchersIssued: "200",
      backingOutstanding: "30",
    });
  });

  it("still mints a sale whose merchant lacks the credit, but issues no vouchers, and says why", async function () {
    expect(
      (await postOrder(base, shop, { orderId: "ad-2", userId: "ad-alice", amount: "100", adMerchantId: poorMerchant.merchantId }, clock))
        .status,
    ).to.equal(202);
    const order = await settledOrder(base, shop.shopId, "ad-2");
    expect(order.state).to.equal("confirmed");
    expect(BigInt(parseUnits(order.gpMinted, 18))).to.be.greaterThan(0n);
    const view = await until(
      () => call(base, "GET", "/v1/merchant/ad-credit", { token: poorMerchant.apiKey }).then((r) => r.body),
      (v) => v.sales.refused !== undefined,
      "sale refused",
    );
    expect(view).to.deep.include({ credit: "1", vouchersIssued: "0", sales: { refused: { sales: 1, vouchers: "100" } } });
    expect((await myAds(alice)).vouchers).to.equal("200");
  });

  it("asks the chain for nothing when the merchant has no credit at all, or when the sale itself was rejected", async function () {
    const unfunded = await createMerchant("Merchant without credit");
    const post = async (orderId: string, amount: string) => {
      const body = { orderId, userId: "ad-alice", amount, adMerchantId: unfunded.merchantId };
      expect((await postOrder(base, shop, body, clock)).status).to.equal(202);
      return settledOrder(base, shop.shopId, orderId);
    };
    expect((await post("ad-unfunded", "50")).state).to.equal("confirmed");
    expect((await post("ad-too-small", "0.000001")).state).to.equal("rejected");
    const view = await until(
      () => call(base, "GET", "/v1/merchant/ad-credit", { token: unfunded.apiKey }).then((r) => r.body),
      (v) => v.sales.refused !== undefined && v.sales.rejected !== undefined,
      "sales settled",
    );
    expect(view.sales).to.deep.equal({ refused: { sales: 1, vouchers: "50" }, rejected: { sales: 1, vouchers: "0" } });
    const reasons = await relayer.db.query<{ state: string; reason: string; operation_id: string | null }>(
      "SELECT state, reason, operation_id FROM voucher_sales WHERE merchant_id = $1 ORDER BY state",
      [unfunded.merchantId],
    );
    expect(reasons.map((r) => [r.state, r.operation_id])).to.deep.equal([
      ["refused", null],
      ["rejected", null],
    ]);
    expect(reasons[0].reason).to.equal("the merchant has no ad credit");
    expect(reasons[1].reason).to.match(/^the sale did not happen: /);
  });

  it("counts verified callbacks, converts 2% of 200 = 4 vouchers on the day's third task, and credits the GP minted", async function () {
    const account = custodialUserId(TEST_USER_SALT, "ad-alice");
    const before = (await relayer.chain.custody.accountOf(account)).points;
    const bucket = await relayer.chain.adCredit!.bucketOf(account, merchantAccountId(TEST_USER_SALT, merchant.merchantId));
    for (const n of [1, 2]) {
      const res = await hmacCallback({ transactionId: `tx-${n}`, userId: "ad-alice" });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.deep.equal({ counted: true, tasksToday: n, released: "0", conversions: [] });
    }
    const third = await hmacCallback({ transactionId: "tx-3", userId: "ad-alice" });
    expect(third.body).to.include({ counted: true, tasksToday: 3, released: "4" });
    const ads = await until(
      () => myAds(alice),
      (v) => v.conversions[0]?.state === "confirmed",
      "conversion confirmed",
    );
    const conversion = ads.conversions[0];
    expect(conversion).to.include({ vouchers: "4", state: "confirmed", backing: "0.6", networkId: hmac.networkId, transactionId: "tx-3" });
    expect(ads.vouchers).to.equal("196");
    expect(ads.nextCompletion).to.deep.equal({ converts: "0", tasksUntilRelease: null });
    // The GP credited are exactly those the pool minted for the 0.6 contribution.
    const after = (await relayer.chain.custody.accountOf(account)).points;
    expect(after - before).to.equal(parseUnits(conversion.points, 18));
    const m = await call(base, "GET", "/v1/merchant/ad-credit", { token: merchant.apiKey });
    expect(m.body).to.include({ vouchersConverted: "4", vouchersOutstanding: "196", backingOutstanding: "29.4" });
    // The 4 vouchers carried their share of the bucket's backing, rounded up.
    expect(parseUnits(conversion.backing, 6)).to.equal(releasedBacking(bucket.backing, USD("4"), bucket.vouchers));
  });

  it("refuses a replayed transaction id, a forged or late signature, an unknown network or user, and the cap", async function () {
    const replay = await hmacCallback({ transactionId: "tx-1", userId: "ad-alice" });
    expect([replay.status, replay.body.error.code]).to.deep.equal([409, "CALLBACK_REPLAYED"]);
    const forged = await callback(hmac.networkId, { transactionId: "tx-forged", userId: "ad-alice" }, (ts, raw) =>
      signPayload("not-the-secret", ts, raw),
    );
    expect([forged.status, forged.body.error.code]).to.deep.equal([401, "BAD_SIGNATURE"]);
    const late = await hmacCallback({ transactionId: "tx-late", userId: "ad-alice" }, clock - 301);
    expect([late.status, late.body.error.code]).to.deep.equal([401, "STALE_TIMESTAMP"]);
    const unknownNetwork = await callback("adn_000000000000", { transactionId: "tx-x", userId: "ad-alice" }, (ts, raw) =>
      signPayload(hmac.secret, ts, raw),
    );
    expect([unknownNetwork.status, unknownNetwork.body.error.code]).to.deep.equal([401, "UNKNOWN_NETWORK"]);
    const stranger = await hmacCallback({ transactionId: "tx-stranger", userId: "nobody" });
    expect([stranger.status, stranger.body.error.code]).to.deep.equal([404, "UNKNOWN_USER"]);
    const bad = await hmacCallback({ transactionId: "", userId: "ad-alice" });
    expect([bad.status, bad.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
    // The fourth task of the day counts (and releases nothing); the fifth is over the cap.
    expect((await hmacCallback({ transactionId: "tx-4", userId: "ad-alice" })).body).to.include({ tasksToday: 4, released: "0" });
    const capped = await hmacCallback({ transactionId: "tx-5", userId: "ad-alice" });
    expect([capped.status, capped.body.error.code]).to.deep.equal([422, "DAILY_TASK_CAP"]);
    // None of the refused callbacks was counted: the same ids are new the next day.
    expect((await myAds(alice)).tasksToday).to.equal(4);
  });

  it("verifies an Ed25519 network's signature with its public key, and releases 2% of 196 = 3.92 the next day", async function () {
    clock += 86_400;
    const ads = await myAds(alice);
    expect(ads).to.deep.include({ day: dayOf(clock), tasksToday: 0, nextCompletion: { converts: "0", tasksUntilRelease: 3 } });
    const hmacSigned = await callback(ed.networkId, { transactionId: "ed-0", userId: "ad-alice" }, (ts, raw) =>
      signPayload(hmac.secret, ts, raw),
    );
    expect([hmacSigned.status, hmacSigned.body.error.code]).to.deep.equal([401, "BAD_SIGNATURE"]);
    let last;
    for (const n of [1, 2, 3])
      last = await callback(ed.networkId, { transactionId: `ed-${n}`, userId: "ad-alice" }, (ts, raw) =>
        signEd25519(ed.privateKey, ts, raw),
      );
    expect(last!.body).to.include({ counted: true, tasksToday: 3, released: "3.92" });
    const after = await until(
      () => myAds(alice),
      (v) => v.conversions[0]?.state === "confirmed",
      "second conversion",
    );
    expect(after.vouchers).to.equal("192.08");
  });

  it("pays vouchers for a custodial payment to the merchant, at the value paid", async function () {
    const before = (await myAds(alice)).vouchers;
    const payment = await call(base, "POST", "/v1/me/payments", {
      token: alice,
      body: { merchantId: merchant.merchantId, asset: "GP", amount: "1" },
      headers: { "idempotency-key": randomUUID(), "x-gp-payment-password": "alice-pay" },
    });
    expect(payment.status, JSON.stringify(payment.body)).to.equal(202);
    expect((await settledOperation(base, alice, payment.body.operationId)).state).to.equal("confirmed");
    const ads = await until(
      () => myAds(alice),
      (v) => v.vouchers !== before,
      "payment vouchers",
    );
    const gained = parseUnits(ads.vouchers, 6) - parseUnits(before, 6);
    const [assets, supply] = [await relayer.chain.pool.assets(), await relayer.chain.points.totalSupply()];
    // 1 GP at the pool's price (Floor); no order or conversion ran in between.
    expect(gained).to.equal((10n ** 18n * assets) / supply);
  });

  it("settles sales and conversions from the chain's log when their operation was confirmed without its receipt", async function () {
    // As after a lost transaction hash: the sender confirms the operation from its first id, and
    // its recorded events name only that one (here: none). The outcome is then read per id.
    const [sale] = await relayer.db.query<{ sale_key: string; operation_id: string }>(
      "SELECT sale_key, operation_id FROM voucher_sales WHERE state = 'issued' ORDER BY created_at LIMIT 1",
    );
    const [conversion] = await relayer.db.query<{ id: string; operation_id: string; points: string }>(
      "SELECT id, operation_id, points::text AS points FROM voucher_conversions WHERE state = 'confirmed' ORDER BY created_at LIMIT 1",
    );
    await relayer.db.transaction(async (tx) => {
      await tx.query("UPDATE operations SET result = '[]' WHERE id = ANY($1::text[])", [[sale.operation_id, conversion.operation_id]]);
      await tx.query("UPDATE voucher_sales SET state = 'queued', backing = NULL WHERE sale_key = $1", [sale.sale_key]);
      await tx.query("UPDATE voucher_conversions SET state = 'submitted', backing = NULL, points = NULL WHERE id = $1", [conversion.id]);
    });
    const settled = await until(
      () =>
        relayer.db.query<{ sale: string; backing: string; conversion: string; points: string }>(
          `SELECT s.state AS sale, s.backing::text AS backing, c.state AS conversion, c.points::text AS points
           FROM voucher_sales s, voucher_conversions c WHERE s.sale_key = $1 AND c.id = $2`,
          [sale.sale_key, conversion.id],
        ),
      ([r]) => r.sale !== "queued" && r.conversion !== "submitted",
      "settled again",
    );
    expect(settled[0]).to.deep.equal({ sale: "issued", backing: USD("30").toString(), conversion: "confirmed", points: conversion.points });
  });

  it("lets the merchant ask to withdraw unused credit, refuses to carry it out before the notice is over, and cancels", async function () {
    const to = Wallet.createRandom().address;
    const ask = await call(base, "POST", "/v1/merchant/ad-credit/withdrawals", {
      token: merchant.apiKey,
      body: { amount: "10", to },
      headers: { "idempotency-key": randomUUID() },
    });
    expect(ask.status, JSON.stringify(ask.body)).to.equal(202);
    expect((await settledOperation(base, merchant.apiKey, ask.body.operationId)).state).to.equal("confirmed");
    const view = (await call(base, "GET", "/v1/merchant/ad-credit", { token: merchant.apiKey })).body;
    expect(view.withdrawal).to.include({ amount: "10", to });
    const early = await call(base, "POST", "/v1/merchant/ad-credit/withdrawals/execute", {
      token: merchant.apiKey,
      headers: { "idempotency-key": randomUUID() },
    });
    expect([early.status, early.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
    expect(early.body.error.message).to.match(/AdCreditNoticeNotOver/);
    const cancel = await call(base, "POST", "/v1/merchant/ad-credit/withdrawals/cancel", {
      token: merchant.apiKey,
      headers: { "idempotency-key": randomUUID() },
    });
    expect((await settledOperation(base, merchant.apiKey, cancel.body.operationId)).state).to.equal("confirmed");
    expect((await call(base, "GET", "/v1/merchant/ad-credit", { token: merchant.apiKey })).body.withdrawal).to.equal(null);
  });
});
