/**
 * Shoppers' own accounts by phone, end to end over HTTP: anvil with the embedded deployment, the
 * real database code (PGlite, and PostgreSQL when DATABASE_URL is set), the Express app, the sender
 * loop, and the memory SMS sender, whose messages are the only place a test reads a code from.
 */
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { parseUnits } from "ethers";
import pino from "pino";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { openPglite } from "../../server/adapters/db/pglite";
import { openPostgres } from "../../server/adapters/db/postgres";
import { migrate } from "../../server/adapters/db/migrations";
import { createMemorySender } from "../../server/adapters/sms/memory";
import { OUTBOX_FILE, createOutboxSender } from "../../server/adapters/sms/outbox";
import { parsePhone } from "../../server/domain/phones";
import { AppError } from "../../server/errors";
import { createPhoneCodes } from "../../server/services/phone-codes";
import { freshPostgresDb, freshSchema } from "../helpers/postgres";
import { type FakeAliyunSms, startFakeAliyunSms } from "../helpers/fake-aliyun-sms";
import { createSmsSender } from "../../server/adapters/sms/senders";
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

const silent = pino({ level: "silent" });
let numbers = 0;
/** A fresh mainland mobile number for each use, as a shopper would type it, and its E.164. */
function newNumber(): { typed: string; e164: string } {
  const typed = `139${String(process.pid % 10_000).padStart(4, "0")}${String(numbers++).padStart(4, "0")}`;
  return { typed, e164: `+86${typed}` };
}
let addresses = 0;
/** A client address of its own (through GP_TRUST_PROXY=loopback), so one test's sends do not count against another's. */
const newAddress = () => `198.51.100.${++addresses}`;

function shouldServePhoneAccounts(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`phone accounts over HTTP (${label})`, function () {
    this.timeout(240_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    let external = null as { db: Db; close(): Promise<void> } | null;
    const sms = createMemorySender();

    const sendCode = (phone: string, purpose: string, ip = newAddress()) =>
      call(base, "POST", "/v1/phone-codes", { body: { phone, purpose }, headers: { "x-forwarded-for": ip } });
    /** Moves the number's codes back in time, as if `seconds` had passed (the cooldown and the windows count from them). */
    const age = (phone: string, seconds: number) =>
      relayer.db.query("UPDATE phone_codes SET created_at = created_at - make_interval(secs => $2) WHERE phone = $1", [phone, seconds]);
    /** A code for `purpose` sent to the number and read from the memory sender. */
    const codeFor = async (n: { typed: string; e164: string }, purpose: string) => {
      // Past the cooldown and the hour's window (a test asks one number for up to 10 codes a day).
      await age(n.e164, 3601);
      const sent = await sendCode(n.typed, purpose);
      expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
      return sms.lastCode(n.e164, purpose as never);
    };
    const signUp = async (n: { typed: string; e164: string }, extra: Record<string, string> = {}) => {
      const code = await codeFor(n, "signup");
      const res = await call(base, "POST", "/v1/phone/signup", { body: { phone: n.typed, code, password: "correct horse", ...extra } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body as { token: string; userId: string; account: string; phone: string; operation: { operationId: string } };
    };
    const me = (token: string) => call(base, "GET", "/v1/me", { token });

    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({ db: external?.db, trustProxy: "loopback", sms: { sender: sms } });
      base = relayer.url;
      shop = await createShop(base, "Phone shop");
    });
    after(async function () {
      await relayer?.stop();
      await external?.close();
    });

    it("keeps one account per number however it is written, and refuses numbers that are not real or cannot take SMS", async function () {
      const n = newNumber();
      const spaced = `${n.typed.slice(0, 3)} ${n.typed.slice(3, 7)} ${n.typed.slice(7)}`;
      for (const written of [n.typed, `+86 ${spaced}`, `+86-${n.typed}`]) {
        await age(n.e164, 61);
        expect((await sendCode(written, "signup")).status).to.equal(202);
        expect(sms.sent.at(-1)!.to).to.equal(n.e164);
      }
      for (const [bad, why] of [
        ["12345678901", "is not a valid phone number"], // 11 digits, no mainland prefix 12x
        ["1380013800", "is not a valid phone number"], // a digit short
        ["+86 10 6552 9988", "cannot receive SMS"], // a Beijing landline
      ]) {
        const res = await sendCode(bad, "signup");
        expect(res.status, bad).to.equal(400);
        expect(res.body.error.code).to.equal("VALIDATION_FAILED");
        expect(res.body.error.message).to.contain("body.phone").and.contain(why);
      }
      expect(parsePhone("+14155552671")).to.deep.equal({ phone: "+14155552671" }); // a US number: the plan cannot tell, it may take SMS
      const unknownPurpose = await call(base, "POST", "/v1/phone-codes", { body: { phone: n.typed, purpose: "anything" } });
      expect(unknownPurpose.status).to.equal(400);
      // A number abroad written without + is read as a mainland one, and the refusal says so.
      const noPlus = await sendCode("4155552671", "signup");
      expect(noPlus.body.error.message).to.contain("a number without + is read as a mainland China one");
      // A login that sends neither a password nor a code names what is missing.
      const neither = await call(base, "POST", "/v1/phone/sessions", { body: { phone: n.typed } });
      expect(neither.status).to.equal(400);
      expect(neither.body.error.message).to.equal("body.password: send the password or a login code, one of the two");
    });

    it("gives a shop's orders for a phone to that phone's account, which its owner finds on signing up; user ids keep working", async function () {
      const n = newNumber();
      const first = await postOrder(base, shop, { orderId: `ph-${randomUUID()}`, phone: n.typed, amount: "100.00" });
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      const firstOrder = await settledOrder(base, shop.shopId, first.body.orderId);
      expect(firstOrder.state).to.equal("confirmed");
      // Another shop's order for the same number, written another way, lands in the same account.
      const other = await createShop(base, "Second phone shop");
      const second = await postOrder(base, other, { orderId: `ph-${randomUUID()}`, phone: `+86 ${n.typed}`, amount: "50.00" });
      const secondOrder = await settledOrder(base, other.shopId, second.body.orderId);
      expect(secondOrder.state).to.equal("confirmed");
      expect(secondOrder.userId).to.equal(firstOrder.userId);
      expect(firstOrder.userId).to.match(/^ph_[0-9a-f]{20}$/);

      const signed = await signUp(n, { paymentPassword: "654321" });
      expect(signed.userId).to.equal(firstOrder.userId);
      expect(signed.phone).to.equal(n.e164);
      expect((await settledOperation(base, signed.token, signed.operation.operationId)).state).to.equal("confirmed");
      const account = await me(signed.token);
      expect(account.status).to.equal(200);
      expect(account.body.phone).to.equal(n.e164);
      expect(account.body.paymentPasswordSet).to.equal(true);
      // The account holds exactly what both orders minted, on the chain and as the API shows it.
      const onChain = await relayer.chain.custody.accountOf(custodialUserId(TEST_USER_SALT, signed.userId));
      const minted = parseUnits(firstOrder.gpMinted, 18) + parseUnits(secondOrder.gpMinted, 18);
      expect(minted > 0n).to.equal(true);
      expect(onChain.points).to.equal(minted);
      expect(parseUnits(account.body.points, 18)).to.equal(minted);

      // An order after the sign-up lands there too, and a user id order still makes its own account.
      const third = await postOrder(base, shop, { orderId: `ph-${randomUUID()}`, phone: n.typed, amount: "10.00" });
      expect((await settledOrder(base, shop.shopId, third.body.orderId)).userId).to.equal(signed.userId);
      const byId = await postOrder(base, shop, { orderId: `id-${randomUUID()}`, userId: `classic-${randomUUID()}`, amount: "10.00" });
      expect(byId.status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, byId.body.orderId)).state).to.equal("confirmed");
    });

    it("takes a phone order's repeat as a repeat, refuses another body under its id, and names the buyer exactly once", async function () {
      const n = newNumber();
      const orderId = `ph-${randomUUID()}`;
      expect((await postOrder(base, shop, { orderId, phone: n.typed, amount: "5.00" })).status).to.equal(202);
      expect((await postOrder(base, shop, { orderId, phone: `+86${n.typed}`, amount: "5.00" })).status).to.equal(200);
      const stranger = newNumber();
      const conflict = await postOrder(base, shop, { orderId, phone: stranger.typed, amount: "5.00" });
      expect(conflict.status).to.equal(409);
      expect(conflict.body.error.code).to.equal("ORDER_CONFLICT");
      // The conflicting order left no account behind for the number it named.
      expect(await relayer.db.query("SELECT 1 FROM phone_accounts WHERE phone = $1", [stranger.e164])).to.have.length(0);
      for (const body of [
        { orderId: `x-${randomUUID()}`, amount: "1.00" },
        { orderId: `x-${randomUUID()}`, userId: "both", phone: n.typed, amount: "1.00" },
      ]) {
        const res = await postOrder(base, shop, body);
        expect(res.status).to.equal(400);
        expect(res.body.error.message).to.contain("exactly one of userId and phone");
      }
      const landline = await postOrder(base, shop, { orderId: `x-${randomUUID()}`, phone: "+86 10 6552 9988", amount: "1.00" });
      expect(landline.status).to.equal(400);
      // The first shop to name a number does not choose its owner's referrer.
      const referred = await postOrder(base, shop, {
        orderId: `x-${randomUUID()}`,
        phone: newNumber().typed,
        amount: "1.00",
        referrerId: "accomplice",
      });
      expect(referred.status).to.equal(400);
      expect(referred.body.error.message).to.contain("body.referrerId");
    });

    it("answers a code request and a wrong login the same whether or not the number has an account", async function () {
      const registered = newNumber();
      await signUp(registered);
      const unknown = newNumber();
      await age(registered.e164, 61);
      const a = await sendCode(registered.typed, "login");
      const b = await sendCode(unknown.typed, "login");
      expect([a.status, Object.keys(a.body)]).to.deep.equal([b.status, Object.keys(b.body)]);
      expect(a.body).to.deep.equal(b.body);
      const wrongA = await call(base, "POST", "/v1/phone/sessions", { body: { phone: registered.typed, password: "not the password" } });
      const wrongB = await call(base, "POST", "/v1/phone/sessions", { body: { phone: unknown.typed, password: "not the password" } });
      expect(wrongA.status).to.equal(401);
      expect(wrongA.body).to.deep.equal(wrongB.body);
      // A sign-up of a taken number is told so only with a right code, which only the number's owner has.
      const code = await codeFor(registered, "signup");
      const again = await call(base, "POST", "/v1/phone/signup", { body: { phone: registered.typed, code, password: "another one" } });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal("PHONE_TAKEN");
    });

    it("keeps codes as keyed hashes, bound to their number and purpose, used once, void after 5 wrong tries, 5 minutes", async function () {
      const n = newNumber();
      const code = await codeFor(n, "signup");
      const [row] = await relayer.db.query<{ code_hash: string }>(
        "SELECT code_hash FROM phone_codes WHERE phone = $1 ORDER BY id DESC LIMIT 1",
        [n.e164],
      );
      expect(row.code_hash).to.match(/^[0-9a-f]{64}$/);
      expect(row.code_hash).to.not.contain(code);
      expect(row.code_hash).to.not.equal(createHash("sha256").update(code).digest("hex"));
      const attempt = (body: Record<string, string>) =>
        call(base, "POST", "/v1/phone/signup", { body: { phone: n.typed, password: "correct horse", ...body } });
      // Another purpose's code, another number's code: refused.
      const loginCode = await codeFor(n, "login");
      expect((await attempt({ code: loginCode })).body.error.code).to.equal("CODE_INVALID");
      const elsewhere = newNumber();
      const theirs = await codeFor(elsewhere, "signup");
      expect((await attempt({ code: theirs === code ? "000000" : theirs })).body.error.code).to.equal("CODE_INVALID");

      // 5 tries in all, right or wrong, even sent at once: then even the right code is refused.
      const fresh = await codeFor(n, "signup");
      const wrong = fresh === "999999" ? "999998" : "999999";
      const tries = await Promise.all(Array.from({ length: 8 }, () => attempt({ code: wrong })));
      expect(tries.map((t) => t.status)).to.deep.equal(Array(8).fill(401));
      expect(tries.every((t) => t.body.error.code === "CODE_INVALID")).to.equal(true);
      const [counted] = await relayer.db.query<{ attempts: number }>(
        "SELECT attempts FROM phone_codes WHERE phone = $1 AND purpose = 'signup' ORDER BY id DESC LIMIT 1",
        [n.e164],
      );
      expect(counted.attempts).to.equal(5);
      expect((await attempt({ code: fresh })).body.error.code).to.equal("CODE_INVALID");

      // Expired after 5 minutes.
      const late = await codeFor(n, "signup");
      await relayer.db.query(
        "UPDATE phone_codes SET expires_at = created_at + interval '300 seconds' - interval '301 seconds' WHERE phone = $1",
        [n.e164],
      );
      expect((await attempt({ code: late })).body.error.code).to.equal("CODE_INVALID");

      // A new code voids the earlier one; the right one works once.
      const older = await codeFor(n, "signup");
      const newer = await codeFor(n, "signup");
      if (older !== newer) expect((await attempt({ code: older })).body.error.code).to.equal("CODE_INVALID");
      expect((await attempt({ code: newer })).status).to.equal(201);
      const reused = await attempt({ code: newer });
      expect(reused.status).to.equal(401);
      expect(reused.body.error.code).to.equal("CODE_INVALID");
    });

    it("limits codes per number: one a minute, 5 an hour, 10 a day, also when asked for at once", async function () {
      const n = newNumber();
      const burst = await Promise.all(Array.from({ length: 6 }, () => sendCode(n.typed, "signup")));
      expect(burst.filter((r) => r.status === 202)).to.have.length(1);
      const refused = burst.filter((r) => r.status === 429);
      expect(refused).to.have.length(5);
      for (const r of refused) {
        expect(r.body.error.code).to.equal("SMS_LIMIT_REACHED");
        expect(r.body.error.details.limit).to.equal("number-cooldown");
        expect(Number(r.headers.get("retry-after"))).to.be.within(1, 60);
      }
      const sentBefore = sms.sent.filter((m) => m.to === n.e164).length;
      for (let i = 2; i <= 5; i++) {
        await age(n.e164, 61);
        expect((await sendCode(n.typed, "login")).status, `code ${i}`).to.equal(202);
      }
      await age(n.e164, 61);
      const sixth = await sendCode(n.typed, "login");
      expect(sixth.status).to.equal(429);
      expect(sixth.body.error.details).to.include({ limit: "number-hour", max: 5 });
      // The wait named is until the hour's oldest code leaves the window (it was sent about 4 x 61 s ago).
      const wait = sixth.body.error.details.retryAfterSeconds;
      expect(wait).to.be.within(3600 - 5 * 61 - 5, 3600 - 4 * 61);
      expect(sixth.headers.get("retry-after")).to.equal(String(wait));
      // An hour later 5 more, then the day's 10 are used.
      await age(n.e164, 3600);
      for (let i = 6; i <= 10; i++) {
        await age(n.e164, 61);
        expect((await sendCode(n.typed, "login")).status, `code ${i}`).to.equal(202);
      }
      await age(n.e164, 3600);
      const eleventh = await sendCode(n.typed, "login");
      expect(eleventh.status).to.equal(429);
      expect(eleventh.body.error.details).to.include({ limit: "number-day", max: 10 });
      expect(sms.sent.filter((m) => m.to === n.e164).length - sentBefore).to.equal(9);
    });

    it("keeps part of a number's codes for its owner: one address gets 4 an hour and 7 a day of a number's", async function () {
      const n = newNumber();
      const attacker = newAddress();
      for (let i = 0; i < 4; i++) {
        await age(n.e164, 61);
        expect((await sendCode(n.typed, i % 2 ? "phone-change-new" : "login", attacker)).status).to.equal(202);
      }
      await age(n.e164, 61);
      const fifth = await sendCode(n.typed, "login", attacker);
      expect(fifth.status).to.equal(429);
      expect(fifth.body.error.details).to.include({ limit: "number-address-hour", max: 4 });
      expect(fifth.body.error.message).to.contain("this address asked for 4 codes for this number in the last hour");
      // The owner, from elsewhere, still gets a login code.
      expect((await sendCode(n.typed, "login")).status).to.equal(202);
      await age(n.e164, 3600);
      for (let i = 0; i < 3; i++) {
        await age(n.e164, 61);
        expect((await sendCode(n.typed, "login", attacker)).status).to.equal(202);
      }
      await age(n.e164, 61);
      const eighth = await sendCode(n.typed, "login", attacker);
      expect(eighth.body.error.details).to.include({ limit: "number-address-day", max: 7 });
      await age(n.e164, 61);
      expect((await sendCode(n.typed, "login")).status).to.equal(202);
    });

    it("refuses a flood of code requests from one address before the database counts them, an IPv6 client by its /56", async function () {
      const answers = [];
      // Eleven addresses of one /64: one client, as the login limiter sees it too.
      for (let i = 1; i <= 11; i++) answers.push(await sendCode(newNumber().typed, "signup", `2001:db8:77:1::${i.toString(16)}`));
      expect(answers.slice(0, 10).map((a) => a.status)).to.deep.equal(Array(10).fill(202));
      expect(answers[10].status).to.equal(429);
      expect(answers[10].body.error.code).to.equal("RATE_LIMITED");
      const rows = await relayer.db.query<{ ip: string }>("SELECT DISTINCT ip FROM phone_codes WHERE ip LIKE '2001:db8:77:%'");
      expect(rows.map((r) => r.ip)).to.deep.equal(["2001:db8:77::/56"]);
    });

    it("turns the provider's refusals into 429 SMS_PROVIDER_THROTTLED and 502 SMS_SEND_FAILED, and voids the code", async function () {
      const n = newNumber();
      sms.refuse = "throttled";
      try {
        const throttled = await sendCode(n.typed, "signup");
        expect(throttled.status).to.equal(429);
        expect(throttled.body.error.code).to.equal("SMS_PROVIDER_THROTTLED");
        expect(throttled.headers.get("retry-after")).to.equal("60");
        sms.refuse = "failed";
        await age(n.e164, 61);
        const failed = await sendCode(n.typed, "signup");
        expect(failed.status).to.equal(502);
        expect(failed.body.error).to.deep.include({ code: "SMS_SEND_FAILED" });
        // The provider's code is for the operator's log: it speaks of our account, not the caller's request.
        expect(failed.body.error).to.not.have.property("details");
        expect(JSON.stringify(failed.body)).to.not.contain("isv.");
      } finally {
        sms.refuse = null;
      }
      const live = await relayer.db.query("SELECT 1 FROM phone_codes WHERE phone = $1 AND expires_at > now()", [n.e164]);
      expect(live).to.have.length(0);
      // /metrics counts each outcome (the tests before this one sent codes and hit the limits).
      const metrics = await call(base, "GET", "/metrics", { token: TEST_ADMIN_TOKEN });
      const count = (labels: string) => Number(new RegExp(`^gp_sms_codes_total\\{${labels}\\} (\\d+)$`, "m").exec(metrics.body)?.[1] ?? 0);
      expect(count('purpose="signup",result="throttled"')).to.equal(1);
      expect(count('purpose="signup",result="failed"')).to.equal(1);
      expect(count('purpose="signup",result="sent"')).to.be.greaterThan(0);
      expect(count('purpose="signup",result="limited"')).to.be.greaterThan(0);
    });

    it("logs in by phone and password or by code; 10 wrong passwords lock password logins, which a code unlocks", async function () {
      const n = newNumber();
      const { userId } = await signUp(n);
      const login = (body: Record<string, string>) => call(base, "POST", "/v1/phone/sessions", { body: { phone: n.typed, ...body } });
      const byPassword = await login({ password: "correct horse" });
      expect(byPassword.status).to.equal(201);
      expect(byPassword.body.userId).to.equal(userId);
      expect((await me(byPassword.body.token)).body.userId).to.equal(userId);
      // The failures are counted in the database (not only by the per-address limiter): from 10 addresses, 10 wrong ones lock it.
      for (let i = 0; i < 10; i++) {
        const wrong = await call(base, "POST", "/v1/phone/sessions", {
          body: { phone: n.typed, password: `wrong ${i}` },
          headers: { "x-forwarded-for": newAddress() },
        });
        expect(wrong.status).to.equal(401);
      }
      const locked = await call(base, "POST", "/v1/phone/sessions", {
        body: { phone: n.typed, password: "correct horse" },
        headers: { "x-forwarded-for": newAddress() },
      });
      expect(locked.status).to.equal(401);
      expect(locked.body.error.code).to.equal("BAD_CREDENTIALS");
      // The per-address limiter, which 11 wrong passwords from one address set off, does not hold a code login from it.
      const same = newAddress();
      const tries = [];
      for (let i = 0; i < 11; i++)
        tries.push(
          (
            await call(base, "POST", "/v1/phone/sessions", {
              body: { phone: n.typed, password: `no ${i}` },
              headers: { "x-forwarded-for": same },
            })
          ).status,
        );
      expect(tries.at(-1)).to.equal(429);
      const code = await codeFor(n, "login");
      const byCode = await call(base, "POST", "/v1/phone/sessions", {
        body: { phone: n.typed, code },
        headers: { "x-forwarded-for": same },
      });
      expect(byCode.status, JSON.stringify(byCode.body)).to.equal(201);
      expect(byCode.body.userId).to.equal(userId);
      expect((await login({ password: "correct horse" })).status).to.equal(201);
      // An account made by the operator has no code to fall back on: 10 failures do not lock it (the per-address limiter holds guessing).
      const classic = `classic-${randomUUID()}`;
      expect(
        (await call(base, "POST", "/v1/users", { token: TEST_ADMIN_TOKEN, body: { userId: classic, password: "classic password" } }))
          .status,
      ).to.equal(201);
      for (let i = 0; i < 10; i++)
        await call(base, "POST", "/v1/sessions", {
          body: { userId: classic, password: `wrong ${i}` },
          headers: { "x-forwarded-for": newAddress() },
        });
      const owner = await call(base, "POST", "/v1/sessions", {
        body: { userId: classic, password: "classic password" },
        headers: { "x-forwarded-for": newAddress() },
      });
      expect(owner.status).to.equal(201);
      // The phone account's lock holds through the user id login too.
      const viaId = await call(base, "POST", "/v1/sessions", {
        body: { userId, password: "wrong again" },
        headers: { "x-forwarded-for": newAddress() },
      });
      expect(viaId.status).to.equal(401);
      // A login code of a number with no account says so (to the number's owner only).
      const stranger = newNumber();
      const theirs = await codeFor(stranger, "login");
      const none = await call(base, "POST", "/v1/phone/sessions", { body: { phone: stranger.typed, code: theirs } });
      expect(none.status).to.equal(404);
    });

    it("resets the login password by code, ending every session; resets the payment password by a code to the account's own number", async function () {
      const n = newNumber();
      const { token } = await signUp(n, { paymentPassword: "111111" });
      const code = await codeFor(n, "reset-password");
      const reset = await call(base, "POST", "/v1/phone/password-reset", { body: { phone: n.typed, code, password: "a new password" } });
      expect(reset.status, JSON.stringify(reset.body)).to.equal(200);
      expect(reset.body.sessionsEnded).to.equal(1);
      expect((await me(token)).status).to.equal(401);
      const login = (password: string) => call(base, "POST", "/v1/phone/sessions", { body: { phone: n.typed, password } });
      expect((await login("correct horse")).status).to.equal(401);
      const session = await login("a new password");
      expect(session.status).to.equal(201);

      const payCode = await codeFor(n, "reset-payment-password");
      const payReset = await call(base, "POST", "/v1/me/payment-password/reset", {
        token: session.body.token,
        body: { code: payCode, paymentPassword: "222222" },
      });
      expect(payReset.status, JSON.stringify(payReset.body)).to.equal(200);
      // The new payment password is the one asked for now (changing it needs the current one).
      const change = (current: string) =>
        call(base, "PUT", "/v1/me/payment-password", {
          token: session.body.token,
          body: { paymentPassword: "333333" },
          headers: { "x-gp-payment-password": current },
        });
      expect((await change("111111")).status).to.equal(401);
      expect((await change("222222")).status).to.equal(200);

      // A code sent to another number does not reset this account's payment password.
      const other = newNumber();
      const foreign = await codeFor(other, "reset-payment-password");
      const refused = await call(base, "POST", "/v1/me/payment-password/reset", {
        token: session.body.token,
        body: { code: foreign, paymentPassword: "444444" },
      });
      expect(refused.status).to.equal(401);
      // An account a shop or the operator registered has no number to send a code to.
      const classic = `classic-${randomUUID()}`;
      const made = await call(base, "POST", "/v1/users", {
        token: TEST_ADMIN_TOKEN,
        body: { userId: classic, password: "classic password" },
      });
      expect(made.status).to.equal(201);
      const classicSession = await call(base, "POST", "/v1/sessions", { body: { userId: classic, password: "classic password" } });
      const noPhone = await call(base, "POST", "/v1/me/payment-password/reset", {
        token: classicSession.body.token,
        body: { code: "123456", paymentPassword: "555555" },
      });
      expect(noPhone.status).to.equal(403);
    });

    it("changes the number with a code to the old and to the new one; the old number is free, a taken one is refused", async function () {
      const n = newNumber();
      const { token, userId } = await signUp(n);
      const next = newNumber();
      const oldCode = await codeFor(n, "phone-change-old");
      const newCode = await codeFor(next, "phone-change-new");
      const swap = (body: Record<string, string>) => call(base, "PUT", "/v1/me/phone", { token, body });
      // The codes swapped, or the new number's code for the old: refused, nothing changes.
      expect((await swap({ oldCode: newCode, phone: next.typed, newCode: oldCode })).status).to.equal(401);
      const bothOld = await codeFor(n, "phone-change-old");
      const bothNew = await codeFor(next, "phone-change-new");
      const elsewhere = await call(base, "POST", "/v1/phone/sessions", { body: { phone: n.typed, password: "correct horse" } });
      const changed = await swap({ oldCode: bothOld, phone: next.typed, newCode: bothNew });
      expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
      expect(changed.body).to.deep.equal({ phone: next.e164, sessionsEnded: 1 });
      expect((await me(elsewhere.body.token)).status).to.equal(401);
      expect((await me(token)).body.phone).to.equal(next.e164);
      const login = (phone: string) => call(base, "POST", "/v1/phone/sessions", { body: { phone, password: "correct horse" } });
      expect((await login(next.typed)).body.userId).to.equal(userId);
      expect((await login(n.typed)).status).to.equal(401);
      // A later order for the old number makes a new account, not this one.
      const order = await postOrder(base, shop, { orderId: `ph-${randomUUID()}`, phone: n.typed, amount: "1.00" });
      const settled = await settledOrder(base, shop.shopId, order.body.orderId);
      expect(settled.userId).to.not.equal(userId);
      // Moving onto a number whose shops' orders wait for its owner is refused.
      const o2 = await codeFor(next, "phone-change-old");
      const n2 = await codeFor(n, "phone-change-new");
      const taken = await swap({ oldCode: o2, phone: n.typed, newCode: n2 });
      expect(taken.status).to.equal(409);
      expect(taken.body.error.code).to.equal("PHONE_TAKEN");
      expect((await me(token)).body.phone).to.equal(next.e164);
    });

    it("gives every user a referral code and link; a sign-up with it sets the referrer, who earns on the first order", async function () {
      const alice = await signUp(newNumber());
      const mine = await call(base, "GET", "/v1/me/referral", { token: alice.token });
      expect(mine.status).to.equal(200);
      expect(mine.body.code).to.match(/^[2-9A-HJ-KM-NP-Z]{8}$/);
      expect(mine.body.link).to.equal(`/wallet?ref=${mine.body.code}`);
      expect((await call(base, "GET", "/v1/me/referral", { token: alice.token })).body.code).to.equal(mine.body.code);
      expect((await call(base, "GET", "/v1/me/referral")).status).to.equal(401);

      // A code nobody has: refused, and the sign-up code stays usable.
      const bob = newNumber();
      const code = await codeFor(bob, "signup");
      const unknown = await call(base, "POST", "/v1/phone/signup", {
        body: { phone: bob.typed, code, password: "correct horse", referralCode: "ZZZZZZZZ" },
      });
      expect(unknown.status).to.equal(404);
      expect(await relayer.db.query("SELECT 1 FROM phone_accounts WHERE phone = $1", [bob.e164])).to.have.length(0);
      const signed = await call(base, "POST", "/v1/phone/signup", {
        body: { phone: bob.typed, code, password: "correct horse", referralCode: mine.body.code.toLowerCase() },
      });
      expect(signed.status, JSON.stringify(signed.body)).to.equal(201);
      expect((await settledOperation(base, signed.body.token, signed.body.operation.operationId)).state).to.equal("confirmed");
      expect((await me(signed.body.token)).body.referrerId).to.equal(alice.userId);
      const onChain = await relayer.chain.custody.accountOf(custodialUserId(TEST_USER_SALT, signed.body.userId));
      expect(onChain.referrer).to.equal(alice.account);

      // bob's first order credits alice (the embedded first-order reward), read from the chain's event.
      const before = (await relayer.chain.custody.accountOf(alice.account)).points;
      const order = await postOrder(base, shop, { orderId: `ref-${randomUUID()}`, phone: bob.typed, amount: "100.00" });
      expect((await settledOrder(base, shop.shopId, order.body.orderId)).state).to.equal("confirmed");
      const credited = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited(undefined, alice.account));
      expect(credited).to.have.length(1);
      expect(credited[0].args.points > 0n).to.equal(true);
      expect((await relayer.chain.custody.accountOf(alice.account)).points - before).to.equal(credited[0].args.points);
    });

    it("lets no shop and not the operator register a phone's user id and set its password", async function () {
      const n = newNumber();
      const order = await postOrder(base, shop, { orderId: `ph-${randomUUID()}`, phone: n.typed, amount: "3.00" });
      const { userId } = await settledOrder(base, shop.shopId, order.body.orderId);
      for (const [token, headers] of [
        [shop.webhookSecret, { "x-gp-shop": shop.shopId }],
        [TEST_ADMIN_TOKEN, {}],
      ] as const) {
        const res = await call(base, "POST", "/v1/users", {
          token,
          headers: { ...headers, "idempotency-key": randomUUID() },
          body: { userId, password: "stolen account" },
        });
        expect(res.status).to.equal(403);
        expect(res.body.error.code).to.equal("NOT_YOUR_USER");
      }
      expect(await relayer.db.query("SELECT 1 FROM users WHERE user_id = $1", [userId])).to.have.length(0);
    });
  });
}

shouldServePhoneAccounts("PGlite");
if (process.env.DATABASE_URL) {
  const url = process.env.DATABASE_URL;
  shouldServePhoneAccounts("PostgreSQL", () => freshPostgresDb(url));
}

describe("SMS codes: limits per address and the daily budget, senders", function () {
  this.timeout(60_000);
  const codesOn = (db: Db, limits = { perIpHour: 3, perIpDay: 4, dailyBudget: 1000 }) => {
    const sender = createMemorySender();
    return { sender, codes: createPhoneCodes({ db, sender, codeKey: "ab".repeat(32), limits, log: silent }) };
  };
  const refusal = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (error) {
      if (error instanceof AppError) return { code: error.code, ...error.details };
      throw error;
    }
    throw new Error("expected a refusal");
  };

  it("counts per client address an hour and a day, and for everyone a day", async function () {
    const db = await openPglite(null);
    await migrate(db);
    try {
      const { codes, sender } = codesOn(db);
      for (let i = 0; i < 3; i++) await codes.send(`+8613700000${String(i).padStart(3, "0")}`, "signup", "203.0.113.7");
      expect(await refusal(codes.send("+8613700000100", "signup", "203.0.113.7"))).to.include({
        code: "SMS_LIMIT_REACHED",
        limit: "address-hour",
        max: 3,
      });
      await db.query("UPDATE phone_codes SET created_at = created_at - interval '2 hours'");
      await codes.send("+8613700000101", "signup", "203.0.113.7");
      expect(await refusal(codes.send("+8613700000102", "signup", "203.0.113.7"))).to.include({ limit: "address-day", max: 4 });
      expect(sender.sent).to.have.length(4);
      // Another address is not held by that one's count; the budget counts everyone's since midnight UTC.
      const budget = codesOn(db, { perIpHour: 100, perIpDay: 100, dailyBudget: 6 }).codes;
      const [{ today }] = await db.query<{ today: string }>(
        "SELECT count(*) AS today FROM phone_codes WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
      );
      for (let i = Number(today); i < 6; i++) await budget.send(`+8613700000${200 + i}`, "signup", "203.0.113.8");
      expect(await refusal(budget.send("+8613700000300", "signup", "203.0.113.9"))).to.include({ limit: "daily-budget", max: 6 });
    } finally {
      await db.close();
    }
  });

  it("answers SMS_NOT_CONFIGURED when no sender is configured", async function () {
    const db = await openPglite(null);
    await migrate(db);
    try {
      const codes = createPhoneCodes({
        db,
        sender: null,
        codeKey: "cd".repeat(32),
        limits: { perIpHour: 9, perIpDay: 9, dailyBudget: 9 },
        log: silent,
      });
      expect(await refusal(codes.send("+8613700000400", "signup", "203.0.113.1"))).to.include({ code: "SMS_NOT_CONFIGURED" });
      expect(await db.query("SELECT 1 FROM phone_codes")).to.have.length(0);
    } finally {
      await db.close();
    }
  });

  it("writes the outbox sender's codes to its file in the data folder, a line each", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-outbox-"));
    try {
      const sender = createOutboxSender(path.join(dir, OUTBOX_FILE), silent);
      await sender.send({ to: "+8613800138000", purpose: "signup", code: "012345" });
      await sender.send({ to: "+8613800138001", purpose: "login", code: "987654" });
      const lines = fs.readFileSync(path.join(dir, OUTBOX_FILE), "utf8").trim().split("\n");
      expect(lines).to.have.length(2);
      expect(lines[0]).to.match(/^\S+Z to \+8613800138000 code 012345 \(signup, valid 5 minutes\)$/);
      expect(lines[1]).to.contain("code 987654 (login");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (process.env.DATABASE_URL) {
    it("holds the per-number cooldown across processes: two connection pools on one PostgreSQL send one code of ten", async function () {
      const schema = await freshSchema(process.env.DATABASE_URL!);
      const [a, b] = [await openPostgres(schema.url), await openPostgres(schema.url)];
      try {
        await migrate(a);
        const one = codesOn(a, { perIpHour: 100, perIpDay: 100, dailyBudget: 100 });
        const two = codesOn(b, { perIpHour: 100, perIpDay: 100, dailyBudget: 100 });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).codes.send("+8613700000500", "signup", `203.0.113.${i}`)),
        );
        expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
        expect(one.sender.sent.length + two.sender.sent.length).to.equal(1);
        const [{ n }] = await a.query<{ n: string }>("SELECT count(*) AS n FROM phone_codes");
        expect(Number(n)).to.equal(1);
      } finally {
        await a.close();
        await b.close();
        await schema.drop();
      }
    });
  }
});

describe("phone sign-up through the Aliyun adapter, against a local fake of its API", function () {
  this.timeout(120_000);
  const settings = {
    accessKeyId: "LTAI5tPhoneTest",
    accessKeySecret: "phone-test-secret",
    signName: "绿色积分",
    templateCode: "SMS_465130002",
  };
  let fake: FakeAliyunSms;
  let relayer: TestRelayer;

  before(async function () {
    fake = await startFakeAliyunSms(settings);
    // Made the way main.ts makes it from GP_SMS_PROVIDER=aliyun.
    const sender = await createSmsSender(
      { provider: "aliyun", aliyun: { ...settings, endpoint: fake.endpoint } },
      { dataDir: os.tmpdir(), log: silent },
    );
    relayer = await startTestRelayer({ sms: { sender } });
  });
  after(async function () {
    await relayer?.stop();
    await fake?.close();
  });

  it("signs up with the code the provider was asked to send, and answers the provider's throttling with 429", async function () {
    const n = newNumber();
    const sent = await call(relayer.url, "POST", "/v1/phone-codes", { body: { phone: n.typed, purpose: "signup" } });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    const delivered = fake.messages.at(-1)!;
    expect(delivered).to.deep.include({ phoneNumbers: n.typed, signName: settings.signName, templateCode: settings.templateCode });
    const code = String(delivered.templateParam.code);
    expect(code).to.match(/^\d{6}$/);
    const signed = await call(relayer.url, "POST", "/v1/phone/signup", { body: { phone: n.typed, code, password: "correct horse" } });
    expect(signed.status, JSON.stringify(signed.body)).to.equal(201);

    const other = newNumber();
    fake.answerNext({ code: "isv.BUSINESS_LIMIT_CONTROL", message: "触发号码天级流控" });
    const throttled = await call(relayer.url, "POST", "/v1/phone-codes", { body: { phone: other.typed, purpose: "signup" } });
    expect(throttled.status).to.equal(429);
    expect(throttled.body.error.code).to.equal("SMS_PROVIDER_THROTTLED");
    fake.answerNext({ code: "isv.SMS_SIGNATURE_ILLEGAL" });
    await relayer.db.query("UPDATE phone_codes SET created_at = created_at - interval '61 seconds'");
    const refused = await call(relayer.url, "POST", "/v1/phone-codes", { body: { phone: other.typed, purpose: "signup" } });
    expect(refused.status).to.equal(502);
    expect(JSON.stringify(refused.body)).to.not.contain("SIGNATURE_ILLEGAL");
    // A number the provider can never reach is refused before a code is made or counted.
    const hongKong = await call(relayer.url, "POST", "/v1/phone-codes", { body: { phone: "+852 9123 4567", purpose: "signup" } });
    expect(hongKong.status).to.equal(400);
    expect(hongKong.body.error.message).to.contain("mainland China");
    expect(await relayer.db.query("SELECT 1 FROM phone_codes WHERE phone = '+85291234567'")).to.have.length(0);
  });
});

describe("phone codes over HTTP: the per-address limits and the daily budget, with small settings", function () {
  this.timeout(120_000);
  const sms = createMemorySender();
  let relayer: TestRelayer;
  before(async function () {
    relayer = await startTestRelayer({
      trustProxy: "loopback",
      sms: { sender: sms, limits: { perIpHour: 2, perIpDay: 3, dailyBudget: 5 } },
    });
  });
  after(async function () {
    await relayer?.stop();
  });
  const send = (ip: string) =>
    call(relayer.url, "POST", "/v1/phone-codes", {
      body: { phone: newNumber().typed, purpose: "signup" },
      headers: { "x-forwarded-for": ip },
    });
  const refusedAt = async (ip: string) => {
    const res = await send(ip);
    expect(res.status, JSON.stringify(res.body)).to.equal(429);
    expect(res.body.error.code).to.equal("SMS_LIMIT_REACHED");
    expect(Number(res.headers.get("retry-after"))).to.equal(res.body.error.details.retryAfterSeconds);
    return res.body.error.details.limit;
  };

  it("refuses an address past its hour and its day, and everyone past the day's budget", async function () {
    const a = "203.0.113.50";
    expect((await send(a)).status).to.equal(202);
    expect((await send(a)).status).to.equal(202);
    expect(await refusedAt(a)).to.equal("address-hour");
    await relayer.db.query("UPDATE phone_codes SET created_at = created_at - interval '2 hours'");
    expect((await send(a)).status).to.equal(202);
    expect(await refusedAt(a)).to.equal("address-day");
    // Others fill the day's 5 codes for everyone (since midnight UTC: the aged ones may fall before it near midnight).
    let refusal = null;
    for (let i = 51; i < 60 && refusal === null; i++) {
      const res = await send(`203.0.113.${i}`);
      if (res.status !== 202) refusal = await refusedAt(`203.0.113.${i + 100}`);
    }
    expect(refusal).to.equal("daily-budget");
    const [{ today }] = await relayer.db.query<{ today: string }>(
      "SELECT count(*) AS today FROM phone_codes WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
    );
    expect(Number(today)).to.equal(5);
  });
});
