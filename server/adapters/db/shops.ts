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
