/**
 * Which ad merchants a shop's orders may name over HTTP: the operator's allowances for a shop, and
 * a merchant's own leave for a shop to name it.
 */
import { z } from "zod";
import { actorOf, merchantOf } from "../../http/callers";
import { recordAction } from "../../services/audit";
import { type RouteHost, defineRoute } from "../../http/route";
import { Id } from "../../http/schemas";
import { adAllowances } from "./shops";

const ShopParams = z.object({ shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") });
const AdMerchantParams = ShopParams.extend({ merchantId: Id("The ad merchant.", "mer_8a7b6c5d4e3f") });

const AllowedMerchants = z.object({
  shopId: z.string(),
  adMerchants: z.array(z.object({ merchantId: z.string(), allowedBy: z.string(), createdAt: z.string() })),
});

export function adShopRoutes(host: RouteHost): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops/{shopId}/ad-merchants",
    tag: "admin",
    summary: "The ad merchants a shop may name",
    auth: ["admin"],
    params: ShopParams,
    responses: { 200: { description: "Allowed merchants, oldest first.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await adAllowances.list(db, params.shopId) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/shops/{shopId}/ad-merchants/{merchantId}",
    tag: "admin",
    summary: "Let a shop name an ad merchant",
    description: "Orders of the shop may then name the merchant as `adMerchantId`, which spends the merchant's ad credit on vouchers.",
    auth: ["admin"],
    idempotency: "optional",
    params: AdMerchantParams,
    responses: { 200: { description: "Allowed.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db, principal }) => {
      const allowed = await adAllowances.allowByAdmin(db, params.shopId, params.merchantId);
      await recordAction(db, actorOf(principal), "shop-ad-merchant-allowed", `shop:${params.shopId}`, { merchantId: params.merchantId });
      return { status: 200, body: allowed };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/admin/shops/{shopId}/ad-merchants/{merchantId}",
    tag: "admin",
    summary: "Stop a shop naming an ad merchant",
    description: "Later orders naming it are refused (AD_MERCHANT_NOT_ALLOWED); sales recorded before keep their vouchers.",
    auth: ["admin"],
    idempotency: "optional",
    params: AdMerchantParams,
    responses: { 200: { description: "No longer allowed.", schema: AllowedMerchants } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db, principal }) => {
      const allowed = await adAllowances.revokeByAdmin(db, params.shopId, params.merchantId);
      await recordAction(db, actorOf(principal), "shop-ad-merchant-revoked", `shop:${params.shopId}`, { merchantId: params.merchantId });
      return { status: 200, body: allowed };
    },
  });

  const MerchantShop = z.object({ shopId: z.string(), merchantId: z.string(), allowed: z.boolean() });
  defineRoute(host, {
    method: "put",
    path: "/v1/merchant/shops/{shopId}",
    tag: "merchants",
    summary: "Let a shop name me as its orders' ad merchant",
    description: "The shop's orders may then name this merchant as `adMerchantId`, spending its ad credit on vouchers for its buyers.",
    auth: ["merchant"],
    ownerOnly: true,
    params: ShopParams,
    responses: { 200: { description: "Allowed.", schema: MerchantShop } },
    errors: ["NOT_FOUND", "FORBIDDEN"],
    handle: async ({ params, principal, db }) => {
      const m = await merchantOf(db, principal);
      return { status: 200, body: await adAllowances.allowByMerchant(db, params.shopId, m.id) };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/shops/{shopId}",
    tag: "merchants",
    summary: "Stop a shop naming me as its orders' ad merchant",
    description: "Whoever allowed it (the merchant or the operator), the merchant may withdraw it.",
    auth: ["merchant"],
    ownerOnly: true,
    params: ShopParams,
    responses: { 200: { description: "No longer allowed.", schema: MerchantShop } },
    errors: ["NOT_FOUND", "FORBIDDEN"],
    handle: async ({ params, principal, db }) => {
      const m = await merchantOf(db, principal);
      return { status: 200, body: await adAllowances.revokeByMerchant(db, params.shopId, m.id) };
    },
  });
}
