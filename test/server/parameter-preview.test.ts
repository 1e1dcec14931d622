/**
 * The operator's parameter views over HTTP (GET /v1/admin/parameters and its preview): anvil with
 * the embedded deployment, PGlite, the Express app and the sender loop. The values and bounds are
 * the contracts' own; the preview's figures now are the pool's own previewOrder/previewRedeem, and
 * its figures with the new value are what the pool previews once the change is confirmed.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { formatUnits, parseUnits } from "ethers";
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

describe("the operator's parameters and their preview over HTTP", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let base: string;
  const admin = (method: string, route: string, body?: unknown) =>
    call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
  const USD = (v: string) => parseUnits(v, 6);

  before(async function () {
    relayer = await startTestRelayer();
    base = relayer.url;
    const shop = await createShop(base, "Preview shop");
    expect((await postOrder(base, shop, { orderId: "first", userId: "alice", amount: "100" })).status).to.equal(202);
    expect((await settledOrder(base, shop.shopId, "first", 60_000)).state).to.equal("confirmed");
  });
  after(async () => relayer?.stop());

  it("lists every parameter with the chain's value and bounds, for the operator only", async function () {
    expect((await call(base, "GET", "/v1/admin/parameters")).status).to.equal(401);
    const res = await call(base, "GET", "/v1/admin/parameters", { token: TEST_ADMIN_TOKEN });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const by = Object.fromEntries(res.body.parameters.map((p: { name: string }) => [p.name, p]));
    const p = await relayer.chain.pool.parameters();
    expect(by.poolShare).to.deep.include({ contract: "pool", unit: "bps", value: String(p.poolShare), min: "1", max: "10000" });
    expect(by.mintShare).to.deep.include({ value: String(p.mintShare), min: "1", max: "10000" });
    expect(by.exitFee).to.deep.include({
      value: String(p.exitFee),
      min: "0",
      max: "5000",
      changePath: "/v1/admin/pool/parameters/exitFee",
    });
    expect(by.initialPrice).to.deep.include({
      unit: "settlement",
      value: formatUnits(p.initialPrice, 6).replace(/\.0$/, ""),
      min: "0.000001",
      max: "1000000",
    });
    const c = await relayer.chain.custody.parameters();
    expect(by.withdrawalFee).to.deep.include({ contract: "custody", value: String(c.withdrawalFee), min: "0", max: "2000" });
    expect(by.exitMultiple).to.deep.include({ value: String(c.exitMultiple), min: "10000", max: "100000", zeroAllowed: true });
    expect(by.referralMode).to.deep.include({ unit: "mode", min: "0", max: "1" });
    if (relayer.chain.deployments.adCredit) {
      const ad = await relayer.chain.contract("adCredit").parameters();
      expect(by.adShare).to.deep.include({ contract: "adCredit", value: String(ad.adShare), min: "100", max: "5000", changePath: null });
      expect(by.noticePeriod).to.deep.include({ unit: "seconds", value: String(ad.noticePeriod), min: "86400", max: "7776000" });
    }
    expect(res.body.paused).to.equal(false);
  });

  it("previews a pool-share change on one order as the pool then mints it, and audits the change", async function () {
    const before = await relayer.chain.pool.parameters();
    const proposed = String(Number(before.poolShare) + 500);
    const res = await call(base, "GET", `/v1/admin/parameters/preview?name=poolShare&value=${proposed}&amount=100`, {
      token: TEST_ADMIN_TOKEN,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.include({
      name: "poolShare",
      basis: "order",
      value: String(before.poolShare),
      proposed,
      refusal: null,
      note: null,
    });
    const fig = Object.fromEntries(res.body.figures.map((f: { figure: string }) => [f.figure, f]));
    const [contributionNow, pointsNow] = await relayer.chain.pool.previewOrder(USD("100"));
    expect(fig.contribution.now).to.equal(formatUnits(contributionNow, 6).replace(/\.0$/, ""));
    expect(fig.buyerPoints.now).to.equal(formatUnits(pointsNow, 18).replace(/\.0$/, ""));
    expect(fig.contribution.proposed).to.not.equal(fig.contribution.now);

    const change = await admin("PUT", "/v1/admin/pool/parameters/poolShare", { value: proposed });
    expect(change.status, JSON.stringify(change.body)).to.equal(202);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, change.body.operationId)).state).to.equal("confirmed");
    expect(String((await relayer.chain.pool.parameters()).poolShare)).to.equal(proposed);
    const [contributionThen, pointsThen] = await relayer.chain.pool.previewOrder(USD("100"));
    expect(fig.contribution.proposed).to.equal(formatUnits(contributionThen, 6).replace(/\.0$/, ""));
    expect(fig.buyerPoints.proposed).to.equal(formatUnits(pointsThen, 18).replace(/\.0$/, ""));

    const audit = await call(base, "GET", "/v1/admin/audit?action=pool-parameter", { token: TEST_ADMIN_TOKEN });
    const entry = audit.body.entries.find((e: { operationId: string }) => e.operationId === change.body.operationId);
    expect(entry).to.deep.include({ actor: "admin-token", action: "pool-parameter", subject: "pool:poolShare" });
    expect(entry.details).to.deep.equal({ value: proposed });
  });

  it("previews an exit-fee change on a redemption with the pool's own previewRedeem", async function () {
    const res = await call(base, "GET", "/v1/admin/parameters/preview?name=exitFee&value=4000&amount=10", { token: TEST_ADMIN_TOKEN });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.basis).to.equal("redemption");
    const fig = Object.fromEntries(res.body.figures.map((f: { figure: string }) => [f.figure, f]));
    const [gross, fee, payout] = await relayer.chain.pool.previewRedeem(parseUnits("10", 18));
    expect([fig.gross.now, fig.exitFee.now, fig.payout.now]).to.deep.equal(
      [gross, fee, payout].map((v) => formatUnits(v, 6).replace(/\.0$/, "")),
    );
    // The fee rounds up, as PointsMath.exitFee does: gross × 40%.
    const feeThen = (gross * 4000n + 9999n) / 10000n;
    expect(fig.exitFee.proposed).to.equal(formatUnits(feeThen, 6).replace(/\.0$/, ""));
    expect(fig.payout.proposed).to.equal(formatUnits(gross - feeThen, 6).replace(/\.0$/, ""));
  });

  it("says what the contract would refuse, and refuses what is no parameter or no number", async function () {
    const high = await call(base, "GET", "/v1/admin/parameters/preview?name=exitFee&value=5001", { token: TEST_ADMIN_TOKEN });
    expect([high.status, high.body.refusal, high.body.figures]).to.deep.equal([200, "OUT_OF_RANGE", []]);
    const shares = await call(base, "GET", "/v1/admin/parameters/preview?name=mintShare&value=10000", { token: TEST_ADMIN_TOKEN });
    const p = await relayer.chain.pool.parameters();
    expect(shares.body.refusal).to.equal(p.referralShare1 + p.referralShare2 > 0n ? "SHARES_EXCEED_WHOLE" : null);
    const zeroExit = await call(base, "GET", "/v1/admin/parameters/preview?name=exitMultiple&value=0", { token: TEST_ADMIN_TOKEN });
    expect(zeroExit.body.refusal).to.equal(null);
    const quota = zeroExit.body.figures.find((f: { figure: string }) => f.figure === "exitQuota");
    expect(quota.proposed).to.equal("0");
    const nonsense = await call(base, "GET", "/v1/admin/parameters/preview?name=nonsense&value=1", { token: TEST_ADMIN_TOKEN });
    expect([nonsense.status, nonsense.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
    const word = await call(base, "GET", "/v1/admin/parameters/preview?name=exitFee&value=ten", { token: TEST_ADMIN_TOKEN });
    expect([word.status, word.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
    expect((await call(base, "GET", "/v1/admin/parameters/preview?name=exitFee&value=1")).status).to.equal(401);
  });
});
