/**
 * Staff accounts over HTTP, as a hostile caller would try them: operators' and merchant staff's
 * log-ins (bearer and cookie with its CSRF token), the failed-password limiter and lock, an
 * operator's session acting as the admin token with the audit log naming it, a merchant owner
 * making staff, staff refused what moves money out or manages keys and staff, another merchant's
 * staff confined to their own, and disabling or a password change ending sessions. Then the
 * process: `server/main.ts` makes the first operator and prints its password once.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { openPglite } from "../../server/adapters/db/pglite";
import { openPostgres } from "../../server/adapters/db/postgres";
import { freshSchema } from "../helpers/postgres";
import { migrate } from "../../server/adapters/db/migrations";
import { ensureFirstOperator } from "../../server/services/staff";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, settledOperation, startTestRelayer } from "../helpers/relayer";
import { type RelayerProcess, killHard, startRelayerProcess } from "../helpers/process";

/** The Set-Cookie lines of an answer, by cookie name. */
function setCookies(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of headers.getSetCookie()) out[line.split("=")[0]] = line;
  return out;
}
const valueOf = (line: string) => line.split(";")[0].split("=").slice(1).join("=");
const TO = "0x000000000000000000000000000000000000dEaD";

describe("staff accounts", function () {
  this.timeout(180_000);
  let relayer: TestRelayer;
  let base: string;
  /** Each test logs in from its own address (X-Forwarded-For), so the per-address limiter counts only its own failures. */
  let ip: string;
  let ipCount = 0;
  beforeEach(() => {
    ip = `10.0.0.${++ipCount}`;
  });
  let merchantA: { merchantId: string; keyId: string; apiKey: string };
  let merchantB: { merchantId: string; keyId: string; apiKey: string };

  const admin = (method: string, route: string, body?: unknown) =>
    call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
  const as = (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(base, method, route, { token, body, headers: { "idempotency-key": randomUUID(), ...headers } });
  const logIn = (login: string, password: string, headers: Record<string, string> = {}) =>
    call(base, "POST", "/v1/staff/sessions", { body: { login, password }, headers: { "x-forwarded-for": ip, ...headers } });
  async function token(login: string, password: string): Promise<string> {
    const res = await logIn(login, password);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.token;
  }
  async function makeMerchant(name: string) {
    const made = await admin("POST", "/v1/admin/merchants", { name });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, made.body.operation.operationId)).state).to.equal("confirmed");
    return made.body as { merchantId: string; keyId: string; apiKey: string };
  }
  async function makeStaff(byToken: string, route: string, login: string, role: "owner" | "staff") {
    const made = await as(byToken, "POST", route, { login, password: `${login}-password`, role });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    return made.body as { staffId: string; login: string; role: string; merchantId: string };
  }
  const audit = async (action: string) => (await admin("GET", `/v1/admin/audit?action=${action}`)).body.entries as any[];

  before(async function () {
    relayer = await startTestRelayer({ trustProxy: "loopback" });
    base = relayer.url;
    const op = await admin("POST", "/v1/admin/operators", { login: "op-one", password: "op-one-password" });
    expect(op.status, JSON.stringify(op.body)).to.equal(201);
    expect(op.body).to.include({ login: "op-one", role: "operator", merchantId: null, disabledAt: null });
    merchantA = await makeMerchant("Corner Café");
    merchantB = await makeMerchant("Other Shop");
  });
  after(async () => relayer?.stop());

  describe("logging in", function () {
    it("gives an operator a gpo_ bearer session that acts as the admin token, and nowhere else", async function () {
      const res = await logIn("op-one", "op-one-password");
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ kind: "operator", login: "op-one", role: "operator", merchantId: null });
      expect(res.body.token).to.match(/^gpo_[0-9a-f]{48}$/);
      expect(res.headers.get("cache-control")).to.equal("no-store");
      const me = await as(res.body.token, "GET", "/v1/staff/me");
      expect(me.status).to.equal(200);
      const { token: _token, ...session } = res.body;
      expect(me.body).to.deep.equal(session);
      expect((await as(res.body.token, "GET", "/v1/admin/shops")).status).to.equal(200);
      // An operator's session is no merchant key and no user session.
      expect((await as(res.body.token, "GET", "/v1/merchant")).status).to.equal(401);
      expect((await as(res.body.token, "GET", "/v1/me")).status).to.equal(401);
    });

    it("refuses /v1/staff/me to the admin token and to an API key (403 FORBIDDEN): they are no staff session", async function () {
      for (const t of [TEST_ADMIN_TOKEN, merchantA.apiKey]) {
        const res = await as(t, "GET", "/v1/staff/me");
        expect(res.status).to.equal(403);
        expect(res.body.error.code).to.equal("FORBIDDEN");
      }
    });

    it("with X-GP-Session: cookie sets the wallet's cookies, no token in the body, and needs the CSRF token for changes", async function () {
      const res = await logIn("op-one", "op-one-password", { "x-gp-session": "cookie" });
      expect(res.status).to.equal(201);
      expect(res.body).to.not.have.property("token");
      expect(JSON.stringify(res.body)).to.not.match(/gpo_/);
      const cookies = setCookies(res.headers);
      expect(cookies.gp_session).to.match(/^gp_session=gpo_/);
      expect(cookies.gp_session).to.match(/; HttpOnly/i);
      expect(cookies.gp_session).to.match(/; SameSite=Strict/i);
      const cookie = `gp_session=${valueOf(cookies.gp_session)}; gp_csrf=${valueOf(cookies.gp_csrf)}`;
      const csrf = valueOf(cookies.gp_csrf);

      expect((await call(base, "GET", "/v1/staff/me", { headers: { cookie } })).body.login).to.equal("op-one");
      expect((await call(base, "GET", "/v1/admin/shops", { headers: { cookie } })).status).to.equal(200);
      for (const given of [undefined, "", "not-the-token"]) {
        const refused = await call(base, "POST", "/v1/admin/shops", {
          body: { name: "No CSRF" },
          headers: { cookie, ...(given === undefined ? {} : { "x-gp-csrf": given }) },
        });
        expect(refused.status, String(given)).to.equal(403);
        expect(refused.body.error.code).to.equal("CSRF_REFUSED");
      }
      const made = await call(base, "POST", "/v1/admin/shops", { body: { name: "With CSRF" }, headers: { cookie, "x-gp-csrf": csrf } });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);

      const out = await call(base, "DELETE", "/v1/staff/sessions/current", { headers: { cookie, "x-gp-csrf": csrf } });
      expect(out.status).to.equal(204);
      expect(setCookies(out.headers).gp_session).to.match(/^gp_session=;/);
      expect((await call(base, "GET", "/v1/admin/shops", { headers: { cookie } })).status).to.equal(401);
    });

    it("logs a bearer session out: the token stops working", async function () {
      const t = await token("op-one", "op-one-password");
      expect((await as(t, "DELETE", "/v1/staff/sessions/current")).status).to.equal(204);
      expect((await as(t, "GET", "/v1/staff/me")).status).to.equal(401);
    });

    it("answers a wrong password and an unknown login alike, locks after ten failures (423) and then limits the address (429)", async function () {
      const made = await admin("POST", "/v1/admin/operators", { login: "op-locked", password: "op-locked-password" });
      expect(made.status).to.equal(201);
      const unknown = await logIn("nobody-here", "whatever-password");
      expect(unknown.status).to.equal(401);
      expect(unknown.body.error.code).to.equal("BAD_CREDENTIALS");
      ip = "10.1.0.1";
      for (let i = 1; i <= 9; i++) {
        const wrong = await logIn("op-locked", `wrong-${i}`);
        expect(wrong.status, `attempt ${i}`).to.equal(401);
        expect(wrong.body.error).to.deep.include({ code: "BAD_CREDENTIALS", message: unknown.body.error.message });
      }
      const tenth = await logIn("op-locked", "wrong-10");
      expect(tenth.status).to.equal(423);
      expect(tenth.body.error.code).to.equal("PASSWORD_LOCKED");
      expect(new Date(tenth.body.error.details.lockedUntil).getTime()).to.be.greaterThan(Date.now() + 14 * 60_000);
      // The address is held by the limiter; from another address the lock holds even the right password.
      const limited = await logIn("op-locked", "op-locked-password");
      expect(limited.status).to.equal(429);
      expect(limited.body.error.code).to.equal("RATE_LIMITED");
      ip = "10.1.0.2";
      const locked = await logIn("op-locked", "op-locked-password");
      expect(locked.status).to.equal(423);
      // Another account from the first address is not held by that account's failures.
      ip = "10.1.0.1";
      expect((await logIn("op-one", "op-one-password")).status).to.equal(201);
    });
  });

  describe("an operator's session", function () {
    it("creates a shop, and the audit log names the operator (the admin token is named as such)", async function () {
      const t = await token("op-one", "op-one-password");
      const me = (await as(t, "GET", "/v1/staff/me")).body;
      const byOperator = await as(t, "POST", "/v1/admin/shops", { name: "Operator's Shop" });
      expect(byOperator.status, JSON.stringify(byOperator.body)).to.equal(201);
      const byToken = await admin("POST", "/v1/admin/shops", { name: "Token's Shop" });
      expect(byToken.status).to.equal(201);
      const entries = await audit("shop-created");
      const of = (shopId: string) => entries.find((e) => e.subject === `shop:${shopId}`);
      expect(of(byOperator.body.shopId)).to.include({ actor: `operator:${me.staffId}`, actorLogin: "op-one", action: "shop-created" });
      expect(of(byOperator.body.shopId).details).to.deep.equal({ name: "Operator's Shop" });
      expect(of(byToken.body.shopId)).to.include({ actor: "admin-token", actorLogin: null });
      const csv = await fetch(`${relayer.url}/v1/admin/audit?action=shop-created&format=csv`, {
        headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      }).then((r) => r.text());
      expect(csv.split("\r\n")[0]).to.equal("seq,at,actor,actorLogin,action,subject,operationId,reason,details");
      expect(csv).to.contain(`,operator:${me.staffId},op-one,shop-created,shop:${byOperator.body.shopId},`);
    });

    it("makes operators and a merchant's owner, recorded with who made them", async function () {
      const t = await token("op-one", "op-one-password");
      const me = (await as(t, "GET", "/v1/staff/me")).body;
      const op = await as(t, "POST", "/v1/admin/operators", { login: "op-two", password: "op-two-password" });
      expect(op.status).to.equal(201);
      expect((await as(t, "POST", "/v1/admin/operators", { login: "op-two", password: "another-password" })).body.error.code).to.equal(
        "NAME_TAKEN",
      );
      const owner = await makeStaff(t, `/v1/admin/merchants/${merchantA.merchantId}/staff`, "cafe-owner", "owner");
      expect(owner).to.include({ role: "owner", merchantId: merchantA.merchantId });
      expect(
        (await as(t, "POST", "/v1/admin/merchants/mer_000000000000/staff", { login: "ghost", password: "ghost-password", role: "owner" }))
          .status,
      ).to.equal(404);
      const created = await audit("staff-created");
      expect(created.find((e) => e.subject === `staff:${owner.staffId}`)).to.include({ actor: `operator:${me.staffId}` });
      const operators = (await as(t, "GET", "/v1/admin/operators")).body.staff.map((s: any) => s.login);
      expect(operators).to.include.members(["op-one", "op-two"]);
      const staffOfA = (await as(t, "GET", `/v1/admin/merchants/${merchantA.merchantId}/staff`)).body.staff.map((s: any) => s.login);
      expect(staffOfA).to.deep.equal(["cafe-owner"]);
    });

    it("keeps an operator's idempotency keys its own: the admin token's stored answer (a webhook secret) is not replayed to it", async function () {
      const t = await token("op-one", "op-one-password");
      const key = { "idempotency-key": randomUUID() };
      const byToken = await call(base, "POST", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN, body: { name: "Keyed" }, headers: key });
      expect(byToken.status).to.equal(201);
      const byOperator = await as(t, "POST", "/v1/admin/shops", { name: "Keyed" }, key);
      expect(byOperator.status).to.equal(201);
      expect(byOperator.body.shopId).to.not.equal(byToken.body.shopId);
      expect(byOperator.body.webhookSecret).to.not.equal(byToken.body.webhookSecret);
    });

    it("refuses logins that could be confused (upper case, spaces) with 400", async function () {
      for (const login of ["Admin", "a b", "ab", ""]) {
        const res = await admin("POST", "/v1/admin/operators", { login, password: "long-enough-password" });
        expect(res.status, login).to.equal(400);
      }
    });
  });

  describe("a merchant's owner and staff", function () {
    let ownerToken: string;
    let staffToken: string;
    let till: { staffId: string };

    before(async function () {
      ip = "10.2.0.1";
      const made = await admin("POST", `/v1/admin/merchants/${merchantA.merchantId}/staff`, {
        login: "cafe-boss",
        password: "cafe-boss-password",
        role: "owner",
      });
      expect(made.status).to.equal(201);
      ownerToken = await token("cafe-boss", "cafe-boss-password");
      till = await makeStaff(ownerToken, "/v1/merchant/staff", "cafe-till", "staff");
      staffToken = await token("cafe-till", "cafe-till-password");
    });

    it("gives the owner a gpm_ session acting as the merchant, which makes staff of its own merchant only", async function () {
      expect(ownerToken).to.match(/^gpm_[0-9a-f]{48}$/);
      const me = (await as(ownerToken, "GET", "/v1/staff/me")).body;
      expect(me).to.include({ kind: "merchant", role: "owner", merchantId: merchantA.merchantId, login: "cafe-boss" });
      expect((await as(ownerToken, "GET", "/v1/merchant")).body.merchantId).to.equal(merchantA.merchantId);
      expect(till).to.include({ role: "staff", merchantId: merchantA.merchantId });
      // The merchant is the session's, never the body's.
      const named = await as(ownerToken, "POST", "/v1/merchant/staff", {
        login: "sneaky",
        password: "sneaky-password",
        role: "staff",
        merchantId: merchantB.merchantId,
      });
      expect(named.status).to.equal(400);
      const list = (await as(ownerToken, "GET", "/v1/merchant/staff")).body.staff.map((s: any) => s.login);
      expect(list).to.include.members(["cafe-boss", "cafe-till"]);
      // A merchant session reaches no operator route.
      expect((await as(ownerToken, "GET", `/v1/admin/merchants/${merchantB.merchantId}/staff`)).status).to.equal(401);
      expect((await as(ownerToken, "POST", "/v1/admin/shops", { name: "Not mine" })).status).to.equal(401);
    });

    it("takes a merchant session as a cookie too, with the CSRF token required for changes", async function () {
      const res = await logIn("cafe-boss", "cafe-boss-password", { "x-gp-session": "cookie" });
      expect(res.status).to.equal(201);
      expect(res.body).to.not.have.property("token");
      const cookies = setCookies(res.headers);
      expect(cookies.gp_session).to.match(/^gp_session=gpm_/);
      const cookie = `gp_session=${valueOf(cookies.gp_session)}; gp_csrf=${valueOf(cookies.gp_csrf)}`;
      expect((await call(base, "GET", "/v1/merchant", { headers: { cookie } })).body.merchantId).to.equal(merchantA.merchantId);
      const body = { login: "cookie-made", password: "cookie-made-password", role: "staff" };
      const refused = await call(base, "POST", "/v1/merchant/staff", { body, headers: { cookie } });
      expect([refused.status, refused.body.error.code]).to.deep.equal([403, "CSRF_REFUSED"]);
      const made = await call(base, "POST", "/v1/merchant/staff", { body, headers: { cookie, "x-gp-csrf": valueOf(cookies.gp_csrf) } });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      // The merchant cookie opens no operator route.
      expect((await call(base, "GET", "/v1/admin/shops", { headers: { cookie } })).status).to.equal(401);
    });

    it("lets staff read the balance and the statement, as the merchant", async function () {
      const account = await as(staffToken, "GET", "/v1/merchant");
      expect(account.status, JSON.stringify(account.body)).to.equal(200);
      expect(account.body.merchantId).to.equal(merchantA.merchantId);
      const statement = await as(staffToken, "GET", "/v1/merchant/statement");
      expect(statement.status).to.equal(200);
      expect(statement.body.merchantId).to.equal(merchantA.merchantId);
    });

    it("refuses staff withdrawals, key revocation and staff management (403 FORBIDDEN naming the role), which the owner passes", async function () {
      const refusedToStaff: [string, string, unknown?][] = [
        ["POST", "/v1/merchant/withdrawals", { to: TO, amount: "1" }],
        ["POST", "/v1/merchant/ad-credit/withdrawals", { to: TO, amount: "1" }],
        ["POST", "/v1/merchant/ad-credit/withdrawals/execute"],
        ["DELETE", `/v1/merchant/keys/${merchantA.keyId}`],
        ["PUT", "/v1/merchant/shops/shop_000000000000"],
        ["POST", "/v1/merchant/staff", { login: "staff-made", password: "staff-made-password", role: "owner" }],
        ["GET", "/v1/merchant/staff"],
        ["DELETE", `/v1/merchant/staff/${till.staffId}`],
      ];
      for (const [method, route, body] of refusedToStaff) {
        const res = await as(staffToken, method, route, body);
        expect(res.status, `${method} ${route}`).to.equal(403);
        expect(res.body.error.code).to.equal("FORBIDDEN");
        expect(res.body.error.message).to.match(/\bstaff\b/);
        expect(res.body.error.details).to.deep.equal({ role: "staff" });
      }
      // The key still works and no account was made.
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
      expect((await logIn("staff-made", "staff-made-password")).status).to.equal(401);
      // The owner (and the API key) get past the role check: the withdrawal fails on the balance only.
      for (const t of [ownerToken, merchantA.apiKey]) {
        const res = await as(t, "POST", "/v1/merchant/withdrawals", { to: TO, amount: "1" });
        expect(res.body.error?.code, JSON.stringify(res.body)).to.not.equal("FORBIDDEN");
        expect(res.status).to.be.oneOf([202, 422]);
      }
    });

    it("confines another merchant's owner to its own merchant's accounts", async function () {
      const otherOwner = await admin("POST", `/v1/admin/merchants/${merchantB.merchantId}/staff`, {
        login: "other-boss",
        password: "other-boss-password",
        role: "owner",
      });
      expect(otherOwner.status).to.equal(201);
      const other = await token("other-boss", "other-boss-password");
      expect((await as(other, "GET", "/v1/merchant")).body.merchantId).to.equal(merchantB.merchantId);
      const list = (await as(other, "GET", "/v1/merchant/staff")).body.staff.map((s: any) => s.login);
      expect(list).to.deep.equal(["other-boss"]);
      const disable = await as(other, "DELETE", `/v1/merchant/staff/${till.staffId}`);
      expect(disable.status).to.equal(404);
      expect(disable.body.error.code).to.equal("NOT_FOUND");
      // Nor an operator, through the merchant route.
      const operatorId = (await admin("GET", "/v1/admin/operators")).body.staff[0].staffId;
      expect((await as(other, "DELETE", `/v1/merchant/staff/${operatorId}`)).status).to.equal(404);
      expect((await as(staffToken, "GET", "/v1/staff/me")).status).to.equal(200);
      // A's key revoked by B's owner: unknown to B.
      expect((await as(other, "DELETE", `/v1/merchant/keys/${merchantA.keyId}`)).status).to.equal(404);
      expect((await as(merchantA.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
    });

    it("ends a changed password's other sessions; a wrong current password changes nothing", async function () {
      const first = await token("cafe-till", "cafe-till-password");
      const second = await token("cafe-till", "cafe-till-password");
      const wrong = await as(first, "PUT", "/v1/staff/me/password", { currentPassword: "not-it", newPassword: "cafe-till-new-password" });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error.code).to.equal("BAD_CREDENTIALS");
      expect((await as(second, "GET", "/v1/staff/me")).status).to.equal(200);
      const changed = await as(first, "PUT", "/v1/staff/me/password", {
        currentPassword: "cafe-till-password",
        newPassword: "cafe-till-new-password",
      });
      expect(changed.status, JSON.stringify(changed.body)).to.equal(204);
      expect((await as(first, "GET", "/v1/staff/me")).status).to.equal(200);
      for (const ended of [second, staffToken]) expect((await as(ended, "GET", "/v1/merchant")).status).to.equal(401);
      expect((await logIn("cafe-till", "cafe-till-password")).status).to.equal(401);
      staffToken = await token("cafe-till", "cafe-till-new-password");
    });

    it("ends a disabled account's sessions at once, and it logs in no more", async function () {
      const victim = await makeStaff(ownerToken, "/v1/merchant/staff", "cafe-temp", "staff");
      const session = await token("cafe-temp", "cafe-temp-password");
      expect((await as(session, "GET", "/v1/merchant")).status).to.equal(200);
      const disabled = await as(ownerToken, "DELETE", `/v1/merchant/staff/${victim.staffId}`);
      expect(disabled.status).to.equal(200);
      expect(disabled.body.disabledAt).to.be.a("string");
      expect((await as(session, "GET", "/v1/merchant")).status).to.equal(401);
      expect((await logIn("cafe-temp", "cafe-temp-password")).status).to.equal(401);
      // Its login stays taken, so nobody else inherits what the log names it for.
      const again = await as(ownerToken, "POST", "/v1/merchant/staff", { login: "cafe-temp", password: "another-password", role: "staff" });
      expect(again.body.error.code).to.equal("NAME_TAKEN");
    });

    it("lets an operator disable a merchant's staff, recorded with the operator's name", async function () {
      const op = await token("op-one", "op-one-password");
      const opId = (await as(op, "GET", "/v1/staff/me")).body.staffId;
      const victim = await makeStaff(ownerToken, "/v1/merchant/staff", "cafe-temp2", "staff");
      const session = await token("cafe-temp2", "cafe-temp2-password");
      expect((await as(op, "DELETE", `/v1/admin/staff/${victim.staffId}`)).status).to.equal(200);
      expect((await as(session, "GET", "/v1/merchant/statement")).status).to.equal(401);
      const entry = (await audit("staff-disabled")).find((e) => e.subject === `staff:${victim.staffId}`);
      expect(entry).to.include({ actor: `operator:${opId}` });
      expect(entry.details).to.include({ sessionsEnded: 1, role: "staff", merchantId: merchantA.merchantId });
    });
  });
});

describe("the first operator", function () {
  this.timeout(300_000);

  it("is made once even when two starts race on one database", async function () {
    const db = await openPglite(null);
    try {
      await migrate(db);
      const made = await Promise.all([ensureFirstOperator(db), ensureFirstOperator(db), ensureFirstOperator(db)]);
      expect(made.filter((m) => m !== null)).to.have.length(1);
      expect(await ensureFirstOperator(db)).to.equal(null);
    } finally {
      await db.close();
    }
  });

  it("is made once when three relayers with their own connections race on one PostgreSQL (with DATABASE_URL)", async function () {
    const url = process.env.DATABASE_URL;
    if (!url) this.skip();
    const schema = await freshSchema(url!);
    const dbs = await Promise.all([0, 1, 2].map(() => openPostgres(schema.url)));
    try {
      await migrate(dbs[0]);
      const made = await Promise.all(dbs.map((db) => ensureFirstOperator(db)));
      expect(made.filter((m) => m !== null)).to.have.length(1);
      const [{ n }] = await dbs[1].query<{ n: string }>("SELECT count(*) AS n FROM staff WHERE role = 'operator'");
      expect(Number(n)).to.equal(1);
      expect(await ensureFirstOperator(dbs[2])).to.equal(null);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await schema.drop();
    }
  });

  it("is printed by server/main.ts at the first start only, and logs in", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-staff-"));
    const running: RelayerProcess[] = [];
    try {
      const first = await startRelayerProcess(dir, { GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
      running.push(first);
      const line = /operator login: admin \/ (\S+) \(made now; change it in the console\)/.exec(first.output());
      expect(line, first.output()).to.not.equal(null);
      const password = line![1];
      const res = await call(first.url, "POST", "/v1/staff/sessions", { body: { login: "admin", password } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ kind: "operator", role: "operator" });
      expect((await call(first.url, "GET", "/v1/admin/shops", { token: res.body.token })).status).to.equal(200);
      first.child.kill("SIGINT");
      expect(await first.exited).to.equal(0);

      const second = await startRelayerProcess(dir, { GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
      running.push(second);
      expect(second.output()).to.not.include("operator login");
      expect(second.output()).to.not.include(password);
      expect((await call(second.url, "POST", "/v1/staff/sessions", { body: { login: "admin", password } })).status).to.equal(201);
      second.child.kill("SIGINT");
      expect(await second.exited).to.equal(0);
    } finally {
      for (const p of running) {
        killHard(p.child.pid);
        killHard(p.anvilPid());
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
