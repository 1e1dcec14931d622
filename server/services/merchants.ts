/**
 * Merchants: created by the operator (a custodial account flagged as merchant on the chain, and
 * an API key shown once), their keys, and what a merchant reads of its account: its balances,
 * what redeeming would pay now, and the payments it received.
 */
import { randomBytes } from "node:crypto";
import type { ChainPort } from "../adapters/chain/chain";
import { merchantAccountId } from "../adapters/chain/ids";
import type { Queryable } from "../adapters/db/db";
import {
  type MerchantRecord,
  findMerchant,
  insertMerchant,
  insertMerchantKey,
  listMerchantKeys,
  listMerchants,
  revokeMerchantKey,
  setMerchantSuspension,
} from "../adapters/db/merchants";
import { type OperationState, paymentsToAccount } from "../adapters/db/operations";
import { parsePositiveAmount } from "../domain/amounts";
import { type Asset, decimalsOf } from "../domain/assets";
import { formatAmount } from "../domain/display";
import { Rounding, toPoints } from "../domain/points-math";
import { AppError } from "../errors";
import { newApiKey, tokenHash } from "./credentials";
import { type PlannedOperation, operationView, planCall, recordPlanned } from "./operations";

/** A new merchant's id and account, and the flag's operation, planned before the idempotency transaction opens. */
export interface NewMerchant {
  id: string;
  account: string;
  planned: PlannedOperation;
}

export async function planMerchant(chain: ChainPort, userSalt: string): Promise<NewMerchant> {
  const id = `mer_${randomBytes(6).toString("hex")}`;
  const account = merchantAccountId(userSalt, id);
  const planned = await planCall(chain, {
    kind: "set-merchant",
    actor: "admin",
    account,
    target: "custody",
    fn: "setMerchant",
    args: [account, true],
    details: { merchantId: id, merchant: "true" },
  });
  return { id, account, planned };
}

/** Records the planned merchant under `name`, queues its flag and issues its first API key. */
export async function createMerchant(db: Queryable, name: string, m: NewMerchant) {
  if (!(await insertMerchant(db, { id: m.id, name, account: m.account })))
    throw new AppError("NAME_TAKEN", `a merchant is named ${name} already`);
  const op = await recordPlanned(db, m.planned);
  return { ...(await issueKey(db, m.id)), account: m.account, operation: operationView(op) };
}

/** A new API key for the merchant, shown once: only its hash is kept. */
export async function issueKey(db: Queryable, merchantId: string) {
  const { keyId, key } = newApiKey();
  await insertMerchantKey(db, { id: keyId, merchantId, keyHash: tokenHash(key) });
  return { merchantId, keyId, apiKey: key };
}

/** Another API key for an existing merchant. */
export async function issueAnotherKey(db: Queryable, merchantId: string) {
  if (!(await findMerchant(db, merchantId))) throw new AppError("NOT_FOUND", `no merchant ${merchantId}`);
  return issueKey(db, merchantId);
}

/** Revokes one of the merchant's keys; revoking it again answers the same. */
export async function revokeKey(db: Queryable, merchantId: string, keyId: string) {
  const known = (await listMerchantKeys(db, merchantId)).some((k) => k.keyId === keyId);
  if (!known) throw new AppError("NOT_FOUND", `no key ${keyId} for merchant ${merchantId}`);
  await revokeMerchantKey(db, merchantId, keyId);
  return { keyId, revoked: true as const };
}

/** A merchant as the operator sees it. */
export const merchantView = (m: MerchantRecord) => ({
  merchantId: m.id,
  name: m.name,
  account: m.account,
  createdAt: m.createdAt.toISOString(),
  suspended: m.suspendedAt !== null,
  suspendedAt: m.suspendedAt?.toISOString() ?? null,
  suspensionReason: m.suspensionReason,
});
/** The merchant's API keys, oldest first, revoked ones included; never a secret (only hashes are kept). */
export async function merchantKeys(db: Queryable, merchantId: string) {
  return {
    keys: (await listMerchantKeys(db, merchantId)).map((k) => ({
      keyId: k.keyId,
      createdAt: k.createdAt.toISOString(),
      revokedAt: k.revokedAt?.toISOString() ?? null,
    })),
  };
}

/** Every merchant, oldest first. */
export async function merchantList(db: Queryable) {
  return { merchants: (await listMerchants(db)).map(merchantView) };
}

/** The merchant, or NOT_FOUND. */
export async function requireMerchant(db: Queryable, merchantId: string): Promise<MerchantRecord> {
  const m = await findMerchant(db, merchantId);
  if (!m) throw new AppError("NOT_FOUND", `no merchant ${merchantId}`);
  return m;
}

/** Refuses a payment to, or an ad order naming, a merchant the operator suspended. */
export function requireActiveMerchant(m: MerchantRecord): void {
  if (m.suspendedAt)
    throw new AppError("MERCHANT_SUSPENDED", `the operator suspended merchant ${m.id}: it takes no payments and no ad orders`, {
      merchantId: m.id,
    });
}

/**
 * The chain's side of a suspension: the custody's merchant flag, cleared (suspended) or set again
 * (resumed), so that the custody itself refuses a payment to it (CustodyNotMerchant) whatever
 * sends one. Planned before the transaction opens.
 */
export function planSuspension(chain: ChainPort, m: MerchantRecord, suspended: boolean): Promise<PlannedOperation> {
  return planCall(chain, {
    kind: "set-merchant",
    actor: "admin",
    account: m.account,
    target: "custody",
    fn: "setMerchant",
    args: [m.account, !suspended],
    details: { merchantId: m.id, merchant: String(!suspended) },
  });
}

/**
 * Suspends (or resumes) the merchant and queues the chain's flag, in the caller's transaction;
 * asking for the state it is in already changes nothing and queues nothing (no `operation`).
 */
export async function changeSuspension(db: Queryable, merchantId: string, reason: string | null, planned: PlannedOperation) {
  const changed = await setMerchantSuspension(db, merchantId, reason);
  if (!changed) return { merchant: merchantView(await requireMerchant(db, merchantId)) };
  const op = await recordPlanned(db, planned);
  return { merchant: merchantView(changed), operation: operationView(op) };
}

/** The merchant's API keys, oldest first, live and revoked (never the keys themselves). */
/**
 * What redeeming `units` of `asset` pays now, by the chain's own rounding, all read at one block:
 * GP go to the pool as they are; CP first take GP of equal value out of the CP reserve (rounded
 * down, as the custody's `_takeFromReserve` does), which is also what exchanging them would give.
 */
async function quoteUnits(chain: ChainPort, asset: Asset, units: bigint, blockTag: number) {
  let points = units;
  if (asset === "CP") {
    const [assets, supply] = await Promise.all([chain.pool.assets({ blockTag }), chain.points.totalSupply({ blockTag })]);
    points = supply === 0n || assets === 0n ? 0n : toPoints(units, assets, supply, Rounding.Floor);
  }
  const [gross, fee, payout] = points === 0n ? [0n, 0n, 0n] : await chain.pool.previewRedeem(points, { blockTag });
  return { points, gross, fee, payout };
}

/** A redemption's figures now (GET /v1/merchant/quote): the GP it takes from the pool, gross value, exit fee and payout. */
export async function redemptionQuote(chain: ChainPort, body: { asset: Asset; amount: string }) {
  const d = chain.deployments.settlementDecimals;
  const units = parsePositiveAmount(body.amount, decimalsOf(body.asset, d), "amount");
  const block = await chain.blockNumber();
  const supply = await chain.points.totalSupply({ blockTag: block });
  if (body.asset === "GP" && units > supply)
    throw new AppError("VALIDATION_FAILED", "amount is more GP than exist", { field: "amount", supply: formatAmount(supply, 18) });
  const q = await quoteUnits(chain, body.asset, units, block);
  return {
    asset: body.asset,
    amount: formatAmount(units, decimalsOf(body.asset, d)),
    points: formatAmount(q.points, 18),
    gross: formatAmount(q.gross, d),
    fee: formatAmount(q.fee, d),
    payout: formatAmount(q.payout, d),
    block,
  };
}

/** A merchant's account, balances read from the chain, and what redeeming each balance whole would pay now. */
export async function readMerchantAccount(chain: ChainPort, m: MerchantRecord) {
  const d = chain.deployments.settlementDecimals;
  const block = await chain.blockNumber();
  const a = await chain.custody.accountOf(m.account, { blockTag: block });
  const [gp, cp] = await Promise.all([quoteUnits(chain, "GP", a.points, block), quoteUnits(chain, "CP", a.constantPoints, block)]);
  return {
    merchantId: m.id,
    name: m.name,
    account: m.account,
    merchantOnChain: a.merchant,
    points: formatAmount(a.points, 18),
    constantPoints: formatAmount(a.constantPoints, d),
    settlement: formatAmount(a.settlement, d),
    redeemableNow: { points: formatAmount(gp.payout, d), constantPoints: formatAmount(cp.payout, d) },
  };
}

/** What the payments list may be narrowed by. */
export interface PaymentFilter {
  from?: Date;
  to?: Date;
  state?: OperationState;
  asset?: Asset;
  limit: number;
}

/** The payments users made to the merchant, in every state (a rejected one with the chain's reason), newest first. */
export async function paymentsReceived(db: Queryable, m: MerchantRecord, filter: PaymentFilter) {
  const ops = await paymentsToAccount(db, m.account, filter);
  return {
    payments: ops.map((op) => ({
      operationId: op.id,
      time: op.createdAt.toISOString(),
      from: op.actor.replace(/^user:/, ""),
      asset: op.details.asset,
      amount: op.details.amount,
      state: op.state,
      ...(op.txHash ? { txHash: op.txHash } : {}),
      ...(op.reason ? { reason: op.reason } : {}),
    })),
  };
}
