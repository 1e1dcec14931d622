/**
 * What a shop may do, set by the operator: its order limits and what it settled of the orders the
 * platform's wallet paid for; and which ad merchants it may name on its orders (allowed by the
 * operator, or by the merchant itself with its API key).
 */
import { z } from "zod";
import type { OrderLimits } from "../domain/shop-limits";
import { createShops } from "../services/shops";
import { merchantOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Amount, Id } from "./schemas";

const ShopParams = z.object({ shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") });
const AdMerchantParams = ShopParams.extend({ merchantId: Id("The ad merchant.", "mer_8a7b6c5d4e3f") });

const LimitsView = z
  .object({
    perOrder: z.string(),
    perDay: z.string(),
    outstanding: z.string(),
    own: z
      .object({ perOrder: z.boolean(), perDay: z.boolean(), outstanding: z.boolean() })
      .meta({ description: "Which limits the operator set for this shop (the others are the deployment's defaults)." }),
  })
  .meta({ id: "ShopLimits", description: "Order amounts in settlement units." });

export const ShopUsage = z
  .object({
    shopId: z.string(),
    limits: LimitsView,
    today: z.string().meta({ description: "Order amounts accepted today (UTC)." }),
    outstanding: z.string().meta({ description: "Order amounts accepted and not rejected that the shop has not settled yet." }),
  })
  .meta({ id: "ShopUsage" });

const AllowedMerchants = z.object({
  shopId: z.string(),
  adMerchants: z.array(z.object({ merchantId: z.string(), allowedBy: z.string(), createdAt: z.string() })),
});

export function shopControlRoutes(
  host: RouteHost,
  deps: { settlementDecimals: number; limits: OrderLimits; nowSeconds: () => number },
): void {
  const shops = createShops(deps);
  const limit = (name: string) =>
    Amount(`Largest ${name}, in settlement units; null returns to the deployment's default.`, "10000").nullable().optional();

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops/{shopId}/limits",
    tag: "admin",
    summary: "A shop's limits and what it used of them",
    auth: ["admin"],
    params: ShopParams,
    responses: { 200: { description: "The limits in force and the use.", schema: ShopUsage } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await shops.usage(db, params.shopId) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/shops/{shopId}/limits",
    tag: "admin",
    summary: "Set a shop's limits",
    description:
      "Per order, per UTC day and outstanding (order amounts accepted and not settled), in settlement units of order amounts. A " +
      "field left out keeps its value; null returns it to the deployment's default. Orders past a limit are refused at intake " +
      "(SHOP_LIMIT_EXCEEDED) and nothing is recorded.",
    auth: ["admin"],
    idempotency: "optional",
    params: ShopParams,
    body: z.object({ perOrder: limit("order"), perDay: limit("day's total"), outstanding: limit("outstanding total") }).strict(),
    responses: { 200: { description: "The limits now in force.", schema: ShopUsage } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, body, db }) => ({ status: 200, body: await shops.setLimits(db, params.shopId, body) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/shops/{shopId}/settlements",
    tag: "admin",
    summary: "Record what a shop settled",
    description:
      "The platform's wallet pays the pool's share of each of a shop's orders; the shop settles with the platform off-chain. This " +
      "records that it settled `amount` of its outstanding order amounts, which frees that much of its outstanding limit.",
    auth: ["admin"],
    idempotency: "required",
    params: ShopParams,
    body: z.object({ amount: Amount("Order amounts settled, in settlement units.", "5000") }).strict(),
    responses: { 200: { description: "What is outstanding now.", schema: ShopUsage } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, body, db }) => ({ status: 200, body: await shops.settle(db, params.shopId, body.amount) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops/{shopId}/ad-merchants",
    tag: "admin",
    summary: "The ad merchants a shop may name",
    auth: ["admin"],
    params: ShopParams,
    responses: { 200: { description: "Allowed merchants, oldest first.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await shops.adMerchants(db, params.shopId) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/shops/{shopId}/ad-merchants/{merchantId}",
    tag: "admin",
    summary: "Let a shop name an ad merchant",
    description: "Orders of the shop may then name the merchant as `adMerchantId`, which spends the merchant's ad credit on vouchers.",
    auth: ["admin"],
    params: AdMerchantParams,
    responses: { 200: { description: "Allowed.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await shops.allowAdMerchant(db, params.shopId, params.merchantId) }),
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/admin/shops/{shopId}/ad-merchants/{merchantId}",
    tag: "admin",
    summary: "Stop a shop naming an ad merchant",
    description: "Later orders naming it are refused (AD_MERCHANT_NOT_ALLOWED); sales recorded before keep their vouchers.",
    auth: ["admin"],
    params: AdMerchantParams,
    responses: { 200: { description: "No longer allowed.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await shops.revokeAdMerchant(db, params.shopId, params.merchantId) }),
  });

  const MerchantShop = z.object({ shopId: z.string(), merchantId: z.string(), allowed: z.boolean() });
  defineRoute(host, {
    method: "put",
    path: "/v1/merchant/shops/{shopId}",
    tag: "merchants",
    summary: "Let a shop name me as its orders' ad merchant",
    description: "The shop's orders may then name this merchant as `adMerchantId`, spending its ad credit on vouchers for its buyers.",
    auth: ["merchant"],
    params: ShopParams,
    responses: { 200: { description: "Allowed.", schema: MerchantShop } },
    errors: ["NOT_FOUND", "FORBIDDEN"],
    handle: async ({ params, principal, db }) => {
      const m = await merchantOf(db, principal);
      return { status: 200, body: await shops.allowByMerchant(db, params.shopId, m.id) };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/shops/{shopId}",
    tag: "merchants",
    summary: "Stop a shop naming me as its orders' ad merchant",
    description: "Whoever allowed it (the merchant or the operator), the merchant may withdraw it.",
    auth: ["merchant"],
    params: ShopParams,
    responses: { 200: { description: "No longer allowed.", schema: MerchantShop } },
    errors: ["NOT_FOUND", "FORBIDDEN"],
    handle: async ({ params, principal, db }) => {
      const m = await merchantOf(db, principal);
      return { status: 200, body: await shops.revokeByMerchant(db, params.shopId, m.id) };
    },
  });
}
