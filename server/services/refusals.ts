/**
 * What people read when the chain refuses something: one table, by the contract error's name,
 * reading the error's arguments by their ABI names. An order is paid in from the relayer's own
 * settlement wallet, so a token's "insufficient" errors say different things of an order and of an
 * operation (where the wallet is the owner's); the other entries read the same for both.
 */
import type { ChainRevertError } from "../adapters/chain/errors";
import { AppError } from "../errors";

type Args = Readonly<Record<string, unknown>>;
type Reason = (a: Args) => string;

const outside = (a: Args) => `the value is outside ${String(a.min)}..${String(a.max)}`;

const REASONS: Record<string, { operation?: Reason; order?: Reason }> = {
  CustodyInsufficientBalance: { operation: () => "the account does not hold enough of this asset" },
  CustodyInsufficientSettlement: { operation: () => "the account's settlement balance is too small" },
  CustodyUnknownUser: { operation: () => "the account does not exist on the chain yet (it is made by its first order or registration)" },
  CustodyNotMerchant: { operation: () => "the receiver is not a merchant" },
  CustodyZeroAmount: { operation: () => "the amount must be above zero" },
  CustodyConversionTooSmall: { operation: () => "too few GP to make one CP base unit at the current price" },
  CustodyWithdrawalTooSmall: { operation: () => "the amount does not exceed the withdrawal fee" },
  CustodyNotLinked: { operation: () => "no original account is linked" },
  CustodyAlreadyLinked: { operation: () => "an original account is linked already" },
  CustodyAccountLinkedElsewhere: { operation: () => "that address is linked to another user" },
  CustodyInvalidReferrer: { operation: () => "the referrer is unknown on the chain or registered after the user" },
  CustodyReferrerAlreadySet: { operation: () => "the user has a referrer already" },
  CustodyInvalidAddress: { operation: () => "the address is not valid" },
  CustodyExpiredSignature: { operation: () => "the signature's deadline has passed" },
  CustodyInvalidSigner: { operation: () => "the signature is not the account's" },
  CustodyNoReserveSurplus: { operation: () => "there is no reserve surplus" },
  CustodyParameterOutOfRange: { operation: outside },
  CustodyRequestAlreadyProcessed: { operation: () => "the request was processed already" },
  CustodyGrantTooSmall: { operation: () => "the contribution is too small to mint any GP at the current price" },
  CustodySettlementShortfall: { operation: () => "less settlement arrived than the grant pays (a token that takes a fee)" },
  PoolPayoutBelowMinimum: { operation: () => "the payout would be below the minimum asked for" },
  PoolZeroRedemption: { operation: () => "the amount must be above zero" },
  PoolParameterOutOfRange: { operation: outside },
  PoolExpiredSignature: { operation: () => "the signature's deadline has passed" },
  PoolInvalidSigner: { operation: () => "the signature is not the owner's" },
  PoolOrderTooSmall: { order: () => "the amount is too small to mint any GP at the current price" },
  PoolOrderTooLarge: { order: () => "the amount is above the pool's largest order" },
  GreenPointsCapExceeded: {
    order: () => "the order would take the GP ever minted past the cap",
    operation: () => "it would take the GP ever minted past the cap",
  },
  GreenPointsExpiredSignature: { operation: () => "the signature's deadline has passed" },
  GreenPointsInvalidSigner: { operation: () => "the signature is not the owner's" },
  ERC2612ExpiredSignature: { operation: () => "the permit's deadline has passed" },
  ERC2612InvalidSigner: { operation: () => "the permit is not signed by the owner" },
  ERC20InsufficientBalance: {
    operation: () => "the address does not hold enough GP",
    order: (a) =>
      `the relayer's settlement wallet holds too little to pay this order into the pool (holds ${String(a.balance)}, needs ${String(a.needed)} base units)`,
  },
  ERC20InsufficientAllowance: {
    operation: () => "the payer's settlement allowance is too low (a refill of the relayer's float approves it)",
    order: (a) =>
      `the relayer's settlement allowance to the pool is too low for this order (allows ${String(a.allowance)}, needs ${String(a.needed)} base units)`,
  },
  EnforcedPause: { operation: () => "the pool is paused" },
  ExpectedPause: { operation: () => "the pool is not paused" },
  AccessControlUnauthorizedAccount: { operation: () => "the relayer's key lacks the role this needs on the contracts" },
};

/** The contract errors the table has words for: the codes the pages turn into their own words. */
export const REFUSAL_NAMES: readonly string[] = Object.keys(REASONS);

/** Rejections the relayer gives without a contract error's name, kept as this text; their codes below. */
export const REVERTED_WITHOUT_REASON = "the transaction reverted on chain";
export const REFERRER_SET_ELSEWHERE = "the user has another referrer already (a referrer is set once)";
/** The codes of the relayer's own rejections, beside the contracts' error names. */
export const OWN_REJECTION_CODES: Readonly<Record<string, string>> = {
  [REVERTED_WITHOUT_REASON]: "TransactionReverted",
  [REFERRER_SET_ELSEWHERE]: "CustodyReferrerAlreadySet",
  // A prefunded shop's order waiting for a deposit (adapters/db/orders.ts SHOP_BALANCE_TOO_LOW).
  "shop balance too low": "SHOP_BALANCE_TOO_LOW",
};

/** A rejected order keeps the table's text alone: the name it came from, by its text (the texts of orders that read no argument). */
const ORDER_TEXT_NAMES = new Map(
  Object.entries(REASONS).flatMap(([name, r]) => (r.order && r.order.length === 0 ? [[r.order({}), name] as const] : [])),
);

/**
 * The stable code of a stored reason: the contract error's name it was made from, or one of
 * OWN_REJECTION_CODES; null for a reason nothing here made. Read from the shapes this file
 * writes: an operation's "<text> (<Name>)" or "the chain refused it: <Name>(…)", a parked
 * order's "parked: <text> (<Name>); tried again from …", a rejected order's table text or bare name.
 */
export function refusalCode(reason: string | null | undefined): string | null {
  if (!reason) return null;
  if (reason in OWN_REJECTION_CODES) return OWN_REJECTION_CODES[reason];
  const named = /\((\w+)\)(?:;|$)/.exec(reason)?.[1] ?? /^the chain refused it: (\w+)\(/.exec(reason)?.[1];
  if (named) return named;
  if (/^\w+$/.test(reason)) return reason;
  return ORDER_TEXT_NAMES.get(reason) ?? null;
}

/** The readable text of a refusal of `subject`, if the table has one. */
export const reasonText = (refusal: ChainRevertError, subject: "order" | "operation"): string | undefined =>
  REASONS[refusal.name]?.[subject]?.(refusal.namedArgs);

/** The chain's error as it came, for a refusal the table has no words for. */
const raw = (refusal: ChainRevertError) => `${refusal.name}(${refusal.args.map(String).join(", ")})`;

/** Why the chain refuses an operation, as the operation's record keeps it. */
export function reasonOf(refusal: ChainRevertError): string {
  const text = reasonText(refusal, "operation");
  return text ? `${text} (${refusal.name})` : `the chain refused it: ${raw(refusal)}`;
}

/** Why the chain refuses an order that it names (or that it refuses alone, past the cap). */
export const orderRejection = (refusal: ChainRevertError): string => reasonText(refusal, "order") ?? refusal.name;

/** Why an order the chain refuses alone, for a reason that names no order, waits. */
export const parkedReason = (refusal: ChainRevertError): string => reasonText(refusal, "order") ?? `the chain refuses it: ${raw(refusal)}`;

/** The error an endpoint answers when the chain would refuse the operation now. */
export function refusalError(refusal: ChainRevertError): AppError {
  const balance = ["CustodyInsufficientBalance", "CustodyInsufficientSettlement", "ERC20InsufficientBalance"].includes(refusal.name);
  return new AppError(
    balance ? "INSUFFICIENT_BALANCE" : "CHAIN_REFUSED",
    reasonOf(refusal),
    { chainError: refusal.name },
    { cause: refusal },
  );
}
