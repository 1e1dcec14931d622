/**
 * Staff accounts and their sessions (all their SQL): operators, and merchants' owners and staff.
 * Passwords are argon2id hashes and session tokens SHA-256 hashes (services/credentials.ts).
 */
import type { Queryable } from "./db";

export type StaffRole = "operator" | "owner" | "staff";

export interface StaffRecord {
  id: string;
  login: string;
  role: StaffRole;
  /** The merchant of an owner or staff; null for an operator. */
  merchantId: string | null;
  passwordHash: string;
  createdBy: string;
  createdAt: Date;
  disabledAt: Date | null;
}

interface StaffRow {
  id: string;
  login: string;
  role: StaffRole;
  merchant_id: string | null;
  password_hash: string;
  created_by: string;
  created_at: Date | string;
  disabled_at: Date | string | null;
}

const toRecord = (r: StaffRow): StaffRecord => ({
  id: r.id,
  login: r.login,
  role: r.role,
  merchantId: r.merchant_id,
  passwordHash: r.password_hash,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  disabledAt: r.disabled_at === null ? null : new Date(r.disabled_at),
});

const COLUMNS = "id, login, role, merchant_id, password_hash, created_by, created_at, disabled_at";

export type NewStaff = Pick<StaffRecord, "id" | "login" | "role" | "merchantId" | "passwordHash" | "createdBy">;

const INSERT = `INSERT INTO staff (id, login, role, merchant_id, password_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (login) DO NOTHING RETURNING ${COLUMNS}`;
/** Null when the login is taken (by anyone, disabled or not: a login never changes hands). */
export async function insertStaff(db: Queryable, s: NewStaff): Promise<StaffRecord | null> {
  const [row] = await db.query<StaffRow>(INSERT, [s.id, s.login, s.role, s.merchantId, s.passwordHash, s.createdBy]);
  return row ? toRecord(row) : null;
}

const FIRST_OPERATOR_LOCK = 7_236_843;
const INSERT_FIRST_OPERATOR = `INSERT INTO staff (id, login, role, merchant_id, password_hash, created_by)
  SELECT $1, $2, 'operator', NULL, $3, 'first-start' WHERE NOT EXISTS (SELECT 1 FROM staff WHERE role = 'operator')
  ON CONFLICT (login) DO NOTHING RETURNING ${COLUMNS}`;
/**
 * Makes the operator when there is none, in the caller's transaction, under an advisory lock:
 * relayers starting together on one PostgreSQL make one. Null when an operator exists.
 */
export async function insertFirstOperator(db: Queryable, s: Pick<NewStaff, "id" | "login" | "passwordHash">): Promise<StaffRecord | null> {
  await db.query("SELECT pg_advisory_xact_lock($1)", [FIRST_OPERATOR_LOCK]);
  const [row] = await db.query<StaffRow>(INSERT_FIRST_OPERATOR, [s.id, s.login, s.passwordHash]);
  return row ? toRecord(row) : null;
}

const ANY_OPERATOR = "SELECT 1 FROM staff WHERE role = 'operator' LIMIT 1";
/** Whether the deployment has an operator (disabled or not). */
export async function anyOperator(db: Queryable): Promise<boolean> {
  return (await db.query(ANY_OPERATOR)).length > 0;
}

const FIND = `SELECT ${COLUMNS} FROM staff WHERE id = $1`;
export async function findStaff(db: Queryable, id: string): Promise<StaffRecord | null> {
  const [row] = await db.query<StaffRow>(FIND, [id]);
  return row ? toRecord(row) : null;
}

const FIND_BY_LOGIN = `SELECT ${COLUMNS} FROM staff WHERE login = $1`;
export async function findStaffByLogin(db: Queryable, login: string): Promise<StaffRecord | null> {
  const [row] = await db.query<StaffRow>(FIND_BY_LOGIN, [login]);
  return row ? toRecord(row) : null;
}

const LIST_OPERATORS = `SELECT ${COLUMNS} FROM staff WHERE role = 'operator' ORDER BY created_at, id`;
export async function listOperators(db: Queryable): Promise<StaffRecord[]> {
  return (await db.query<StaffRow>(LIST_OPERATORS)).map(toRecord);
}

const LIST_OF_MERCHANT = `SELECT ${COLUMNS} FROM staff WHERE merchant_id = $1 ORDER BY created_at, id`;
export async function listMerchantStaff(db: Queryable, merchantId: string): Promise<StaffRecord[]> {
  return (await db.query<StaffRow>(LIST_OF_MERCHANT, [merchantId])).map(toRecord);
}

const DISABLE = `UPDATE staff SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL RETURNING ${COLUMNS}`;
/** Null when it was disabled already. */
export async function disableStaff(db: Queryable, id: string): Promise<StaffRecord | null> {
  const [row] = await db.query<StaffRow>(DISABLE, [id]);
  return row ? toRecord(row) : null;
}

const SET_PASSWORD = "UPDATE staff SET password_hash = $2, login_failures = 0, login_locked_until = NULL WHERE id = $1";
export async function setStaffPassword(db: Queryable, id: string, hash: string): Promise<void> {
  await db.query(SET_PASSWORD, [id, hash]);
}

const RESERVE_LOGIN = `UPDATE staff SET
    login_failures = CASE WHEN login_failures + 1 >= $2 THEN 0 ELSE login_failures + 1 END,
    login_locked_until = CASE WHEN login_failures + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE NULL END
  WHERE id = $1 AND (login_locked_until IS NULL OR login_locked_until <= now())
  RETURNING login_failures, login_locked_until`;
/**
 * Counts a password attempt as a failure before it is checked (as users.ts's `reserveLoginAttempt`
 * does): the `limit`-th since the last lock or success locks the account for `lockSeconds`. Null
 * when it is locked: the attempt gets no check.
 */
export async function reserveStaffAttempt(
  db: Queryable,
  id: string,
  limit: number,
  lockSeconds: number,
): Promise<{ failures: number; lockedUntil: Date | null } | null> {
  const [row] = await db.query<{ login_failures: number; login_locked_until: Date | string | null }>(RESERVE_LOGIN, [
    id,
    limit,
    lockSeconds,
  ]);
  if (!row) return null;
  return { failures: row.login_failures, lockedUntil: row.login_locked_until === null ? null : new Date(row.login_locked_until) };
}

const LOCKED_UNTIL = "SELECT login_locked_until FROM staff WHERE id = $1 AND login_locked_until > now()";
/** When the account's lock ends; null when it is not locked. */
export async function staffLockedUntil(db: Queryable, id: string): Promise<Date | null> {
  const [row] = await db.query<{ login_locked_until: Date | string }>(LOCKED_UNTIL, [id]);
  return row ? new Date(row.login_locked_until) : null;
}

const CLEAR_FAILURES = "UPDATE staff SET login_failures = 0, login_locked_until = NULL WHERE id = $1";
export async function clearStaffFailures(db: Queryable, id: string): Promise<void> {
  await db.query(CLEAR_FAILURES, [id]);
}

const INSERT_SESSION = "INSERT INTO staff_sessions (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)";
export async function insertStaffSession(db: Queryable, tokenHash: string, staffId: string, expiresAt: Date): Promise<void> {
  await db.query(INSERT_SESSION, [tokenHash, staffId, expiresAt]);
}

export interface LiveStaffSession {
  staffId: string;
  role: StaffRole;
  merchantId: string | null;
}

const SESSION_STAFF = `SELECT s.id, s.role, s.merchant_id FROM staff_sessions t JOIN staff s ON s.id = t.staff_id
  WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND s.disabled_at IS NULL`;
/** The staff of a live session of an account not disabled, by the token's hash. */
export async function sessionStaff(db: Queryable, tokenHash: string): Promise<LiveStaffSession | null> {
  const [row] = await db.query<{ id: string; role: StaffRole; merchant_id: string | null }>(SESSION_STAFF, [tokenHash]);
  return row ? { staffId: row.id, role: row.role, merchantId: row.merchant_id } : null;
}

const SESSION_EXPIRY = "SELECT expires_at FROM staff_sessions WHERE token_hash = $1";
export async function staffSessionExpiry(db: Queryable, tokenHash: string): Promise<Date | null> {
  const [row] = await db.query<{ expires_at: Date | string }>(SESSION_EXPIRY, [tokenHash]);
  return row ? new Date(row.expires_at) : null;
}

const REVOKE_SESSION = "UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";
export async function revokeStaffSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query(REVOKE_SESSION, [tokenHash]);
}

const REVOKE_ALL = `UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL
  AND token_hash IS DISTINCT FROM $2 RETURNING token_hash`;
/** Ends every session of the account but `except`; how many ended. */
export async function revokeStaffSessions(db: Queryable, staffId: string, except: string | null = null): Promise<number> {
  return (await db.query(REVOKE_ALL, [staffId, except])).length;
}

const LOGINS = "SELECT id, login FROM staff WHERE id = ANY($1::text[])";
/** The logins of these staff accounts (disabled ones too: the audit log names them), by id. */
export async function loginsOf(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; login: string }>(LOGINS, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, r.login]));
}
