/**
 * Rewarded ads at the shops: which ad merchants a shop's orders may name (allowed by the operator,
 * or by the merchant itself), and the inbound order's `adMerchantId`, which records the order as a
 * sale of that merchant, earning the buyer vouchers once the order is confirmed.
 */
import type { Queryable } from "../../adapters/db/db";
import { findMerchant } from "../../adapters/db/merchants";
import { idSchema } from "../../domain/ids";
import { AppError } from "../../errors";
import type { OrderExtension } from "../../services/order-intake";
import { requireActiveMerchant } from "../../services/merchants";
import { requireShop } from "../../services/shops";
import { adMerchantsOfShop, allowAdMerchant, isAdMerchantAllowed, revokeAdMerchant } from "./allowances";
import { recordAdSale } from "./service";

const allowed = async (db: Queryable, shopId: string) => ({
  shopId,
  adMerchants: (await adMerchantsOfShop(db, shopId)).map((a) => ({ ...a, createdAt: a.createdAt.toISOString() })),
});

export const adAllowances = {
  /** The ad merchants the shop's orders may name, oldest first. */
  async list(db: Queryable, shopId: string) {
    await requireShop(db, shopId);
    return allowed(db, shopId);
  },

  /** The operator lets the shop's orders name the merchant as their ad merchant. */
  async allowByAdmin(db: Queryable, shopId: string, merchantId: string) {
    await requireShop(db, shopId);
    if (!(await findMerchant(db, merchantId))) throw new AppError("NOT_FOUND", `no merchant ${merchantId}`);
    await allowAdMerchant(db, shopId, merchantId, "admin");
    return allowed(db, shopId);
  },

  /** The operator stops the shop's orders naming the merchant. */
  async revokeByAdmin(db: Queryable, shopId: string, merchantId: string) {
    if (!(await revokeAdMerchant(db, shopId, merchantId)))
      throw new AppError("NOT_FOUND", `shop ${shopId} may not name ${merchantId} already`);
    return allowed(db, shopId);
  },

  /** A merchant lets the shop's orders name it. */
  async allowByMerchant(db: Queryable, shopId: string, merchantId: string) {
    await requireShop(db, shopId);
    await allowAdMerchant(db, shopId, merchantId, `merchant:${merchantId}`);
    return { shopId, merchantId, allowed: true };
  },

  /** A merchant withdraws the shop's leave to name it, whoever gave it. */
  async revokeByMerchant(db: Queryable, shopId: string, merchantId: string) {
    if (!(await revokeAdMerchant(db, shopId, merchantId))) throw new AppError("NOT_FOUND", `shop ${shopId} may not name you already`);
    return { shopId, merchantId, allowed: false };
  },
};

/**
 * An order may name an ad merchant (and spend its ad credit) only when the operator or the merchant
 * allowed it for the shop, and the operator has not suspended the merchant (MERCHANT_SUSPENDED).
 */
async function requireAllowedMerchant(tx: Queryable, shopId: string, merchantId: string): Promise<void> {
  // An allowed merchant exists (the allowance references it) and is not suspended: one query for an accepted ad order.
  if (await isAdMerchantAllowed(tx, shopId, merchantId)) return;
  const merchant = await findMerchant(tx, merchantId);
  if (!merchant) throw new AppError("VALIDATION_FAILED", "body.adMerchantId names no merchant", { adMerchantId: merchantId });
  requireActiveMerchant(merchant);
  throw new AppError("AD_MERCHANT_NOT_ALLOWED", "this shop may not name that merchant: the operator or the merchant allows it", {
    adMerchantId: merchantId,
  });
}

/** The inbound order's `adMerchantId`: checked against the shop's allowances, then kept as an ad sale of the order. */
export const adOrders: OrderExtension = {
  fields: {
    adMerchantId: idSchema()
      .optional()
      .meta({
        description:
          "Flags the order as a sale of this ad merchant, which the operator or the merchant allowed for this shop: once the order " +
          "is confirmed, the buyer gets ad vouchers worth the amount.",
      }),
  },
  errors: ["AD_MERCHANT_NOT_ALLOWED", "MERCHANT_SUSPENDED"],
  involves: (body) => typeof body.adMerchantId === "string",
  async accepted(tx, { shop, body, amount }) {
    const merchantId = body.adMerchantId;
    if (typeof merchantId !== "string") return;
    await requireAllowedMerchant(tx, shop.id, merchantId);
    const source = { shopId: shop.id, orderId: body.orderId };
    await recordAdSale(tx, { userId: body.userId, merchantId, source, asset: "settlement", paid: amount });
  },
};
