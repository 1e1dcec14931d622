/**
 * Who is calling. Every caller presents `Authorization: Bearer <token>`: the operator's admin
 * token, a shop's webhook secret (with the shop named by the path or `X-GP-Shop`), a user's
 * session token (`gps_…`) or a merchant's API key (`gpk_…`). Secrets the server keeps in clear
 * are compared in constant time; tokens are looked up by their hash.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { AppError } from "../errors";
import { apiKeyId, tokenHash } from "../services/credentials";

export type Principal =
  | { kind: "public" }
  | { kind: "admin" }
  | { kind: "shop"; shopId: string }
  | { kind: "user"; userId: string; sessionHash: string }
  | { kind: "merchant"; merchantId: string; keyId: string };

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
}

export function createAuthenticator(deps: AuthLookups) {
  return async function authenticate(req: Request, accepted: readonly PrincipalKind[], params: Record<string, string>): Promise<Principal> {
    if (accepted.length === 0) return { kind: "public" };
    const token = bearerToken(req.headers.authorization);
    const refuse = () => new AppError("UNAUTHORIZED", `this endpoint needs a bearer token of: ${accepted.join(", ")}`);
    if (!token) throw refuse();
    if (accepted.includes("admin") && sameSecret(token, deps.adminToken)) return { kind: "admin" };
    if (accepted.includes("user") && token.startsWith("gps_")) {
      const sessionHash = tokenHash(token);
      const userId = await deps.sessionUser(sessionHash);
      if (userId) return { kind: "user", userId, sessionHash };
    }
    if (accepted.includes("merchant") && token.startsWith("gpk_")) {
      const keyId = apiKeyId(token);
      const key = keyId ? await deps.merchantKey(keyId) : null;
      if (keyId && key && sameSecret(tokenHash(token), key.keyHash)) return { kind: "merchant", merchantId: key.merchantId, keyId };
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
  if (p.kind === "merchant") return `merchant:${p.merchantId}`;
  return p.kind;
}
