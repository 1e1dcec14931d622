import type { Queryable } from "./db";

export interface UserRecord {
  userId: string;
  /** The opaque custodial account id on the chain. */
  account: string;
  passwordHash: string;
  paymentHash: string | null;
  paymentFailures: number;
  paymentLockedUntil: Date | null;
}

interface UserRow {
  user_id: string;
  account: string;
  password_hash: string;
  payment_hash: string | null;
  payment_failures: number;
  payment_locked_until: Date | string | null;
}

const toRecord = (r: UserRow): UserRecord => ({
  userId: r.user_id,
  account: r.account,
  passwordHash: r.password_hash,
  paymentHash: r.payment_hash,
  paymentFailures: r.payment_failures,
  paymentLockedUntil: r.payment_locked_until === null ? null : new Date(r.payment_locked_until),
});

const COLUMNS = "user_id, account, password_hash, payment_hash, payment_failures, payment_locked_until";

const INSERT_USER = `INSERT INTO users (user_id, account, password_hash, payment_hash) VALUES ($1, $2, $3, $4)
  ON CONFLICT (user_id) DO NOTHING RETURNING user_id`;
/** False when the user id is registered already. */
export async function insertUser(
  db: Queryable,
  u: Pick<UserRecord, "userId" | "account" | "passwordHash" | "paymentHash">,
): Promise<boolean> {
  return (await db.query(INSERT_USER, [u.userId, u.account, u.passwordHash, u.paymentHash])).length > 0;
}

const FIND_USER = `SELECT ${COLUMNS} FROM users WHERE user_id = $1`;
export async function findUser(db: Queryable, userId: string): Promise<UserRecord | null> {
  const [row] = await db.query<UserRow>(FIND_USER, [userId]);
  return row ? toRecord(row) : null;
}

const FIND_BY_ACCOUNT = `SELECT ${COLUMNS} FROM users WHERE account = $1`;
export async function findUserByAccount(db: Queryable, account: string): Promise<UserRecord | null> {
  const [row] = await db.query<UserRow>(FIND_BY_ACCOUNT, [account]);
  return row ? toRecord(row) : null;
}

const SET_PAYMENT = "UPDATE users SET payment_hash = $2, payment_failures = 0, payment_locked_until = NULL WHERE user_id = $1";
export async function setPaymentHash(db: Queryable, userId: string, hash: string): Promise<void> {
  await db.query(SET_PAYMENT, [userId, hash]);
}

const RESERVE_ATTEMPT = `UPDATE users SET
    payment_failures = CASE WHEN payment_failures + 1 >= $2 THEN 0 ELSE payment_failures + 1 END,
    payment_locked_until = CASE WHEN payment_failures + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE NULL END
  WHERE user_id = $1 AND (payment_locked_until IS NULL OR payment_locked_until <= now())
  RETURNING payment_failures, payment_locked_until`;
/**
 * Counts a payment-password attempt as a failure before its password is checked, in one
 * statement, so concurrent attempts cannot all pass the lock check: the `limit`-th since the last
 * lock or success locks it for `lockSeconds`. Null when it is locked: the attempt gets no check.
 */
export async function reservePaymentAttempt(
  db: Queryable,
  userId: string,
  limit: number,
  lockSeconds: number,
): Promise<{ failures: number; lockedUntil: Date | null } | null> {
  const [row] = await db.query<{ payment_failures: number; payment_locked_until: Date | string | null }>(RESERVE_ATTEMPT, [
    userId,
    limit,
    lockSeconds,
  ]);
  if (!row) return null;
  return { failures: row.payment_failures, lockedUntil: row.payment_locked_until === null ? null : new Date(row.payment_locked_until) };
}

const CLEAR_FAILURES = "UPDATE users SET payment_failures = 0, payment_locked_until = NULL WHERE user_id = $1";
/** A right payment password: the attempts counted so far (and a lock the attempt itself set) are cleared. */
export async function clearPaymentFailures(db: Queryable, userId: string): Promise<void> {
  await db.query(CLEAR_FAILURES, [userId]);
}

const INSERT_SESSION = "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)";
export async function insertSession(db: Queryable, tokenHash: string, userId: string, expiresAt: Date): Promise<void> {
  await db.query(INSERT_SESSION, [tokenHash, userId, expiresAt]);
}

const SESSION_USER = "SELECT user_id FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()";
export async function sessionUser(db: Queryable, tokenHash: string): Promise<string | null> {
  const [row] = await db.query<{ user_id: string }>(SESSION_USER, [tokenHash]);
  return row?.user_id ?? null;
}

const REVOKE_SESSION = "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";
export async function revokeSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query(REVOKE_SESSION, [tokenHash]);
}

const CLAIM_ORIGIN = "INSERT INTO user_origins (user_id, shop_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING RETURNING user_id";
/** Records who made the user id (a shop, or the operator: null) unless someone did before; true when this call made it. */
export async function claimUserOrigin(db: Queryable, userId: string, shopId: string | null): Promise<boolean> {
  return (await db.query(CLAIM_ORIGIN, [userId, shopId])).length > 0;
}

const USER_ORIGIN = "SELECT shop_id FROM user_origins WHERE user_id = $1";
/** Who made the user id: `{ shopId }` (null for the operator), or null when nobody has named it yet. */
export async function userOrigin(db: Queryable, userId: string): Promise<{ shopId: string | null } | null> {
  const [row] = await db.query<{ shop_id: string | null }>(USER_ORIGIN, [userId]);
  return row ? { shopId: row.shop_id } : null;
}

const OTHER_SHOPS_ORDERS = "SELECT DISTINCT shop_id FROM orders WHERE user_id = $1 AND shop_id <> $2 ORDER BY shop_id LIMIT 5";
/** Shops other than `shopId` whose orders paid points to the user id. */
export async function otherShopsWithOrders(db: Queryable, userId: string, shopId: string): Promise<string[]> {
  return (await db.query<{ shop_id: string }>(OTHER_SHOPS_ORDERS, [userId, shopId])).map((r) => r.shop_id);
}

const RESERVE_LOGIN = `UPDATE users SET
    login_failures = CASE WHEN login_failures + 1 >= $2 THEN 0 ELSE login_failures + 1 END,
    login_locked_until = CASE WHEN login_failures + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE NULL END
  WHERE user_id = $1 AND (login_locked_until IS NULL OR login_locked_until <= now())
  RETURNING login_failures`;
/**
 * Counts a login password attempt as a failure before it is checked (as `reservePaymentAttempt`
 * does for the payment password): the `limit`-th since the last lock or success locks password
 * logins for `lockSeconds`. False when they are locked: the attempt gets no check.
 */
export async function reserveLoginAttempt(db: Queryable, userId: string, limit: number, lockSeconds: number): Promise<boolean> {
  return (await db.query(RESERVE_LOGIN, [userId, limit, lockSeconds])).length > 0;
}

const CLEAR_LOGIN = "UPDATE users SET login_failures = 0, login_locked_until = NULL WHERE user_id = $1";
/** A right password, an SMS code login or a reset: the failures counted so far and their lock are cleared. */
export async function clearLoginFailures(db: Queryable, userId: string): Promise<void> {
  await db.query(CLEAR_LOGIN, [userId]);
}

const SET_PASSWORD = "UPDATE users SET password_hash = $2, login_failures = 0, login_locked_until = NULL WHERE user_id = $1";
export async function setPasswordHash(db: Queryable, userId: string, hash: string): Promise<void> {
  await db.query(SET_PASSWORD, [userId, hash]);
}

const REVOKE_ALL = `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND token_hash IS DISTINCT FROM $2
  RETURNING token_hash`;
/** Ends every session of the user but `except` (a password reset: whoever knew the old one is logged out); how many ended. */
export async function revokeUserSessions(db: Queryable, userId: string, except: string | null = null): Promise<number> {
  return (await db.query(REVOKE_ALL, [userId, except])).length;
}
