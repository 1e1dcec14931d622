/**
 * The pages' session: the same `gps_…` session token the API hands out, kept in an httpOnly,
 * SameSite=Strict cookie the page's scripts cannot read, with a CSRF token beside it. A page asks
 * for the cookie by logging in with `X-GP-Session: cookie`; that header is one a cross-site form
 * cannot send and a cross-site script cannot send without a CORS preflight this server never
 * grants, so no other site can log a browser in either. Every cookie-authenticated call other than
 * GET must echo the CSRF token in `X-GP-CSRF`: the token is an HMAC of the session under the
 * deployment's key, so it is checked without storage and works in every relayer process.
 */
import { createHmac } from "node:crypto";
import type { Request, Response } from "express";
import { sameSecret } from "./auth";

export const SESSION_COOKIE = "gp_session";
/** Readable by the page (not httpOnly): it is what the page echoes in X-GP-CSRF. */
export const CSRF_COOKIE = "gp_csrf";
/**
 * Over HTTPS the cookies carry the `__Host-` prefix: a browser takes such a cookie only from this
 * very host, over HTTPS, for Path=/ and with no Domain, so neither a sibling subdomain nor a
 * plain-HTTP man in the middle can plant a session of its choosing (log a victim into the
 * attacker's account). Plain HTTP (`npm start` on 127.0.0.1) cannot use the prefix.
 */
export const cookieName = (req: Request, name: string) => (req.secure ? `__Host-${name}` : name);

/** The session cookie of this request, under the name its scheme uses. */
export const sessionCookie = (req: Request) => readCookie(req.headers.cookie, cookieName(req, SESSION_COOKIE));
export const CSRF_HEADER = "x-gp-csrf";
/** The request header by which a page asks for its session as cookies. */
export const SESSION_MODE_HEADER = "x-gp-session";

/** One cookie's value from a Cookie header; undefined when absent or sent twice (a planted duplicate). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  const values = (header ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  return values.length === 1 ? values[0] : undefined;
}

/** The CSRF token of a session: HMAC-SHA256 of its token's hash under the deployment's key. */
export function csrfToken(key: string, sessionHash: string): string {
  return createHmac("sha256", key).update(`csrf:${sessionHash}`).digest("base64url");
}

export function csrfMatches(key: string, sessionHash: string, given: string | undefined): boolean {
  return given !== undefined && sameSecret(given, csrfToken(key, sessionHash));
}

/** Whether this request asked for its session as cookies. */
export function wantsCookieSession(req: Request): boolean {
  return req.headers[SESSION_MODE_HEADER] === "cookie";
}

/** Sets the session and CSRF cookies; `Secure` whenever the request came over HTTPS (directly or through a trusted proxy). */
export function setSessionCookies(
  req: Request,
  res: Response,
  session: { token: string; expiresAt: string },
  sessionHash: string,
  key: string,
) {
  const expires = new Date(session.expiresAt);
  const common = { sameSite: "strict" as const, secure: req.secure, path: "/", expires };
  res.cookie(cookieName(req, SESSION_COOKIE), session.token, { ...common, httpOnly: true });
  res.cookie(cookieName(req, CSRF_COOKIE), csrfToken(key, sessionHash), { ...common, httpOnly: false });
}

export function clearSessionCookies(req: Request, res: Response) {
  const common = { sameSite: "strict" as const, secure: req.secure, path: "/" };
  res.clearCookie(cookieName(req, SESSION_COOKIE), { ...common, httpOnly: true });
  res.clearCookie(cookieName(req, CSRF_COOKIE), common);
}
