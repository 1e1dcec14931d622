import type { ShopLimitSettings } from "../../domain/shop-limits";
import type { Queryable } from "./db";

export interface Shop {
  id: string;
  name: string;
  webhookSecret: string;
  limits: ShopLimitSettings;
  /** Order amounts accepted for the shop (not rejected) that the shop has not settled with the platform yet. */
  outstanding: bigint;
  /** Who pays the pool for its orders: the platform's wallet (`invoiced`) or the shop's deposits (`prefunded`). */
  funding: FundingMode;
  /** The address a prefunded shop deposits from (lower case), null when none is registered. */
  payer: string | null;
  /** Seconds an order waits `pending` before it is sent (0: at once). */
  pendingSeconds: number;
  /** What a refund after minting does: nothing on the chain (`none`) or retire the order's GP still held (`clawback`). */
  refundPolicy: RefundPolicy;
}

export type FundingMode = "invoiced" | "prefunded";
export type RefundPolicy = "none" | "clawback";

interface ShopRow {
  id: string;
  name: string;
  webhook_secret: string;
  limit_per_order: string | null;
  limit_per_day: string | null;
  limit_outstanding: string | null;
  outstanding: string;
  funding: FundingMode;
  payer: string | null;
  pending_seconds: number;
  refund_policy: RefundPolicy;
  created_at: Date | string;
}

const big = (v: string | null) => (v === null ? null : BigInt(v));
const COLUMNS =
  "id, name, webhook_secret, limit_per_order::text AS limit_per_order, limit_per_day::text AS limit_per_day, " +
  "limit_outstanding::text AS limit_outstanding, outstanding::text AS outstanding, funding, payer, pending_seconds, refund_policy, created_at";
const toShop = (r: ShopRow): Shop => ({
  id: r.id,
  name: r.name,
  webhookSecret: r.webhook_secret,
  limits: { perOrder: big(r.limit_per_order), perDay: big(r.limit_per_day), outstanding: big(r.limit_outstanding) },
  outstanding: BigInt(r.outstanding),
  funding: r.funding,
  payer: r.payer,
  pendingSeconds: Number(r.pending_seconds),
  refundPolicy: r.refund_policy,
});

export interface ShopTerms {
  funding: FundingMode;
  payer: string | null;
  pendingSeconds: number;
  refundPolicy: RefundPolicy;
}
const SET_TERMS = `UPDATE shops SET funding = $2, payer = $3, pending_seconds = $4, refund_policy = $5 WHERE id = $1 RETURNING id`;
/** Sets the shop's funding mode, payer, pending window and refund policy; false when there is no such shop. */
export async function setShopTerms(db: Queryable, id: string, t: ShopTerms): Promise<boolean> {
  return (await db.query(SET_TERMS, [id, t.funding, t.payer, t.pendingSeconds, t.refundPolicy])).length > 0;
}

const LOCK_BALANCE = "SELECT pg_advisory_xact_lock(hashtext('shop-balance:' || $1))";
/**
 * Holds the prefunded shop's balance for the caller's transaction: two relayers cannot spend it
 * twice. An advisory lock, not the shop's row: the intake's count of each new order updates that
 * row, and must not wait behind a round that signs and records a batch.
 */
export async function lockShopBalance(tx: Queryable, id: string): Promise<void> {
  await tx.query(LOCK_BALANCE, [id]);
}

const INSERT_SHOP = "INSERT INTO shops (id, name, webhook_secret) VALUES ($1, $2, $3)";
export async function insertShop(db: Queryable, shop: Pick<Shop, "id" | "name" | "webhookSecret">): Promise<void> {
  await db.query(INSERT_SHOP, [shop.id, shop.name, shop.webhookSecret]);
}

const FIND_SHOP = `SELECT ${COLUMNS} FROM shops WHERE id = $1`;
export async function findShop(db: Queryable, id: string): Promise<Shop | null> {
  const [row] = await db.query<ShopRow>(FIND_SHOP, [id]);
  return row ? toShop(row) : null;
}

const ROTATE_SECRET = "UPDATE shops SET webhook_secret = $2 WHERE id = $1 RETURNING id";
/** Replaces the shop's webhook secret; false when there is no such shop. */
export async function rotateShopSecret(db: Queryable, id: string, secret: string): Promise<boolean> {
  return (await db.query(ROTATE_SECRET, [id, secret])).length > 0;
}

const LIST_SHOPS = `SELECT ${COLUMNS}, COALESCE(d.total, 0)::text AS today FROM shops
  LEFT JOIN shop_daily_totals d ON d.shop_id = shops.id AND d.day = $1 ORDER BY created_at, id`;
/** Every shop, oldest first, with what it sent on `day` (UTC, YYYY-MM-DD). */
export async function listShops(db: Queryable, day: string): Promise<(Shop & { createdAt: Date; today: bigint })[]> {
  const rows = await db.query<ShopRow & { today: string }>(LIST_SHOPS, [day]);
  return rows.map((r) => ({ ...toShop(r), createdAt: new Date(r.created_at), today: BigInt(r.today) }));
}

const SET_LIMITS = "UPDATE shops SET limit_per_order = $2, limit_per_day = $3, limit_outstanding = $4 WHERE id = $1 RETURNING id";
/** Sets the shop's limits (null: the deployment's default); false when there is no such shop. */
export async function setShopLimits(db: Queryable, id: string, l: ShopLimitSettings): Promise<boolean> {
  const text = (v: bigint | null) => (v === null ? null : v.toString());
  return (await db.query(SET_LIMITS, [id, text(l.perOrder), text(l.perDay), text(l.outstanding)])).length > 0;
}

/** A limit refused an order: which one, and what was used of it when it did. */
export class LimitRefused extends Error {
  constructor(
    readonly limit: "perOrder" | "perDay" | "outstanding" | "deployment",
    readonly used: bigint,
  ) {
    super(`the order would pass the ${limit} limit`);
  }
}

/** The refusal of gp_count_order (SQLSTATE GPL01, migrations.ts) as a LimitRefused; any other error as it is. */
function limitRefusal(error: unknown): unknown {
  const e = error as { code?: string; message?: string; detail?: string };
  if (e?.code !== "GPL01") return error;
  const limit = e.message as LimitRefused["limit"];
  if (!["perOrder", "perDay", "outstanding", "deployment"].includes(limit)) return error;
  return new LimitRefused(limit, BigInt(e.detail ?? "0"));
}

/** An order's limits: the shop's, the deployment's daily limit, the day (UTC) it counts on. */
export interface OrderCount {
  shopId: string;
  day: string;
  amount: bigint;
  perOrder: bigint;
  perDay: bigint;
  outstanding: bigint;
  deploymentPerDay: bigint;
}
/** The shop's new totals after an order was counted. */
export interface Counted {
  day: bigint;
  outstanding: bigint;
}

/** The limits in gp_count_order's order, after the day and the amount. */
const limitParams = (o: OrderCount) => [
  o.perOrder.toString(),
  o.perDay.toString(),
  o.outstanding.toString(),
  o.deploymentPerDay.toString(),
];
const toCounted = (r: { day_total: string; outstanding_total: string }): Counted => ({
  day: BigInt(r.day_total),
  outstanding: BigInt(r.outstanding_total),
});

// The counters an accepted order raises, each only within its limit: the shop's day, what the
// shop owes, and every shop's day (gp_count_order, migrations.ts). A refusal is an error of the
// statement, so the transaction cannot commit a refused order.
const COUNT_ORDER = "SELECT day_total, outstanding_total FROM gp_count_order($1, $2, $3, $4, $5, $6, $7)";
/**
 * Counts an accepted order against the shop's per-order limit, its day, what it owes and every
 * shop's day: the shop's new totals, or a LimitRefused (the statement failed: roll back).
 */
export async function countOrder(tx: Queryable, o: OrderCount): Promise<Counted> {
  try {
    const [row] = await tx.query<{ day_total: string; outstanding_total: string }>(COUNT_ORDER, [
      o.shopId,
      o.day,
      o.amount.toString(),
      ...limitParams(o),
    ]);
    return toCounted(row);
  } catch (error) {
    throw limitRefusal(error);
  }
}

const RECORD_COUNTED = `SELECT day_total, outstanding_total
  FROM gp_record_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;
/**
 * A new order recorded in one statement, on its own (not in a transaction): the order, its user's
 * origin (unless the user id has one) and its count. The shop's new totals; null when the order
 * exists already (nothing written); a LimitRefused when a limit refuses it (nothing written).
 */
export async function recordCountedOrder(
  db: Queryable,
  o: OrderCount & { orderId: string; userId: string; referrerId: string | null; bodyHash: string; chainOrderId: string },
): Promise<Counted | null> {
  try {
    const [row] = await db.query<{ day_total: string; outstanding_total: string }>(RECORD_COUNTED, [
      o.shopId,
      o.orderId,
      o.userId,
      o.referrerId,
      o.amount.toString(),
      o.bodyHash,
      o.chainOrderId,
      o.day,
      ...limitParams(o),
    ]);
    return row ? toCounted(row) : null;
  } catch (error) {
    throw limitRefusal(error);
  }
}

const SHOP_DAY = "SELECT total::text AS total FROM shop_daily_totals WHERE shop_id = $1 AND day = $2";
/** What the shop sent on `day` (UTC, YYYY-MM-DD). */
export async function shopDailyTotal(db: Queryable, shopId: string, day: string): Promise<bigint> {
  const [row] = await db.query<{ total: string }>(SHOP_DAY, [shopId, day]);
  return row ? BigInt(row.total) : 0n;
}

const SETTLE = `WITH s AS (UPDATE shops SET outstanding = outstanding - $2 WHERE id = $1 AND outstanding >= $2 RETURNING id, outstanding)
  INSERT INTO shop_settlements (shop_id, amount) SELECT id, $2 FROM s RETURNING (SELECT outstanding::text FROM s) AS outstanding`;
/** Records that the shop settled `amount` of its outstanding orders: what is left, or null when that is more than it owes. */
export async function settleOutstanding(tx: Queryable, shopId: string, amount: bigint): Promise<bigint | null> {
  const [row] = await tx.query<{ outstanding: string }>(SETTLE, [shopId, amount.toString()]);
  return row ? BigInt(row.outstanding) : null;
}
