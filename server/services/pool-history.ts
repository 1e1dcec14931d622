/**
 * The pool's history and recent activity as the public page draws them, from the indexed events
 * (services/pool-indexer.ts): the price, assets and supply after each block that changed them,
 * the contributions paid in and the exit fees left in the pool per day (UTC), and the latest
 * orders and redemptions with no personal data (order keys are hashes; holders are not shown).
 */
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import {
  type IndexCursor,
  dailyTotalsSince,
  firstEventTime,
  readCursor,
  recentActivity,
  stateBefore,
  statesSince,
} from "../adapters/db/pool-index";
import { formatAmount, formatPrice } from "../domain/display";

export const RANGES = { day: 86_400, week: 7 * 86_400, month: 30 * 86_400, all: null } as const;
export type HistoryRange = keyof typeof RANGES;
/** At most this many points a chart: a busy range keeps each bucket's last state. */
export const MAX_POINTS = 500;

export interface HistoryPoint {
  time: string;
  block: number;
  assets: string;
  supply: string;
  /** assets / supply, 18 places; null while no GP circulate. */
  price: string | null;
}

export interface HistoryDay {
  day: string;
  contributions: string;
  exitFees: string;
  orders: number;
  redemptions: number;
  redeemedPoints: string;
  payouts: string;
}

export interface PoolHistory {
  range: HistoryRange;
  from: string;
  to: string;
  indexedBlock: number;
  headBlock: number;
  /** The indexed assets and supply against the chain's at the indexed block. */
  check: { block: number; agrees: boolean | null };
  points: HistoryPoint[];
  daily: HistoryDay[];
}

/**
 * The indexed assets and supply against the chain's at the indexed block: true or false; null
 * before the first run, or when the node no longer keeps that block's state (not an archive node).
 */
export async function indexAgrees(chain: ChainPort, cursor: IndexCursor | null): Promise<boolean | null> {
  if (!cursor) return null;
  const at = { blockTag: cursor.block };
  try {
    const [assets, supply] = await Promise.all([chain.pool.assets(at), chain.points.totalSupply(at)]);
    return assets === cursor.assets && supply === cursor.supply;
  } catch {
    return null;
  }
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const dayOf = (seconds: number) => iso(seconds).slice(0, 10);

export async function readPoolHistory(db: Queryable, chain: ChainPort, range: HistoryRange, nowSeconds: number): Promise<PoolHistory> {
  const d = chain.deployments.settlementDecimals;
  const [cursor, head, first] = await Promise.all([readCursor(db), chain.blockNumber(), firstEventTime(db)]);
  const span = RANGES[range];
  const from = span === null ? (first ?? nowSeconds) : nowSeconds - span;
  const [states, totals, before] = await Promise.all([
    statesSince(db, from, nowSeconds, MAX_POINTS),
    dailyTotalsSince(db, from),
    stateBefore(db, from),
  ]);
  const indexedBlock = cursor?.block ?? 0;
  const agrees = await indexAgrees(chain, cursor);
  const point = (time: number, block: number, assets: bigint, supply: bigint): HistoryPoint => ({
    time: iso(time),
    block,
    assets: formatAmount(assets, d),
    supply: formatAmount(supply, 18),
    price: supply === 0n ? null : formatPrice(assets, supply, d, 18),
  });

  const points: HistoryPoint[] = [];
  // The range starts at the state it found, then each bucket's last state, then now.
  if (before && (states.length === 0 || states[0].time > from)) points.push(point(from, before.block, before.assets, before.supply));
  // A range that begins before the pool's first event begins empty: nothing was paid in yet.
  else if (!before && first !== null && from < first) points.push(point(from, chain.deployments.deployedAtBlock, 0n, 0n));
  for (const x of states) points.push(point(x.time, x.block, x.assets, x.supply));
  if (cursor && points.length > 0)
    points.push(point(Math.max(nowSeconds, Date.parse(points.at(-1)!.time) / 1000), cursor.block, cursor.assets, cursor.supply));

  // Every day of the range has its bar, those without orders too.
  const byDay = new Map(totals.map((x) => [x.day, x]));
  const daily: HistoryDay[] = [];
  for (let day = Math.floor(from / 86_400); day <= Math.floor(nowSeconds / 86_400); day++) {
    const x = byDay.get(day);
    daily.push({
      day: dayOf(day * 86_400),
      contributions: formatAmount(x?.contributions ?? 0n, d),
      exitFees: formatAmount(x?.exitFees ?? 0n, d),
      orders: x?.orders ?? 0,
      redemptions: x?.redemptions ?? 0,
      redeemedPoints: formatAmount(x?.redeemedPoints ?? 0n, 18),
      payouts: formatAmount(x?.payouts ?? 0n, d),
    });
  }
  return {
    range,
    from: iso(from),
    to: iso(nowSeconds),
    indexedBlock,
    headBlock: head,
    check: { block: indexedBlock, agrees },
    points,
    daily,
  };
}

/**
 * The history as the public endpoint serves it: one answer per range, kept for up to `ttlMs` and
 * only while the index has not moved (one look at the cursor, by its key, per request). However
 * many anonymous callers ask, a range is read again at most once per `ttlMs` and once per run of
 * the indexer that moved the cursor: a few grouped queries and two reads of the chain each time.
 */
export function cachedPoolHistory(db: Queryable, chain: ChainPort, options: { ttlMs?: number; now?: () => number } = {}) {
  const ttl = options.ttlMs ?? 2_000;
  const now = options.now ?? (() => Date.now());
  const kept = new Map<HistoryRange, { at: number; cursor: number; value: Promise<PoolHistory> }>();
  return async (range: HistoryRange): Promise<PoolHistory> => {
    const cursor = (await readCursor(db))?.block ?? -1;
    const hit = kept.get(range);
    if (hit && hit.cursor === cursor && now() - hit.at < ttl) return hit.value;
    const value = readPoolHistory(db, chain, range, Math.floor(now() / 1000));
    kept.set(range, { at: now(), cursor, value });
    value.catch(() => kept.delete(range));
    return value;
  };
}

export interface ActivityItem {
  kind: "order" | "contribution" | "redemption";
  time: string;
  block: number;
  txHash: string;
  orderKey: string | null;
  amount: string | null;
  contribution: string | null;
  points: string;
  gross: string | null;
  fee: string | null;
  payout: string | null;
}

const KINDS: Record<string, ActivityItem["kind"]> = {
  OrderRecorded: "order",
  ContributionRecorded: "contribution",
  Redeemed: "redemption",
};

export async function readPoolActivity(
  db: Queryable,
  chain: ChainPort,
  limit: number,
): Promise<{ indexedBlock: number; items: ActivityItem[] }> {
  const d = chain.deployments.settlementDecimals;
  const [cursor, rows] = await Promise.all([readCursor(db), recentActivity(db, Object.keys(KINDS), limit)]);
  const money = (v: bigint | null) => (v === null ? null : formatAmount(v, d));
  return {
    indexedBlock: cursor?.block ?? 0,
    items: rows.map((e) => ({
      kind: KINDS[e.name],
      time: iso(e.time),
      block: e.block,
      txHash: e.txHash,
      orderKey: e.orderKey,
      amount: money(e.amount),
      contribution: money(e.contribution),
      points: formatAmount(e.points ?? 0n, 18),
      gross: money(e.gross),
      fee: money(e.fee),
      payout: money(e.payout),
    })),
  };
}
