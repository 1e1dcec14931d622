/**
 * Who is calling. Every caller presents `Authorization: Bearer <token>`: the operator's admin
 * token, a shop's webhook secret (with the shop named by the path or `X-GP-Shop`), a user's
 * session token (`gps_…`) or a merchant's API key (`gpk_…`). Session tokens and API keys are
 * stored only as SHA-256 hashes; every secret comparison takes constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { AppError } from "../errors";

export type Principal =
  | { kind: "public" }
  | { kind: "admin" }
  | { kind: "shop"; shopId: string }
  | { kind: "user"; userId: string }
  | { kind: "merchant"; merchantId: string };

export type PrincipalKind = Exclude<Principal["kind"], "public">;

export interface AuthLookups {
  shopSecret(shopId: string): Promise<string | null>;
  /** The user of a live session, by the token's hash. */
  sessionUser(tokenHash: string): Promise<string | null>;
  /** The merchant of an unrevoked API key, by the key's hash. */
  merchantOfKey(keyHash: string): Promise<string | null>;
}

export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");

export function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

export function createAuthenticator(deps: { adminToken: string; lookups: AuthLookups }) {
  return async function authenticate(req: Request, accepted: readonly string[], params: Record<string, string>): Promise<Principal> {
    if (accepted.length === 0) return { kind: "public" };
    const header = req.headers.authorization ?? "";
    const token = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)?.[1];
    const refuse = () => new AppError("UNAUTHORIZED", `this endpoint needs a bearer token of: ${accepted.join(", ")}`);
    if (!token) throw refuse();
    if (accepted.includes("admin") && sameSecret(token, deps.adminToken)) return { kind: "admin" };
    if (accepted.includes("user") && token.startsWith("gps_")) {
      const userId = await deps.lookups.sessionUser(tokenHash(token));
      if (userId) return { kind: "user", userId };
    }
    if (accepted.includes("merchant") && token.startsWith("gpk_")) {
      const merchantId = await deps.lookups.merchantOfKey(tokenHash(token));
      if (merchantId) return { kind: "merchant", merchantId };
    }
    if (accepted.includes("shop")) {
      const shopId = params.shopId ?? (typeof req.headers["x-gp-shop"] === "string" ? req.headers["x-gp-shop"] : undefined);
      const secret = shopId ? await deps.lookups.shopSecret(shopId) : null;
      if (shopId && secret && sameSecret(token, secret)) return { kind: "shop", shopId };
    }
    throw refuse();
  };
}
