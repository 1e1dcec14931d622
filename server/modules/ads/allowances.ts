/**
 * Which ad merchants a shop's orders may name (`shop_ad_merchants`): allowed by the operator or by
 * the merchant itself; an order naming one spends that merchant's ad credit on vouchers.
 */
import type { Queryable } from "../../adapters/db/db";

const ALLOW_AD_MERCHANT = `INSERT INTO shop_ad_merchants (shop_id, merchant_id, allowed_by) VALUES ($1, $2, $3)
  ON CONFLICT (shop_id, merchant_id) DO NOTHING`;
/** Lets the shop name the merchant as an order's `adMerchantId` (spending its ad credit). */
export async function allowAdMerchant(db: Queryable, shopId: string, merchantId: string, allowedBy: string): Promise<void> {
  await db.query(ALLOW_AD_MERCHANT, [shopId, merchantId, allowedBy]);
}

const REVOKE_AD_MERCHANT = "DELETE FROM shop_ad_merchants WHERE shop_id = $1 AND merchant_id = $2 RETURNING shop_id";
/** False when it was not allowed. */
export async function revokeAdMerchant(db: Queryable, shopId: string, merchantId: string): Promise<boolean> {
  return (await db.query(REVOKE_AD_MERCHANT, [shopId, merchantId])).length > 0;
}

const AD_MERCHANT_ALLOWED = `SELECT 1 FROM shop_ad_merchants a JOIN merchants m ON m.id = a.merchant_id
  WHERE a.shop_id = $1 AND a.merchant_id = $2 AND m.suspended_at IS NULL`;
/** Whether the shop may name the merchant now: allowed, and the merchant not suspended. */
export async function isAdMerchantAllowed(db: Queryable, shopId: string, merchantId: string): Promise<boolean> {
  return (await db.query(AD_MERCHANT_ALLOWED, [shopId, merchantId])).length > 0;
}

const AD_MERCHANTS_OF_SHOP =
  "SELECT merchant_id, allowed_by, created_at FROM shop_ad_merchants WHERE shop_id = $1 ORDER BY created_at, merchant_id";
export async function adMerchantsOfShop(
  db: Queryable,
  shopId: string,
): Promise<{ merchantId: string; allowedBy: string; createdAt: Date }[]> {
  const rows = await db.query<{ merchant_id: string; allowed_by: string; created_at: Date | string }>(AD_MERCHANTS_OF_SHOP, [shopId]);
  return rows.map((r) => ({ merchantId: r.merchant_id, allowedBy: r.allowed_by, createdAt: new Date(r.created_at) }));
}
