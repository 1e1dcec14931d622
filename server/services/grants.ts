/**
 * The operator's backed grants and removals of a user's custodial GP (issue 15), each queued as
 * a custody operation keyed by its request id (so a retry never applies twice on the chain) and
 * written to the audit log in the same transaction.
 *
 * - A grant pays `contribution` of the relayer's own settlement float into the pool and mints the
 *   GP at the pool's price exactly as an order of that contribution mints to its buyer (SPEC rule
 *   5: no free mint); the float is refilled from the treasury first when it or its allowance to
 *   the custody is short. The preview is the pool's `previewContribution` now; the GP minted are
 *   the `Granted` event's, which may differ if orders land before it.
 * - A removal retires GP from the user's custodial account: burned without payout, the price rises
 *   for every holder; it is refused before queueing when the account holds less.
 */
import { isCallException } from "ethers";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { insertAuditEntry } from "../adapters/db/audit";
import type { Queryable } from "../adapters/db/db";
import type { OperationRecord } from "../adapters/db/operations";
import { userOrigin } from "../adapters/db/users";
import { parsePositiveAmount } from "../domain/amounts";
import { formatAmount, formatPrice } from "../domain/display";
import { AppError } from "../errors";
import { type PlannedOperation, type SettlementFloat, planCall, queueSettlementRefill, recordPlanned, settlementShort } from "./operations";
import { refusalError } from "./refusals";

/** The operation kinds (the user's history reads them by these names). */
export const GRANT_KIND = "grant";
export const REMOVAL_KIND = "removal";

export interface GrantDeps {
  chain: ChainPort;
  userSalt: string;
  /** The relayer's float and its treasury; null on a deployment without one (the float is then topped up by hand). */
  settlement: SettlementFloat | null;
}

export interface OperatorRequest {
  userId: string;
  reason: string;
}

/** A grant or removal planned (encoded, run on the pending state), ready to record with its audit entry. */
export interface PlannedAdjustment {
  planned: PlannedOperation;
  /** A refill of the float goes first: the grant could not be run on the chain yet. */
  refilling: boolean;
  audit: { action: string; subject: string; reason: string; details: Record<string, unknown> };
  /** What the answer shows beside the operation. */
  preview: Record<string, string>;
}

/** The custodial account of a user id the ecosystem knows (named by an order or registered); NOT_FOUND otherwise. */
async function knownAccount(db: Queryable, deps: GrantDeps, userId: string): Promise<string> {
  if (!(await userOrigin(db, userId))) throw new AppError("NOT_FOUND", `no user ${userId}`, { userId });
  return custodialUserId(deps.userSalt, userId);
}

/** The GP a contribution mints now, and the price it is minted at; the chain's refusal (past the cap) as the answer. */
async function previewGrant(chain: ChainPort, contribution: bigint): Promise<{ points: bigint; price: string }> {
  try {
    const [points, [priceAssets, priceSupply]] = await Promise.all([chain.pool.previewContribution(contribution), chain.pool.priceRatio()]);
    return { points, price: formatPrice(priceAssets, priceSupply, chain.deployments.settlementDecimals, 18) };
  } catch (error) {
    if (!isCallException(error)) throw error;
    const refusal = await chain.simulateCall({
      to: chain.deployments.pool,
      data: chain.pool.interface.encodeFunctionData("previewContribution", [contribution]),
    });
    if (refusal) throw refusalError(refusal);
    throw error;
  }
}

/**
 * What a grant of `contribution` settlement units (a decimal string) to `userId` would mint now,
 * refused as the grant itself would be (an unknown user, a contribution that mints nothing or
 * passes the cap); nothing is queued.
 */
export async function quoteGrant(db: Queryable, deps: GrantDeps, r: { userId: string; contribution: string }) {
  const d = deps.chain.deployments.settlementDecimals;
  const account = await knownAccount(db, deps, r.userId);
  const contribution = parsePositiveAmount(r.contribution, d, "contribution");
  const preview = await previewGrant(deps.chain, contribution);
  if (preview.points === 0n) {
    throw new AppError("AMOUNT_OUT_OF_RANGE", "the contribution is too small to mint any GP at the current price", {
      contribution: r.contribution,
    });
  }
  return { account, contribution, ...preview };
}

/** Plans a backed grant of `contribution` settlement units (a decimal string) to `userId`. */
export async function planGrant(db: Queryable, deps: GrantDeps, r: OperatorRequest & { contribution: string }): Promise<PlannedAdjustment> {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const { account, contribution, ...preview } = await quoteGrant(db, deps, r);
  // With the float or its allowance to the custody short, a refill goes first and the grant cannot be run on the chain yet.
  const refilling = await settlementShort(chain, deps.settlement, chain.deployments.custody, contribution);
  const details = { userId: r.userId, contribution: formatAmount(contribution, d), reason: r.reason };
  const planned = await planCall(chain, {
    simulate: !refilling,
    kind: GRANT_KIND,
    actor: "admin",
    account,
    target: "custody",
    fn: "grant",
    args: (requestId) => [requestId, account, contribution],
    details,
  });
  const shown = { points: formatAmount(preview.points, 18), price: preview.price };
  return {
    planned,
    refilling,
    audit: { action: GRANT_KIND, subject: `user:${r.userId}`, reason: r.reason, details: { ...details, preview: shown } },
    preview: shown,
  };
}

/** Plans the removal of `points` GP (a decimal string) from `userId`'s custodial account. */
export async function planRemoval(db: Queryable, deps: GrantDeps, r: OperatorRequest & { points: string }): Promise<PlannedAdjustment> {
  const { chain } = deps;
  const account = await knownAccount(db, deps, r.userId);
  const points = parsePositiveAmount(r.points, 18, "points");
  const held = (await chain.custody.accountOf(account)).points;
  if (held < points) throw insufficientPoints(r.userId, held, points);
  const details = { userId: r.userId, points: formatAmount(points, 18), reason: r.reason };
  let planned: PlannedOperation;
  try {
    planned = await planCall(chain, {
      kind: REMOVAL_KIND,
      actor: "admin",
      account,
      target: "custody",
      fn: "remove",
      args: (requestId) => [requestId, account, points],
      details,
    });
  } catch (error) {
    // Less on the pending state than in the last block: an operation in flight took some.
    if (error instanceof AppError && error.details?.chainError === "CustodyInsufficientBalance") {
      throw insufficientPoints(r.userId, (await chain.custody.accountOf(account, { blockTag: "pending" })).points, points);
    }
    throw error;
  }
  const shown = { held: formatAmount(held, 18) };
  return {
    planned,
    refilling: false,
    audit: { action: REMOVAL_KIND, subject: `user:${r.userId}`, reason: r.reason, details: { ...details, held: shown.held } },
    preview: shown,
  };
}

function insufficientPoints(userId: string, held: bigint, asked: bigint): AppError {
  return new AppError("INSUFFICIENT_POINTS", `user ${userId} holds ${formatAmount(held, 18)} GP in custody, fewer than asked`, {
    userId,
    held: formatAmount(held, 18),
    asked: formatAmount(asked, 18),
  });
}

/**
 * Records the planned operation (after a refill of the float, when one must go first) and its
 * audit entry, in the caller's transaction: both or neither.
 */
export async function recordAdjustment(db: Queryable, deps: GrantDeps, p: PlannedAdjustment, actor: string): Promise<OperationRecord> {
  if (p.refilling) await queueSettlementRefill(db, deps.chain, deps.settlement!, [deps.chain.deployments.custody]);
  const op = await recordPlanned(db, p.planned);
  await insertAuditEntry(db, { actor, operationId: op.id, ...p.audit });
  return op;
}
