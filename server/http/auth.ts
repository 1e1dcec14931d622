/**
 * Who is calling. Every caller presents `Authorization: Bearer <token>`: the operator's admin
 * token, or a shop's webhook secret (with the shop named by the path or `X-GP-Shop`). Every
 * secret comparison takes constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { AppError } from "../errors";

export type Principal = { kind: "public" } | { kind: "admin" } | { kind: "shop"; shopId: string };

export type PrincipalKind = Exclude<Principal["kind"], "public">;

function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

export function createAuthenticator(deps: { adminToken: string; shopSecret(shopId: string): Promise<string | null> }) {
  return async function authenticate(req: Request, accepted: readonly PrincipalKind[], params: Record<string, string>): Promise<Principal> {
    if (accepted.length === 0) return { kind: "public" };
    const header = req.headers.authorization ?? "";
    const token = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)?.[1];
    const refuse = () => new AppError("UNAUTHORIZED", `this endpoint needs a bearer token of: ${accepted.join(", ")}`);
    if (!token) throw refuse();
    if (accepted.includes("admin") && sameSecret(token, deps.adminToken)) return { kind: "admin" };
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
  return p.kind === "shop" ? `shop:${p.shopId}` : p.kind;
}
