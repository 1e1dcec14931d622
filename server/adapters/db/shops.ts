import type { Queryable } from "./db";

export interface Shop {
  id: string;
  name: string;
  webhookSecret: string;
}

const INSERT_SHOP = "INSERT INTO shops (id, name, webhook_secret) VALUES ($1, $2, $3)";
export async function insertShop(db: Queryable, shop: Shop): Promise<void> {
  await db.query(INSERT_SHOP, [shop.id, shop.name, shop.webhookSecret]);
}

const FIND_SHOP = "SELECT id, name, webhook_secret FROM shops WHERE id = $1";
export async function findShop(db: Queryable, id: string): Promise<Shop | null> {
  const [row] = await db.query<{ id: string; name: string; webhook_secret: string }>(FIND_SHOP, [id]);
  return row ? { id: row.id, name: row.name, webhookSecret: row.webhook_secret } : null;
}

const ROTATE_SECRET = "UPDATE shops SET webhook_secret = $2 WHERE id = $1 RETURNING id";
/** Replaces the shop's webhook secret; false when there is no such shop. */
export async function rotateShopSecret(db: Queryable, id: string, secret: string): Promise<boolean> {
  return (await db.query(ROTATE_SECRET, [id, secret])).length > 0;
}

const LIST_SHOPS = "SELECT id, name, created_at FROM shops ORDER BY created_at, id";
export async function listShops(db: Queryable): Promise<{ id: string; name: string; createdAt: Date }[]> {
  const rows = await db.query<{ id: string; name: string; created_at: Date | string }>(LIST_SHOPS);
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at) }));
}
