/**
 * Operations: every chain transaction that is not an order batch (a custodial move, a user's
 * registration, a merchant flag, a parameter change, a pause, a relayed signed request). They are
 * queued in the database and sent by the batcher with the relayer's own nonces, one transaction
 * each, so they share its crash-safety: intent recorded before broadcast, receipts reconciled,
 * lost blocks noticed. Custodial moves carry a request id derived from the operation id, which
 * the custody refuses the second time; the other kinds say how to tell from the chain that they
 * already happened.
 */
import { randomBytes } from "node:crypto";
import { type Interface, ZeroAddress, ZeroHash, keccak256, parseUnits, toUtf8Bytes } from "ethers";
import type { ChainCall, ChainEvent, ChainPort, DecodedRevert } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import {
  type NewOperation,
  type OperationRecord,
  type OperationTarget,
  insertOperation,
  insertSignedOperation,
  otherOperationOfTransaction,
  registrationExists,
} from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { AppError } from "../errors";

export const Asset = { GP: 0, CP: 1 } as const;
export type AssetCode = keyof typeof Asset;

export const POOL_PARAMETERS = ["poolShare", "mintShare", "exitFee", "initialPrice", "referralShare1", "referralShare2"] as const;
export const CUSTODY_PARAMETERS = ["withdrawalFee", "exitMultiple"] as const;

export const newOperationId = () => `op_${randomBytes(10).toString("hex")}`;
/** The custody's exactly-once key for an operation. */
export const requestIdOf = (operationId: string) => keccak256(toUtf8Bytes(operationId));

/** What people read when the chain refuses an operation. */
const REASONS: Record<string, (args: readonly unknown[]) => string> = {
  CustodyInsufficientBalance: () => "the account does not hold enough of this asset",
  CustodyInsufficientSettlement: () => "the account's settlement balance is too small",
  CustodyUnknownUser: () => "the account does not exist on the chain yet (it is made by its first order or registration)",
  CustodyNotMerchant: () => "the receiver is not a merchant",
  CustodyZeroAmount: () => "the amount must be above zero",
  CustodyConversionTooSmall: () => "too few GP to make one CP base unit at the current price",
  CustodyWithdrawalTooSmall: () => "the amount does not exceed the withdrawal fee",
  CustodyNotLinked: () => "no original account is linked",
  CustodyAlreadyLinked: () => "an original account is linked already",
  CustodyAccountLinkedElsewhere: () => "that address is linked to another user",
  CustodyInvalidReferrer: () => "the referrer is unknown on the chain or registered after the user",
  CustodyReferrerAlreadySet: () => "the user has a referrer already",
  CustodyInvalidAddress: () => "the address is not valid",
  CustodyExpiredSignature: () => "the signature's deadline has passed",
  CustodyInvalidSigner: () => "the signature is not the account's",
  CustodyNoReserveSurplus: () => "there is no reserve surplus",
  CustodyParameterOutOfRange: (a) => `the value is outside ${String(a[2])}..${String(a[3])}`,
  CustodyRequestAlreadyProcessed: () => "the request was processed already",
  PoolPayoutBelowMinimum: () => "the payout would be below the minimum asked for",
  PoolZeroRedemption: () => "the amount must be above zero",
  PoolParameterOutOfRange: (a) => `the value is outside ${String(a[2])}..${String(a[3])}`,
  PoolExpiredSignature: () => "the signature's deadline has passed",
  PoolInvalidSigner: () => "the signature is not the owner's",
  GreenPointsExpiredSignature: () => "the signature's deadline has passed",
  GreenPointsInvalidSigner: () => "the signature is not the owner's",
  ERC2612ExpiredSignature: () => "the permit's deadline has passed",
  ERC2612InvalidSigner: () => "the permit is not signed by the owner",
  ERC20InsufficientBalance: () => "the address does not hold enough GP",
  EnforcedPause: () => "the pool is paused",
  ExpectedPause: () => "the pool is not paused",
  AccessControlUnauthorizedAccount: () => "the relayer's key lacks the role this needs on the contracts",
};

export function reasonOf(refusal: DecodedRevert): string {
  const text = REASONS[refusal.name]?.(refusal.args);
  return text ? `${text} (${refusal.name})` : `the chain refused it: ${refusal.name}(${refusal.args.map(String).join(", ")})`;
}

/** The error an endpoint answers when the chain would refuse the operation now. */
export function refusalError(refusal: DecodedRevert): AppError {
  const balance = ["CustodyInsufficientBalance", "CustodyInsufficientSettlement", "ERC20InsufficientBalance"].includes(refusal.name);
  return new AppError(balance ? "INSUFFICIENT_BALANCE" : "CHAIN_REFUSED", reasonOf(refusal), { chainError: refusal.name });
}

/** The contract an operation calls: its address, its ABI, and its EIP-712 nonces (at a block, or the pending state). */
function contractOf(chain: ChainPort, target: OperationTarget) {
  const contract = { custody: chain.custody, pool: chain.pool, points: chain.points, ads: chain.adCredit }[target];
  if (!contract) throw adsUnavailable();
  type Nonces = { nonces(owner: string, overrides: { blockTag: number | "pending" }): Promise<bigint> };
  return {
    address: target === "ads" ? chain.deployments.adCredit! : chain.deployments[target],
    iface: contract.interface as unknown as Interface,
    nonces: (owner: string, blockTag: number | "pending") => (contract as unknown as Nonces).nonces(owner, { blockTag }),
  };
}

/** Rewarded ads need the ad-credit contract, which a deployment made before them lacks. */
export function adsUnavailable(): AppError {
  return new AppError("ADS_UNAVAILABLE", "this deployment has no ad-credit contract (its data folder predates rewarded ads)");
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
    case "pause":
      return chain.pool.paused();
    case "unpause":
      return !(await chain.pool.paused());
    case "pool-parameter":
      return (await chain.pool.parameters())[POOL_PARAMETERS.indexOf(d.name as (typeof POOL_PARAMETERS)[number])] === BigInt(d.value);
    case "custody-parameter":
      return (
        (await chain.custody.parameters())[CUSTODY_PARAMETERS.indexOf(d.name as (typeof CUSTODY_PARAMETERS)[number])] === BigInt(d.value)
      );
    default:
      return false;
  }
}

/**
 * Queues an operation after running it on the chain's pending state: what the chain would refuse
 * now is refused to the caller at once, with its reason, and nothing is recorded.
 */
async function queueOperation(db: Queryable, chain: ChainPort, op: NewOperation): Promise<OperationRecord> {
  if (op.calldata) {
    const refusal = await chain.simulateCall({ to: contractOf(chain, op.target).address, data: op.calldata });
    if (refusal) throw refusalError(refusal);
  }
  if (!isSignedRequest(op)) return insertOperation(db, op);
  // One request per (contract, owner, nonce): a second one signed over the same nonce, or the same
  // signature sent again, could not both run, and only one can be settled from the chain.
  const queued = await insertSignedOperation(db, op);
  if (!queued) {
    throw new AppError("SIGNATURE_IN_USE", "a request signed over this nonce is already queued, sent or done", {
      owner: op.details.owner,
      nonce: op.details.nonce,
    });
  }
  return queued;
}

export interface CallRequest {
  kind: string;
  /** Who asks: `user:<id>`, `merchant:<id>`, `admin`, `shop:<id>`. */
  actor: string;
  /** The custodial account it debits or changes, and the one it credits. */
  account?: string | null;
  counterparty?: string | null;
  target: OperationTarget;
  fn: string;
  /** The arguments; a function of the request id for the custody's value-moving calls. */
  args: readonly unknown[] | ((requestId: string) => readonly unknown[]);
  /** The request in people's units. */
  details: Record<string, string>;
}

/** Encodes a call, runs it on the pending state (refusing at once what the chain would refuse), and queues it. */
export function queueCall(db: Queryable, chain: ChainPort, r: CallRequest): Promise<OperationRecord> {
  const id = newOperationId();
  const requestId = typeof r.args === "function" ? requestIdOf(id) : null;
  const args = typeof r.args === "function" ? r.args(requestId!) : r.args;
  return queueOperation(db, chain, {
    id,
    kind: r.kind,
    actor: r.actor,
    account: r.account ?? null,
    counterparty: r.counterparty ?? null,
    requestId,
    target: r.target,
    calldata: contractOf(chain, r.target).iface.encodeFunctionData(r.fn, [...args]),
    details: r.details,
  });
}

/**
 * Queues a user's registration on the chain, with the referrer's account as counterparty; its
 * call is decided when it is sent (register, or only set the referrer). `once`: not again when a
 * registration naming the same referrer is queued or done already (webhooks repeat the referrer).
 */
export async function queueRegistration(
  db: Queryable,
  r: { actor: string; userId: string; account: string; referrerId?: string; referrer?: string },
  once = false,
): Promise<OperationRecord | null> {
  if (once && (await registrationExists(db, r.account, r.referrer ?? null))) return null;
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

/**
 * A redemption of GP or CP into the account's settlement balance, from the request's decimal
 * strings: `amount` in the asset's units, `minPayout` (optional) in settlement units.
 */
export function redemption(account: string, body: Readonly<Record<string, string | undefined>>, settlementDecimals: number) {
  const asset = body.asset as AssetCode;
  const amount = parsePositiveAmount(body.amount ?? "", decimalsOf(asset, settlementDecimals), "amount");
  const minPayout = body.minPayout ? parseAmount(body.minPayout, settlementDecimals, "minPayout") : 0n;
  return asset === "GP"
    ? { kind: "redeem", fn: "redeem", args: (r: string) => [r, account, amount, minPayout] }
    : { kind: "redeem-constant", fn: "redeemConstant", args: (r: string) => [r, account, amount, minPayout] };
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

/** The decimals of an asset's amounts: GP has 18, CP and settlement the settlement token's. */
export const decimalsOf = (asset: string, settlementDecimals: number) => (asset === "GP" ? 18 : settlementDecimals);
