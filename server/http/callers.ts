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

/** The merchant whose API key made the request. */
export async function merchantOf(db: Queryable, p: Principal): Promise<MerchantRecord> {
  if (p.kind !== "merchant") throw new AppError("FORBIDDEN", "this endpoint is for merchants");
  const m = await findMerchant(db, p.merchantId);
  if (!m) throw new AppError("UNAUTHORIZED", "the key's merchant no longer exists");
  return m;
}
