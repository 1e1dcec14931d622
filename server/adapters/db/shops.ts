import type { ShopLimitSettings } from "../../domain/shop-limits";
import type { Queryable } from "./db";

export interface Shop {
  id: string;
  name: string;
  webhookSecret: string;
  limits: ShopLimitSettings;
  /** Order amounts accepted for the shop (not rejected) that the shop has not settled with the platform yet. */
  outstanding: bigint;
}

interface ShopRow {
  id: string;
  name: string;
  webhook_secret: string;
  limit_per_order: string | null;
  limit_per_day: string | null;
  limit_outstanding: string | null;
  outstanding: string;
  created_at: Date | string;
}

const big = (v: string | null) => (v === null ? null : BigInt(v));
const COLUMNS =
  "id, name, webhook_secret, limit_per_order::text AS limit_per_order, limit_per_day::text AS limit_per_day, " +
  "limit_outstanding::text AS limit_outstanding, outstanding::text AS outstanding, created_at";
const toShop = (r: ShopRow): Shop => ({
  id: r.id,
  name: r.name,
  webhookSecret: r.webhook_secret,
  limits: { perOrder: big(r.limit_per_order), perDay: big(r.limit_per_day), outstanding: big(r.limit_outstanding) },
  outstanding: BigInt(r.outstanding),
});

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

// One statement for the three counters an accepted order raises, each only if it stays within
// its limit: the shop's day, what the shop owes, and every shop's day. A null in the answer is the
// limit the order would pass; the caller then refuses it and its transaction rolls back.
const COUNT_ORDER = `WITH day AS (
    INSERT INTO shop_daily_totals (shop_id, day, total) SELECT $1::text, $2::text, $3::numeric WHERE $3::numeric <= $4::numeric
    ON CONFLICT (shop_id, day) DO UPDATE SET total = shop_daily_totals.total + EXCLUDED.total
    WHERE shop_daily_totals.total + EXCLUDED.total <= $4::numeric
    RETURNING total),
  owed AS (UPDATE shops SET outstanding = outstanding + $3::numeric WHERE id = $1::text AND outstanding + $3::numeric <= $5::numeric
    RETURNING outstanding),
  everyone AS (
    INSERT INTO daily_totals (day, total) SELECT $2::text, $3::numeric WHERE $3::numeric <= $6::numeric
    ON CONFLICT (day) DO UPDATE SET total = daily_totals.total + EXCLUDED.total
    WHERE daily_totals.total + EXCLUDED.total <= $6::numeric
    RETURNING total)
  SELECT (SELECT total::text FROM day) AS day, (SELECT outstanding::text FROM owed) AS outstanding,
    (SELECT total::text FROM everyone) AS everyone`;
/**
 * Counts an accepted order's amount against the shop's day (`day`, UTC), what the shop owes and
 * every shop's day: the new totals, each null when that limit would be passed.
 */
export async function countOrder(
  tx: Queryable,
  o: { shopId: string; day: string; amount: bigint; perDay: bigint; outstanding: bigint; deploymentPerDay: bigint },
): Promise<{ day: bigint | null; outstanding: bigint | null; everyone: bigint | null }> {
  const [row] = await tx.query<{ day: string | null; outstanding: string | null; everyone: string | null }>(COUNT_ORDER, [
    o.shopId,
    o.day,
    o.amount.toString(),
    o.perDay.toString(),
    o.outstanding.toString(),
    o.deploymentPerDay.toString(),
  ]);
  return { day: big(row.day), outstanding: big(row.outstanding), everyone: big(row.everyone) };
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
