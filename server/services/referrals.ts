/**
 * Referral codes and links: every user has one (made the first time it is asked for); a shopper
 * who signs up with it by phone gets its owner as referrer, on the chain's existing rules (one
 * referrer, registered before, two levels at most; what it pays is the deployment's referralMode).
 */
import { randomInt } from "node:crypto";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { readCustodyParameters } from "../adapters/chain/custody-parameters";
import { REFERRAL_MODES } from "../adapters/chain/deploy";
import { custodialUserId } from "../adapters/chain/ids";
import { orderKey } from "../adapters/chain/order-key";
import type { Queryable } from "../adapters/db/db";
import { firstBlockOfUser } from "../adapters/db/history";
import { referralCodeOf, referredUsers, sentOrdersOf, userOfReferralCode } from "../adapters/db/referrals";
import { formatAmount } from "../domain/display";
import { maskPhone } from "../domain/phones";
import { AppError } from "../errors";

/** Digits and capitals without 0/O, 1/I/L: read aloud or typed from a poster, 31^8 (8.5 * 10^11) codes. */
const ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LENGTH = 8;

export const newReferralCode = () => Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");

/** A referral code as typed: any case, turned into the code's capitals. */
export const ReferralCode = z
  .string()
  .regex(/^[2-9a-hj-km-np-zA-HJ-KM-NP-Z]{8}$/, "must be the 8 letters and digits of a referral code")
  .transform((code) => code.toUpperCase())
  .meta({ description: "A referral code (any case).", example: "7KQ2MZ4X" });

/** The user's code and the link that carries it (absolute when the deployment's public URL is known). */
export async function referralOf(db: Queryable, userId: string, publicUrl: string | null) {
  const code = await referralCodeOf(db, userId, newReferralCode);
  const path = `/wallet?ref=${code}`;
  return { code, link: publicUrl ? new URL(path, publicUrl).toString() : path };
}

/** The user whose code it is; NOT_FOUND otherwise. */
export async function referrerOfCode(db: Queryable, code: string): Promise<string> {
  const userId = await userOfReferralCode(db, code);
  if (!userId) throw new AppError("NOT_FOUND", "no user has this referral code", { field: "referralCode" });
  return userId;
}

/** The referred users listed, newest first, at most. */
export const REFERRALS_LIMIT = 100;

/** A user id as others may see it: its first and last characters, the middle hidden. */
export function maskUserId(userId: string): string {
  const ends = userId.length >= 8 ? 2 : userId.length >= 4 ? 1 : 0;
  return `${userId.slice(0, ends)}${"*".repeat(Math.max(3, userId.length - 2 * ends))}${userId.slice(userId.length - ends)}`;
}

/**
 * The users registered with this user as referrer, newest first (at most REFERRALS_LIMIT), with
 * their phone (E.164, for an account that signed up by phone), its registration's state and the GP
 * its orders credited this user: the custody's `ReferralCredited` events for this account, matched
 * to the referee by their order key. Unmasked: for the operator, and for `referralsOf` to mask.
 */
export async function refereesOf(chain: ChainPort, db: Queryable, userSalt: string, userId: string) {
  const account = custodialUserId(userSalt, userId).toLowerCase();
  const referred = await referredUsers(db, custodialUserId(userSalt, userId), REFERRALS_LIMIT);
  const orders = await sentOrdersOf(
    db,
    referred.map((r) => r.userId),
  );
  const refereeOfOrder = new Map(orders.map((o) => [orderKey(o.sentBy, o.chainOrderId).toLowerCase(), o.userId] as const));
  const earned = new Map<string, bigint>();
  if (orders.length > 0) {
    const fromBlock = (await firstBlockOfUser(db, userId, account)) ?? chain.deployments.deployedAtBlock;
    const credited = await chain.logs({
      address: [chain.deployments.custody],
      topics: [chain.custody.interface.getEvent("ReferralCredited")!.topicHash, null, account],
      fromBlock,
      toBlock: await chain.blockNumber(),
    });
    for (const e of credited) {
      const referee = refereeOfOrder.get(e.args.orderKey);
      if (referee) earned.set(referee, (earned.get(referee) ?? 0n) + BigInt(e.args.points));
    }
  }
  let total = 0n;
  for (const points of earned.values()) total += points;
  const { referralMode } = await readCustodyParameters(chain);
  return {
    mode: REFERRAL_MODES[Number(referralMode)],
    referrals: referred.map((r) => ({
      userId: r.userId,
      phone: r.phone,
      signedUpAt: r.createdAt.toISOString(),
      registration: r.state,
      earned: formatAmount(earned.get(r.userId) ?? 0n, 18),
    })),
    earned: formatAmount(total, 18),
  };
}

/**
 * The users registered with this user as referrer (refereesOf), each shown by a masked phone (or a
 * masked user id, for an account a shop or the operator made): a user sees nothing else of theirs.
 */
export async function referralsOf(chain: ChainPort, db: Queryable, userSalt: string, userId: string) {
  const { mode, referrals, earned } = await refereesOf(chain, db, userSalt, userId);
  return {
    mode,
    referrals: referrals.map((r) => ({
      who: r.phone ? maskPhone(r.phone) : maskUserId(r.userId),
      signedUpAt: r.signedUpAt,
      registration: r.registration,
      earned: r.earned,
    })),
    earned,
  };
}
