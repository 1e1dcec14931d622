/**
 * The relayer's gas is spent only on relays that do something, and only so much of it per user:
 * relays per user and per owner address are limited, a relay whose owner holds nothing to move
 * is refused, and a user's relays are capped in gas per UTC day (counted in the database from
 * receipts, plus the estimate of those not mined yet). Over HTTP against anvil and PGlite.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { type HDNodeWallet, Wallet, parseUnits } from "ethers";
import { DEFAULT_LIMITS } from "../../server/http/limits";
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
import { signPermit, signTransfer } from "../helpers/signatures";

const GP = (text: string) => parseUnits(text, 18);
/** Far below one permit's gas above its first: one permit fits, a second does not. */
const DAILY_GAS = 100_000;

describe("relayed signatures and the relayer's gas", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let base: string;
  let shop: { shopId: string; webhookSecret: string };
  const key = () => ({ "idempotency-key": randomUUID() });
  const deadline = () => BigInt(Math.floor(Date.now() / 1000) + 3600);
  const relayOps = async () =>
    Number(
      (await relayer.db.query<{ n: string }>("SELECT count(*)::text AS n FROM operations WHERE kind IN ('permit', 'transfer-by-sig')"))[0]
        .n,
    );

  /** A registered user with a session. */
  async function user(userId: string): Promise<string> {
    const res = await call(base, "POST", "/v1/users", {
      token: TEST_ADMIN_TOKEN,
      body: { userId, password: `${userId}-login-pw`, paymentPassword: `${userId}-pay` },
      headers: key(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
    const login = await call(base, "POST", "/v1/sessions", { body: { userId, password: `${userId}-login-pw` } });
    expect(login.status).to.equal(201);
    return login.body.token;
  }

  /** A user whose linked original account holds GP (withdrawn from the custody). */
  async function fundedUser(userId: string): Promise<{ token: string; wallet: HDNodeWallet }> {
    const token = await user(userId);
    expect((await postOrder(base, shop, { orderId: `${userId}-1`, userId, amount: "100" })).status).to.equal(202);
    expect((await settledOrder(base, shop.shopId, `${userId}-1`)).state).to.equal("confirmed");
    const wallet = Wallet.createRandom();
    const pay = (route: string, body: unknown) =>
      call(base, "POST", route, { token, body, headers: { ...key(), "x-gp-payment-password": `${userId}-pay` } });
    const request = (await call(base, "GET", `/v1/me/link-request?address=${wallet.address}`, { token })).body;
    const signature = await wallet.signTypedData(request.domain, request.types, request.message);
    const link = await pay("/v1/me/link", { address: wallet.address, deadline: request.message.deadline, signature });
    expect((await settledOperation(base, token, link.body.operationId)).state).to.equal("confirmed");
    const withdraw = await pay("/v1/me/withdrawals/points", { points: "10" });
    expect((await settledOperation(base, token, withdraw.body.operationId)).state).to.equal("confirmed");
    return { token, wallet };
  }

  /** Relays `owner`'s permit of `value` GP to the custody, as the user of `token`. */
  async function relayPermit(token: string, owner: HDNodeWallet, value: string) {
    const when = deadline();
    const spender = relayer.chain.deployments.custody;
    const permit = await signPermit(owner, relayer.chain.points, spender, GP(value), when);
    return call(base, "POST", "/v1/relay/permits", {
      token,
      body: { owner: owner.address, spender, value, deadline: when.toString(), signature: permit.serialized },
      headers: key(),
    });
  }

  before(async function () {
    relayer = await startTestRelayer({ limits: { ...DEFAULT_LIMITS, relaysPerUser: 5, relaysPerOwner: 3, relayDailyGas: DAILY_GAS } });
    base = relayer.url;
    shop = await createShop(base, "Relays");
  });
  after(async function () {
    await relayer?.stop();
  });

  describe("a relay that would do nothing useful", function () {
    it("refuses permits from wallets that hold no GP, a zero permit and a transfer above the balance, with nothing queued", async function () {
      const { token, wallet } = await fundedUser("carol");
      const before = await relayOps();
      for (let i = 0; i < 3; i++) {
        const empty = await relayPermit(token, Wallet.createRandom(), "1");
        expect([empty.status, empty.body.error.code], JSON.stringify(empty.body)).to.deep.equal([422, "NOTHING_TO_RELAY"]);
      }
      const zero = await relayPermit(token, wallet, "0");
      expect([zero.status, zero.body.error.code]).to.deep.equal([422, "NOTHING_TO_RELAY"]);
      const when = deadline();
      const to = Wallet.createRandom().address;
      const signature = await signTransfer(wallet, relayer.chain.points, { to, value: GP("1000"), deadline: when });
      const tooMuch = await call(base, "POST", "/v1/relay/transfers", {
        token,
        body: { owner: wallet.address, to, value: "1000", deadline: when.toString(), signature },
        headers: key(),
      });
      expect([tooMuch.status, tooMuch.body.error.code]).to.deep.equal([422, "NOTHING_TO_RELAY"]);
      expect(tooMuch.body.error.details).to.deep.equal({
        owner: wallet.address,
        holds: (await relayer.chain.points.balanceOf(wallet.address)).toString(),
        needs: GP("1000").toString(),
      });
      expect(await relayOps()).to.equal(before);
    });
  });

  describe("the limits per user and per owner", function () {
    it("refuses a user's relays past the limit per minute, whatever their owners", async function () {
      const token = await user("dave");
      const codes = [];
      for (let i = 0; i < 6; i++) codes.push((await relayPermit(token, Wallet.createRandom(), "1")).body.error.code);
      expect(codes).to.deep.equal([
        "NOTHING_TO_RELAY",
        "NOTHING_TO_RELAY",
        "NOTHING_TO_RELAY",
        "NOTHING_TO_RELAY",
        "NOTHING_TO_RELAY",
        "RATE_LIMITED",
      ]);
    });

    it("refuses relays for one owner address past the limit per minute, whichever user asks", async function () {
      const { wallet: owner } = await fundedUser("erin");
      const answers = [];
      for (const userId of ["frank", "gina", "hana", "ivan"]) answers.push(await relayPermit(await user(userId), owner, "1"));
      // The first is queued; the next ones spend the same nonce while it is on its way (409) or a
      // new one once it is mined (202): each is signed by the owner, so each counts.
      expect(
        answers
          .slice(0, 3)
          .map((a) => a.status)
          .every((s) => s === 202 || s === 409),
        JSON.stringify(answers.map((a) => a.body)),
      ).to.equal(true);
      expect([answers[3].status, answers[3].body.error?.code]).to.deep.equal([429, "RATE_LIMITED"]);
    });

    it("does not count against an owner the requests that owner never signed", async function () {
      const { wallet: victim } = await fundedUser("jules");
      const forgerToken = await user("kane");
      const forger = Wallet.createRandom();
      const spender = relayer.chain.deployments.custody;
      for (let i = 0; i < 4; i++) {
        const when = deadline();
        const forged = await signPermit(forger, relayer.chain.points, spender, GP("1"), when);
        const res = await call(base, "POST", "/v1/relay/permits", {
          token: forgerToken,
          body: { owner: victim.address, spender, value: "1", deadline: when.toString(), signature: forged.serialized },
          headers: key(),
        });
        expect([res.status, res.body.error?.code], JSON.stringify(res.body)).to.deep.equal([422, "CHAIN_REFUSED"]);
      }
      const own = await relayPermit(await user("lena"), victim, "1");
      expect(own.status, JSON.stringify(own.body)).to.equal(202);
    });
  });

  describe("the gas cap per user and day", function () {
    it("counts the gas of the user's mined relays from their receipts and refuses one past the day's cap, queueing nothing", async function () {
      const { token, wallet } = await fundedUser("alice");
      const first = await relayPermit(token, wallet, "1");
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      const done = await settledOperation(base, token, first.body.operationId);
      expect(done.state).to.equal("confirmed");
      const receipt = await relayer.chain.points.runner!.provider!.getTransactionReceipt(done.txHash);
      const before = await relayOps();
      const second = await relayPermit(token, wallet, "2");
      expect([second.status, second.body.error.code], JSON.stringify(second.body)).to.deep.equal([429, "RELAY_LIMIT"]);
      expect(second.body.error.details.usedToday).to.equal(receipt!.gasUsed.toString());
      expect(second.body.error.details.dailyGas).to.equal(String(DAILY_GAS));
      expect(BigInt(second.body.error.details.usedToday) + BigInt(second.body.error.details.estimate)).to.be.greaterThan(BigInt(DAILY_GAS));
      expect(await relayOps()).to.equal(before);
      expect(await relayer.chain.points.allowance(wallet.address, relayer.chain.deployments.custody)).to.equal(GP("1"));
    });
  });
});
