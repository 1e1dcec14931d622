/**
 * The pool's indexed events (migrations.ts: the events, then who paid in and what each settlement
 * minted): what the public page's history and recent activity, and the operator's dashboard and
 * daily ledger, are read from. Amounts are base units (NUMERIC in, text out); times are the blocks' unix seconds.
 */
import type { Queryable } from "./db";

/** The last block indexed, its hash, and the pool's assets and supply after it. */
export interface IndexCursor {
  block: number;
  hash: string;
  assets: bigint;
  supply: bigint;
}

export interface IndexedEvent {
  block: number;
  logIndex: number;
  blockHash: string;
  time: number;
  txHash: string;
  name: string;
  orderKey: string | null;
  /** The address the event names first, lower case: the paying shop or contract (OrderRecorded, OrdersSettled, ContributionRecorded), the holder (Redeemed, PointsRetired). */
  account: string | null;
  /** OrdersSettled: the GP it minted (the supply it added, the first mint's locked GP included); null for the others. */
  minted: bigint | null;
  orders: number | null;
  amount: bigint | null;
  contribution: bigint | null;
  points: bigint | null;
  gross: bigint | null;
  fee: bigint | null;
  payout: bigint | null;
  assetsAfter: bigint;
  supplyAfter: bigint;
}

const big = (v: string | null) => (v === null ? null : BigInt(v));
const txt = (v: bigint | null) => (v === null ? null : v.toString());

export async function readCursor(db: Queryable, lock = false): Promise<IndexCursor | null> {
  const [row] = await db.query<{ block_number: string; block_hash: string; assets: string; supply: string }>(
    `SELECT block_number::text, block_hash, assets::text, supply::text FROM pool_index_cursor WHERE id = 1${lock ? " FOR UPDATE" : ""}`,
  );
  return row ? { block: Number(row.block_number), hash: row.block_hash, assets: BigInt(row.assets), supply: BigInt(row.supply) } : null;
}

export async function writeCursor(db: Queryable, cursor: IndexCursor): Promise<void> {
  await db.query(
    `INSERT INTO pool_index_cursor (id, block_number, block_hash, assets, supply) VALUES (1, $1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
       assets = EXCLUDED.assets, supply = EXCLUDED.supply, updated_at = now()`,
    [cursor.block, cursor.hash, cursor.assets.toString(), cursor.supply.toString()],
  );
}

/** Records the hashes of indexed blocks (the ones with events, and each run's last block) in one statement. */
export async function recordBlocks(db: Queryable, blocks: readonly { block: number; hash: string; hasEvents: boolean }[]): Promise<void> {
  if (blocks.length === 0) return;
  await db.query(
    `INSERT INTO pool_index_blocks (block_number, block_hash, has_events)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::boolean[])
     ON CONFLICT (block_number) DO UPDATE SET block_hash = EXCLUDED.block_hash, has_events = pool_index_blocks.has_events OR EXCLUDED.has_events`,
    [blocks.map((b) => b.block), blocks.map((b) => b.hash), blocks.map((b) => b.hasEvents)],
  );
}

/** Indexed blocks at or below `block`, newest first: where a walk back after a reorg looks for the chain's own. */
export async function blocksBelow(db: Queryable, block: number, limit: number): Promise<{ block: number; hash: string }[]> {
  const rows = await db.query<{ block_number: string; block_hash: string }>(
    // Ordered by the column, not by its text (an unqualified name would sort "98" after "376").
    "SELECT b.block_number::text, b.block_hash FROM pool_index_blocks b WHERE b.block_number <= $1 ORDER BY b.block_number DESC LIMIT $2",
    [block, limit],
  );
  return rows.map((r) => ({ block: Number(r.block_number), hash: r.block_hash }));
}

/** Keeps the hashes of blocks without events only for the last `keep` blocks (those with events stay with them). */
export async function pruneBlocks(db: Queryable, below: number): Promise<void> {
  await db.query("DELETE FROM pool_index_blocks WHERE block_number < $1 AND NOT has_events", [below]);
}

/** Forgets everything indexed after `block` (a reorg replaced those blocks). */
export async function dropAfter(db: Queryable, block: number): Promise<number> {
  const dropped = await db.query<{ n: string }>(
    "WITH d AS (DELETE FROM pool_events WHERE block_number > $1 RETURNING 1) SELECT count(*)::text AS n FROM d",
    [block],
  );
  await db.query("DELETE FROM pool_index_blocks WHERE block_number > $1", [block]);
  return Number(dropped[0].n);
}

/** The pool's state after the last indexed event at or below `block`; zero before the first. */
export async function stateAt(db: Queryable, block: number): Promise<{ assets: bigint; supply: bigint }> {
  const [row] = await db.query<{ assets_after: string; supply_after: string }>(
    "SELECT assets_after::text, supply_after::text FROM pool_events WHERE block_number <= $1 ORDER BY block_number DESC, log_index DESC LIMIT 1",
    [block],
  );
  return row ? { assets: BigInt(row.assets_after), supply: BigInt(row.supply_after) } : { assets: 0n, supply: 0n };
}

/** Writes a run's events in one statement (a run may bring thousands; one round trip, not one each). */
export async function insertEvents(db: Queryable, events: readonly IndexedEvent[]): Promise<void> {
  if (events.length === 0) return;
  const column = <T>(f: (e: IndexedEvent) => T) => events.map(f);
  await db.query(
    `INSERT INTO pool_events (block_number, log_index, block_hash, block_time, tx_hash, name, order_key, orders, amount, contribution,
       points, gross, fee, payout, assets_after, supply_after, account, minted)
     SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[],
       $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[],
       $17::text[], $18::numeric[])
     ON CONFLICT (block_number, log_index) DO NOTHING`,
    [
      column((e) => e.block),
      column((e) => e.logIndex),
      column((e) => e.blockHash),
      column((e) => e.time),
      column((e) => e.txHash),
      column((e) => e.name),
      column((e) => e.orderKey),
      column((e) => e.orders),
      column((e) => txt(e.amount)),
      column((e) => txt(e.contribution)),
      column((e) => txt(e.points)),
      column((e) => txt(e.gross)),
      column((e) => txt(e.fee)),
      column((e) => txt(e.payout)),
      column((e) => e.assetsAfter.toString()),
      column((e) => e.supplyAfter.toString()),
      column((e) => e.account),
      column((e) => txt(e.minted)),
    ],
  );
}

type EventRow = {
  block_number: string;
  log_index: number;
  block_hash: string;
  block_time: string;
  tx_hash: string;
  name: string;
  order_key: string | null;
  orders: number | null;
  amount: string | null;
  contribution: string | null;
  points: string | null;
  gross: string | null;
  fee: string | null;
  payout: string | null;
  assets_after: string;
  supply_after: string;
  account: string | null;
  minted: string | null;
};
const COLUMNS = `block_number::text, log_index, block_hash, block_time::text, tx_hash, name, order_key, orders, amount::text,
  contribution::text, points::text, gross::text, fee::text, payout::text, assets_after::text, supply_after::text, account, minted::text`;
const fromRow = (r: EventRow): IndexedEvent => ({
  block: Number(r.block_number),
  logIndex: r.log_index,
  blockHash: r.block_hash,
  time: Number(r.block_time),
  txHash: r.tx_hash,
  name: r.name,
  orderKey: r.order_key,
  account: r.account,
  minted: big(r.minted),
  orders: r.orders,
  amount: big(r.amount),
  contribution: big(r.contribution),
  points: big(r.points),
  gross: big(r.gross),
  fee: big(r.fee),
  payout: big(r.payout),
  assetsAfter: BigInt(r.assets_after),
  supplyAfter: BigInt(r.supply_after),
});

/** The events that change the pool's assets or supply (the others carry the state unchanged). */
export const STATE_EVENTS = ["OrdersSettled", "PointsRetired", "SurplusAbsorbed", "Redeemed"] as const;

/**
 * The pool's state from `fromTime` (unix seconds) on, oldest first: after each block that changed
 * it when there are at most `maxPoints` such blocks, else in each of `maxPoints` buckets of time
 * the state after its last change, so a range answers at most `maxPoints` rows however many events
 * it holds.
 */
export async function statesSince(
  db: Queryable,
  fromTime: number,
  toTime: number,
  maxPoints: number,
): Promise<{ block: number; time: number; assets: bigint; supply: bigint }[]> {
  const [{ n }] = await db.query<{ n: string }>(
    "SELECT count(DISTINCT block_number)::text AS n FROM pool_events WHERE block_time >= $1 AND name = ANY($2)",
    [fromTime, [...STATE_EVENTS]],
  );
  // A bucket per block when they are few (the block number itself), else a bucket of time.
  const bucket = Number(n) <= maxPoints ? "block_number" : `(block_time - $1) / ${Math.max(1, Math.ceil((toTime - fromTime) / maxPoints))}`;
  const rows = await db.query<{ block_number: string; block_time: string; assets_after: string; supply_after: string }>(
    `SELECT last_of_bucket.block_number::text, last_of_bucket.block_time::text, last_of_bucket.assets_after::text,
       last_of_bucket.supply_after::text FROM (
       SELECT DISTINCT ON (${bucket}) block_number, log_index, block_time, assets_after, supply_after
       FROM pool_events WHERE block_time >= $1 AND name = ANY($2)
       ORDER BY ${bucket}, block_number DESC, log_index DESC
     ) last_of_bucket ORDER BY last_of_bucket.block_number, last_of_bucket.log_index`,
    [fromTime, [...STATE_EVENTS]],
  );
  return rows.map((r) => ({
    block: Number(r.block_number),
    time: Number(r.block_time),
    assets: BigInt(r.assets_after),
    supply: BigInt(r.supply_after),
  }));
}

export interface DayTotals {
  /** Days since 1970-01-01, UTC. */
  day: number;
  contributions: bigint;
  orders: number;
  exitFees: bigint;
  redemptions: number;
  redeemedPoints: bigint;
  payouts: bigint;
}

/** Per UTC day from `fromTime` on: contributions paid in (every OrdersSettled), orders recorded, and the redemptions' fees, GP and payouts. */
export async function dailyTotalsSince(db: Queryable, fromTime: number): Promise<DayTotals[]> {
  const rows = await db.query<{
    day: string;
    contributions: string | null;
    orders: string;
    exit_fees: string | null;
    redemptions: string;
    redeemed_points: string | null;
    payouts: string | null;
  }>(
    `SELECT (block_time / 86400)::text AS day,
       (sum(contribution) FILTER (WHERE name = 'OrdersSettled'))::text AS contributions,
       (count(*) FILTER (WHERE name = 'OrderRecorded'))::text AS orders,
       (sum(fee) FILTER (WHERE name = 'Redeemed'))::text AS exit_fees,
       (count(*) FILTER (WHERE name = 'Redeemed'))::text AS redemptions,
       (sum(points) FILTER (WHERE name = 'Redeemed'))::text AS redeemed_points,
       (sum(payout) FILTER (WHERE name = 'Redeemed'))::text AS payouts
     FROM pool_events WHERE block_time >= $1 GROUP BY block_time / 86400 ORDER BY block_time / 86400`,
    [fromTime],
  );
  const big0 = (v: string | null) => (v === null ? 0n : BigInt(v));
  return rows.map((r) => ({
    day: Number(r.day),
    contributions: big0(r.contributions),
    orders: Number(r.orders),
    exitFees: big0(r.exit_fees),
    redemptions: Number(r.redemptions),
    redeemedPoints: big0(r.redeemed_points),
    payouts: big0(r.payouts),
  }));
}

/** The pool's state after the last event before `time`: where a range's chart starts. */
export async function stateBefore(db: Queryable, time: number): Promise<{ block: number; assets: bigint; supply: bigint } | null> {
  const [row] = await db.query<{ block_number: string; assets_after: string; supply_after: string }>(
    `SELECT block_number::text, assets_after::text, supply_after::text FROM pool_events
     WHERE block_time < $1 ORDER BY pool_events.block_number DESC, pool_events.log_index DESC LIMIT 1`,
    [time],
  );
  return row ? { block: Number(row.block_number), assets: BigInt(row.assets_after), supply: BigInt(row.supply_after) } : null;
}

/** The time of the first indexed event (the start of the range `all`). */
export async function firstEventTime(db: Queryable): Promise<number | null> {
  const [row] = await db.query<{ t: string | null }>("SELECT min(block_time)::text AS t FROM pool_events");
  return row?.t == null ? null : Number(row.t);
}

/** The latest orders and redemptions, newest first. */
export async function recentActivity(db: Queryable, names: readonly string[], limit: number): Promise<IndexedEvent[]> {
  const rows = await db.query<EventRow>(
    `SELECT ${COLUMNS} FROM pool_events WHERE name = ANY($1) ORDER BY pool_events.block_number DESC, pool_events.log_index DESC LIMIT $2`,
    [names, limit],
  );
  return rows.map(fromRow);
}

/**
 * Who pays into the pool besides shops, to tell apart what each settlement minted: the custody
 * pays the operator's backed grants in, the ad credit its voucher conversions (addresses in lower
 * case; no ad credit on a deployment made before rewarded ads).
 */
export interface Payers {
  custody: string;
  adCredit: string | null;
}

/** One UTC day of the pool's ledger, from its indexed events. */
export interface LedgerDayTotals {
  /** Days since 1970-01-01, UTC. */
  day: number;
  mintedByOrders: bigint;
  mintedByAds: bigint;
  mintedByGrants: bigint;
  redeemed: bigint;
  retired: bigint;
  /** Settlement paid in (orders, conversions, grants) and surplus absorbed into the assets. */
  assetsIn: bigint;
  /** Settlement paid out to redeemers. */
  assetsOut: bigint;
  exitFees: bigint;
  orders: number;
  /** The GP in circulation and the assets after the day's last event. */
  outstanding: bigint;
  assets: bigint;
}

// A settlement paid by the custody is a grant's, by the ad credit a conversion's; any other payer's
// is a shop's orders (recordOrder, recordOrders, and the custody's pooled orders name the shop).
const LEDGER_SUMS = `SELECT (block_time / 86400)::text AS day,
   (sum(minted) FILTER (WHERE name = 'OrdersSettled' AND account IS DISTINCT FROM $3::text AND account IS DISTINCT FROM $4::text))::text AS by_orders,
   (sum(minted) FILTER (WHERE name = 'OrdersSettled' AND account = $4::text))::text AS by_ads,
   (sum(minted) FILTER (WHERE name = 'OrdersSettled' AND account = $3::text))::text AS by_grants,
   (sum(points) FILTER (WHERE name = 'Redeemed'))::text AS redeemed,
   (sum(points) FILTER (WHERE name = 'PointsRetired'))::text AS retired,
   (sum(contribution) FILTER (WHERE name = 'OrdersSettled'))::text AS paid_in,
   (sum(amount) FILTER (WHERE name = 'SurplusAbsorbed'))::text AS absorbed,
   (sum(payout) FILTER (WHERE name = 'Redeemed'))::text AS paid_out,
   (sum(fee) FILTER (WHERE name = 'Redeemed'))::text AS exit_fees,
   (count(*) FILTER (WHERE name = 'OrderRecorded'))::text AS orders
 FROM pool_events WHERE block_time >= $1 AND block_time < $2 GROUP BY block_time / 86400`;
// Every event carries the state after it, so a day's last event has the day's closing state.
const LEDGER_CLOSES = `SELECT DISTINCT ON (block_time / 86400) (block_time / 86400)::text AS day, assets_after::text, supply_after::text
 FROM pool_events WHERE block_time >= $1 AND block_time < $2
 ORDER BY block_time / 86400, block_number DESC, log_index DESC`;

/** The UTC days from `fromTime` (included) to `toTime` (excluded) that have indexed events, oldest first. */
export async function ledgerDays(db: Queryable, fromTime: number, toTime: number, payers: Payers): Promise<LedgerDayTotals[]> {
  const params = [fromTime, toTime, payers.custody, payers.adCredit];
  const [sums, closes] = await Promise.all([
    db.query<{
      day: string;
      by_orders: string | null;
      by_ads: string | null;
      by_grants: string | null;
      redeemed: string | null;
      retired: string | null;
      paid_in: string | null;
      absorbed: string | null;
      paid_out: string | null;
      exit_fees: string | null;
      orders: string;
    }>(LEDGER_SUMS, params),
    db.query<{ day: string; assets_after: string; supply_after: string }>(LEDGER_CLOSES, [fromTime, toTime]),
  ]);
  const big0 = (v: string | null) => (v === null ? 0n : BigInt(v));
  const closing = new Map(closes.map((c) => [Number(c.day), c]));
  return sums
    .map((r) => {
      const close = closing.get(Number(r.day))!;
      return {
        day: Number(r.day),
        mintedByOrders: big0(r.by_orders),
        mintedByAds: big0(r.by_ads),
        mintedByGrants: big0(r.by_grants),
        redeemed: big0(r.redeemed),
        retired: big0(r.retired),
        assetsIn: big0(r.paid_in) + big0(r.absorbed),
        assetsOut: big0(r.paid_out),
        exitFees: big0(r.exit_fees),
        orders: Number(r.orders),
        outstanding: BigInt(close.supply_after),
        assets: BigInt(close.assets_after),
      };
    })
    .sort((a, b) => a.day - b.day);
}

/** GP ever minted, redeemed and retired by the indexed events. */
export interface PoolTotals {
  minted: bigint;
  redeemed: bigint;
  retired: bigint;
}

const TOTALS = `SELECT (sum(minted) FILTER (WHERE name = 'OrdersSettled'))::text AS minted,
   (sum(points) FILTER (WHERE name = 'Redeemed'))::text AS redeemed,
   (sum(points) FILTER (WHERE name = 'PointsRetired'))::text AS retired
 FROM pool_events WHERE $1::bigint IS NULL OR block_time <= $1::bigint`;

/** The totals of the indexed events at or before `time` (unix seconds); of all of them for null. */
export async function totalsUpTo(db: Queryable, time: number | null): Promise<PoolTotals> {
  const [row] = await db.query<{ minted: string | null; redeemed: string | null; retired: string | null }>(TOTALS, [time]);
  const big0 = (v: string | null | undefined) => (v == null ? 0n : BigInt(v));
  return { minted: big0(row?.minted), redeemed: big0(row?.redeemed), retired: big0(row?.retired) };
}
