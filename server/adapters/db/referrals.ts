/** Referral codes: one per user, made the first time it is asked for, that a new shopper signs up with. */
import type { Queryable } from "./db";

const INSERT = "INSERT INTO referral_codes (code, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING code";
const OF_USER = "SELECT code FROM referral_codes WHERE user_id = $1";
/**
 * The user's code, made with `make` unless it exists. A new code that is someone else's already
 * (or two first asks at once) inserts nothing, and the user's row is read, or another code tried.
 */
export async function referralCodeOf(db: Queryable, userId: string, make: () => string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [existing] = await db.query<{ code: string }>(OF_USER, [userId]);
    if (existing) return existing.code;
    const [inserted] = await db.query<{ code: string }>(INSERT, [make(), userId]);
    if (inserted) return inserted.code;
  }
  throw new Error(`no free referral code for ${userId} in 5 tries`);
}

const BY_CODE = "SELECT user_id FROM referral_codes WHERE code = $1";
export async function userOfReferralCode(db: Queryable, code: string): Promise<string | null> {
  const [row] = await db.query<{ user_id: string }>(BY_CODE, [code]);
  return row?.user_id ?? null;
}

/** A user registered with `referrer` as referrer, as its registration was queued. */
export interface ReferredUser {
  userId: string;
  /** E.164, for a phone number's account that signed up; null for an account a shop or the operator made. */
  phone: string | null;
  state: "queued" | "submitted" | "confirmed" | "rejected";
  createdAt: Date;
}

const REFERRED = `SELECT u.user_id, p.phone, o.state, o.created_at
  FROM operations o
  JOIN users u ON u.account = o.account
  LEFT JOIN phone_accounts p ON p.user_id = u.user_id AND p.registered_at IS NOT NULL
  WHERE o.kind = 'register' AND o.counterparty = $1
  ORDER BY o.created_at DESC, o.id LIMIT $2`;
/** The users whose registration names the custodial account `referrer` as referrer, newest first. */
export async function referredUsers(db: Queryable, referrer: string, limit: number): Promise<ReferredUser[]> {
  const rows = await db.query<{ user_id: string; phone: string | null; state: ReferredUser["state"]; created_at: Date | string }>(
    REFERRED,
    [referrer, limit],
  );
  return rows.map((r) => ({ userId: r.user_id, phone: r.phone, state: r.state, createdAt: new Date(r.created_at) }));
}

const ORDERS_OF = `SELECT user_id, chain_order_id, sent_by FROM orders WHERE user_id = ANY($1::text[]) AND sent_by IS NOT NULL`;
/** The orders of these users sent to the chain: by whom and under which chain order id (their order key's parts). */
export async function sentOrdersOf(
  db: Queryable,
  userIds: readonly string[],
): Promise<{ userId: string; chainOrderId: string; sentBy: string }[]> {
  if (userIds.length === 0) return [];
  const rows = await db.query<{ user_id: string; chain_order_id: string; sent_by: string }>(ORDERS_OF, [userIds]);
  return rows.map((r) => ({ userId: r.user_id, chainOrderId: r.chain_order_id, sentBy: r.sent_by }));
}
