/**
 * Custodial operations: the moves of value a user or a merchant asks of its custodial account
 * (transfers, payments, redemptions, conversions, exchanges, withdrawals) and the linking of an
 * original account. Each is planned: encoded and run on the chain's pending state, so what the
 * chain would refuse now is refused at once with its reason, and recorded by the caller (inside
 * its idempotency transaction). Value-moving calls carry a request id the custody refuses twice.
 */
import { getAddress } from "ethers";
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import { findMerchant } from "../adapters/db/merchants";
import { requireActiveMerchant } from "./merchants";
import { findUser } from "../adapters/db/users";
import { custodialUserId } from "../adapters/chain/ids";
import { parsePositiveAmount } from "../domain/amounts";
import { type Asset, CHAIN_ASSET, decimalsOf } from "../domain/assets";
import { AppError } from "../errors";
import { type SaleHook, saleRecorded } from "./sales";
import { type CallOn, type PlannedOperation, type RedemptionRequest, type WriteFunction, planCall, redemption } from "./operations";
import type { Custody } from "../../typechain-types";

/** Whose account moves: the actor recorded (`user:<id>`, `merchant:<id>`) and its custodial account. */
export interface Mover {
  actor: string;
  account: string;
}

/** A user asking for a move of their own account. */
export interface UserMover extends Mover {
  userId: string;
}

export const userMover = (userSalt: string, userId: string): UserMover => ({
  userId,
  account: custodialUserId(userSalt, userId),
  actor: `user:${userId}`,
});

export type TransferRequest = { toUserId: string; asset: Asset; amount: string };
export type PaymentRequest = { merchantId: string; asset: Asset; amount: string };
export type SettlementWithdrawalRequest = { to: string; amount: string };
export type LinkRequest = { address: string; deadline: string; signature: string };

/** A call of the custody for `who`'s account: encoded and run on the pending state. */
function custodyCall<F extends WriteFunction<Custody>>(
  chain: ChainPort,
  who: Mover,
  kind: string,
  call: CallOn<"custody", F>,
  details: Record<string, string>,
  counterparty?: string,
): Promise<PlannedOperation> {
  return planCall(chain, { ...call, kind, actor: who.actor, account: who.account, counterparty, target: "custody", details });
}

const d = (chain: ChainPort) => chain.deployments.settlementDecimals;

/** GP or CP to another registered user. */
export async function planTransfer(
  chain: ChainPort,
  db: Queryable,
  userSalt: string,
  who: UserMover,
  body: TransferRequest,
): Promise<PlannedOperation> {
  if (!(await findUser(db, body.toUserId))) throw new AppError("NOT_FOUND", `no registered user ${body.toUserId}`);
  if (body.toUserId === who.userId) throw new AppError("VALIDATION_FAILED", "a transfer needs another user", { field: "toUserId" });
  const amount = parsePositiveAmount(body.amount, decimalsOf(body.asset, d(chain)), "amount");
  const to = custodialUserId(userSalt, body.toUserId);
  const call = { fn: "transfer", args: (r) => [r, who.account, to, CHAIN_ASSET[body.asset], amount] } satisfies CallOn<
    "custody",
    "transfer"
  >;
  return custodyCall(chain, who, "transfer", call, { ...body }, to);
}

/**
 * GP or CP to a merchant the operator has not suspended (MERCHANT_SUSPENDED). A payment to a
 * merchant is a sale: the modules' hooks hear of it in the transaction that records the payment.
 */
export async function planPayment(
  chain: ChainPort,
  db: Queryable,
  who: UserMover,
  body: PaymentRequest,
  saleHooks: readonly SaleHook[],
): Promise<PlannedOperation> {
  const merchant = await findMerchant(db, body.merchantId);
  if (!merchant) throw new AppError("NOT_FOUND", `no merchant ${body.merchantId}`);
  // Before the chain's flag is cleared too, and whatever the chain says after: the relayer's own record decides.
  requireActiveMerchant(merchant);
  const amount = parsePositiveAmount(body.amount, decimalsOf(body.asset, d(chain)), "amount");
  const planned = await custodyCall(
    chain,
    who,
    "pay-merchant",
    { fn: "payMerchant", args: (r) => [r, who.account, merchant.account, CHAIN_ASSET[body.asset], amount] },
    { ...body },
    merchant.account,
  );
  const sale = { userId: who.userId, merchantId: merchant.id, asset: body.asset, paid: amount };
  return { ...planned, also: (tx, op) => saleRecorded(saleHooks, tx, { ...sale, source: { paymentId: op.id } }) };
}

/** GP or CP redeemed at the pool's price into the account's settlement balance. */
export function planRedemption(chain: ChainPort, who: Mover, body: RedemptionRequest): Promise<PlannedOperation> {
  const r = redemption(who.account, body, d(chain));
  return custodyCall(chain, who, r.kind, r.call, { ...body });
}

/** GP converted to CP at the current price. */
export function planConversion(chain: ChainPort, who: Mover, body: { points: string }): Promise<PlannedOperation> {
  const points = parsePositiveAmount(body.points, 18, "points");
  return custodyCall(chain, who, "convert", { fn: "convertToConstant", args: (r) => [r, who.account, points] }, { ...body });
}

/** CP exchanged for GP of equal value out of the CP reserve (merchants). */
export function planExchange(chain: ChainPort, who: Mover, body: { constantPoints: string }): Promise<PlannedOperation> {
  const constantPoints = parsePositiveAmount(body.constantPoints, d(chain), "constantPoints");
  return custodyCall(
    chain,
    who,
    "exchange-constant",
    { fn: "exchangeConstant", args: (r) => [r, who.account, constantPoints] },
    { ...body },
  );
}

/** GP sent to the linked original account, the withdrawal fee included. */
export function planPointsWithdrawal(chain: ChainPort, who: Mover, body: { points: string }): Promise<PlannedOperation> {
  const points = parsePositiveAmount(body.points, 18, "points");
  return custodyCall(chain, who, "withdraw-points", { fn: "withdrawToOriginal", args: (r) => [r, who.account, points] }, { ...body });
}

/** The account's settlement balance paid out to an address. */
export function planSettlementWithdrawal(chain: ChainPort, who: Mover, body: SettlementWithdrawalRequest): Promise<PlannedOperation> {
  const call = {
    fn: "withdrawSettlement",
    args: (r) => [r, who.account, getAddress(body.to), parsePositiveAmount(body.amount, d(chain), "amount")],
  } satisfies CallOn<"custody", "withdrawSettlement">;
  return custodyCall(chain, who, "withdraw-settlement", call, { ...body });
}

/** Links an original account whose owner signed the custody's EIP-712 `Link` request. */
export function planLink(chain: ChainPort, who: Mover, body: LinkRequest): Promise<PlannedOperation> {
  const address = getAddress(body.address);
  const args: [string, string, bigint, string] = [who.account, address, BigInt(body.deadline), body.signature];
  return custodyCall(chain, who, "link", { fn: "link", args }, { address, deadline: body.deadline });
}

/** Unlinks the original account. */
export function planUnlink(chain: ChainPort, who: Mover): Promise<PlannedOperation> {
  return custodyCall(chain, who, "unlink", { fn: "unlink", args: [who.account] }, {});
}
