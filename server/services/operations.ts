/**
 * Operations: every chain transaction that is not an order batch (a custodial move, a user's
 * registration, a merchant flag, a parameter change, a pause, a relayed signed request). They are
 * queued in the database and sent by the sender with the relayer's own nonces, one transaction
 * each, so they share its crash-safety: intent recorded before broadcast, receipts reconciled,
 * lost blocks noticed. Custodial moves carry a request id derived from the operation id, which
 * the custody refuses the second time; the other kinds say how to tell from the chain that they
 * already happened.
 */
import { randomBytes } from "node:crypto";
import { ZeroAddress, ZeroHash, keccak256, parseUnits, toUtf8Bytes } from "ethers";
import type { ChainCall, ChainEvent, ChainPort } from "../adapters/chain/chain";
import { readCustodyParameters } from "../adapters/chain/custody-parameters";
import type { Queryable } from "../adapters/db/db";
import {
  type NewOperation,
  type OperationRecord,
  type OperationTarget,
  insertOperation,
  insertSignedOperation,
  otherOperationOfTransaction,
  lockSettlementRefill,
  settlementRefillPending,
  settlementRefillRefusedLately,
} from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { type Asset, decimalsOf } from "../domain/assets";
import { AppError } from "../errors";
import type { Custody, GreenPoints, MockStablecoin, Pool } from "../../typechain-types";
import type { TypedContractMethod } from "../../typechain-types/common";
import { refusalError } from "./refusals";

export const POOL_PARAMETERS = ["poolShare", "mintShare", "exitFee", "initialPrice", "referralShare1", "referralShare2"] as const;
export const CUSTODY_PARAMETERS = ["withdrawalFee", "exitMultiple", "referralMode"] as const;

export const newOperationId = () => `op_${randomBytes(10).toString("hex")}`;
/** The custody's exactly-once key for an operation. */
export const requestIdOf = (operationId: string) => keccak256(toUtf8Bytes(operationId));

/** The contract an operation calls: its address, its ABI, and its EIP-712 nonces (at a block, or the pending state). */
function contractOf(chain: ChainPort, target: OperationTarget) {
  const { address, contract } = chain.target(target);
  type Nonces = { nonces(owner: string, overrides: { blockTag: number | "pending" }): Promise<bigint> };
  return {
    address,
    iface: contract.interface,
    nonces: (owner: string, blockTag: number | "pending") => (contract as unknown as Nonces).nonces(owner, { blockTag }),
  };
}

/**
 * The EIP-712 nonce `owner` signs next at the operation target's contract, on the pending state:
 * the one a signature checked on the pending state spends.
 */
export const nextNonce = (chain: ChainPort, target: OperationTarget, owner: string) => contractOf(chain, target).nonces(owner, "pending");

/**
 * The relayed signed requests, and the event each must produce: by the contract it calls, with
 * the owner and the receiver it signed as the event's first indexed arguments, and the value it
 * signed in `field` (GP, 18 decimals, from the request's `detail`).
 */
const SIGNED: Record<string, { event: string; indexed: (op: OperationRecord) => string[]; field: string; detail: string }> = {
  "redeem-by-sig": { event: "Redeemed", indexed: (op) => [op.details.owner, op.details.receiver], field: "points", detail: "points" },
  "transfer-by-sig": { event: "Transfer", indexed: (op) => [op.details.owner, op.details.to], field: "value", detail: "value" },
  permit: { event: "Approval", indexed: (op) => [op.details.owner, op.details.spender], field: "value", detail: "value" },
  "deposit-by-sig": { event: "Deposited", indexed: (op) => [op.account!, op.details.owner], field: "points", detail: "points" },
};

/** Whether the operation is an owner's signed request the relayer only carries. */
export const isSignedRequest = (op: Pick<OperationRecord, "kind">) => op.kind in SIGNED;

/**
 * The transaction that ran a relayed signed request, whoever sent it: one that emitted the
 * request's event with the owner, receiver and value signed, in the block where the owner's nonce
 * moved past the one the request signed, and that settles no other operation. A spent nonce alone
 * proves nothing: another request signed over it (or the same one, sent by someone else) spends it.
 */
async function signedRequestTransaction(db: Queryable, chain: ChainPort, op: OperationRecord): Promise<string | null> {
  const spec = SIGNED[op.kind];
  const contract = contractOf(chain, op.target);
  const nonce = BigInt(op.details.nonce);
  const value = parseUnits(op.details[spec.detail], 18);
  for (const e of await chain.findEvents(contract.address, contract.iface, spec.event, spec.indexed(op))) {
    if (BigInt(e.args[spec.field]) !== value) continue;
    const [before, after] = await Promise.all([
      contract.nonces(op.details.owner, e.blockNumber - 1),
      contract.nonces(op.details.owner, e.blockNumber),
    ]);
    if (before > nonce || after <= nonce) continue;
    if (await otherOperationOfTransaction(db, e.txHash, op.id)) continue;
    return e.txHash;
  }
  return null;
}

/** An operation as the chain shows it done: the transaction that carried it and that transaction's events. */
export interface DoneOnChain {
  /** Null only for a kind the chain shows done by its state (a flag, a parameter) when no transaction of ours set it. */
  txHash: string | null;
  events: ChainEvent[];
}

/**
 * Whether the chain shows the operation done, and by which transaction: asked when the chain
 * refuses to run it (again), or when its transaction reverted or is lost, which is how an
 * operation looks whose transaction the relayer lost track of (replaced under a hash it did not
 * keep, in a block that disappeared, or landed first by someone who copied a signed request). An
 * operation with a request of its own (the custody's request id, an owner's signature) is done
 * only by a transaction of that request, and takes that transaction's events.
 */
export async function doneOnChain(db: Queryable, chain: ChainPort, op: OperationRecord): Promise<DoneOnChain | null> {
  if (op.requestId || isSignedRequest(op)) {
    const txHash = op.requestId ? await chain.requestTransaction(op.requestId) : await signedRequestTransaction(db, chain, op);
    const mined = txHash ? await chain.mined(txHash) : null;
    return mined && mined.status === 1 ? { txHash, events: mined.events } : null;
  }
  if (!(await stateShowsDone(chain, op))) return null;
  // Done, as the state shows: its events are those of the latest transaction that did it and
  // settles no other operation; none when the chain's state was set by someone else.
  for (const shown of shownBy(op)) {
    const contract = contractOf(chain, shown.target);
    const found = await chain.findEvents(contract.address, contract.iface, shown.event, shown.indexed);
    for (const e of found.reverse()) {
      if (Object.entries(shown.args ?? {}).some(([name, value]) => e.args[name] !== value)) continue;
      if (await otherOperationOfTransaction(db, e.txHash, op.id)) continue;
      const mined = await chain.mined(e.txHash);
      if (mined && mined.status === 1) return { txHash: e.txHash, events: mined.events };
    }
  }
  return { txHash: null, events: [] };
}

/** The events that show a kind without a request of its own done: contract, event, first indexed arguments, other arguments. */
function shownBy(op: OperationRecord): { target: OperationTarget; event: string; indexed: string[]; args?: Record<string, string> }[] {
  const d = op.details;
  const account = op.account!;
  const parameter = (names: readonly string[]) => [String(names.indexOf(d.name))];
  switch (op.kind) {
    case "register":
      return op.counterparty
        ? [
            { target: "custody", event: "UserRegistered", indexed: [account, op.counterparty] },
            { target: "custody", event: "ReferrerSet", indexed: [account, op.counterparty] },
          ]
        : [{ target: "custody", event: "UserRegistered", indexed: [account] }];
    case "set-merchant":
      return [{ target: "custody", event: "MerchantSet", indexed: [account], args: { merchant: d.merchant } }];
    case "link":
      return [{ target: "custody", event: "Linked", indexed: [account, d.address] }];
    case "unlink":
      return [{ target: "custody", event: "Unlinked", indexed: [account] }];
    case "pause":
      return [{ target: "pool", event: "Paused", indexed: [] }];
    case "unpause":
      return [{ target: "pool", event: "Unpaused", indexed: [] }];
    case "pool-parameter":
      return [
        { target: "pool", event: "ParameterChanged", indexed: parameter(POOL_PARAMETERS), args: { newValue: BigInt(d.value).toString() } },
      ];
    case "custody-parameter":
      return [
        {
          target: "custody",
          event: "ParameterChanged",
          indexed: parameter(CUSTODY_PARAMETERS),
          args: { newValue: BigInt(d.value).toString() },
        },
      ];
    default:
      return [];
  }
}

/**
 * The calldata to send now. A registration's call depends on the chain: a new account is
 * registered (with its referrer, the operation's counterparty), an account made earlier by an
 * order only gets its referrer. Null when it cannot be done: the account has another referrer.
 */
export async function callOf(chain: ChainPort, op: OperationRecord): Promise<ChainCall | null> {
  const to = contractOf(chain, op.target).address;
  if (op.kind === "settlement-refill") {
    // What is missing from the float when it is sent, so a refill sent twice never fills past it.
    const missing = BigInt(op.details.float) - (await chain.settlement.balanceOf(chain.sender));
    if (missing <= 0n) return null;
    return { to, data: chain.settlement.interface.encodeFunctionData("transferFrom", [op.details.treasury, chain.sender, missing]) };
  }
  if (op.kind !== "register") return { to, data: op.calldata! };
  const user = op.account!;
  const referrer = op.counterparty ?? ZeroHash;
  const account = await chain.custody.accountOf(user);
  if (account.index === 0n) return { to, data: chain.custody.interface.encodeFunctionData("register", [user, referrer]) };
  if (referrer !== ZeroHash && account.referrer === ZeroHash) {
    return { to, data: chain.custody.interface.encodeFunctionData("setReferrer", [user, referrer]) };
  }
  return null;
}

/** Whether the chain's state shows done an operation that has no request of its own to look for. */
async function stateShowsDone(chain: ChainPort, op: OperationRecord): Promise<boolean> {
  const d = op.details;
  switch (op.kind) {
    case "register": {
      const account = await chain.custody.accountOf(op.account!);
      return account.index !== 0n && (op.counterparty === null || account.referrer.toLowerCase() === op.counterparty.toLowerCase());
    }
    case "set-merchant":
      return (await chain.custody.accountOf(op.account!)).merchant === (d.merchant === "true");
    case "link":
      return (await chain.custody.userOf(d.address)).toLowerCase() === op.account!.toLowerCase();
    case "unlink":
      return (await chain.custody.accountOf(op.account!)).original === ZeroAddress;
    case "settlement-refill":
      return (await chain.settlement.balanceOf(chain.sender)) >= BigInt(d.float);
    case "settlement-approve":
      return (await chain.settlement.allowance(chain.sender, d.spender)) >= BigInt(d.value);
    case "pause":
      return chain.pool.paused();
    case "unpause":
      return !(await chain.pool.paused());
    case "pool-parameter":
      return (await chain.pool.parameters())[POOL_PARAMETERS.indexOf(d.name as (typeof POOL_PARAMETERS)[number])] === BigInt(d.value);
    case "custody-parameter":
      return (await readCustodyParameters(chain))[d.name as (typeof CUSTODY_PARAMETERS)[number]] === BigInt(d.value);
    default:
      return false;
  }
}

/** The gas an actor's relays used today and the day's cap (services/relay-guard.ts). */
export interface GasBudget {
  usedToday: bigint;
  dailyGas: bigint;
}

/** Refuses (RELAY_LIMIT) a relay whose estimated gas does not fit what is left of the actor's day. */
export function checkGasBudget(budget: GasBudget, estimate: bigint): void {
  if (budget.usedToday + estimate > budget.dailyGas) {
    throw new AppError("RELAY_LIMIT", "this would take your relayed signatures past today's gas cap; try again tomorrow (UTC)", {
      usedToday: budget.usedToday.toString(),
      estimate: estimate.toString(),
      dailyGas: budget.dailyGas.toString(),
    });
  }
}

/**
 * The contract each operation target calls, as typechain types it: the core's here, a module's
 * added by the module (declaration merging, as its entry in the chain port's registry).
 */
export interface TargetContracts {
  custody: Custody;
  pool: Pool;
  points: GreenPoints;
  settlement: MockStablecoin;
}

/** An operation target whose contract's calls are typed. */
export type TypedTarget = keyof TargetContracts & OperationTarget;

/** The names of the state-changing functions of a typechain contract type. */
export type WriteFunction<C> = {
  [K in keyof C]: C[K] extends TypedContractMethod<infer _A, infer _R, infer S> ? ([S] extends ["view"] ? never : K) : never;
}[keyof C] &
  string;

/** The parameters typechain gives function `F` of contract `C` (for a union of names, any one's). */
export type CallArgs<C, F extends keyof C> = F extends unknown
  ? C[F] extends TypedContractMethod<infer A, infer _R, infer _S>
    ? A
    : never
  : never;

/** A function of target `T`'s contract and its arguments: a misspelt function or wrong arguments fail to compile. */
export interface TargetCall<T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>> {
  target: T;
  fn: F;
  /**
   * The arguments; a function of the request id for the custody's value-moving calls. Not
   * inferred from (`NoInfer`): `fn` decides the types, and a returned array literal is then
   * checked as the function's parameter tuple.
   */
  args: NoInfer<CallArgs<TargetContracts[T], F> | ((requestId: string) => CallArgs<TargetContracts[T], F>)>;
}

/** A call of target `T` without the target: what a route's helper for one contract is handed. */
export type CallOn<T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>> = Omit<TargetCall<T, F>, "target">;

export interface CallRequest<T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>> extends TargetCall<T, F> {
  kind: string;
  /** Who asks: `user:<id>`, `merchant:<id>`, `admin`, `shop:<id>`. */
  actor: string;
  /** The custodial account it debits or changes, and the one it credits. */
  account?: string | null;
  counterparty?: string | null;
  /** The request in people's units. */
  details: Record<string, string>;
  /** A relayed signature: its gas is estimated and kept, to be held to the actor's day (`checkGasBudget`). */
  estimateGas?: boolean;
  /**
   * False when an operation queued just before changes what this one needs (a settlement
   * refill): it cannot be run on the chain yet, and the sender runs it before sending it.
   */
  simulate?: boolean;
}

/**
 * An operation encoded and run on the chain's pending state, not recorded yet: what the chain
 * would refuse now is refused to the caller at once, with its reason. Routes plan before their
 * idempotency transaction opens (a node round trip is slow next to a database write) and record
 * the plan inside it.
 */
export interface PlannedOperation {
  op: NewOperation;
  /** More rows written with the operation, in the same transaction (an ad sale for a merchant payment). */
  also?: (tx: Queryable, op: OperationRecord) => Promise<void>;
}

/** Encodes a call and runs it on the pending state, refusing at once what the chain would refuse; nothing is written. */
export async function planCall<T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>>(
  chain: ChainPort,
  r: CallRequest<T, F>,
): Promise<PlannedOperation> {
  const id = newOperationId();
  const requestId = typeof r.args === "function" ? requestIdOf(id) : null;
  const args = typeof r.args === "function" ? r.args(requestId!) : r.args;
  const target = contractOf(chain, r.target);
  const calldata = target.iface.encodeFunctionData(r.fn, [...args]);
  const call = { to: target.address, data: calldata };
  let gasEstimate: bigint | undefined;
  if (r.simulate ?? true) {
    const refusal = await chain.simulateCall(call);
    if (refusal) throw refusalError(refusal);
    if (r.estimateGas) gasEstimate = await chain.estimateCall(call);
  }
  const op = {
    id,
    kind: r.kind,
    actor: r.actor,
    account: r.account ?? null,
    counterparty: r.counterparty ?? null,
    requestId,
    target: r.target,
    calldata,
    details: r.details,
    ...(gasEstimate === undefined ? {} : { gasEstimate }),
  };
  return { op };
}

/**
 * Records an operation for the sender to send. A relayed signature only while no other request
 * over its (contract, owner, nonce) is queued, sent or done: two such requests could not both run,
 * and only one can be settled from the chain.
 */
async function insertChecked(db: Queryable, op: NewOperation): Promise<OperationRecord> {
  if (!isSignedRequest(op)) return insertOperation(db, op);
  const queued = await insertSignedOperation(db, op);
  if (!queued) {
    throw new AppError("SIGNATURE_IN_USE", "a request signed over this nonce is already queued, sent or done", {
      owner: op.details.owner,
      nonce: op.details.nonce,
    });
  }
  return queued;
}

/** Records a planned operation (and what goes with it) for the sender to send. */
export async function recordPlanned(db: Queryable, planned: PlannedOperation): Promise<OperationRecord> {
  const record = await insertChecked(db, planned.op);
  await planned.also?.(db, record);
  return record;
}

/** Plans and records a call at once: for callers that hold no transaction open (the relayer's rounds). */
export async function queueCall<T extends TypedTarget, F extends WriteFunction<TargetContracts[T]>>(
  db: Queryable,
  chain: ChainPort,
  r: CallRequest<T, F>,
): Promise<OperationRecord> {
  return recordPlanned(db, await planCall(chain, r));
}

/**
 * Queues a user's registration on the chain, with the referrer's account as counterparty; its
 * call is decided when it is sent (register, or only set the referrer).
 */
export async function queueRegistration(
  db: Queryable,
  r: { actor: string; userId: string; account: string; referrerId?: string; referrer?: string },
): Promise<OperationRecord> {
  return insertOperation(db, {
    id: newOperationId(),
    kind: "register",
    actor: r.actor,
    account: r.account,
    counterparty: r.referrer ?? null,
    requestId: null,
    target: "custody",
    calldata: null,
    details: r.referrerId ? { userId: r.userId, referrerId: r.referrerId } : { userId: r.userId },
  });
}

/** What a redemption asks: which asset, how much of it (in its units), and the least settlement accepted. */
export interface RedemptionRequest {
  asset: Asset;
  amount: string;
  minPayout?: string;
}

/**
 * A redemption of GP or CP into the account's settlement balance, from the request's decimal
 * strings: `amount` in the asset's units, `minPayout` (optional) in settlement units.
 */
export function redemption(account: string, body: RedemptionRequest, settlementDecimals: number) {
  const amount = parsePositiveAmount(body.amount, decimalsOf(body.asset, settlementDecimals), "amount");
  const minPayout = body.minPayout ? parseAmount(body.minPayout, settlementDecimals, "minPayout") : 0n;
  const args = (r: string): CallArgs<Custody, "redeem"> => [r, account, amount, minPayout];
  return body.asset === "GP"
    ? { kind: "redeem", call: { fn: "redeem", args } satisfies CallOn<"custody", "redeem"> }
    : { kind: "redeem-constant", call: { fn: "redeemConstant", args } satisfies CallOn<"custody", "redeemConstant"> };
}

/** An operation as the API shows it. */
export function operationView(op: OperationRecord) {
  return {
    operationId: op.id,
    kind: op.kind,
    state: op.state,
    details: op.details,
    ...(op.txHash ? { txHash: op.txHash } : {}),
    ...(op.reason ? { reason: op.reason } : {}),
    ...(op.result ? { events: op.result } : {}),
    createdAt: op.createdAt.toISOString(),
  };
}

/** The relayer's settlement float and the treasury it is refilled from (deployments.json's `treasury`). */
export interface SettlementFloat {
  float: bigint;
  treasury: string;
}

/**
 * Queues a refill of the relayer's settlement: from the treasury up to the float (what is missing
 * is decided when it is sent), and an allowance of the float to each `spender` that has less.
 * Not again while one is on its way or was refused in the last minute. Returns whether it queued.
 */
export async function queueSettlementRefill(
  db: Queryable,
  chain: ChainPort,
  s: SettlementFloat,
  spenders: readonly string[],
): Promise<boolean> {
  // Two relayers (or a round and a top-up) asking at once would each pull the float's shortfall.
  await lockSettlementRefill(db);
  if (await settlementRefillPending(db, chain.sender)) return false;
  // Bound to this relayer's key: another relayer sending it would fill its own float instead.
  const base = {
    actor: "relayer",
    account: null,
    counterparty: null,
    requestId: null,
    target: "settlement" as const,
    sentBy: chain.sender,
  };
  await insertOperation(db, {
    ...base,
    id: newOperationId(),
    kind: "settlement-refill",
    calldata: null,
    details: { float: s.float.toString(), treasury: s.treasury },
  });
  for (const spender of spenders) {
    if ((await chain.settlement.allowance(chain.sender, spender)) >= s.float) continue;
    await insertOperation(db, {
      ...base,
      id: newOperationId(),
      kind: "settlement-approve",
      calldata: chain.settlement.interface.encodeFunctionData("approve", [spender, s.float]),
      details: { spender, value: s.float.toString() },
    });
  }
  return true;
}

/**
 * The sender's answer to orders refused for the relayer's settlement balance or allowance:
 * `queued` (a refill was queued now) or `on-its-way` (one was before) when a refill can let them
 * through, `cannot-help` when the float and the allowance are full already (the orders need more
 * than a float) or the treasury refused a refill in the last minute.
 */
export async function refillFloat(
  db: Queryable,
  chain: ChainPort,
  s: SettlementFloat,
  spender: string,
): Promise<"queued" | "on-its-way" | "cannot-help"> {
  const [balance, allowance] = await Promise.all([
    chain.settlement.balanceOf(chain.sender),
    chain.settlement.allowance(chain.sender, spender),
  ]);
  if (balance >= s.float && allowance >= s.float) return "cannot-help";
  if (await settlementRefillRefusedLately(db, chain.sender)) return "cannot-help";
  return (await queueSettlementRefill(db, chain, s, [spender])) ? "queued" : "on-its-way";
}

/**
 * Before the relayer pays `amount` of its settlement to `spender` (an operator's ad-credit
 * top-up): whether its float or its allowance is short, so that a refill must be queued first
 * (and the payment cannot be run on the chain before the refill is sent). A payment above the
 * float is refused: the treasury pays such amounts itself.
 */
export async function settlementShort(chain: ChainPort, s: SettlementFloat | null, spender: string, amount: bigint): Promise<boolean> {
  if (!s) return false;
  if (amount > s.float) {
    throw new AppError("AMOUNT_OUT_OF_RANGE", "the relayer pays at most its settlement float; pay larger amounts from the treasury", {
      float: s.float.toString(),
    });
  }
  const balance = await chain.settlement.balanceOf(chain.sender);
  const allowance = await chain.settlement.allowance(chain.sender, spender);
  return balance < amount || allowance < amount;
}
