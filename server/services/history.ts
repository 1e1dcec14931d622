/**
 * A user's history: every movement of its custodial GP, CP and settlement, newest first, with the
 * lifetime totals. The chain says what moved: the custody's events that name the account (and the
 * ad-credit contract's conversions for it), read up to one head block, at which the balances are
 * read too, so the entries' amounts add up to the balances exactly. The database says what was
 * asked and how it stands: the shop and order id of an order, the operation behind a move, and
 * what is pending or was rejected (which moved nothing and counts for nothing).
 *
 * The block range: from the first block where a relayer transaction named the user (its first
 * order's batch or its registration: the account cannot have an event before it exists), or the
 * deployment's block when none is recorded, to the head read once per request. Logs are read in
 * requests of at most LOG_WINDOW blocks: four filters on the user's topic, then the pool's price
 * events only over the spans that hold the user's transactions, then one batched request for the
 * timestamps of the blocks of entries the database does not know. The number of RPC calls does
 * not grow with the number of entries.
 */
import type { Interface } from "ethers";
import type { ChainPort, LoggedEvent } from "../adapters/chain/chain";
import { LOG_WINDOW } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { orderKey } from "../adapters/chain/order-key";
import type { Queryable } from "../adapters/db/db";
import { HISTORY_LIMIT, conversionsOfUser, firstBlockOfUser, ordersOfUser } from "../adapters/db/history";
import { type OperationRecord, operationsOfAccount } from "../adapters/db/operations";
import { formatAmount, formatPrice } from "../domain/display";
import { AppError } from "../errors";
import { csvCell } from "./statements";

export const HISTORY_KINDS = [
  "order",
  "referral",
  "ad-conversion",
  "transfer-in",
  "transfer-out",
  "payment",
  "redemption",
  "conversion",
  "exchange",
  "withdrawal-points",
  "withdrawal-settlement",
  "deposit",
  "exit",
  "grant",
  "removal",
] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export const HISTORY_STATES = ["pending", "confirmed", "rejected"] as const;
export type HistoryState = (typeof HISTORY_STATES)[number];

/**
 * How `price` was found: `pool-after` is the pool's assets / supply after the transaction (its
 * OrdersSettled or PointsRetired event); `redemption` the price the pool valued the redeemed GP
 * at (gross / points of its Redeemed event); `conversion` the CP per GP of a conversion or an
 * exchange (its own event, rounded down by the custody).
 */
export const PRICE_BASES = ["pool-after", "redemption", "conversion"] as const;
export type PriceBasis = (typeof PRICE_BASES)[number];

/** The kind-specific facts of an entry, in people's units; only those that apply are present. */
export const DETAIL_KEYS = [
  "shopId",
  "orderId",
  "amount",
  "asset",
  "counterparty",
  "level",
  "gross",
  "fee",
  "payout",
  "vouchers",
  "backing",
  "merchantId",
  "note",
  "releaseAt",
  "estimate",
  "refunded",
] as const;
export type DetailKey = (typeof DETAIL_KEYS)[number];

export interface HistoryEntry {
  /** Stable and unique: `order:<shopId>:<orderId>`, an operation id, a conversion id, or `chain:<txHash>:<logIndex>`. */
  id: string;
  /** When it was asked (the order, operation or conversion recorded), or its block's time when only the chain knows it. */
  time: string;
  kind: HistoryKind;
  state: HistoryState;
  /** What it did to the balances by `asOfBlock`, signed, in whole units; "0" when it moved nothing (pending, rejected). */
  points: string;
  constantPoints: string;
  settlement: string;
  /** Settlement units per GP, 18 places; null when the pool took no part (a transfer, a payment, a deposit, a settlement withdrawal). */
  price: string | null;
  priceBasis: PriceBasis | null;
  details: Partial<Record<DetailKey, string>>;
  operationId: string | null;
  txHash: string | null;
  blockNumber: number | null;
  /** Why it was rejected. */
  reason: string | null;
}

export interface History {
  /** Newest first. */
  entries: HistoryEntry[];
  totals: {
    /** GP credited by orders, referrals, ad conversions and grants. */
    earned: { points: string };
    /** GP and CP redeemed (forced exits included), and the settlement their redemptions paid in. */
    redeemed: { points: string; constantPoints: string; payout: string };
    /** The account's balances on the chain at `asOfBlock`. */
    held: { points: string; constantPoints: string; settlement: string };
  };
  /** The head block the chain was read at. */
  asOfBlock: number;
  fromBlock: number;
}

/** The operation kinds that move a custodial account's value, as history kinds (a transfer by which side the account is). */
const OPERATION_KINDS: Record<string, (op: OperationRecord, account: string) => HistoryKind> = {
  transfer: (op, account) => (op.account === account ? "transfer-out" : "transfer-in"),
  "pay-merchant": () => "payment",
  redeem: () => "redemption",
  "redeem-constant": () => "redemption",
  convert: () => "conversion",
  "exchange-constant": () => "exchange",
  "withdraw-points": () => "withdrawal-points",
  "withdraw-settlement": () => "withdrawal-settlement",
  "deposit-by-sig": () => "deposit",
  grant: () => "grant",
  removal: () => "removal",
};

/** The history kind of a custody event with no order, operation or conversion behind it. */
const EVENT_KINDS: Record<string, (e: LoggedEvent, account: string) => HistoryKind> = {
  OrderCredited: () => "order",
  ReferralCredited: () => "referral",
  Transferred: (e, account) => (e.args.from === account ? "transfer-out" : "transfer-in"),
  MerchantPaid: () => "payment",
  RedeemedToBalance: () => "redemption",
  ConvertedToConstant: () => "conversion",
  ConstantExchanged: () => "exchange",
  SettlementWithdrawn: () => "withdrawal-settlement",
  WithdrawnToOriginal: () => "withdrawal-points",
  Deposited: () => "deposit",
  Exited: () => "exit",
  VouchersConverted: () => "ad-conversion",
  Granted: () => "grant",
  Removed: () => "removal",
};

const EARNING: ReadonlySet<HistoryKind> = new Set(["order", "referral", "ad-conversion", "grant"]);
const REDEEMING: ReadonlySet<HistoryKind> = new Set(["redemption", "exit"]);

interface Delta {
  points: bigint;
  constantPoints: bigint;
  settlement: bigint;
}

const ASSET_FIELD = ["points", "constantPoints"] as const;
const ASSET_NAME = ["GP", "CP"] as const;

/** What the event did to `account`'s balances; null for an event that moves none of them (a registration, a quota). */
function deltaOf(e: LoggedEvent, account: string): Delta | null {
  const d: Delta = { points: 0n, constantPoints: 0n, settlement: 0n };
  const a = e.args;
  const asset = () => ASSET_FIELD[Number(a.asset)];
  switch (e.name) {
    case "OrderCredited":
    case "Deposited":
    case "Granted":
      if (a.user !== account) return null;
      d.points = BigInt(a.points);
      return d;
    case "ReferralCredited":
      // A level that pays nothing (referralShare2Bps = 0, the first-order default) moves nothing: no entry.
      if (a.referrer !== account || BigInt(a.points) === 0n) return null;
      d.points = BigInt(a.points);
      return d;
    case "VouchersConverted":
      d.points = BigInt(a.points);
      return d;
    case "Transferred":
      if (a.from === account) d[asset()] -= BigInt(a.amount);
      if (a.to === account) d[asset()] += BigInt(a.amount);
      return d;
    case "MerchantPaid":
      if (a.user === account) d[asset()] -= BigInt(a.amount);
      if (a.merchant === account) d[asset()] += BigInt(a.amount);
      return d;
    case "RedeemedToBalance":
      d[asset()] = -BigInt(a.amount);
      d.settlement = BigInt(a.payout);
      return d;
    case "ConvertedToConstant":
      d.points = -BigInt(a.points);
      d.constantPoints = BigInt(a.constantPoints);
      return d;
    case "ConstantExchanged":
      d.constantPoints = -BigInt(a.constantPoints);
      d.points = BigInt(a.points);
      return d;
    case "SettlementWithdrawn":
      d.settlement = -BigInt(a.amount);
      return d;
    case "WithdrawnToOriginal":
      d.points = -BigInt(a.points);
      return d;
    case "Removed":
      if (a.user !== account) return null;
      d.points = -BigInt(a.points);
      return d;
    case "Exited":
      d.points = -BigInt(a.points);
      d.settlement = BigInt(a.payout);
      return d;
    default:
      return null;
  }
}

/** An entry being assembled: bigint deltas, the events that made it. */
interface Draft {
  id: string;
  timeMs: number | null;
  kind: HistoryKind;
  state: HistoryState;
  delta: Delta;
  events: LoggedEvent[];
  details: Partial<Record<DetailKey, string>>;
  operationId: string | null;
  txHash: string | null;
  reason: string | null;
}

// A pending order (its window not over) is pending too, with `releaseAt` and an `estimate`; one refunded whole while pending was never sent.
const ORDER_STATE = {
  pending: "pending",
  received: "pending",
  submitted: "pending",
  confirmed: "confirmed",
  rejected: "rejected",
  cancelled: "rejected",
} as const;
const OPERATION_STATE = { queued: "pending", submitted: "pending", confirmed: "confirmed", rejected: "rejected" } as const;
const CONVERSION_STATE = { pending: "pending", submitted: "pending", confirmed: "confirmed", rejected: "rejected" } as const;

/** Groups of blocks no wider than LOG_WINDOW, so the pool's events are read only where the user's transactions are. */
function spans(blocks: readonly number[]): [number, number][] {
  const sorted = [...new Set(blocks)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const b of sorted) {
    const last = out.at(-1);
    if (last && b - last[0] < LOG_WINDOW) last[1] = b;
    else out.push([b, b]);
  }
  return out;
}

export interface HistoryDeps {
  chain: ChainPort;
  userSalt: string;
}

/** The user's whole history, newest first, with its totals. */
export async function readHistory(deps: HistoryDeps, db: Queryable, userId: string): Promise<History> {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const account = custodialUserId(deps.userSalt, userId).toLowerCase();
  // The database first, then the head: whatever the tables call confirmed is mined by then.
  const orders = await ordersOfUser(db, userId);
  // GP a pending order would mint to its buyer at today's price: an estimate, minted at the price of its release.
  const estimates = new Map<string, bigint>();
  for (const o of orders.filter((o) => o.state === "pending"))
    estimates.set(`${o.shopId}:${o.orderId}`, (await chain.pool.previewOrder(o.amount - o.refunded)).points_);
  const operations = (await operationsOfAccount(db, account, { limit: HISTORY_LIMIT })).filter((op) => op.kind in OPERATION_KINDS);
  const conversions = await conversionsOfUser(db, userId);
  const fromBlock = (await firstBlockOfUser(db, userId, account)) ?? chain.deployments.deployedAtBlock;
  const head = await chain.blockNumber();

  const custody = chain.deployments.custody;
  const topic = (c: { interface: Interface }, name: string) => c.interface.getEvent(name)!.topicHash;
  const adCredit = chain.contracts().find((c) => c.name === "adCredit");
  const range = { fromBlock, toBlock: head };
  const [second, transfersIn, firstTopic, adConversions, held] = await Promise.all([
    // Orders, referrals and every request the account made: the account is their second indexed argument.
    chain.logs({ address: [custody], topics: [null, null, account], ...range }),
    chain.logs({ address: [custody], topics: [topic(chain.custody, "Transferred"), null, null, account], ...range }),
    chain.logs({ address: [custody], topics: [[topic(chain.custody, "Deposited"), topic(chain.custody, "Exited")], account], ...range }),
    adCredit
      ? chain.logs({ address: [adCredit.address], topics: [topic(adCredit.contract, "VouchersConverted"), null, account], ...range })
      : Promise.resolve([]),
    chain.custody.accountOf(account, { blockTag: head }),
  ]);
  const adCreditAddress = adCredit?.address.toLowerCase();
  const seen = new Set<string>();
  const moves: { event: LoggedEvent; delta: Delta }[] = [];
  for (const event of [...second, ...transfersIn, ...firstTopic, ...adConversions]) {
    const key = `${event.txHash}:${event.logIndex}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // An ad conversion's GP arrive as a deposit from the ad-credit contract: counted once, by its conversion's event.
    if (event.name === "Deposited" && adCreditAddress && event.args.from === adCreditAddress) continue;
    const delta = deltaOf(event, account);
    if (delta) moves.push({ event, delta });
  }

  const drafts = new Map<string, Draft>();
  const draft = (id: string, init: () => Omit<Draft, "id" | "delta" | "events">) => {
    let found = drafts.get(id);
    if (!found) {
      found = { id, ...init(), delta: { points: 0n, constantPoints: 0n, settlement: 0n }, events: [] };
      drafts.set(id, found);
    }
    return found;
  };
  const orderDraft = (o: (typeof orders)[number]) =>
    draft(`order:${o.shopId}:${o.orderId}`, () => ({
      timeMs: o.createdAt.getTime(),
      kind: "order",
      state: ORDER_STATE[o.state],
      details: {
        shopId: o.shopId,
        orderId: o.orderId,
        amount: formatAmount(o.amount, d),
        asset: "settlement",
        ...(o.refunded > 0n ? { refunded: formatAmount(o.refunded, d) } : {}),
        ...(o.state === "pending" && o.releaseAt !== null
          ? {
              releaseAt: new Date(o.releaseAt * 1000).toISOString(),
              estimate: formatAmount(estimates.get(`${o.shopId}:${o.orderId}`)!, 18),
            }
          : {}),
      },
      operationId: null,
      txHash: o.txHash,
      reason: o.state === "rejected" ? o.reason : o.state === "cancelled" ? "refunded while pending" : null,
    }));
  const operationDraft = (op: OperationRecord) =>
    draft(op.id, () => ({
      timeMs: op.createdAt.getTime(),
      kind: OPERATION_KINDS[op.kind](op, account),
      state: OPERATION_STATE[op.state],
      details: operationDetails(op, account),
      operationId: op.id,
      txHash: op.txHash,
      reason: op.state === "rejected" ? op.reason : null,
    }));
  const conversionDraft = (c: (typeof conversions)[number]) =>
    draft(c.id, () => ({
      timeMs: c.createdAt.getTime(),
      kind: "ad-conversion",
      state: CONVERSION_STATE[c.state],
      details: { vouchers: formatAmount(c.vouchers, d), merchantId: c.merchantId },
      operationId: null,
      txHash: c.txHash,
      reason: c.state === "rejected" ? c.reason : null,
    }));

  const orderByKey = new Map(orders.filter((o) => o.sentBy).map((o) => [orderKey(o.sentBy!, o.chainOrderId).toLowerCase(), o] as const));
  const operationByTx = new Map(operations.filter((op) => op.txHash).map((op) => [op.txHash!.toLowerCase(), op] as const));
  const conversionById = new Map(conversions.map((c) => [c.conversionId.toLowerCase(), c] as const));
  for (const { event, delta } of moves) {
    const order = event.name === "OrderCredited" ? orderByKey.get(event.args.orderKey) : undefined;
    const conversion = event.name === "VouchersConverted" ? conversionById.get(event.args.conversionId) : undefined;
    const op = event.name === "ReferralCredited" || order || conversion ? undefined : operationByTx.get(event.txHash);
    const target = order
      ? orderDraft(order)
      : conversion
        ? conversionDraft(conversion)
        : op
          ? operationDraft(op)
          : draft(`chain:${event.txHash}:${event.logIndex}`, () => ({
              timeMs: null,
              kind: EVENT_KINDS[event.name](event, account),
              state: "confirmed",
              details: {},
              operationId: null,
              txHash: event.txHash,
              reason: null,
            }));
    target.delta.points += delta.points;
    target.delta.constantPoints += delta.constantPoints;
    target.delta.settlement += delta.settlement;
    target.events.push(event);
    target.txHash = event.txHash;
  }
  // What the database knows that moved nothing yet (pending), or never will (rejected).
  for (const o of orders) orderDraft(o);
  for (const op of operations) operationDraft(op);
  for (const c of conversions) conversionDraft(c);

  // The pool's price events of the user's transactions, and the block times the database cannot give.
  const all = [...drafts.values()];
  const moved = all.filter((x) => x.events.length > 0);
  const txs = new Set(moved.map((x) => x.txHash!));
  const poolEvents = ["OrdersSettled", "PointsRetired", "Redeemed"].map((name) => topic(chain.pool, name));
  const priced = new Map<string, LoggedEvent[]>();
  const poolSpans = spans(moved.flatMap((x) => x.events.map((e) => e.blockNumber)));
  const [poolLogs, times] = await Promise.all([
    Promise.all(
      poolSpans.map(([from, to]) => chain.logs({ address: [chain.deployments.pool], topics: [poolEvents], fromBlock: from, toBlock: to })),
    ),
    chain.blockTimes(all.filter((x) => x.timeMs === null).map((x) => x.events[0].blockNumber)),
  ]);
  for (const e of poolLogs.flat()) if (txs.has(e.txHash)) priced.set(e.txHash, [...(priced.get(e.txHash) ?? []), e]);

  const custodyAddress = custody.toLowerCase();
  const entries = all.map((x): HistoryEntry => {
    const first = x.events[0];
    const details = { ...x.details, ...eventDetails(x, account, d) };
    const price = priceOf(x, priced.get(x.txHash ?? "") ?? [], custodyAddress, d);
    const redeemed = (priced.get(x.txHash ?? "") ?? []).find((e) => e.name === "Redeemed" && e.args.holder === custodyAddress);
    if (redeemed && (x.kind === "redemption" || x.kind === "exit")) {
      details.gross = formatAmount(BigInt(redeemed.args.gross), d);
      details.fee = formatAmount(BigInt(redeemed.args.fee), d);
      details.payout = formatAmount(BigInt(redeemed.args.payout), d);
    }
    return {
      id: x.id,
      time: new Date(x.timeMs ?? times.get(first.blockNumber)! * 1000).toISOString(),
      kind: x.kind,
      state: x.state,
      points: formatAmount(x.delta.points, 18),
      constantPoints: formatAmount(x.delta.constantPoints, d),
      settlement: formatAmount(x.delta.settlement, d),
      price: price?.value ?? null,
      priceBasis: price?.basis ?? null,
      details,
      operationId: x.operationId,
      txHash: x.txHash,
      blockNumber: first?.blockNumber ?? null,
      reason: x.reason,
    };
  });
  entries.sort(newestFirst);

  const earned = moved.filter((x) => EARNING.has(x.kind)).reduce((s, x) => s + x.delta.points, 0n);
  const redeeming = moved.filter((x) => REDEEMING.has(x.kind));
  return {
    entries,
    totals: {
      earned: { points: formatAmount(earned, 18) },
      redeemed: {
        points: formatAmount(-redeeming.reduce((s, x) => s + x.delta.points, 0n), 18),
        constantPoints: formatAmount(-redeeming.reduce((s, x) => s + x.delta.constantPoints, 0n), d),
        payout: formatAmount(
          redeeming.reduce((s, x) => s + x.delta.settlement, 0n),
          d,
        ),
      },
      held: {
        points: formatAmount(held.points, 18),
        constantPoints: formatAmount(held.constantPoints, d),
        settlement: formatAmount(held.settlement, d),
      },
    },
    asOfBlock: head,
    fromBlock,
  };
}

/** What the operation asked, in the entry's terms. */
function operationDetails(op: OperationRecord, account: string): Partial<Record<DetailKey, string>> {
  const x = op.details;
  switch (op.kind) {
    case "transfer":
      return { asset: x.asset, amount: x.amount, counterparty: op.account === account ? x.toUserId : op.actor.replace(/^user:/, "") };
    case "pay-merchant":
      return { asset: x.asset, amount: x.amount, merchantId: x.merchantId, counterparty: x.merchantId };
    case "redeem":
    case "redeem-constant":
      return { asset: x.asset, amount: x.amount };
    case "convert":
    case "withdraw-points":
      return { asset: "GP", amount: x.points };
    case "exchange-constant":
      return { asset: "CP", amount: x.constantPoints };
    case "withdraw-settlement":
      return { asset: "settlement", amount: x.amount, counterparty: x.to };
    case "deposit-by-sig":
      return { asset: "GP", amount: x.points, counterparty: x.owner };
    case "grant":
      return { asset: "settlement", amount: x.contribution, note: x.reason };
    case "removal":
      return { asset: "GP", amount: x.points, note: x.reason };
    default:
      return {};
  }
}

/** What the chain's events say of the entry (they win over what was asked). */
function eventDetails(x: Draft, account: string, d: number): Partial<Record<DetailKey, string>> {
  const e = x.events[0];
  if (!e) return {};
  const a = e.args;
  const gp = (v: string) => formatAmount(BigInt(v), 18);
  switch (e.name) {
    case "ReferralCredited":
      return { asset: "GP", amount: gp(a.points), level: a.level };
    case "VouchersConverted":
      return { vouchers: formatAmount(BigInt(a.vouchers), d), backing: formatAmount(BigInt(a.backing), d) };
    case "Transferred":
    case "MerchantPaid":
      return {
        asset: ASSET_NAME[Number(a.asset)],
        amount: formatAmount(BigInt(a.amount), a.asset === "0" ? 18 : d),
        ...(x.operationId ? {} : { counterparty: e.name === "MerchantPaid" ? a.merchant : a.from === account ? a.to : a.from }),
      };
    case "RedeemedToBalance":
      return { asset: ASSET_NAME[Number(a.asset)], amount: formatAmount(BigInt(a.amount), a.asset === "0" ? 18 : d) };
    case "WithdrawnToOriginal":
      return { asset: "GP", amount: gp(a.points), fee: gp(a.fee), counterparty: a.account };
    case "Deposited":
      return { asset: "GP", amount: gp(a.points), counterparty: a.from };
    case "Exited":
      return { asset: "GP", amount: gp(a.points) };
    case "SettlementWithdrawn":
      return { asset: "settlement", amount: formatAmount(BigInt(a.amount), d), counterparty: a.to };
    default:
      return {};
  }
}

/** The price at the time, from the pool's events of the entry's transaction, or its own conversion event. */
function priceOf(x: Draft, pool: readonly LoggedEvent[], custody: string, d: number): { value: string; basis: PriceBasis } | null {
  if (x.events.length === 0) return null;
  const redeemed = pool.find((e) => e.name === "Redeemed" && e.args.holder === custody);
  if (redeemed && BigInt(redeemed.args.points) > 0n)
    return { value: formatPrice(BigInt(redeemed.args.gross), BigInt(redeemed.args.points), d, 18), basis: "redemption" };
  const after = pool.filter((e) => e.name === "OrdersSettled" || e.name === "PointsRetired").at(-1);
  if (after && BigInt(after.args.supplyAfter) > 0n)
    return { value: formatPrice(BigInt(after.args.assetsAfter), BigInt(after.args.supplyAfter), d, 18), basis: "pool-after" };
  const own = x.events.find((e) => e.name === "ConvertedToConstant" || e.name === "ConstantExchanged");
  if (own && BigInt(own.args.points) > 0n)
    return { value: formatPrice(BigInt(own.args.constantPoints), BigInt(own.args.points), d, 18), basis: "conversion" };
  return null;
}

/** Newest first; ties by id, descending, so the order is total and a cursor is exact. */
function newestFirst(a: { time: string; id: string }, b: { time: string; id: string }): number {
  if (a.time !== b.time) return a.time < b.time ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** An opaque position after an entry: its time and id, base64url. */
export function cursorAfter(entry: HistoryEntry): string {
  return Buffer.from(JSON.stringify([entry.time, entry.id]), "utf8").toString("base64url");
}

function readCursor(cursor: string): { time: string; id: string } {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof time === "string" && typeof id === "string" && !Number.isNaN(Date.parse(time))) return { time, id };
  } catch {
    // refused below
  }
  throw new AppError("VALIDATION_FAILED", "query.cursor: not a cursor this endpoint gave", { field: "cursor" });
}

/** The entries between `from` (included) and `to` (excluded). */
export function withinPeriod(entries: readonly HistoryEntry[], period: { from?: Date; to?: Date }): HistoryEntry[] {
  return entries.filter((e) => {
    const t = Date.parse(e.time);
    return (!period.from || t >= period.from.getTime()) && (!period.to || t < period.to.getTime());
  });
}

/** The assets an entry can be filtered by: the three balances. */
export const HISTORY_ASSETS = ["GP", "CP", "settlement"] as const;
export type HistoryAsset = (typeof HISTORY_ASSETS)[number];
const AMOUNT_OF: Record<HistoryAsset, "points" | "constantPoints" | "settlement"> = {
  GP: "points",
  CP: "constantPoints",
  settlement: "settlement",
};

/**
 * The entries of `kind` (when given) that touch `asset` (when given): they moved it (a non-zero
 * amount of it), or it is what they asked to move (`details.asset`, so that a pending or
 * rejected entry, which moved nothing, is still found under its asset).
 */
export function ofKindAndAsset(entries: readonly HistoryEntry[], filter: { kind?: HistoryKind; asset?: HistoryAsset }): HistoryEntry[] {
  const { kind, asset } = filter;
  return entries.filter((e) => (!kind || e.kind === kind) && (!asset || e.details.asset === asset || e[AMOUNT_OF[asset]] !== "0"));
}

/**
 * One page of `entries` (newest first): up to `limit` after `cursor`. Keyed on (time, id), so
 * an entry added meanwhile (newer, at the top) moves no other entry between pages.
 */
export function pageOf(entries: readonly HistoryEntry[], limit: number, cursor?: string) {
  const after = cursor === undefined ? null : readCursor(cursor);
  const rest = after ? entries.filter((e) => newestFirst(e, after) > 0) : entries;
  const page = rest.slice(0, limit);
  return { entries: page, nextCursor: rest.length > limit ? cursorAfter(page[page.length - 1]) : null };
}

const CSV_COLUMNS = [
  "time",
  "id",
  "kind",
  "state",
  "points",
  "constantPoints",
  "settlement",
  "price",
  "priceBasis",
  ...DETAIL_KEYS,
  "operationId",
  "txHash",
  "blockNumber",
  "reason",
] as const;

/** A signed decimal number: safe in a spreadsheet as it is (a formula needs more than a sign), and kept a number there. */
const NUMBER = /^-?\d+(\.\d+)?$/;

/** The entries as CSV: a header line, then one line per entry, CRLF-terminated (other cells defused as the statement's). */
export function historyCsv(entries: readonly HistoryEntry[]): string {
  const cell = (e: HistoryEntry, c: (typeof CSV_COLUMNS)[number]): string => {
    if ((DETAIL_KEYS as readonly string[]).includes(c)) return e.details[c as DetailKey] ?? "";
    const v = e[c as keyof HistoryEntry];
    return v === null || v === undefined ? "" : String(v);
  };
  return (
    [
      CSV_COLUMNS.join(","),
      ...entries.map((e) =>
        CSV_COLUMNS.map((c) => {
          const v = cell(e, c);
          return NUMBER.test(v) ? v : csvCell(v);
        }).join(","),
      ),
    ].join("\r\n") + "\r\n"
  );
}
