/**
 * The operator's dashboard and daily ledger. The chain's figures come from the pool's indexed
 * events (services/pool-indexer.ts): GP minted by each settlement, told apart by who paid it in
 * (a shop's orders, the ad credit's voucher conversions, the custody's backed grants), redeemed
 * and retired GP, the settlement in and out, and the GP and assets after each day. Members and
 * orders come from the relayer's records. Every figure is a bigint in base units until it is
 * printed here, as a decimal string.
 *
 * The ledger holds by construction of the chain, not of this code: a day's closing GP are the
 * supply its last event left, so the opening GP plus each day's minted less redeemed and retired
 * equal them, and the last day's equal the GP token's totalSupply (test/server/dashboard.test.ts
 * checks both against the chain).
 */
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import { membersAt, ordersBetween } from "../adapters/db/dashboard";
import { type LedgerDayTotals, type Payers, ledgerDays, readCursor, stateBefore, totalsUpTo } from "../adapters/db/pool-index";
import { formatAmount } from "../domain/display";
import { indexAgrees } from "./pool-history";
import { csvCell } from "./statements";

const DAY = 86_400;
/** How far back the dashboard compares. */
export const COMPARE_DAYS = 30;
/** The longest ledger one request answers. */
export const MAX_LEDGER_DAYS = 366;
/** Places of the price and the redemption rate (exact ratios, rounded half up). */
const RATIO_PLACES = 18;
/** Places of a relative change (rounded towards zero). */
const RELATIVE_PLACES = 4;

export const KPI_NAMES = ["members", "ordersPerDay", "minted", "redeemed", "outstanding", "assets", "price", "redemptionRate"] as const;
export type KpiName = (typeof KPI_NAMES)[number];
export type KpiUnit = "count" | "points" | "settlement" | "price" | "ratio";

export interface Kpi {
  name: KpiName;
  unit: KpiUnit;
  /** null: no value (no price while no GP circulate, no rate before the first mint). */
  now: string | null;
  before: string | null;
  change: string | null;
  /** change / before, 4 places; null when either is missing or before is zero. */
  relativeChange: string | null;
}

export interface Dashboard {
  asOf: string;
  comparedWith: string;
  indexedBlock: number;
  headBlock: number;
  check: { block: number; agrees: boolean | null };
  settlement: { symbol: string; decimals: number };
  kpis: Kpi[];
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
export const dayOf = (seconds: number) => Math.floor(seconds / DAY);
export const dayText = (day: number) => iso(day * DAY).slice(0, 10);

/** a / b at `places`, rounded half up (both non-negative); null when b is zero. */
function ratio(a: bigint, b: bigint, places: number): bigint | null {
  if (b === 0n) return null;
  const scaled = a * 10n ** BigInt(places);
  return (2n * scaled + b) / (2n * b);
}

/** The payers the ledger tells apart, from the deployments file (whether or not the ads module runs in this process). */
export function payersOf(chain: ChainPort): Payers {
  return { custody: chain.deployments.custody.toLowerCase(), adCredit: chain.deployments.adCredit?.toLowerCase() ?? null };
}

interface Figures {
  members: bigint;
  ordersPerDay: bigint;
  minted: bigint;
  redeemed: bigint;
  retired: bigint;
  outstanding: bigint;
  assets: bigint;
}

/** The figures at `time` (unix seconds): the records and events at or before it. */
async function figuresAt(db: Queryable, time: number, cursor?: { assets: bigint; supply: bigint }): Promise<Figures> {
  const [members, ordersPerDay, totals, state] = await Promise.all([
    membersAt(db, time),
    ordersBetween(db, time - DAY, time),
    // Now: every event indexed (a block's time may run a little ahead of the server's clock), with the cursor's state.
    totalsUpTo(db, cursor ? null : time),
    cursor ?? stateBefore(db, time + 1),
  ]);
  const pool = state ?? { assets: 0n, supply: 0n };
  return { members, ordersPerDay, ...totals, outstanding: pool.supply, assets: pool.assets };
}

export async function readDashboard(db: Queryable, chain: ChainPort, nowSeconds: number): Promise<Dashboard> {
  const d = chain.deployments.settlementDecimals;
  const [cursor, head, symbol] = await Promise.all([readCursor(db), chain.blockNumber(), chain.settlement.symbol()]);
  const then = nowSeconds - COMPARE_DAYS * DAY;
  const [now, before, agrees] = await Promise.all([
    figuresAt(db, nowSeconds, cursor ?? { assets: 0n, supply: 0n }),
    figuresAt(db, then),
    indexAgrees(chain, cursor),
  ]);

  const places: Record<KpiUnit, number> = { count: 0, points: 18, settlement: d, price: RATIO_PLACES, ratio: RATIO_PLACES };
  // The price in settlement units per whole GP: assets × 10^(18−d) / supply.
  const price = (f: Figures) => ratio(f.assets * 10n ** BigInt(18 - d), f.outstanding, RATIO_PLACES);
  const rate = (f: Figures) => ratio(f.redeemed, f.minted, RATIO_PLACES);
  const of: Record<KpiName, [KpiUnit, (f: Figures) => bigint | null]> = {
    members: ["count", (f) => f.members],
    ordersPerDay: ["count", (f) => f.ordersPerDay],
    minted: ["points", (f) => f.minted],
    redeemed: ["points", (f) => f.redeemed],
    outstanding: ["points", (f) => f.outstanding],
    assets: ["settlement", (f) => f.assets],
    price: ["price", price],
    redemptionRate: ["ratio", rate],
  };
  const kpis = KPI_NAMES.map((name): Kpi => {
    const [unit, read] = of[name];
    const [a, b] = [read(now), read(before)];
    const text = (v: bigint | null) => (v === null ? null : formatAmount(v, places[unit]));
    const change = a !== null && b !== null ? a - b : null;
    const relative = change !== null && b !== null && b !== 0n ? (change * 10n ** BigInt(RELATIVE_PLACES)) / b : null;
    return {
      name,
      unit,
      now: text(a),
      before: text(b),
      change: text(change),
      relativeChange: relative === null ? null : formatAmount(relative, RELATIVE_PLACES),
    };
  });
  return {
    asOf: iso(nowSeconds),
    comparedWith: iso(then),
    indexedBlock: cursor?.block ?? 0,
    headBlock: head,
    check: { block: cursor?.block ?? 0, agrees },
    settlement: { symbol, decimals: d },
    kpis,
  };
}

export interface LedgerRow {
  day: string;
  mintedByOrders: string;
  mintedByAds: string;
  mintedByGrants: string;
  redeemed: string;
  retired: string;
  outstanding: string;
  assetsIn: string;
  assetsOut: string;
  assets: string;
  exitFees: string;
  orders: number;
}

export interface Ledger {
  from: string;
  to: string;
  indexedBlock: number;
  headBlock: number;
  check: { block: number; agrees: boolean | null };
  /** The GP in circulation and the assets before the first day. */
  opening: { outstanding: string; assets: string };
  days: LedgerRow[];
  /** The days' sums, and the closing GP and assets after the last day. */
  totals: Omit<LedgerRow, "day">;
}

/** The ledger of the UTC days `fromDay` to `toDay` (days since 1970-01-01, both included): every day has its row. */
export async function readLedger(db: Queryable, chain: ChainPort, fromDay: number, toDay: number): Promise<Ledger> {
  const d = chain.deployments.settlementDecimals;
  const [cursor, head, opening, totals] = await Promise.all([
    readCursor(db),
    chain.blockNumber(),
    stateBefore(db, fromDay * DAY),
    ledgerDays(db, fromDay * DAY, (toDay + 1) * DAY, payersOf(chain)),
  ]);
  const agrees = await indexAgrees(chain, cursor);
  const byDay = new Map(totals.map((t) => [t.day, t]));
  const points = (v: bigint) => formatAmount(v, 18);
  const money = (v: bigint) => formatAmount(v, d);
  let outstanding = opening?.supply ?? 0n;
  let assets = opening?.assets ?? 0n;
  const sum = {
    mintedByOrders: 0n,
    mintedByAds: 0n,
    mintedByGrants: 0n,
    redeemed: 0n,
    retired: 0n,
    assetsIn: 0n,
    assetsOut: 0n,
    exitFees: 0n,
  };
  let orders = 0;
  const days: LedgerRow[] = [];
  for (let day = fromDay; day <= toDay; day++) {
    const t: LedgerDayTotals | undefined = byDay.get(day);
    if (t) {
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += t[k];
      orders += t.orders;
      outstanding = t.outstanding;
      assets = t.assets;
    }
    days.push({
      day: dayText(day),
      mintedByOrders: points(t?.mintedByOrders ?? 0n),
      mintedByAds: points(t?.mintedByAds ?? 0n),
      mintedByGrants: points(t?.mintedByGrants ?? 0n),
      redeemed: points(t?.redeemed ?? 0n),
      retired: points(t?.retired ?? 0n),
      outstanding: points(outstanding),
      assetsIn: money(t?.assetsIn ?? 0n),
      assetsOut: money(t?.assetsOut ?? 0n),
      assets: money(assets),
      exitFees: money(t?.exitFees ?? 0n),
      orders: t?.orders ?? 0,
    });
  }
  return {
    from: dayText(fromDay),
    to: dayText(toDay),
    indexedBlock: cursor?.block ?? 0,
    headBlock: head,
    check: { block: cursor?.block ?? 0, agrees },
    opening: { outstanding: points(opening?.supply ?? 0n), assets: money(opening?.assets ?? 0n) },
    days,
    totals: {
      mintedByOrders: points(sum.mintedByOrders),
      mintedByAds: points(sum.mintedByAds),
      mintedByGrants: points(sum.mintedByGrants),
      redeemed: points(sum.redeemed),
      retired: points(sum.retired),
      outstanding: points(outstanding),
      assetsIn: money(sum.assetsIn),
      assetsOut: money(sum.assetsOut),
      assets: money(assets),
      exitFees: money(sum.exitFees),
      orders,
    },
  };
}

export const LEDGER_COLUMNS = [
  "day",
  "mintedByOrders",
  "mintedByAds",
  "mintedByGrants",
  "redeemed",
  "retired",
  "outstanding",
  "assetsIn",
  "assetsOut",
  "assets",
  "exitFees",
  "orders",
] as const;

/** The ledger's days as CSV: a header line, then one line per day, CRLF-terminated (figures as they are, other cells defused). */
export function ledgerCsv(rows: readonly LedgerRow[]): string {
  const cell = (v: string | number) => (typeof v === "number" || /^\d+(\.\d+)?$/.test(v) ? String(v) : csvCell(v));
  return [LEDGER_COLUMNS.join(","), ...rows.map((r) => LEDGER_COLUMNS.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}
