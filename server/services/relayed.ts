/**
 * Signed requests from original accounts, relayed so their owners need no gas: what each one
 * calls, with which arguments, and how it is planned. Each is run on the chain first, so a bad or
 * expired signature is refused at once and nothing is queued; the gas it would use is kept and
 * held to the asking user's day when it is recorded (services/relay-guard.ts).
 */
import { Signature as EthSignature, getAddress } from "ethers";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { Queryable } from "../adapters/db/db";
import type { OperationRecord, OperationTarget } from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { AppError } from "../errors";
import {
  type CallArgs,
  type PlannedOperation,
  type TargetContracts,
  type TypedTarget,
  type WriteFunction,
  checkGasBudget,
  nextNonce,
  planCall,
  recordPlanned,
} from "./operations";
import { assertSomethingToRelay, relayGasBudget } from "./relay-guard";

/** What every signed request carries besides its own fields. */
export type SignedRequest = { owner: string; deadline: string; signature: string };
export type DepositBySig = SignedRequest & { points: string };
export type RedeemBySig = SignedRequest & { points: string; receiver: string; minPayout: string };
export type TransferBySig = SignedRequest & { to: string; value: string };
export type Permit = SignedRequest & { spender: string; value: string };

/** A kind of relayed request, its call hidden behind `plan` (typed where it is defined). */
export interface Relayed<B extends SignedRequest> {
  kind: string;
  target: OperationTarget;
  /** The GP the request moves (or allows, for a permit). */
  value(b: B): bigint;
  plan(chain: ChainPort, b: B, owner: string, account: string, base: RelayBase): Promise<PlannedOperation>;
}

interface RelayBase {
  actor: string;
  account: string | null;
  details: Record<string, string>;
}

/** A relayed request calling `fn` of `target`, its arguments from the request (owner checksummed) and the caller's custodial account. */
function relayed<B extends SignedRequest, T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>>(spec: {
  kind: string;
  target: T;
  fn: F;
  value(b: B): bigint;
  /** Not inferred from: `value` names the request's type and `fn` the tuple the arguments are checked as. */
  args: NoInfer<(b: B, owner: string, account: string, settlementDecimals: number) => CallArgs<TargetContracts[T], F>>;
}): Relayed<B> {
  return {
    kind: spec.kind,
    target: spec.target,
    value: spec.value,
    plan: (chain, b, owner, account, base) =>
      planCall(chain, {
        ...base,
        kind: spec.kind,
        target: spec.target,
        fn: spec.fn,
        args: spec.args(b, owner, account, chain.deployments.settlementDecimals),
        estimateGas: true,
      }),
  };
}

export const DEPOSIT_BY_SIG = relayed({
  kind: "deposit-by-sig",
  target: "custody",
  fn: "depositBySig",
  value: (b: DepositBySig) => parsePositiveAmount(b.points, 18, "points"),
  args: (b, owner, account) => [owner, account, parsePositiveAmount(b.points, 18, "points"), BigInt(b.deadline), b.signature],
});

export const REDEEM_BY_SIG = relayed({
  kind: "redeem-by-sig",
  target: "pool",
  fn: "redeemBySig",
  value: (b: RedeemBySig) => parsePositiveAmount(b.points, 18, "points"),
  args: (b, owner, _account, d) => [
    owner,
    parsePositiveAmount(b.points, 18, "points"),
    getAddress(b.receiver),
    parseAmount(b.minPayout, d, "minPayout"),
    BigInt(b.deadline),
    b.signature,
  ],
});

export const TRANSFER_BY_SIG = relayed({
  kind: "transfer-by-sig",
  target: "points",
  fn: "transferBySig",
  value: (b: TransferBySig) => parsePositiveAmount(b.value, 18, "value"),
  args: (b, owner) => [owner, getAddress(b.to), parsePositiveAmount(b.value, 18, "value"), BigInt(b.deadline), b.signature],
});

export const PERMIT = relayed({
  kind: "permit",
  target: "points",
  fn: "permit",
  value: (b: Permit) => parseAmount(b.value, 18, "value"),
  args: (b, owner) => {
    let sig: EthSignature;
    try {
      sig = EthSignature.from(b.signature);
    } catch (error) {
      throw new AppError("VALIDATION_FAILED", "signature is not a valid (r, s, v) signature", { field: "signature" }, { cause: error });
    }
    return [owner, getAddress(b.spender), parseAmount(b.value, 18, "value"), BigInt(b.deadline), sig.v, sig.r, sig.s];
  },
});

export interface RelayDeps {
  chain: ChainPort;
  userSalt: string;
  /** Rate limits per user (checked first) and per owner (counted once the chain accepted the signature). */
  limiter: { user(userId: string): Promise<void>; owner(owner: string): Promise<void> };
}

/**
 * Checks a user's relay and runs it on the pending state; nothing is written. Done before the
 * idempotency transaction opens; `recordRelay` then holds it to the day's gas and records it.
 */
export async function planRelay<B extends SignedRequest & Record<string, string>>(
  deps: RelayDeps,
  request: Relayed<B>,
  userId: string,
  body: B,
): Promise<PlannedOperation> {
  const { chain } = deps;
  const account = custodialUserId(deps.userSalt, userId);
  const owner = getAddress(body.owner);
  await deps.limiter.user(userId);
  await assertSomethingToRelay(chain, { kind: request.kind, owner, value: request.value(body) });
  // The nonce the signature spends (it passes the check on the pending state): one request per nonce is queued.
  const nonce = (await nextNonce(chain, request.target, owner)).toString();
  const planned = await request.plan(chain, body, owner, account, {
    actor: `user:${userId}`,
    account: request.kind === "deposit-by-sig" ? account : null,
    details: { ...body, owner, nonce },
  });
  // The chain accepted the owner's signature: only now does it count against the owner.
  await deps.limiter.owner(owner);
  return planned;
}

/** Records a planned relay, inside the idempotency transaction, if its gas fits what is left of the user's day. */
export async function recordRelay(db: Queryable, planned: PlannedOperation, dailyGas: bigint): Promise<OperationRecord> {
  checkGasBudget(await relayGasBudget(db, planned.op.actor, dailyGas), planned.op.gasEstimate ?? 0n);
  return recordPlanned(db, planned);
}
