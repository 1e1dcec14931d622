/**
 * What a shop may do, set by the operator: its order limits and what it settled of the orders the
 * platform's wallet paid for.
 */
import { z } from "zod";
import type { OrderLimits } from "../domain/shop-limits";
import { recordAction } from "../services/audit";
import { createShops } from "../services/shops";
import { actorOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Amount, Id } from "./schemas";

const ShopParams = z.object({ shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") });

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
    handle: async ({ params, body, db, principal }) => {
      const set = await shops.setLimits(db, params.shopId, body);
      await recordAction(db, actorOf(principal), "shop-limits-set", `shop:${params.shopId}`, { ...body, inForce: set.limits });
      return { status: 200, body: set };
    },
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
    handle: async ({ params, body, db, principal }) => {
      const settled = await shops.settle(db, params.shopId, body.amount);
      await recordAction(db, actorOf(principal), "shop-settled", `shop:${params.shopId}`, { amount: body.amount });
      return { status: 200, body: settled };
    },
  });
}
