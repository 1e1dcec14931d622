/**
 * Staff accounts: operators (the console) and merchants' owners and staff (the merchant portal),
 * who log in with a login id and a password. Failed passwords are counted and locked as a
 * shopper's phone account's are (ten in a row lock the account for fifteen minutes, counted
 * before the check), besides the per-address limiter in front of the log-in. A session is a
 * random token kept as a hash, `gpo_…` for an operator and `gpm_…` for merchant staff, so the
 * authenticator knows from the prefix which kind of caller it may become. Disabling an account
 * or changing its password ends its sessions (all, or all but the one that changed it).
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../adapters/db/db";
import { findMerchant } from "../adapters/db/merchants";
import {
  type StaffRecord,
  anyOperator,
  type StaffRole,
  clearStaffFailures,
  disableStaff,
  findStaff,
  findStaffByLogin,
  insertFirstOperator,
  insertStaff,
  insertStaffSession,
  listMerchantStaff,
  listOperators,
  reserveStaffAttempt,
  revokeStaffSessions,
  setStaffPassword,
  staffLockedUntil,
  staffSessionExpiry,
} from "../adapters/db/staff";
import { AppError } from "../errors";
import { recordAction } from "./audit";
import { hashPassword, tokenHash, verifyPassword } from "./credentials";
import { LOGIN_ATTEMPTS, LOGIN_LOCK_SECONDS } from "./users";

export const STAFF_SESSION_HOURS = 12;
/** The login of the operator made at the first start. */
export const FIRST_OPERATOR_LOGIN = "admin";
// Compared against when the login is unknown, so a wrong login costs the same time as a wrong password.
const DUMMY_HASH = hashPassword("not a password of any staff");
const BAD_LOGIN = `wrong login or password (an account is locked for ${LOGIN_LOCK_SECONDS / 60} minutes after ${LOGIN_ATTEMPTS} failures)`;

export const newStaffId = () => `stf_${randomBytes(6).toString("hex")}`;
/** The session token of a role: the prefix says which kind of caller it authenticates as. */
export const newStaffToken = (role: StaffRole) => `${role === "operator" ? "gpo" : "gpm"}_${randomBytes(24).toString("hex")}`;

export function staffView(s: StaffRecord) {
  return {
    staffId: s.id,
    login: s.login,
    role: s.role,
    merchantId: s.merchantId,
    createdAt: s.createdAt.toISOString(),
    disabledAt: s.disabledAt?.toISOString() ?? null,
  };
}

function sessionView(s: StaffRecord, expiresAt: Date) {
  return {
    kind: s.role === "operator" ? ("operator" as const) : ("merchant" as const),
    staffId: s.id,
    login: s.login,
    role: s.role,
    merchantId: s.merchantId,
    expiresAt: expiresAt.toISOString(),
  };
}

const locked = (until: Date | null) =>
  new AppError(
    "PASSWORD_LOCKED",
    `the account is locked after ${LOGIN_ATTEMPTS} wrong passwords`,
    until ? { lockedUntil: until.toISOString() } : undefined,
  );

/**
 * Checks an account's password, counting the attempt first (committed at once: the caller's
 * `db` is not a transaction a refusal rolls back). BAD_CREDENTIALS, or PASSWORD_LOCKED once
 * locked, whatever the password.
 */
async function checkStaffPassword(db: Queryable, s: StaffRecord, password: string): Promise<void> {
  const attempt = await reserveStaffAttempt(db, s.id, LOGIN_ATTEMPTS, LOGIN_LOCK_SECONDS);
  if (!attempt) throw locked(await staffLockedUntil(db, s.id));
  if (await verifyPassword(s.passwordHash, password)) {
    await clearStaffFailures(db, s.id);
    return;
  }
  if (attempt.lockedUntil) throw locked(attempt.lockedUntil);
  throw new AppError("BAD_CREDENTIALS", BAD_LOGIN);
}

/** A session for the login and password; an unknown or disabled login answers as a wrong password does, in the same time. */
export async function staffLogIn(db: Queryable, login: string, password: string, now = Date.now()) {
  const s = await findStaffByLogin(db, login);
  if (!s || s.disabledAt) {
    await verifyPassword(await DUMMY_HASH, password);
    throw new AppError("BAD_CREDENTIALS", BAD_LOGIN);
  }
  await checkStaffPassword(db, s, password);
  const token = newStaffToken(s.role);
  const expiresAt = new Date(now + STAFF_SESSION_HOURS * 3_600_000);
  await insertStaffSession(db, tokenHash(token), s.id, expiresAt);
  return { ...sessionView(s, expiresAt), token };
}

/** The account of a live session (the authenticator found it live), with the session's expiry. */
export async function staffMe(db: Queryable, staffId: string, sessionHash: string) {
  const s = await findStaff(db, staffId);
  const expiresAt = await staffSessionExpiry(db, sessionHash);
  if (!s || !expiresAt) throw new AppError("UNAUTHORIZED", "the session has ended; log in again");
  return sessionView(s, expiresAt);
}

/** Changes the password after checking the current one (failures count towards the lock); ends the account's other sessions. */
export async function changeStaffPassword(
  db: Db,
  staffId: string,
  sessionHash: string,
  body: { currentPassword: string; newPassword: string },
): Promise<{ sessionsEnded: number }> {
  const s = await findStaff(db, staffId);
  if (!s || s.disabledAt) throw new AppError("UNAUTHORIZED", "the session has ended; log in again");
  await checkStaffPassword(db, s, body.currentPassword);
  const hash = await hashPassword(body.newPassword);
  return db.transaction(async (tx) => {
    await setStaffPassword(tx, staffId, hash);
    return { sessionsEnded: await revokeStaffSessions(tx, staffId, sessionHash) };
  });
}

export interface NewStaffAccount {
  login: string;
  role: StaffRole;
  /** An owner's or staff's merchant; null for an operator. */
  merchantId: string | null;
}

/**
 * Makes an account (its password hashed beforehand: `hashPassword`) and records who made it in the
 * audit log, in the caller's transaction. NAME_TAKEN when the login is anyone's, NOT_FOUND for an
 * unknown merchant.
 */
export async function createStaff(db: Queryable, actor: string, a: NewStaffAccount, passwordHash: string) {
  if ((a.role === "operator") !== (a.merchantId === null)) throw new Error("an operator has no merchant; owners and staff have one");
  if (a.merchantId && !(await findMerchant(db, a.merchantId))) throw new AppError("NOT_FOUND", `no merchant ${a.merchantId}`);
  const made = await insertStaff(db, { id: newStaffId(), ...a, passwordHash, createdBy: actor });
  if (!made) throw new AppError("NAME_TAKEN", `the login ${a.login} is taken`, { login: a.login });
  await recordAction(db, actor, "staff-created", `staff:${made.id}`, { login: made.login, role: made.role, merchantId: made.merchantId });
  return staffView(made);
}

export const operatorList = async (db: Queryable) => ({ staff: (await listOperators(db)).map(staffView) });

export async function merchantStaffList(db: Queryable, merchantId: string) {
  if (!(await findMerchant(db, merchantId))) throw new AppError("NOT_FOUND", `no merchant ${merchantId}`);
  return { staff: (await listMerchantStaff(db, merchantId)).map(staffView) };
}

/**
 * Disables an account and ends its sessions, in the caller's transaction; `merchantId` confines it
 * to that merchant's accounts (an owner's call), whose others answer NOT_FOUND as unknown ones do.
 * Disabling it again answers the same.
 */
export async function disableStaffAccount(db: Queryable, actor: string, staffId: string, merchantId?: string) {
  const s = await findStaff(db, staffId);
  if (!s || (merchantId !== undefined && s.merchantId !== merchantId)) throw new AppError("NOT_FOUND", `no staff ${staffId}`);
  const disabled = await disableStaff(db, staffId);
  const sessionsEnded = await revokeStaffSessions(db, staffId);
  if (disabled)
    await recordAction(db, actor, "staff-disabled", `staff:${staffId}`, {
      login: s.login,
      role: s.role,
      merchantId: s.merchantId,
      sessionsEnded,
    });
  return staffView(disabled ?? s);
}

/**
 * The first start's operator: made when the deployment has none, login `admin` and a random
 * password returned to be printed once (only its hash is kept). Null when an operator exists:
 * later starts, and all but one of several relayers starting on one database.
 */
export async function ensureFirstOperator(db: Db): Promise<{ login: string; password: string } | null> {
  if (await anyOperator(db)) return null;
  const password = randomBytes(12).toString("base64url");
  const passwordHash = await hashPassword(password);
  const made = await db.transaction((tx) => insertFirstOperator(tx, { id: newStaffId(), login: FIRST_OPERATOR_LOGIN, passwordHash }));
  return made ? { login: made.login, password } : null;
}
