/**
 * GET /v1/me/referrals over HTTP (anvil with the embedded deployment, PGlite, the Express app, the
 * sender loop and the memory SMS sender): the users registered with the caller as referrer, only
 * the caller's own, shown by a masked phone or user id, and the GP their orders credited the caller
 * as the chain's ReferralCredited events say.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { formatUnits } from "ethers";
import { createMemorySender } from "../../server/adapters/sms/memory";
import { maskPhone } from "../../server/domain/phones";
import { maskUserId } from "../../server/services/referrals";
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

let numbers = 0;
/** A fresh mainland mobile number, as typed and in E.164. */
function newNumber(): { typed: string; e164: string } {
  const typed = `137${String(process.pid % 10_000).padStart(4, "0")}${String(numbers++).padStart(4, "0")}`;
  return { typed, e164: `+86${typed}` };
}

describe("my referrals over HTTP", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let base: string;
  let shop: { shopId: string; webhookSecret: string };
  const sms = createMemorySender();

  const signUp = async (n: { typed: string; e164: string }, extra: Record<string, string> = {}) => {
    const sent = await call(base, "POST", "/v1/phone-codes", { body: { phone: n.typed, purpose: "signup" } });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    const code = sms.lastCode(n.e164, "signup");
    const res = await call(base, "POST", "/v1/phone/signup", { body: { phone: n.typed, code, password: "correct horse", ...extra } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect((await settledOperation(base, res.body.token, res.body.operation.operationId)).state).to.equal("confirmed");
    return res.body as { token: string; userId: string; account: string };
  };
  const referrals = async (token: string) => {
    const res = await call(base, "GET", "/v1/me/referrals", { token });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as { referrals: { who: string; signedUpAt: string; registration: string; earned: string }[]; earned: string };
  };

  before(async function () {
    relayer = await startTestRelayer({ sms: { sender: sms } });
    base = relayer.url;
    shop = await createShop(base, "Referral shop");
  });
  after(async function () {
    await relayer?.stop();
  });

  it("masks a phone to its country code, first 3 and last 4 digits, and a user id to its ends", function () {
    expect(maskPhone("+8613800138000")).to.equal("+86 138****8000");
    expect(maskPhone("+14155552671")).to.equal("+1 41******71");
    expect(maskUserId("shop-user-42")).to.equal("sh********42");
    expect(maskUserId("bob")).to.equal("***");
  });

  it("lists who registered with me as referrer, only mine, masked, with what their orders credited me", async function () {
    const a = newNumber();
    const alice = await signUp(a);
    expect((await call(base, "GET", "/v1/me/referrals")).status).to.equal(401);
    expect(await referrals(alice.token)).to.deep.equal({ mode: "firstOrder", referrals: [], earned: "0" });

    const { code } = (await call(base, "GET", "/v1/me/referral", { token: alice.token })).body;
    const b = newNumber();
    const bob = await signUp(b, { referralCode: code });
    const carol = await signUp(newNumber()); // no code: nobody's referee
    // The operator registers a user id naming alice as referrer: listed by its masked id.
    const dave = `dave-${randomUUID().slice(0, 8)}`;
    const made = await call(base, "POST", "/v1/users", {
      token: TEST_ADMIN_TOKEN,
      headers: { "idempotency-key": randomUUID() },
      body: { userId: dave, password: "dave's password", referrerId: alice.userId },
    });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, made.body.operation.operationId)).state).to.equal("confirmed");

    const listed = await referrals(alice.token);
    expect(listed.referrals.map((r) => [r.who, r.registration, r.earned])).to.deep.equal([
      [maskUserId(dave), "confirmed", "0"],
      [maskPhone(b.e164), "confirmed", "0"],
    ]);
    expect(listed.referrals[1].who).to.equal(`+86 ${b.typed.slice(0, 3)}****${b.typed.slice(7)}`);
    expect(Object.keys(listed.referrals[0]).sort()).to.deep.equal(["earned", "registration", "signedUpAt", "who"]);
    const text = JSON.stringify(listed);
    for (const secret of [b.e164, b.typed, bob.userId, bob.account, dave]) expect(text).to.not.contain(secret);
    expect(Date.parse(listed.referrals[1].signedUpAt)).to.be.within(Date.now() - 120_000, Date.now());
    // Nobody else sees alice's referees.
    expect(await referrals(bob.token)).to.deep.equal({ mode: "firstOrder", referrals: [], earned: "0" });
    expect(await referrals(carol.token)).to.deep.equal({ mode: "firstOrder", referrals: [], earned: "0" });

    // bob's first order credits alice; carol's credits nobody. The figure is the chain's event.
    for (const [phone, id] of [
      [b.typed, `ref-${randomUUID()}`],
      [newNumber().typed, `other-${randomUUID()}`],
    ]) {
      expect((await postOrder(base, shop, { orderId: id, phone, amount: "100.00" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, id)).state).to.equal("confirmed");
    }
    const credited = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited(undefined, alice.account));
    expect(credited).to.have.length(1);
    const points = formatUnits(credited[0].args.points, 18).replace(/\.0$/, "");
    expect(Number(points)).to.be.greaterThan(0);
    const after = await referrals(alice.token);
    expect(after.referrals.map((r) => [r.who, r.earned])).to.deep.equal([
      [maskUserId(dave), "0"],
      [maskPhone(b.e164), points],
    ]);
    expect(after.earned).to.equal(points);
  });
});
