/**
 * Shoppers' own accounts by phone number (手机号既是账号): one number, one user id, across every
 * shop. A shop's order may name the number before its owner signs up: the number then gets a user
 * id at once and the points wait there; signing up with a code sent to the number makes that same
 * account the owner's. Every change here needs a code sent to the number it concerns (both numbers
 * for a change of number), so only the number's owner can make it.
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../adapters/db/db";
import { custodialUserId } from "../adapters/chain/ids";
import { changePhone, findPhoneAccount, markPhoneRegistered, phoneAccountOrCreate, phoneOfUser } from "../adapters/db/phones";
import {
  claimUserOrigin,
  clearLoginFailures,
  findUser,
  insertUser,
  revokeUserSessions,
  setPasswordHash,
  setPaymentHash,
} from "../adapters/db/users";
import { AppError } from "../errors";
import { operationView, queueRegistration } from "./operations";
import type { PhoneCodes } from "./phone-codes";
import { hashPassword } from "./credentials";
import { logInWithPassword, openSession } from "./users";
import { referrerOfCode } from "./referrals";

/** A phone number's user id: random, so it says nothing about the number and nobody can take it ahead. */
const newPhoneUserId = () => `ph_${randomBytes(10).toString("hex")}`;

/**
 * The user id of a number, made now if the number had none (`created`), in the caller's
 * transaction. Its origin is the platform's, not the shop's: no shop may register it and set its
 * password (users.ts), whoever's order named it first.
 */
export async function userIdOfPhone(tx: Queryable, phone: string): Promise<{ userId: string; created: boolean }> {
  const { account, created } = await phoneAccountOrCreate(tx, phone, newPhoneUserId(), null);
  if (created) await claimUserOrigin(tx, account.userId, null);
  return { userId: account.userId, created };
}

export interface PhoneAccountDeps {
  db: Db;
  codes: PhoneCodes;
  userSalt: string;
}

export interface SignUp {
  phone: string;
  code: string;
  password: string;
  paymentPassword?: string;
  /** Another user's referral code: that user becomes the referrer. */
  referralCode?: string;
}

/** The phone of a signed-up user, or FORBIDDEN for an account made by a shop or the operator (it has none). */
async function ownPhone(db: Queryable, userId: string): Promise<string> {
  const phone = await phoneOfUser(db, userId);
  if (!phone?.registeredAt)
    throw new AppError("FORBIDDEN", "this account has no phone number (it was registered by a shop or the operator)");
  return phone.phone;
}

export function phoneAccounts(deps: PhoneAccountDeps) {
  const { db, codes } = deps;
  return {
    /** The slow and the counted part of a sign-up, before its transaction: the code's try and the password hashes. */
    async prepareSignUp(body: SignUp) {
      const codeId = await codes.check(body.phone, "signup", body.code);
      return {
        codeId,
        passwordHash: await hashPassword(body.password),
        paymentHash: body.paymentPassword ? await hashPassword(body.paymentPassword) : null,
      };
    },

    /**
     * Signs the number up: its account (the one shops' orders made for it, or a new one) gets the
     * passwords, its registration is queued on the chain, and a session is opened. PHONE_TAKEN when
     * the number has signed up before; only the number's owner, who has the code, learns that.
     */
    signUp: (body: SignUp, prepared: { codeId: string; passwordHash: string; paymentHash: string | null }) =>
      db.transaction(async (tx) => {
        await codes.use(tx, prepared.codeId);
        const { userId } = await userIdOfPhone(tx, body.phone);
        const account = custodialUserId(deps.userSalt, userId);
        const taken = () => new AppError("PHONE_TAKEN", "this number has an account already; log in, or reset the password by SMS code");
        if (!(await markPhoneRegistered(tx, body.phone))) throw taken();
        if (!(await insertUser(tx, { userId, account, passwordHash: prepared.passwordHash, paymentHash: prepared.paymentHash })))
          throw taken();
        const referrerId = body.referralCode ? await referrerOfCode(tx, body.referralCode) : undefined;
        if (referrerId === userId) throw new AppError("VALIDATION_FAILED", "a user cannot refer themselves", { field: "referralCode" });
        const op = await queueRegistration(tx, {
          actor: `user:${userId}`,
          userId,
          account,
          referrerId,
          referrer: referrerId ? custodialUserId(deps.userSalt, referrerId) : undefined,
        });
        return { ...(await openSession(tx, userId)), account, phone: body.phone, operation: operationView(op) };
      }),

    /** Phone and password; the same refusal for an unknown number, a wrong password and a lock. */
    async logInWithPassword(phone: string, password: string) {
      const found = await findPhoneAccount(db, phone);
      const user = found?.registeredAt ? await findUser(db, found.userId) : null;
      // Found by its phone: the account has one, so it locks after repeated failures.
      return logInWithPassword(db, user, password, true);
    },

    async prepareCodeLogin(phone: string, code: string) {
      return codes.check(phone, "login", code);
    },

    /** Phone and a login code: a session, and the password logins' failures cleared. */
    logInWithCode: (phone: string, codeId: string) =>
      db.transaction(async (tx) => {
        await codes.use(tx, codeId);
        const found = await findPhoneAccount(tx, phone);
        if (!found?.registeredAt) throw new AppError("NOT_FOUND", "this number has no account yet; sign up with a sign-up code");
        await clearLoginFailures(tx, found.userId);
        return openSession(tx, found.userId);
      }),

    async prepareReset(phone: string, code: string, password: string) {
      return { codeId: await codes.check(phone, "reset-password", code), passwordHash: await hashPassword(password) };
    },

    /** A new login password by SMS code: every session of the account ends, and password logins are unlocked. */
    resetPassword: (phone: string, prepared: { codeId: string; passwordHash: string }) =>
      db.transaction(async (tx) => {
        await codes.use(tx, prepared.codeId);
        const found = await findPhoneAccount(tx, phone);
        if (!found?.registeredAt) throw new AppError("NOT_FOUND", "this number has no account yet; sign up with a sign-up code");
        await setPasswordHash(tx, found.userId, prepared.passwordHash);
        const sessionsEnded = await revokeUserSessions(tx, found.userId);
        return { passwordReset: true as const, sessionsEnded };
      }),

    async preparePaymentReset(userId: string, code: string, paymentPassword: string) {
      const phone = await ownPhone(db, userId);
      return { codeId: await codes.check(phone, "reset-payment-password", code), paymentHash: await hashPassword(paymentPassword) };
    },

    /** A new payment password by a code sent to the account's own number; its lock is cleared. */
    resetPaymentPassword: (userId: string, prepared: { codeId: string; paymentHash: string }) =>
      db.transaction(async (tx) => {
        await codes.use(tx, prepared.codeId);
        await setPaymentHash(tx, userId, prepared.paymentHash);
        return { paymentPasswordSet: true as const };
      }),

    async preparePhoneChange(userId: string, body: { oldCode: string; phone: string; newCode: string }) {
      const current = await ownPhone(db, userId);
      if (current === body.phone) throw new AppError("VALIDATION_FAILED", "the new number is the account's number", { field: "phone" });
      return {
        oldCodeId: await codes.check(current, "phone-change-old", body.oldCode, "oldCode"),
        newCodeId: await codes.check(body.phone, "phone-change-new", body.newCode, "newCode"),
      };
    },

    /**
     * Moves the account to another number, with a code to each. The old number is then free: a
     * shop's later order for it makes a new account. PHONE_TAKEN when the new number has an account,
     * or points waiting from shops' orders (those belong to that number's owner).
     */
    changePhone: (userId: string, sessionHash: string, phone: string, prepared: { oldCodeId: string; newCodeId: string }) =>
      db.transaction(async (tx) => {
        await codes.use(tx, prepared.oldCodeId, "oldCode");
        await codes.use(tx, prepared.newCodeId, "newCode");
        if (!(await changePhone(tx, userId, phone)))
          throw new AppError("PHONE_TAKEN", "the new number has an account, or shops' orders named it; sign up with it instead");
        // Whoever else was logged in (through the old number, say) is logged out; this session stays.
        const sessionsEnded = await revokeUserSessions(tx, userId, sessionHash);
        return { phone, sessionsEnded };
      }),
  };
}

export type PhoneAccounts = ReturnType<typeof phoneAccounts>;
