/**
 * Users: registration (by the operator or a shop, for a user id of the ecosystem), sessions, the
 * payment password, and what a user reads of their custodial account.
 */
import { ZeroAddress, ZeroHash, getAddress } from "ethers";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { DOMAIN_NAMES, LINK_TYPES } from "../adapters/chain/typed-data";
import type { Queryable } from "../adapters/db/db";
import { operationsOfAccount } from "../adapters/db/operations";
import { phoneOfUser } from "../adapters/db/phones";
import {
  claimUserOrigin,
  clearLoginFailures,
  findUser,
  findUserByAccount,
  insertSession,
  insertUser,
  otherShopsWithOrders,
  reserveLoginAttempt,
  revokeSession,
  setPaymentHash,
  userOrigin,
} from "../adapters/db/users";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { hashPassword, newSessionToken, tokenHash, verifyPassword } from "./credentials";
import { operationView, queueRegistration } from "./operations";

export const SESSION_HOURS = 12;
// Compared against when the user id is unknown, so a wrong id costs the same time as a wrong password.
const DUMMY_HASH = hashPassword("not a password of anyone");

/**
 * A shop registers only users it made: a user id nobody named yet, or one only its own orders named.
 * Another shop's or the operator's user, or one whose points other shops' orders paid for, would
 * hand value the shop does not own to whoever it sets the passwords for. In the registration's
 * transaction the origin is claimed first: a first order of another shop at the same moment then
 * either made the id already (and is seen here) or waits on this claim and lands after it.
 */
async function claimOwnUser(db: Queryable, shopId: string, userId: string): Promise<void> {
  await claimUserOrigin(db, userId, shopId);
  await refuseOthersUser(db, shopId, userId);
}

/** NOT_YOUR_USER when another shop or the operator made the id, or other shops' orders paid points to it. */
async function refuseOthersUser(db: Queryable, shopId: string, userId: string): Promise<void> {
  const origin = await userOrigin(db, userId);
  if (origin && origin.shopId !== shopId)
    throw new AppError(
      "NOT_YOUR_USER",
      `user ${userId} was made by ${origin.shopId ? "another shop" : "the operator"}; the operator registers it`,
      { userId },
    );
  const others = await otherShopsWithOrders(db, userId, shopId);
  if (others.length > 0)
    throw new AppError("NOT_YOUR_USER", `other shops' orders paid points to user ${userId}; the operator registers it`, { userId });
}

/**
 * A user id of a phone number belongs to whoever owns the number, who signs up with a code; nobody
 * else sets its password, not even the operator (who would then hold a shopper's account).
 */
async function refusePhoneUser(db: Queryable, userId: string): Promise<void> {
  if (await phoneOfUser(db, userId))
    throw new AppError("NOT_YOUR_USER", `user ${userId} is a phone number's account; its owner signs up by phone`, { userId });
}

export type Registration = { userId: string; password: string; paymentPassword?: string; referrerId?: string };
export interface RegistrationHashes {
  passwordHash: string;
  paymentHash: string | null;
}

/**
 * The slow part of a registration, done before its transaction opens: argon2id takes tens of
 * milliseconds. A shop refused now costs no hashing; `registerUser` checks again.
 */
export async function prepareRegistration(db: Queryable, shopId: string | null, body: Registration): Promise<RegistrationHashes> {
  await refusePhoneUser(db, body.userId);
  if (shopId) await refuseOthersUser(db, shopId, body.userId);
  return {
    passwordHash: await hashPassword(body.password),
    paymentHash: body.paymentPassword ? await hashPassword(body.paymentPassword) : null,
  };
}

/** Records the user (by `shopId`, or the operator when null) and queues their account's registration on the chain. */
export async function registerUser(db: Queryable, userSalt: string, shopId: string | null, body: Registration, hashes: RegistrationHashes) {
  if (body.referrerId === body.userId) throw new AppError("VALIDATION_FAILED", "a user cannot refer themselves", { field: "referrerId" });
  if (body.referrerId && !(await findUser(db, body.referrerId))) throw new AppError("NOT_FOUND", `no registered user ${body.referrerId}`);
  await refusePhoneUser(db, body.userId);
  if (shopId) await claimOwnUser(db, shopId, body.userId);
  else await claimUserOrigin(db, body.userId, null);
  const account = custodialUserId(userSalt, body.userId);
  const inserted = await insertUser(db, { userId: body.userId, account, ...hashes });
  if (!inserted) throw new AppError("NAME_TAKEN", `user ${body.userId} is registered already`);
  const op = await queueRegistration(db, {
    actor: shopId ? `shop:${shopId}` : "admin",
    userId: body.userId,
    account,
    referrerId: body.referrerId,
    referrer: body.referrerId ? custodialUserId(userSalt, body.referrerId) : undefined,
  });
  return { userId: body.userId, account, operation: operationView(op) };
}

export const LOGIN_ATTEMPTS = 10;
export const LOGIN_LOCK_SECONDS = 15 * 60;
const BAD_LOGIN =
  "wrong account or password (a phone account's password logins wait 15 minutes after 10 failures; an SMS code still logs in)";

/** A new session of the user, valid SESSION_HOURS hours. */
export async function openSession(db: Queryable, userId: string, now = Date.now()) {
  const token = newSessionToken();
  const expiresAt = new Date(now + SESSION_HOURS * 3_600_000);
  await insertSession(db, tokenHash(token), userId, expiresAt);
  return { token, userId, expiresAt: expiresAt.toISOString() };
}

/**
 * A session for the user (found by user id or by phone) and password. For an account with a phone,
 * ten failures in a row lock password logins for fifteen minutes, counted before the check as the
 * payment password's are; its owner still logs in by SMS code, which clears the lock. An account
 * without one (made by a shop or the operator) has no way back in but its password, so it is held
 * by the per-address limiter alone: a lock there would let anyone lock it out for good. The answer
 * is the same for an unknown account, a wrong password and a lock, and takes the same argon2id
 * time, so it tells nobody which accounts exist.
 */
export async function logInWithPassword(
  db: Queryable,
  user: { userId: string; passwordHash: string } | null,
  password: string,
  hasPhone?: boolean,
) {
  const locks = user !== null && (hasPhone ?? Boolean((await phoneOfUser(db, user.userId))?.registeredAt));
  if (!user || (locks && !(await reserveLoginAttempt(db, user.userId, LOGIN_ATTEMPTS, LOGIN_LOCK_SECONDS)))) {
    await verifyPassword(await DUMMY_HASH, password);
    throw new AppError("BAD_CREDENTIALS", BAD_LOGIN);
  }
  if (!(await verifyPassword(user.passwordHash, password))) throw new AppError("BAD_CREDENTIALS", BAD_LOGIN);
  if (locks) await clearLoginFailures(db, user.userId);
  return openSession(db, user.userId);
}

/** A session for the user id and password. */
export const logIn = async (db: Queryable, userId: string, password: string) => logInWithPassword(db, await findUser(db, userId), password);

export const logOut = (db: Queryable, sessionHash: string) => revokeSession(db, sessionHash);

export async function setPaymentPassword(db: Queryable, userId: string, paymentPassword: string): Promise<void> {
  await setPaymentHash(db, userId, await hashPassword(paymentPassword));
}

/** A user's custodial account, read from the chain: `redeemableNow` is what redeeming every GP would pay now, after the exit fee. */
export async function readUserAccount(chain: ChainPort, db: Queryable, userId: string, account: string) {
  const d = chain.deployments.settlementDecimals;
  const [a, user, phone] = await Promise.all([chain.custody.accountOf(account), findUser(db, userId), phoneOfUser(db, userId)]);
  const payout = a.points > 0n ? (await chain.pool.previewRedeem(a.points)).payout : 0n;
  const referrer = a.referrer === ZeroHash ? null : await findUserByAccount(db, a.referrer);
  return {
    userId,
    account,
    points: formatAmount(a.points, 18),
    constantPoints: formatAmount(a.constantPoints, d),
    settlement: formatAmount(a.settlement, d),
    redeemableNow: formatAmount(payout, d),
    original: a.original === ZeroAddress ? null : a.original,
    referrerId: referrer?.userId ?? null,
    registeredOnChain: a.index !== 0n,
    paymentPasswordSet: Boolean(user?.paymentHash),
    phone: phone?.registeredAt ? phone.phone : null,
    pendingOrders: await pendingOrdersOf(chain, db, userId),
  };
}

/** The user's orders held for their shop's pending window: when each is sent and the GP it would credit at today's price. */
async function pendingOrdersOf(chain: ChainPort, db: Queryable, userId: string) {
  const d = chain.deployments.settlementDecimals;
  const rows = await db.query<{ shop_id: string; order_id: string; amount: string; refunded: string; release_at: string | number }>(
    `SELECT shop_id, order_id, amount::text AS amount, refunded::text AS refunded, release_at FROM orders
     WHERE user_id = $1 AND state = 'pending' ORDER BY release_at, shop_id, order_id LIMIT 100`,
    [userId],
  );
  const out = [];
  for (const r of rows) {
    const left = BigInt(r.amount) - BigInt(r.refunded);
    out.push({
      shopId: r.shop_id,
      orderId: r.order_id,
      amount: formatAmount(left, d),
      releaseAt: new Date(Number(r.release_at) * 1000).toISOString(),
      estimate: formatAmount((await chain.pool.previewOrder(left)).points_, 18),
    });
  }
  return out;
}

/** The EIP-712 `Link` request the owner of `address` signs to link it to `account`; the deadline an hour from now unless given. */
export async function linkRequest(chain: ChainPort, account: string, address: string, deadline?: string, nowMs = Date.now()) {
  const checksummed = getAddress(address);
  const until = deadline ?? String(Math.floor(nowMs / 1000) + 3600);
  const nonce = await chain.custody.nonces(checksummed);
  return {
    domain: { name: DOMAIN_NAMES.custody, version: "1", chainId: chain.deployments.chainId, verifyingContract: chain.deployments.custody },
    types: LINK_TYPES,
    primaryType: "Link",
    message: { user: account, account: checksummed, nonce: nonce.toString(), deadline: until },
  };
}

/** The operations that debit or credit an account, oldest first, as the API shows them. */
export async function operationsOf(db: Queryable, account: string, limit: number) {
  return { operations: (await operationsOfAccount(db, account, { limit })).map(operationView) };
}
