/**
 * Who is calling. Every caller presents `Authorization: Bearer <token>`: the operator's admin
 * token, a shop's webhook secret (with the shop named by the path or `X-GP-Shop`), a user's
 * session token (`gps_…`), a merchant's API key (`gpk_…`), or a staff session (`gpo_…` an
 * operator's, which acts as the admin token does; `gpm_…` a merchant owner's or staff's, which
 * acts as a merchant key with its role). A page may instead send its session in the `gp_session`
 * cookie, and then every call but a GET must carry the session's CSRF token (cookies.ts). Secrets
 * the server keeps in clear are compared in constant time; tokens are looked up by their hash.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { AppError } from "../errors";
import { apiKeyId, tokenHash } from "../services/credentials";
import { CSRF_HEADER, csrfMatches, sessionCookie } from "./cookies";

/**
 * `cookie`: the session came in the page's cookie, not a bearer token. `sessionHash`: the staff
 * session's (an operator's, or a merchant owner's or staff's); absent for the admin token and API keys.
 */
export type Principal =
  | { kind: "public" }
  | { kind: "admin"; operatorId?: string; sessionHash?: string; cookie?: true }
  | { kind: "shop"; shopId: string }
  | { kind: "user"; userId: string; sessionHash: string; cookie?: true }
  /** `keyId` is the API key's id, or `staff:<staffId>` for a staff session; `role` is `owner` for an API key. */
  | { kind: "merchant"; merchantId: string; keyId: string; role: MerchantRole; sessionHash?: string; cookie?: true };

export type MerchantRole = "owner" | "staff";

export type PrincipalKind = Exclude<Principal["kind"], "public">;

/** Compares two secrets in constant time (their hashes, so lengths do not show). */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * The token of an `Authorization: Bearer <token>` header: 1 to 512 visible ASCII characters (what
 * config.ts lets GP_ADMIN_TOKEN and GP_METRICS_TOKEN be); null for anything else.
 */
export function bearerToken(header: string | undefined): string | null {
  return /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? "")?.[1] ?? null;
}

export interface AuthLookups {
  adminToken: string;
  shopSecret(shopId: string): Promise<string | null>;
  /** The user of a live session, by the token's hash. */
  sessionUser(tokenHash: string): Promise<string | null>;
  /** A live merchant key, by its id. */
  merchantKey(keyId: string): Promise<{ merchantId: string; keyHash: string } | null>;
  /** The account of a live staff session of an account not disabled, by the token's hash. */
  sessionStaff(tokenHash: string): Promise<{ staffId: string; role: "operator" | MerchantRole; merchantId: string | null } | null>;
  /** The deployment's key of the pages' CSRF tokens. */
  csrfKey: string;
}

/** Methods that change nothing, so a cookie-authenticated call of them needs no CSRF token. */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** The kind of caller a session token's prefix makes: a user's, an operator's or a merchant staff's. */
const SESSION_KINDS = { gps_: "user", gpo_: "admin", gpm_: "merchant" } as const;
const sessionKindOf = (token: string) => SESSION_KINDS[token.slice(0, 4) as keyof typeof SESSION_KINDS] as PrincipalKind | undefined;

export function createAuthenticator(deps: AuthLookups) {
  /**
   * The principal of a session token of `kind` (by its prefix), or null when it is no live session
   * of that kind. A staff token becomes only the kind its prefix names, and only when the account's
   * role agrees, so no merchant staff session ever acts as the operator, nor an operator's as a merchant.
   */
  async function sessionPrincipal(token: string, kind: PrincipalKind): Promise<Principal | null> {
    const sessionHash = tokenHash(token);
    if (kind === "user") {
      const userId = await deps.sessionUser(sessionHash);
      return userId ? { kind: "user", userId, sessionHash } : null;
    }
    const staff = await deps.sessionStaff(sessionHash);
    if (!staff) return null;
    if (kind === "admin" && staff.role === "operator") return { kind: "admin", operatorId: staff.staffId, sessionHash };
    if (kind === "merchant" && staff.role !== "operator" && staff.merchantId)
      return { kind: "merchant", merchantId: staff.merchantId, keyId: `staff:${staff.staffId}`, role: staff.role, sessionHash };
    return null;
  }

  return async function authenticate(req: Request, accepted: readonly PrincipalKind[], params: Record<string, string>): Promise<Principal> {
    if (accepted.length === 0) return { kind: "public" };
    const token = bearerToken(req.headers.authorization);
    const refuse = () => new AppError("UNAUTHORIZED", `this endpoint needs a bearer token of: ${accepted.join(", ")}`);
    if (!token && req.headers.authorization === undefined) {
      const cookie = sessionCookie(req);
      const kind = cookie ? sessionKindOf(cookie) : undefined;
      if (cookie && kind && accepted.includes(kind)) {
        const principal = await sessionPrincipal(cookie, kind);
        if (!principal || !("sessionHash" in principal) || !principal.sessionHash)
          throw new AppError("UNAUTHORIZED", "the session has ended; log in again");
        const given = req.headers[CSRF_HEADER];
        if (
          !SAFE_METHODS.has(req.method) &&
          !csrfMatches(deps.csrfKey, principal.sessionHash, typeof given === "string" ? given : undefined)
        )
          throw new AppError("CSRF_REFUSED", "a call with the session cookie needs the session's CSRF token in X-GP-CSRF");
        return { ...principal, cookie: true };
      }
    }
    if (!token) throw refuse();
    if (accepted.includes("admin") && sameSecret(token, deps.adminToken)) return { kind: "admin" };
    const kind = sessionKindOf(token);
    if (kind && accepted.includes(kind)) {
      const principal = await sessionPrincipal(token, kind);
      if (principal) return principal;
    }
    if (accepted.includes("merchant") && token.startsWith("gpk_")) {
      const keyId = apiKeyId(token);
      const key = keyId ? await deps.merchantKey(keyId) : null;
      if (keyId && key && sameSecret(tokenHash(token), key.keyHash))
        return { kind: "merchant", merchantId: key.merchantId, keyId, role: "owner" };
    }
    if (accepted.includes("shop")) {
      const shopId = params.shopId ?? (typeof req.headers["x-gp-shop"] === "string" ? req.headers["x-gp-shop"] : undefined);
      const secret = shopId ? await deps.shopSecret(shopId) : null;
      if (shopId && secret && sameSecret(token, secret)) return { kind: "shop", shopId };
    }
    throw refuse();
  };
}

/** The namespace of a caller's idempotency keys: two callers' keys never collide. */
export function principalScope(p: Principal): string {
  if (p.kind === "shop") return `shop:${p.shopId}`;
  if (p.kind === "user") return `user:${p.userId}`;
  // A staff member's keys are their own: no replay of another's stored answer (a new merchant's API key, say).
  if (p.kind === "admin" && p.operatorId) return `operator:${p.operatorId}`;
  if (p.kind === "merchant") return p.role === "staff" ? `merchant:${p.merchantId}:${p.keyId}` : `merchant:${p.merchantId}`;
  return p.kind;
}
