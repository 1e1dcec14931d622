/** Who is calling, for the routes of one audience: FORBIDDEN for any other kind of caller. */
import type { Queryable } from "../adapters/db/db";
import { type MerchantRecord, findMerchant } from "../adapters/db/merchants";
import { AppError } from "../errors";
import type { Principal } from "./auth";

/** The user id of a user's session. */
export function userIdOf(p: Principal): string {
  if (p.kind !== "user") throw new AppError("FORBIDDEN", "this endpoint is for users");
  return p.userId;
}

/**
 * Who did it, as the audit log names them: `operator:<staffId>` for an operator's session,
 * `admin-token` for the admin token, `merchant:<merchantId>:<keyId>` for a merchant's key or
 * staff session (`keyId` is `staff:<staffId>` for a session).
 */
export function actorOf(p: Principal): string {
  if (p.kind === "admin") return p.operatorId ? `operator:${p.operatorId}` : "admin-token";
  if (p.kind === "merchant") return `merchant:${p.merchantId}:${p.keyId}`;
  throw new AppError("FORBIDDEN", "this endpoint is for the operator and merchants");
}

/** The staff account and session of an operator's or merchant staff's session; FORBIDDEN for the admin token or an API key. */
export function staffSessionOf(p: Principal): { staffId: string; sessionHash: string } {
  if (p.kind === "admin" && p.operatorId && p.sessionHash) return { staffId: p.operatorId, sessionHash: p.sessionHash };
  if (p.kind === "merchant" && p.sessionHash && p.keyId.startsWith("staff:"))
    return { staffId: p.keyId.slice(6), sessionHash: p.sessionHash };
  throw new AppError("FORBIDDEN", "this endpoint is for staff sessions (POST /v1/staff/sessions), not the admin token or an API key");
}

/** The merchant whose API key or staff session made the request. */
export async function merchantOf(db: Queryable, p: Principal): Promise<MerchantRecord> {
  if (p.kind !== "merchant") throw new AppError("FORBIDDEN", "this endpoint is for merchants");
  const m = await findMerchant(db, p.merchantId);
  if (!m) throw new AppError("UNAUTHORIZED", "the key's merchant no longer exists");
  return m;
}
