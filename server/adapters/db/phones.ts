/**
 * Phone numbers and their codes: `phone_accounts` maps a number (E.164) to the user id its points
 * go to; `phone_codes` keeps each code sent as a keyed hash with its tries, its use and the client
 * address that asked, which the sending limits count.
 */
import type { Queryable } from "./db";

export interface PhoneAccount {
  phone: string;
  userId: string;
  /** When the number's owner signed up; null while only shops' orders named it. */
  registeredAt: Date | null;
}

interface PhoneRow {
  phone: string;
  user_id: string;
  registered_at: Date | string | null;
}

const toAccount = (r: PhoneRow): PhoneAccount => ({
  phone: r.phone,
  userId: r.user_id,
  registeredAt: r.registered_at === null ? null : new Date(r.registered_at),
});

const FIND_BY_PHONE = "SELECT phone, user_id, registered_at FROM phone_accounts WHERE phone = $1";
export async function findPhoneAccount(db: Queryable, phone: string): Promise<PhoneAccount | null> {
  const [row] = await db.query<PhoneRow>(FIND_BY_PHONE, [phone]);
  return row ? toAccount(row) : null;
}

const FIND_BY_USER = "SELECT phone, user_id, registered_at FROM phone_accounts WHERE user_id = $1";
export async function phoneOfUser(db: Queryable, userId: string): Promise<PhoneAccount | null> {
  const [row] = await db.query<PhoneRow>(FIND_BY_USER, [userId]);
  return row ? toAccount(row) : null;
}

const INSERT_PHONE = `INSERT INTO phone_accounts (phone, user_id, registered_at) VALUES ($1, $2, $3)
  ON CONFLICT (phone) DO NOTHING RETURNING phone`;
/**
 * The number's row, made with `userId` unless it exists: `created` says this call made it. Two
 * calls at once for a new number make one row; the other reads it.
 */
export async function phoneAccountOrCreate(
  db: Queryable,
  phone: string,
  userId: string,
  registeredAt: Date | null,
): Promise<{ account: PhoneAccount; created: boolean }> {
  const created = (await db.query(INSERT_PHONE, [phone, userId, registeredAt])).length > 0;
  const account = await findPhoneAccount(db, phone);
  if (!account) throw new Error(`phone_accounts row of ${phone} vanished`);
  return { account, created };
}

const MARK_REGISTERED = "UPDATE phone_accounts SET registered_at = now() WHERE phone = $1 AND registered_at IS NULL RETURNING user_id";
/** Sets the number as signed up; false when someone signed up with it already. */
export async function markPhoneRegistered(db: Queryable, phone: string): Promise<boolean> {
  return (await db.query(MARK_REGISTERED, [phone])).length > 0;
}

const CHANGE_PHONE = `UPDATE phone_accounts SET phone = $2 WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM phone_accounts WHERE phone = $2)
  RETURNING phone`;
/** Moves the user's account to another number; false when that number has a row (signed up or named by orders). */
export async function changePhone(db: Queryable, userId: string, phone: string): Promise<boolean> {
  try {
    return (await db.query(CHANGE_PHONE, [userId, phone])).length > 0;
  } catch (error) {
    // Two changes to one new number at once: the unique key refuses the second.
    if ((error as { code?: string }).code === "23505") return false;
    throw error;
  }
}

/** What the sending limits count for one number, one client address and the whole deployment. */
export interface SendCounts {
  /** Seconds since the number's last code, or null if it had none in the last day. */
  sinceLastSeconds: number | null;
  phoneHour: number;
  phoneDay: number;
  /** The number's codes asked for from this address (so that one address cannot use up a number's allowance). */
  phoneIpHour: number;
  phoneIpDay: number;
  ipHour: number;
  ipDay: number;
  /** Codes sent since midnight UTC, to everyone. */
  today: number;
  /** Seconds until each window's oldest code leaves it (0 for an empty window). */
  waits: { phoneHour: number; phoneDay: number; phoneIpHour: number; phoneIpDay: number; ipHour: number; ipDay: number };
}

// One lock for every code request of every process: the counts and the insert are then one step,
// so concurrent requests cannot all pass a limit. Codes cost money and come slowly; a request holds
// it for a few statements.
const SEND_LOCK = 7_236_843;
const LOCK = "SELECT pg_advisory_xact_lock($1)";
const HOUR = "created_at > now() - interval '1 hour'";
const HOUR_WAIT = "EXTRACT(EPOCH FROM (min(created_at) + interval '1 hour' - now()))";
const DAY_WAIT = "EXTRACT(EPOCH FROM (min(created_at) + interval '1 day' - now()))";
// Each window's count, and how long until its oldest code leaves it (the wait a refusal names).
const COUNTS = `WITH mine AS (SELECT created_at, ip = $2 AS same_ip FROM phone_codes WHERE phone = $1 AND created_at > now() - interval '1 day'),
    theirs AS (SELECT created_at FROM phone_codes WHERE ip = $2 AND created_at > now() - interval '1 day')
  SELECT
    (SELECT EXTRACT(EPOCH FROM (now() - max(created_at))) FROM mine) AS since_last,
    (SELECT count(*) FROM mine WHERE ${HOUR}) AS phone_hour,
    (SELECT ${HOUR_WAIT} FROM mine WHERE ${HOUR}) AS phone_hour_wait,
    (SELECT count(*) FROM mine) AS phone_day,
    (SELECT ${DAY_WAIT} FROM mine) AS phone_day_wait,
    (SELECT count(*) FROM mine WHERE same_ip AND ${HOUR}) AS phone_ip_hour,
    (SELECT ${HOUR_WAIT} FROM mine WHERE same_ip AND ${HOUR}) AS phone_ip_hour_wait,
    (SELECT count(*) FROM mine WHERE same_ip) AS phone_ip_day,
    (SELECT ${DAY_WAIT} FROM mine WHERE same_ip) AS phone_ip_day_wait,
    (SELECT count(*) FROM theirs WHERE ${HOUR}) AS ip_hour,
    (SELECT ${HOUR_WAIT} FROM theirs WHERE ${HOUR}) AS ip_hour_wait,
    (SELECT count(*) FROM theirs) AS ip_day,
    (SELECT ${DAY_WAIT} FROM theirs) AS ip_day_wait,
    (SELECT count(*) FROM phone_codes WHERE created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS today`;
// Rows older than two days no longer count for any limit.
const PRUNE = "DELETE FROM phone_codes WHERE created_at < now() - interval '2 days'";

const seconds = (value: string | number | null) => (value === null ? 0 : Math.max(1, Math.ceil(Number(value))));

/** Takes the sending lock for the transaction, forgets codes too old to count, and counts. */
export async function lockAndCountSends(tx: Queryable, phone: string, ip: string): Promise<SendCounts> {
  await tx.query(LOCK, [SEND_LOCK]);
  await tx.query(PRUNE);
  return countSends(tx, phone, ip);
}

/**
 * The counts without the lock: a request they refuse already is refused without waiting for it
 * (a flood of refused requests then costs one statement each); one they let through counts again
 * under the lock.
 */
export async function countSends(db: Queryable, phone: string, ip: string): Promise<SendCounts> {
  const [r] = await db.query<Record<string, string | number | null>>(COUNTS, [phone, ip]);
  return {
    // A code inserted while this transaction waited for the lock has a created_at (the clock's) after this one's now().
    sinceLastSeconds: r.since_last === null ? null : Math.max(0, Number(r.since_last)),
    phoneHour: Number(r.phone_hour),
    phoneDay: Number(r.phone_day),
    phoneIpHour: Number(r.phone_ip_hour),
    phoneIpDay: Number(r.phone_ip_day),
    ipHour: Number(r.ip_hour),
    ipDay: Number(r.ip_day),
    today: Number(r.today),
    waits: {
      phoneHour: seconds(r.phone_hour_wait),
      phoneDay: seconds(r.phone_day_wait),
      phoneIpHour: seconds(r.phone_ip_hour_wait),
      phoneIpDay: seconds(r.phone_ip_day_wait),
      ipHour: seconds(r.ip_hour_wait),
      ipDay: seconds(r.ip_day_wait),
    },
  };
}

// A new code voids the number's earlier ones for the same purpose: only the last one sent works.
const VOID_EARLIER =
  "UPDATE phone_codes SET expires_at = now() WHERE phone = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()";
const INSERT_CODE = `INSERT INTO phone_codes (phone, purpose, code_hash, ip, expires_at)
  VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING id`;
export async function insertCode(
  tx: Queryable,
  c: { phone: string; purpose: string; codeHash: string; ip: string; validSeconds: number },
): Promise<string> {
  await tx.query(VOID_EARLIER, [c.phone, c.purpose]);
  const [row] = await tx.query<{ id: string | number }>(INSERT_CODE, [c.phone, c.purpose, c.codeHash, c.ip, c.validSeconds]);
  return String(row.id);
}

const VOID_CODE = "UPDATE phone_codes SET expires_at = now() WHERE id = $1";
/** A code that never reached the phone (the provider refused it) can no longer be used; it still counts. */
export async function voidCode(db: Queryable, id: string): Promise<void> {
  await db.query(VOID_CODE, [id]);
}

const RESERVE_TRY = `UPDATE phone_codes SET attempts = attempts + 1
  WHERE id = (SELECT id FROM phone_codes WHERE phone = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() ORDER BY id DESC LIMIT 1)
    AND attempts < $3 AND used_at IS NULL AND expires_at > now()
  RETURNING id, code_hash`;
/**
 * Counts a try of the number's live code for `purpose` before it is compared, in one statement, so
 * concurrent tries cannot pass `maxTries` between them; null when there is no live code, or it had
 * its tries.
 */
export async function reserveCodeTry(
  db: Queryable,
  phone: string,
  purpose: string,
  maxTries: number,
): Promise<{ id: string; codeHash: string } | null> {
  const [row] = await db.query<{ id: string | number; code_hash: string }>(RESERVE_TRY, [phone, purpose, maxTries]);
  return row ? { id: String(row.id), codeHash: row.code_hash } : null;
}

const USE_CODE = "UPDATE phone_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING id";
/** Marks the code used, in the transaction of what it allows; false when another request used it first. */
export async function useCode(tx: Queryable, id: string): Promise<boolean> {
  return (await tx.query(USE_CODE, [id])).length > 0;
}
