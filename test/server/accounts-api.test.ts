/**
 * Users, merchants, the operator's chain controls and relayed signatures, end to end over HTTP:
 * anvil, the real database code (PGlite), the Express app and the sender loop. Every balance is
 * read back from the chain and compared with what the contracts' rules give.
 */
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { expect } from "chai";
import { Wallet, formatUnits, parseUnits } from "ethers";
import pino from "pino";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { DEFAULT_LIMITS } from "../../server/http/limits";
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
import { signDeposit, signPermit, signRedeem } from "../helpers/signatures";

const GP = (text: string) => parseUnits(text, 18);
const USD = (text: string) => parseUnits(text, 6);
const account = (userId: string) => custodialUserId(TEST_USER_SALT, userId);
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

function shouldServeAccounts(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`users, merchants and the operator over HTTP (${label})`, function () {
    this.timeout(240_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    const logLines: string[] = [];
    let external = null as { db: Db; close(): Promise<void> } | null;
    const key = () => ({ "idempotency-key": randomUUID() });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
    const pay = (token: string, route: string, body: unknown, password: string, idempotencyKey = randomUUID()) =>
      call(base, "POST", route, { token, body, headers: { "idempotency-key": idempotencyKey, "x-gp-payment-password": password } });
    const accountOf = (userId: string) => relayer.chain.custody.accountOf(account(userId));
    const register = async (body: Record<string, string>) => {
      const res = await admin("POST", "/v1/users", body);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
      return res.body;
    };
    const login = async (userId: string, password: string) => {
      const res = await call(base, "POST", "/v1/sessions", { body: { userId, password } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.token as string;
    };
    const mint = async (orderId: string, userId: string, amount: string, referrerId?: string) => {
      expect((await postOrder(base, shop, { orderId, userId, amount, ...(referrerId ? { referrerId } : {}) })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, orderId)).state).to.equal("confirmed");
    };

    before(async function () {
      const sink = new Writable({
        write(chunk, _enc, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      // Behind a proxy on the loopback interface, as a deployment with GP_TRUST_PROXY=loopback.
      relayer = await startTestRelayer({
        limits: { ...DEFAULT_LIMITS, loginFailures: 3, paymentChecks: 1_000 },
        log: pino({ level: "info" }, sink),
        trustProxy: "loopback",
      });
      base = relayer.url;
      shop = await createShop(base, "Accounts");
    });
    after(async function () {
      await relayer?.stop();
      await external?.close();
    });

    describe("registration and sessions", function () {
      it("registers a user on the chain, refuses a second registration, and logs in and out", async function () {
        const alice = await register({ userId: "alice", password: "alice-login-pw", paymentPassword: "alice-pay" });
        expect(alice.account).to.equal(account("alice"));
        expect((await accountOf("alice")).index).to.not.equal(0n);
        const again = await admin("POST", "/v1/users", { userId: "alice", password: "another-password" });
        expect(again.status).to.equal(409);
        expect(again.body.error.code).to.equal("NAME_TAKEN");
        expect((await call(base, "POST", "/v1/users", { body: { userId: "x", password: "12345678" }, headers: key() })).status).to.equal(
          401,
        );

        const wrong = await call(base, "POST", "/v1/sessions", { body: { userId: "alice", password: "not-it" } });
        expect([wrong.status, wrong.body.error.code]).to.deep.equal([401, "BAD_CREDENTIALS"]);
        const unknown = await call(base, "POST", "/v1/sessions", { body: { userId: "nobody", password: "not-it" } });
        expect([unknown.status, unknown.body.error.code]).to.deep.equal([401, "BAD_CREDENTIALS"]);
        const token = await login("alice", "alice-login-pw");
        expect(token).to.match(/^gps_[0-9a-f]{48}$/);
        const me = await call(base, "GET", "/v1/me", { token });
        expect(me.status).to.equal(200);
        expect(me.body).to.include({ userId: "alice", points: "0", registeredOnChain: true, paymentPasswordSet: true, original: null });
        expect((await call(base, "DELETE", "/v1/sessions/current", { token })).status).to.equal(200);
        expect((await call(base, "GET", "/v1/me", { token })).status).to.equal(401);
      });

      it("lets a shop register a user with a referrer, who then earns from the user's orders", async function () {
        const res = await call(base, "POST", "/v1/users", {
          token: shop.webhookSecret,
          body: { userId: "bob", password: "bob-login-pw", paymentPassword: "bob-pay", referrerId: "alice" },
          headers: { ...key(), "x-gp-shop": shop.shopId },
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
        expect((await accountOf("bob")).referrer).to.equal(account("alice"));
        const before = (await accountOf("alice")).points;
        await mint("bob-1", "bob", "100.00");
        const referral = await relayer.chain.custody.queryFilter(
          relayer.chain.custody.filters.ReferralCredited(undefined, account("alice")),
        );
        expect(referral).to.have.length(1);
        expect((await accountOf("alice")).points - before).to.equal(referral[0].args.points);
        expect(referral[0].args.points > 0n).to.equal(true);
      });

      it("registers a webhook's referrer on the chain before minting the buyer's first order", async function () {
        await mint("dave-1", "dave", "50", "alice");
        expect((await accountOf("dave")).referrer).to.equal(account("alice"));
        const referral = await relayer.chain.custody.queryFilter(
          relayer.chain.custody.filters.ReferralCredited(undefined, account("alice")),
        );
        expect(referral).to.have.length(2);
        // The shop names the referrer again on the next order: no second registration is queued.
        await mint("dave-1b", "dave", "5", "alice");
        const registrations = await relayer.db.query("SELECT id FROM operations WHERE kind = 'register' AND account = $1", [
          account("dave"),
        ]);
        expect(registrations).to.have.length(1);
      });

      it("keeps a buyer's first referrer when a later webhook names another, queueing nothing for it", async function () {
        await mint("dave-2", "dave", "10", "bob");
        expect((await accountOf("dave")).referrer).to.equal(account("alice"));
        const ops = await relayer.db.query<{ state: string }>("SELECT state FROM operations WHERE kind = 'register' AND account = $1", [
          account("dave"),
        ]);
        expect(ops).to.deep.equal([{ state: "confirmed" }]);
        const bob = await login("bob", "bob-login-pw");
        expect((await call(base, "GET", "/v1/me", { token: bob })).body.referrerId).to.equal("alice");
      });

      it("rate-limits failed logins per user id", async function () {
        await register({ userId: "erin", password: "erin-login-pw" });
        const codes = [];
        for (let i = 0; i < 4; i++)
          codes.push((await call(base, "POST", "/v1/sessions", { body: { userId: "erin", password: `wrong-${i}` } })).body.error.code);
        expect(codes).to.deep.equal(["BAD_CREDENTIALS", "BAD_CREDENTIALS", "BAD_CREDENTIALS", "RATE_LIMITED"]);
        const limited = await call(base, "POST", "/v1/sessions", { body: { userId: "erin", password: "erin-login-pw" } });
        expect(limited.status).to.equal(429);
      });

      it("lets a user's right password through after another client behind the same proxy sent ten wrong ones", async function () {
        await register({ userId: "jo", password: "jo-login-pw" });
        const from = (client: string, password: string) =>
          call(base, "POST", "/v1/sessions", { body: { userId: "jo", password }, headers: { "x-forwarded-for": client } });
        const codes = [];
        for (let i = 0; i < 10; i++) codes.push((await from("203.0.113.66", `wrong-${i}`)).body.error.code);
        expect(codes).to.deep.equal([...Array(3).fill("BAD_CREDENTIALS"), ...Array(7).fill("RATE_LIMITED")]);
        // The guesser stays refused for this user, even with the right password...
        expect((await from("203.0.113.66", "jo-login-pw")).status).to.equal(429);
        // ...while the user, another client of the same proxy, logs in.
        const own = await from("198.51.100.7", "jo-login-pw");
        expect(own.status, JSON.stringify(own.body)).to.equal(201);
      });
    });

    describe("custodial operations behind the payment password", function () {
      let alice: string;
      before(async function () {
        await mint("alice-1", "alice", "100.00");
        await mint("alice-2", "alice", "100.00");
        alice = await login("alice", "alice-login-pw");
      });

      it("transfers GP to another user exactly once per Idempotency-Key", async function () {
        const [a0, b0] = [(await accountOf("alice")).points, (await accountOf("bob")).points];
        const idem = randomUUID();
        const first = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "GP", amount: "1.5" }, "alice-pay", idem);
        expect(first.status, JSON.stringify(first.body)).to.equal(202);
        const replay = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "GP", amount: "1.5" }, "alice-pay", idem);
        expect(replay.status).to.equal(202);
        expect(replay.headers.get("idempotent-replayed")).to.equal("true");
        expect(replay.body.operationId).to.equal(first.body.operationId);
        const done = await settledOperation(base, alice, first.body.operationId);
        expect(done.state).to.equal("confirmed");
        expect(done.events.map((e: any) => e.name)).to.include("Transferred");
        expect((await accountOf("alice")).points).to.equal(a0 - GP("1.5"));
        expect((await accountOf("bob")).points).to.equal(b0 + GP("1.5"));
        const reused = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "GP", amount: "2" }, "alice-pay", idem);
        expect([reused.status, reused.body.error.code]).to.deep.equal([409, "IDEMPOTENCY_CONFLICT"]);
      });

      it("refuses what the chain would refuse, and bad input, with nothing queued", async function () {
        const count = async () => (await call(base, "GET", "/v1/me/operations", { token: alice })).body.operations.length;
        const before = await count();
        const tooMuch = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "GP", amount: "1000000" }, "alice-pay");
        expect([tooMuch.status, tooMuch.body.error.code]).to.deep.equal([422, "INSUFFICIENT_BALANCE"]);
        const places = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "CP", amount: "0.0000001" }, "alice-pay");
        expect([places.status, places.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        const nobody = await pay(alice, "/v1/me/transfers", { toUserId: "nobody", asset: "GP", amount: "1" }, "alice-pay");
        expect([nobody.status, nobody.body.error.code]).to.deep.equal([404, "NOT_FOUND"]);
        const noKey = await call(base, "POST", "/v1/me/transfers", {
          token: alice,
          body: { toUserId: "bob", asset: "GP", amount: "1" },
          headers: { "x-gp-payment-password": "alice-pay" },
        });
        expect([noKey.status, noKey.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        const extra = await pay(alice, "/v1/me/transfers", { toUserId: "bob", asset: "GP", amount: "1", memo: "x" }, "alice-pay");
        expect([extra.status, extra.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        expect(await count()).to.equal(before);
      });

      it("locks the payment password after five wrong ones, even against the right one", async function () {
        await register({ userId: "carol", password: "carol-login-pw", paymentPassword: "carol-pay" });
        await mint("carol-1", "carol", "10");
        const carol = await login("carol", "carol-login-pw");
        const body = { toUserId: "alice", asset: "GP", amount: "0.1" };
        const answers = [];
        for (let i = 0; i < 5; i++) answers.push((await pay(carol, "/v1/me/transfers", body, `wrong-${i}`)).body.error);
        expect(answers.map((e) => e.code)).to.deep.equal([
          "BAD_CREDENTIALS",
          "BAD_CREDENTIALS",
          "BAD_CREDENTIALS",
          "BAD_CREDENTIALS",
          "PASSWORD_LOCKED",
        ]);
        expect(answers[3].details.attemptsLeft).to.equal(1);
        const right = await pay(carol, "/v1/me/transfers", body, "carol-pay");
        expect([right.status, right.body.error.code]).to.deep.equal([423, "PASSWORD_LOCKED"]);
        const missing = await call(base, "POST", "/v1/me/transfers", { token: carol, body, headers: key() });
        expect(missing.status).to.equal(423);
        const ops = (await call(base, "GET", "/v1/me/operations", { token: carol })).body.operations;
        expect(ops.map((o: any) => o.kind)).to.deep.equal(["register"]);
      });

      it("verifies at most five of twelve wrong payment passwords sent at once, then refuses the right one while locked", async function () {
        await register({ userId: "ivan", password: "ivan-login-pw", paymentPassword: "ivan-pay" });
        const ivan = await login("ivan", "ivan-login-pw");
        const body = { toUserId: "alice", asset: "GP", amount: "0.1" };
        const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => pay(ivan, "/v1/me/transfers", body, `wrong-${i}`)));
        const errors = answers.map((a) => a.body.error);
        expect(errors.filter((e) => e.code === "BAD_CREDENTIALS")).to.have.length(4);
        expect(errors.filter((e) => e.code === "PASSWORD_LOCKED")).to.have.length(8);
        // An answer says whether the password was checked: four wrong ones say how many attempts are
        // left, the fifth that it locked; the other seven were refused without a check.
        const checked = errors.filter((e) => e.message.startsWith("wrong payment password"));
        expect(checked.map((e) => e.details.attemptsLeft).sort()).to.deep.equal([0, 1, 2, 3, 4]);
        expect(errors.filter((e) => e.message === "the payment password is locked after repeated failures")).to.have.length(7);
        const right = await pay(ivan, "/v1/me/transfers", body, "ivan-pay");
        expect([right.status, right.body.error.code]).to.deep.equal([423, "PASSWORD_LOCKED"]);
      });

      it("changes the payment password only with the current one", async function () {
        await register({ userId: "frank", password: "frank-login-pw" });
        const frank = await login("frank", "frank-login-pw");
        const needFirst = await pay(frank, "/v1/me/conversions", { points: "1" }, "anything");
        expect([needFirst.status, needFirst.body.error.code]).to.deep.equal([403, "FORBIDDEN"]);
        expect(
          (await call(base, "PUT", "/v1/me/payment-password", { token: frank, body: { paymentPassword: "frank-pay" } })).status,
        ).to.equal(200);
        const noCurrent = await call(base, "PUT", "/v1/me/payment-password", { token: frank, body: { paymentPassword: "frank-pay-2" } });
        expect([noCurrent.status, noCurrent.body.error.code]).to.deep.equal([401, "BAD_CREDENTIALS"]);
        const changed = await call(base, "PUT", "/v1/me/payment-password", {
          token: frank,
          body: { paymentPassword: "frank-pay-2" },
          headers: { "x-gp-payment-password": "frank-pay" },
        });
        expect(changed.status).to.equal(200);
      });

      it("redeems GP into the settlement balance at the pool's quote", async function () {
        const quote = await relayer.chain.pool.previewRedeem(GP("2"));
        const before = await accountOf("alice");
        const res = await pay(alice, "/v1/me/redemptions", { asset: "GP", amount: "2" }, "alice-pay");
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        expect((await settledOperation(base, alice, res.body.operationId)).state).to.equal("confirmed");
        const after = await accountOf("alice");
        expect(after.points).to.equal(before.points - GP("2"));
        expect(after.settlement).to.equal(before.settlement + quote.payout);
      });

      it("rejects, with the chain's reason, a redemption whose minimum payout is not met", async function () {
        const res = await pay(alice, "/v1/me/redemptions", { asset: "GP", amount: "1", minPayout: "1000" }, "alice-pay");
        expect([res.status, res.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
        expect(res.body.error.message).to.contain("PoolPayoutBelowMinimum");
      });
    });

    describe("merchants", function () {
      let alice: string;
      let merchant: { merchantId: string; apiKey: string; keyId: string; account: string };
      const payee = Wallet.createRandom().address;

      before(async function () {
        alice = await login("alice", "alice-login-pw");
        const res = await admin("POST", "/v1/admin/merchants", { name: "Corner Café" });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        merchant = res.body;
        expect(merchant.apiKey).to.match(/^gpk_key_[0-9a-f]{12}_[0-9a-f]{48}$/);
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operation.operationId)).state).to.equal("confirmed");
        expect((await admin("POST", "/v1/admin/merchants", { name: "Corner Café" })).body.error.code).to.equal("NAME_TAKEN");
      });

      it("is paid in CP that a user converted from GP at the current price", async function () {
        const [assets, supply] = [await relayer.chain.pool.assets(), await relayer.chain.points.totalSupply()];
        const before = await accountOf("alice");
        const convert = await pay(alice, "/v1/me/conversions", { points: "5" }, "alice-pay");
        expect((await settledOperation(base, alice, convert.body.operationId)).state).to.equal("confirmed");
        const expectedCP = (GP("5") * assets) / supply; // floor: CP never worth more than their GP
        expect((await accountOf("alice")).constantPoints).to.equal(before.constantPoints + expectedCP);

        const payment = await pay(alice, "/v1/me/payments", { merchantId: merchant.merchantId, asset: "CP", amount: "2" }, "alice-pay");
        expect(payment.status, JSON.stringify(payment.body)).to.equal(202);
        expect((await settledOperation(base, merchant.apiKey, payment.body.operationId)).state).to.equal("confirmed");
        const me = await call(base, "GET", "/v1/merchant", { token: merchant.apiKey });
        expect(me.body).to.include({ merchantId: merchant.merchantId, merchantOnChain: true, constantPoints: "2", points: "0" });
        const gpPayment = await pay(
          alice,
          "/v1/me/payments",
          { merchantId: merchant.merchantId, asset: "GP", amount: "0.25" },
          "alice-pay",
        );
        expect((await settledOperation(base, alice, gpPayment.body.operationId)).state).to.equal("confirmed");
      });

      it("redeems CP and withdraws the settlement through its API key, and its statement adds up", async function () {
        const redeem = await call(base, "POST", "/v1/merchant/redemptions", {
          token: merchant.apiKey,
          body: { asset: "CP", amount: "1" },
          headers: key(),
        });
        expect(redeem.status, JSON.stringify(redeem.body)).to.equal(202);
        const done = await settledOperation(base, merchant.apiKey, redeem.body.operationId);
        expect(done.state).to.equal("confirmed");
        const redeemed = done.events.find((e: any) => e.name === "Redeemed").args;
        const exitFee = (await relayer.chain.pool.parameters()).exitFee;
        expect(BigInt(redeemed.fee)).to.equal(ceilDiv(BigInt(redeemed.gross) * exitFee, 10_000n)); // the exit fee, rounded up
        const settlement = (await relayer.chain.custody.accountOf(merchant.account)).settlement;
        expect(settlement).to.equal(BigInt(redeemed.payout));

        const withdraw = await call(base, "POST", "/v1/merchant/withdrawals", {
          token: merchant.apiKey,
          body: { to: payee, amount: "0.5" },
          headers: key(),
        });
        expect((await settledOperation(base, merchant.apiKey, withdraw.body.operationId)).state).to.equal("confirmed");
        expect(await relayer.chain.settlement.balanceOf(payee)).to.equal(USD("0.5"));

        const statement = await call(base, "GET", "/v1/merchant/statement", { token: merchant.apiKey });
        expect(statement.status).to.equal(200);
        expect(statement.body.entries.map((e: any) => e.type)).to.deep.equal([
          "payment-received",
          "payment-received",
          "redemption",
          "withdrawal",
        ]);
        expect(statement.body.entries[0]).to.include({ asset: "CP", amount: "2", counterparty: "alice" });
        const fmt = (v: bigint) => formatUnits(v, 6).replace(/\.0$/, "");
        expect(statement.body.totals).to.deep.equal({
          receivedGP: "0.25",
          receivedCP: "2",
          redeemedGP: "0",
          redeemedCP: "1",
          payout: fmt(BigInt(redeemed.payout)),
          fees: fmt(BigInt(redeemed.fee)),
          withdrawn: "0.5",
        });
        const csv = await call(base, "GET", "/v1/merchant/statement?format=csv", { token: merchant.apiKey });
        expect(csv.headers.get("content-type")).to.match(/^text\/csv/);
        const lines = (csv.body as string).trim().split("\r\n");
        expect(lines[0]).to.equal("time,operationId,type,asset,amount,payout,fee,counterparty,txHash");
        expect(lines).to.have.length(5);
        expect(lines[3].split(",").slice(2, 7)).to.deep.equal([
          "redemption",
          "CP",
          "1",
          fmt(BigInt(redeemed.payout)),
          fmt(BigInt(redeemed.fee)),
        ]);
      });

      it("stops a revoked API key at once and takes a new one", async function () {
        const second = await admin("POST", `/v1/admin/merchants/${merchant.merchantId}/keys`);
        expect(second.status).to.equal(201);
        const revoke = await call(base, "DELETE", `/v1/merchant/keys/${merchant.keyId}`, { token: second.body.apiKey });
        expect(revoke.status).to.equal(200);
        expect((await call(base, "GET", "/v1/merchant", { token: merchant.apiKey })).status).to.equal(401);
        expect((await call(base, "GET", "/v1/merchant", { token: second.body.apiKey })).status).to.equal(200);
        const forged = second.body.apiKey.slice(0, -4) + "0000";
        expect((await call(base, "GET", "/v1/merchant", { token: forged })).status).to.equal(401);
        expect((await call(base, "GET", "/v1/merchant", { token: alice })).status).to.equal(401);
      });

      it("shows an operation only to who asked for it, whom it paid, and the operator", async function () {
        const ops = (await call(base, "GET", "/v1/me/operations", { token: alice })).body.operations;
        const transfer = ops.find((o: any) => o.kind === "transfer");
        const bob = await login("bob", "bob-login-pw");
        expect((await call(base, "GET", `/v1/operations/${transfer.operationId}`, { token: bob })).status).to.equal(404);
        expect((await call(base, "GET", `/v1/operations/${transfer.operationId}`, { token: TEST_ADMIN_TOKEN })).status).to.equal(200);
      });
    });

    describe("original accounts and relayed signatures", function () {
      const wallet = Wallet.createRandom();
      let alice: string;
      before(async function () {
        alice = await login("alice", "alice-login-pw");
      });

      it("links an address that signed the EIP-712 request, and withdraws GP to it less the withdrawal fee", async function () {
        const request = await call(base, "GET", `/v1/me/link-request?address=${wallet.address}`, { token: alice });
        expect(request.status).to.equal(200);
        const { domain, types, message } = request.body;
        const signature = await wallet.signTypedData(domain, types, message);
        const link = await pay(alice, "/v1/me/link", { address: wallet.address, deadline: message.deadline, signature }, "alice-pay");
        expect(link.status, JSON.stringify(link.body)).to.equal(202);
        expect((await settledOperation(base, alice, link.body.operationId)).state).to.equal("confirmed");
        expect((await call(base, "GET", "/v1/me", { token: alice })).body.original).to.equal(wallet.address);

        const withdraw = await pay(alice, "/v1/me/withdrawals/points", { points: "10" }, "alice-pay");
        expect((await settledOperation(base, alice, withdraw.body.operationId)).state).to.equal("confirmed");
        const withdrawalFee = (await relayer.chain.custody.parameters()).withdrawalFee;
        expect(await relayer.chain.points.balanceOf(wallet.address)).to.equal(GP("10") - ceilDiv(GP("10") * withdrawalFee, 10_000n));
      });

      it("unlinks an original account, after which withdrawals to it are refused", async function () {
        await register({ userId: "hana", password: "hana-login-pw", paymentPassword: "hana-pay" });
        await mint("hana-1", "hana", "10");
        const hana = await login("hana", "hana-login-pw");
        const own = Wallet.createRandom();
        const request = (await call(base, "GET", `/v1/me/link-request?address=${own.address}`, { token: hana })).body;
        const signature = await own.signTypedData(request.domain, request.types, request.message);
        const link = await pay(hana, "/v1/me/link", { address: own.address, deadline: request.message.deadline, signature }, "hana-pay");
        expect((await settledOperation(base, hana, link.body.operationId)).state).to.equal("confirmed");
        const unlink = await pay(hana, "/v1/me/unlink", {}, "hana-pay");
        expect(unlink.status, JSON.stringify(unlink.body)).to.equal(202);
        expect((await settledOperation(base, hana, unlink.body.operationId)).state).to.equal("confirmed");
        expect((await call(base, "GET", "/v1/me", { token: hana })).body.original).to.equal(null);
        const refused = await pay(hana, "/v1/me/withdrawals/points", { points: "1" }, "hana-pay");
        expect([refused.status, refused.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
        expect(refused.body.error.message).to.contain("CustodyNotLinked");
      });

      it("refuses an address whose mixed case is not its EIP-55 checksum (400 VALIDATION_FAILED), and takes one in lower case", async function () {
        const good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        const bad = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8";
        const refused = (res: { status: number; body: any }) => [res.status, res.body.error?.code];
        expect(refused(await call(base, "GET", `/v1/me/link-request?address=${bad}`, { token: alice }))).to.deep.equal([
          400,
          "VALIDATION_FAILED",
        ]);
        const lower = await call(base, "GET", `/v1/me/link-request?address=${good.toLowerCase()}`, { token: alice });
        expect(lower.status).to.equal(200);
        expect(lower.body.message.account).to.equal(good);
        const signature = `0x${"11".repeat(65)}`;
        const relayed = await call(base, "POST", "/v1/relay/transfers", {
          token: alice,
          body: { owner: good, to: bad, value: "1", deadline: "9999999999", signature },
          headers: key(),
        });
        expect(refused(relayed)).to.deep.equal([400, "VALIDATION_FAILED"]);
        expect(relayed.body.error.message).to.contain("body.to");
        const merchant = await admin("POST", "/v1/admin/merchants", { name: "Checksum Corner" });
        const withdrawal = await call(base, "POST", "/v1/merchant/withdrawals", {
          token: merchant.body.apiKey,
          body: { to: bad, amount: "1" },
          headers: key(),
        });
        expect(refused(withdrawal)).to.deep.equal([400, "VALIDATION_FAILED"]);
      });

      it("refuses a link signed by another key, and queues nothing", async function () {
        await register({ userId: "gina", password: "gina-login-pw", paymentPassword: "gina-pay" });
        const gina = await login("gina", "gina-login-pw");
        const other = Wallet.createRandom();
        const request = (await call(base, "GET", `/v1/me/link-request?address=${other.address}`, { token: gina })).body;
        const signature = await Wallet.createRandom().signTypedData(request.domain, request.types, request.message);
        const res = await pay(gina, "/v1/me/link", { address: other.address, deadline: request.message.deadline, signature }, "gina-pay");
        expect([res.status, res.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
        expect(res.body.error.message).to.contain("CustodyInvalidSigner");
      });

      it("relays the original account's signed redemption, permit and deposit without the owner holding gas", async function () {
        const chainId = BigInt(relayer.chain.deployments.chainId);
        const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
        const signer = wallet;
        expect(await relayer.chain.settlement.runner!.provider!.getBalance(wallet.address)).to.equal(0n);

        const quote = await relayer.chain.pool.previewRedeem(GP("1"));
        const redeemSig = await signRedeem(
          signer,
          relayer.chain.pool,
          { points: GP("1"), receiver: wallet.address, minPayout: 0n, deadline },
          { chainId },
        );
        /** Relays the owner's signed request as alice (her session pays nothing; the relayer pays the gas). */
        const relay = (route: string, body: Record<string, string>) =>
          call(base, "POST", `/v1/relay/${route}`, {
            token: alice,
            body: { owner: wallet.address, deadline: deadline.toString(), ...body },
            headers: key(),
          });
        const held = await relayer.chain.points.balanceOf(wallet.address);
        const redeem = await relay("redemptions", { points: "1", receiver: wallet.address, minPayout: "0", signature: redeemSig });
        expect(redeem.status, JSON.stringify(redeem.body)).to.equal(202);
        expect((await settledOperation(base, alice, redeem.body.operationId)).state).to.equal("confirmed");
        expect(await relayer.chain.settlement.balanceOf(wallet.address)).to.equal(quote.payout);

        const permit = await signPermit(signer, relayer.chain.points, relayer.chain.deployments.custody, GP("2"), deadline);
        const permitted = await relay("permits", { spender: relayer.chain.deployments.custody, value: "2", signature: permit.serialized });
        expect((await settledOperation(base, alice, permitted.body.operationId)).state).to.equal("confirmed");
        const before = (await accountOf("alice")).points;
        const depositSig = await signDeposit(signer, relayer.chain.custody, account("alice"), GP("2"), deadline, { chainId });
        const deposit = await relay("deposits", { points: "2", signature: depositSig });
        expect((await settledOperation(base, alice, deposit.body.operationId)).state).to.equal("confirmed");
        expect((await accountOf("alice")).points).to.equal(before + GP("2"));
        expect(await relayer.chain.points.balanceOf(wallet.address)).to.equal(held - GP("1") - GP("2"));

        const replayed = await relay("deposits", { points: "2", signature: depositSig });
        expect([replayed.status, replayed.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
      });
    });

    describe("the operator's chain controls", function () {
      it("changes the exit fee, refuses a value out of bounds, and pauses and unpauses order mints", async function () {
        const fee = await admin("PUT", "/v1/admin/pool/parameters/exitFee", { value: "1500" });
        expect(fee.status, JSON.stringify(fee.body)).to.equal(202);
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, fee.body.operationId)).state).to.equal("confirmed");
        expect((await call(base, "GET", "/v1/pool")).body.params.exitFeeBps).to.equal(1500);
        const notANumber = await admin("PUT", "/v1/admin/pool/parameters/exitFee", { value: "15%" });
        expect([notANumber.status, notANumber.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        const tooHigh = await admin("PUT", "/v1/admin/pool/parameters/exitFee", { value: "10001" });
        expect([tooHigh.status, tooHigh.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
        const custodyFee = await admin("PUT", "/v1/admin/custody/parameters/withdrawalFee", { value: "50" });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, custodyFee.body.operationId)).state).to.equal("confirmed");
        expect((await relayer.chain.custody.parameters()).withdrawalFee).to.equal(50n);
        expect(
          (await call(base, "PUT", "/v1/admin/pool/parameters/nonsense", { body: { value: "1" }, token: TEST_ADMIN_TOKEN, headers: key() }))
            .status,
        ).to.equal(400);

        const pause = await admin("POST", "/v1/admin/pause");
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, pause.body.operationId)).state).to.equal("confirmed");
        expect((await call(base, "GET", "/v1/pool")).body.paused).to.equal(true);
        expect((await postOrder(base, shop, { orderId: "paused-1", userId: "alice", amount: "10" })).status).to.equal(202);
        await new Promise((r) => setTimeout(r, 1_500));
        expect((await call(base, "GET", `/v1/shops/${shop.shopId}/orders/paused-1`, { token: TEST_ADMIN_TOKEN })).body.state).to.equal(
          "received",
        );
        const unpause = await admin("POST", "/v1/admin/unpause");
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, unpause.body.operationId)).state).to.equal("confirmed");
        expect((await settledOrder(base, shop.shopId, "paused-1")).state).to.equal("confirmed");
        expect((await call(base, "POST", "/v1/admin/pause", { headers: key() })).status).to.equal(401);
      });
    });

    describe("its logs", function () {
      it("hold no password, session token or API key", async function () {
        const text = logLines.join("");
        expect(text.length).to.be.greaterThan(0);
        for (const secret of ["alice-login-pw", "alice-pay", "carol-pay", "gps_", "gpk_", TEST_ADMIN_TOKEN, shop.webhookSecret]) {
          expect(text, secret).to.not.contain(secret);
        }
      });
    });
  });
}

shouldServeAccounts("PGlite");
if (process.env.DATABASE_URL) {
  shouldServeAccounts("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
