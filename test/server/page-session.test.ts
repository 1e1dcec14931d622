/**
 * The pages' session over HTTP: a log-in that asks for cookies gets an httpOnly SameSite=Strict
 * session cookie and a CSRF cookie, never the token in its body; a cookie-authenticated call that
 * changes something needs the session's own CSRF token; log-out clears the cookies and ends the
 * session; integrators' bearer tokens work as before, with no CSRF token.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, settledOperation, startTestRelayer } from "../helpers/relayer";

/** The Set-Cookie lines of an answer, by cookie name. */
function setCookies(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of headers.getSetCookie()) out[line.split("=")[0]] = line;
  return out;
}
const valueOf = (line: string) => line.split(";")[0].split("=").slice(1).join("=");

describe("the pages' cookie session and its CSRF token", function () {
  this.timeout(120_000);
  let relayer: TestRelayer;
  let base: string;

  before(async function () {
    // Behind a proxy on loopback, so a test can say the request came over HTTPS (X-Forwarded-Proto).
    relayer = await startTestRelayer({ trustProxy: "loopback" });
    base = relayer.url;
    for (const userId of ["alice", "bob"]) {
      const made = await call(base, "POST", "/v1/users", {
        token: TEST_ADMIN_TOKEN,
        body: { userId, password: `${userId}-login-pw` },
        headers: { "idempotency-key": randomUUID() },
      });
      expect(made.status, JSON.stringify(made.body)).to.be.oneOf([201, 202]);
      expect((await settledOperation(base, TEST_ADMIN_TOKEN, made.body.operationId ?? made.body.operation.operationId)).state).to.equal(
        "confirmed",
      );
    }
  });
  after(async () => relayer?.stop());

  async function cookieLogin(userId: string) {
    const res = await call(base, "POST", "/v1/sessions", {
      body: { userId, password: `${userId}-login-pw` },
      headers: { "x-gp-session": "cookie" },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const cookies = setCookies(res.headers);
    return {
      res,
      cookies,
      cookie: `gp_session=${valueOf(cookies.gp_session)}; gp_csrf=${valueOf(cookies.gp_csrf)}`,
      csrf: valueOf(cookies.gp_csrf),
    };
  }
  const setPaymentPassword = (headers: Record<string, string>) =>
    call(base, "PUT", "/v1/me/payment-password", { body: { paymentPassword: "a new payment pw" }, headers });

  it("sets the session as an httpOnly SameSite=Strict cookie and keeps the token out of the body", async function () {
    const { res, cookies } = await cookieLogin("alice");
    expect(res.body).to.not.have.property("token");
    expect(res.headers.get("cache-control")).to.equal("no-store");
    expect(JSON.stringify(res.body)).to.not.match(/gps_/);
    expect(cookies.gp_session).to.match(/^gp_session=gps_/);
    expect(cookies.gp_session).to.match(/; HttpOnly/i);
    expect(cookies.gp_session).to.match(/; SameSite=Strict/i);
    expect(cookies.gp_session).to.match(/; Path=\//i);
    expect(cookies.gp_csrf).to.not.match(/HttpOnly/i); // the page reads it to echo it
    expect(cookies.gp_csrf).to.match(/; SameSite=Strict/i);
    // Over plain HTTP (npm start on 127.0.0.1) the cookies cannot be Secure, or the browser would drop them.
    expect(cookies.gp_session).to.not.match(/; Secure/i);
  });

  it("reads with the cookie alone, and refuses a change without the session's CSRF token (403 CSRF_REFUSED, nothing changed)", async function () {
    const alice = await cookieLogin("alice");
    const me = await call(base, "GET", "/v1/me", { headers: { cookie: alice.cookie } });
    expect(me.status).to.equal(200);
    expect(me.body.userId).to.equal("alice");
    expect(me.body.paymentPasswordSet).to.equal(false);

    const bob = await cookieLogin("bob");
    for (const csrf of [undefined, "", "not-the-token", bob.csrf]) {
      const refused = await setPaymentPassword({ cookie: alice.cookie, ...(csrf === undefined ? {} : { "x-gp-csrf": csrf }) });
      expect(refused.status, String(csrf)).to.equal(403);
      expect(refused.body.error.code).to.equal("CSRF_REFUSED");
    }
    expect((await call(base, "GET", "/v1/me", { headers: { cookie: alice.cookie } })).body.paymentPasswordSet).to.equal(false);

    const done = await setPaymentPassword({ cookie: alice.cookie, "x-gp-csrf": alice.csrf });
    expect(done.status, JSON.stringify(done.body)).to.be.oneOf([200, 201, 204]);
    expect((await call(base, "GET", "/v1/me", { headers: { cookie: alice.cookie } })).body.paymentPasswordSet).to.equal(true);
  });

  it("over HTTPS names the cookies __Host- (Secure, Path=/, no Domain), so no sibling host can plant a session", async function () {
    const https = { "x-forwarded-proto": "https" };
    const res = await call(base, "POST", "/v1/sessions", {
      body: { userId: "alice", password: "alice-login-pw" },
      headers: { "x-gp-session": "cookie", ...https },
    });
    expect(res.status).to.equal(201);
    const cookies = setCookies(res.headers);
    expect(Object.keys(cookies).sort()).to.deep.equal(["__Host-gp_csrf", "__Host-gp_session"]);
    for (const line of Object.values(cookies)) {
      expect(line).to.match(/; Secure/i);
      expect(line).to.match(/; Path=\/(;|$)/i);
      expect(line).to.not.match(/; Domain=/i);
    }
    const token = valueOf(cookies["__Host-gp_session"]);
    const csrf = valueOf(cookies["__Host-gp_csrf"]);
    const prefixed = `__Host-gp_session=${token}; __Host-gp_csrf=${csrf}`;
    expect((await call(base, "GET", "/v1/me", { headers: { cookie: prefixed, ...https } })).status).to.equal(200);
    // The unprefixed name, which any sibling host could set, opens nothing over HTTPS.
    expect((await call(base, "GET", "/v1/me", { headers: { cookie: `gp_session=${token}`, ...https } })).status).to.equal(401);
    const out = await call(base, "DELETE", "/v1/sessions/current", { headers: { cookie: prefixed, "x-gp-csrf": csrf, ...https } });
    expect(out.status).to.be.oneOf([200, 204]);
    expect(Object.keys(setCookies(out.headers)).sort()).to.deep.equal(["__Host-gp_csrf", "__Host-gp_session"]);
  });

  it("refuses a session cookie planted twice (a duplicate from a sibling domain)", async function () {
    const alice = await cookieLogin("alice");
    const twice = await call(base, "GET", "/v1/me", { headers: { cookie: `${alice.cookie}; gp_session=gps_planted` } });
    expect(twice.status).to.equal(401);
  });

  it("logs out: the cookies are cleared and the session no longer opens anything", async function () {
    const bob = await cookieLogin("bob");
    const withoutCsrf = await call(base, "DELETE", "/v1/sessions/current", { headers: { cookie: bob.cookie } });
    expect(withoutCsrf.status).to.equal(403);
    const out = await call(base, "DELETE", "/v1/sessions/current", { headers: { cookie: bob.cookie, "x-gp-csrf": bob.csrf } });
    expect(out.status, JSON.stringify(out.body)).to.be.oneOf([200, 204]);
    const cleared = setCookies(out.headers);
    expect(cleared.gp_session).to.match(/^gp_session=;/);
    expect(cleared.gp_session).to.match(/Expires=Thu, 01 Jan 1970/);
    expect(cleared.gp_csrf).to.match(/^gp_csrf=;/);
    expect((await call(base, "GET", "/v1/me", { headers: { cookie: bob.cookie } })).status).to.equal(401);
  });

  it("keeps bearer tokens working for integrators: the token in the body, no cookie, no CSRF token", async function () {
    const res = await call(base, "POST", "/v1/sessions", { body: { userId: "bob", password: "bob-login-pw" } });
    expect(res.status).to.equal(201);
    expect(res.body.token).to.match(/^gps_/);
    expect(res.headers.getSetCookie()).to.deep.equal([]);
    const changed = await setPaymentPassword({ authorization: `Bearer ${res.body.token}` });
    expect(changed.status, JSON.stringify(changed.body)).to.be.oneOf([200, 201, 204]);
  });

  it("sets no cookie for a failed log-in", async function () {
    const res = await call(base, "POST", "/v1/sessions", {
      body: { userId: "alice", password: "wrong password" },
      headers: { "x-gp-session": "cookie" },
    });
    expect(res.status).to.equal(401);
    expect(res.headers.getSetCookie()).to.deep.equal([]);
  });
});
