/**
 * The operator's view of one member: a user id the ecosystem knows (named by a shop's order,
 * registered by a shop or the operator, or signed up by phone: it has an origin). Found by phone
 * (any usual way of writing it, compared in E.164) or by user id. Its profile reads the custodial
 * balances and the pool's price at one block, so the value shown is the value of those balances at
 * that block; its referrer comes from the chain, its referees from services/referrals.ts, its
 * history from services/history.ts (the same reading as the user's own).
 */
import { ZeroAddress, ZeroHash } from "ethers";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { Queryable } from "../adapters/db/db";
import { listOrders } from "../adapters/db/orders";
import { findPhoneAccount, phoneOfUser } from "../adapters/db/phones";
import { findUser, findUserByAccount, userOrigin } from "../adapters/db/users";
import { formatAmount, formatPrice } from "../domain/display";
import { AppError } from "../errors";
import { refereesOf } from "./referrals";

/** The member's orders the profile lists, newest first. */
export const MEMBER_ORDERS_SHOWN = 50;

export interface MemberDeps {
  chain: ChainPort;
  userSalt: string;
}

/** The user id of a phone number (E.164) any shop's order or a sign-up gave an account; PHONE_NOT_REGISTERED otherwise. */
export async function memberOfPhone(db: Queryable, phone: string): Promise<string> {
  const account = await findPhoneAccount(db, phone);
  if (!account) throw new AppError("PHONE_NOT_REGISTERED", `no account has the phone number ${phone}`, { phone });
  return account.userId;
}

/** The member by phone or user id, as the search answers it; NOT_FOUND for a user id nobody named. */
export async function findMember(db: Queryable, by: { phone: string } | { userId: string }) {
  const userId = "phone" in by ? await memberOfPhone(db, by.phone) : by.userId;
  if (!(await userOrigin(db, userId))) throw new AppError("NOT_FOUND", `no user ${userId}`, { userId });
  const phone = await phoneOfUser(db, userId);
  return { userId, phone: phone?.phone ?? null, signedUpAt: phone?.registeredAt?.toISOString() ?? null };
}

/** A member's profile: who, balances and their value at one block, referrer, referees, latest orders. */
export async function memberProfile(deps: MemberDeps, db: Queryable, userId: string) {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const origin = await userOrigin(db, userId);
  if (!origin) throw new AppError("NOT_FOUND", `no user ${userId}`, { userId });
  const account = custodialUserId(deps.userSalt, userId);
  const head = await chain.blockNumber();
  const at = { blockTag: head };
  const [held, [priceAssets, priceSupply], user, phone, orders, referees] = await Promise.all([
    chain.custody.accountOf(account, at),
    chain.pool.priceRatio(at),
    findUser(db, userId),
    phoneOfUser(db, userId),
    listOrders(db, { userId, limit: MEMBER_ORDERS_SHOWN }),
    refereesOf(chain, db, deps.userSalt, userId),
  ]);
  // What the GP are worth at the price (gross) and what redeeming them all pays after the exit fee.
  const redemption = held.points > 0n ? await chain.pool.previewRedeem(held.points, at) : { gross: 0n, payout: 0n };
  const referrer = held.referrer === ZeroHash ? null : await findUserByAccount(db, held.referrer);
  const referrerPhone = referrer ? await phoneOfUser(db, referrer.userId) : null;
  return {
    userId,
    account,
    phone: phone?.phone ?? null,
    signedUpAt: phone?.registeredAt?.toISOString() ?? null,
    madeByShop: origin.shopId,
    hasPassword: user !== null,
    registeredOnChain: held.index !== 0n,
    original: held.original === ZeroAddress ? null : held.original,
    asOfBlock: head,
    balances: {
      points: formatAmount(held.points, 18),
      constantPoints: formatAmount(held.constantPoints, d),
      settlement: formatAmount(held.settlement, d),
    },
    value: {
      price: formatPrice(priceAssets, priceSupply, d, 18),
      points: formatAmount(redemption.gross, d),
      redeemableNow: formatAmount(redemption.payout, d),
      total: formatAmount(redemption.gross + held.constantPoints + held.settlement, d),
    },
    referrer: referrer ? { userId: referrer.userId, phone: referrerPhone?.registeredAt ? referrerPhone.phone : null } : null,
    referees,
    orders,
  };
}
