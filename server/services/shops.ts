/**
 * Shops, as the operator manages them: their webhook secrets, their order limits and what they
 * used of them, and what they settled of the orders the platform's wallet paid for.
 */
import { randomBytes } from "node:crypto";
import type { Queryable } from "../adapters/db/db";
import { countByShop, noCounts } from "../adapters/db/orders";
import {
  type Shop,
  findShop,
  insertShop,
  listShops,
  rotateShopSecret,
  setShopLimits,
  settleOutstanding,
  shopDailyTotal,
} from "../adapters/db/shops";
import { parsePositiveAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { type OrderLimits, limitsInForce, utcDay } from "../domain/shop-limits";
import { AppError } from "../errors";

export const newWebhookSecret = () => `whsec_${randomBytes(24).toString("hex")}`;

/** A change of a shop's limits, in settlement units: a field left out keeps its value, null returns it to the default. */
export type LimitsChange = { perOrder?: string | null; perDay?: string | null; outstanding?: string | null };

export interface ShopsDeps {
  settlementDecimals: number;
  limits: OrderLimits;
  nowSeconds: () => number;
}

/** The shop, or NOT_FOUND. */
export async function requireShop(db: Queryable, shopId: string): Promise<Shop> {
  const shop = await findShop(db, shopId);
  if (!shop) throw new AppError("NOT_FOUND", `no shop ${shopId}`);
  return shop;
}

export function createShops(deps: ShopsDeps) {
  const d = deps.settlementDecimals;
  /** A shop's limits in force (its own or the deployment's defaults) and what it used of them today. */
  const usage = async (db: Queryable, shopId: string) => {
    const shop = await requireShop(db, shopId);
    const l = limitsInForce(shop.limits, deps.limits.shopDefaults);
    return {
      shopId,
      limits: {
        perOrder: formatAmount(l.perOrder, d),
        perDay: formatAmount(l.perDay, d),
        outstanding: formatAmount(l.outstanding, d),
        own: {
          perOrder: shop.limits.perOrder !== null,
          perDay: shop.limits.perDay !== null,
          outstanding: shop.limits.outstanding !== null,
        },
      },
      today: formatAmount(await shopDailyTotal(db, shopId, utcDay(deps.nowSeconds())), d),
      outstanding: formatAmount(shop.outstanding, d),
    };
  };

  return {
    usage,

    /** A new shop and its webhook secret, shown once. */
    async create(db: Queryable, name: string) {
      const shop = { id: `shop_${randomBytes(6).toString("hex")}`, name, webhookSecret: newWebhookSecret() };
      await insertShop(db, shop);
      return { shopId: shop.id, webhookSecret: shop.webhookSecret };
    },

    /** A new webhook secret for the shop; the old one stops working at once. */
    async rotateSecret(db: Queryable, shopId: string) {
      const webhookSecret = newWebhookSecret();
      if (!(await rotateShopSecret(db, shopId, webhookSecret))) throw new AppError("NOT_FOUND", `no shop ${shopId}`);
      return { shopId, webhookSecret };
    },

    /** Every shop, oldest first, with its limits, what it used of them today and its orders by state (no secrets). */
    async list(db: Queryable) {
      const shops = await listShops(db, utcDay(deps.nowSeconds()));
      const counts = await countByShop(db);
      return {
        shops: shops.map((s) => {
          const l = limitsInForce(s.limits, deps.limits.shopDefaults);
          return {
            shopId: s.id,
            name: s.name,
            createdAt: s.createdAt.toISOString(),
            limits: {
              perOrder: formatAmount(l.perOrder, d),
              perDay: formatAmount(l.perDay, d),
              outstanding: formatAmount(l.outstanding, d),
            },
            today: formatAmount(s.today, d),
            outstanding: formatAmount(s.outstanding, d),
            orders: counts.get(s.id) ?? noCounts(),
          };
        }),
      };
    },

    async setLimits(db: Queryable, shopId: string, change: LimitsChange) {
      const shop = await requireShop(db, shopId);
      const next = (field: "perOrder" | "perDay" | "outstanding") => {
        const value = change[field];
        if (value === undefined) return shop.limits[field];
        return value === null ? null : parsePositiveAmount(value, d, field);
      };
      await setShopLimits(db, shop.id, { perOrder: next("perOrder"), perDay: next("perDay"), outstanding: next("outstanding") });
      return usage(db, shop.id);
    },

    /** Records that the shop settled `amountText` of its outstanding order amounts, freeing that much of its limit. */
    async settle(db: Queryable, shopId: string, amountText: string) {
      const shop = await requireShop(db, shopId);
      const amount = parsePositiveAmount(amountText, d, "amount");
      if ((await settleOutstanding(db, shop.id, amount)) === null)
        throw new AppError("VALIDATION_FAILED", "amount is more than the shop's outstanding orders", {
          field: "amount",
          outstanding: formatAmount(shop.outstanding, d),
        });
      return usage(db, shop.id);
    },
  };
}

export type Shops = ReturnType<typeof createShops>;
