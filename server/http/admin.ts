/** The operator's API (admin token): shops and their webhook secrets, order lookups. */
import { z } from "zod";
import { listOrders } from "../adapters/db/orders";
import type { OrderLimits } from "../domain/shop-limits";
import { createShops } from "../services/shops";
import { orderView } from "./orders";
import { type RouteHost, defineRoute } from "./route";
import { Id, OrderStateName, OrderView } from "./schemas";

const ShopCredentials = z
  .object({
    shopId: z.string().meta({ example: "shop_5c1e0b2a9d4f" }),
    webhookSecret: z.string().meta({ description: "Shown once: the shop signs its webhooks with it.", example: "whsec_…" }),
  })
  .meta({ id: "ShopCredentials" });

export function adminRoutes(host: RouteHost, deps: { settlementDecimals: number; limits: OrderLimits; nowSeconds: () => number }): void {
  const d = deps.settlementDecimals;
  const shops = createShops(deps);
  defineRoute(host, {
    method: "post",
    path: "/v1/admin/shops",
    tag: "admin",
    summary: "Create a shop",
    description: "Returns the shop's id and its webhook secret; the secret is not shown again (rotate it to get a new one).",
    auth: ["admin"],
    idempotency: "optional",
    body: z.object({ name: z.string().trim().min(1).max(200).meta({ example: "Green Grocer" }) }).strict(),
    responses: { 201: { description: "Created.", schema: ShopCredentials } },
    handle: async ({ body, db }) => ({ status: 201, body: await shops.create(db, body.name) }),
  });
  defineRoute(host, {
    method: "post",
    path: "/v1/admin/shops/{shopId}/rotate-secret",
    tag: "admin",
    summary: "Replace a shop's webhook secret",
    description: "The old secret stops working at once, for webhooks and for order lookups.",
    auth: ["admin"],
    idempotency: "optional",
    params: z.object({ shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") }),
    responses: { 200: { description: "The new secret, shown once.", schema: ShopCredentials } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await shops.rotateSecret(db, params.shopId) }),
  });
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops",
    tag: "admin",
    summary: "List shops",
    auth: ["admin"],
    responses: {
      200: {
        description: "Every shop, oldest first, with its limits and what it used of them today (secrets are not listed).",
        schema: z.object({
          shops: z.array(
            z.object({
              shopId: z.string(),
              name: z.string(),
              createdAt: z.string(),
              limits: z.object({ perOrder: z.string(), perDay: z.string(), outstanding: z.string() }),
              today: z.string(),
              outstanding: z.string(),
            }),
          ),
        }),
      },
    },
    handle: async ({ db }) => ({ status: 200, body: await shops.list(db) }),
  });
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/orders",
    tag: "admin",
    summary: "Look up orders",
    auth: ["admin"],
    query: z.object({
      shopId: Id("Only this shop's orders.", "shop_5c1e0b2a9d4f").optional(),
      state: OrderStateName.optional(),
      userId: Id("Only this user's orders.", "alice").optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    responses: { 200: { description: "The newest first.", schema: z.object({ orders: z.array(OrderView) }) } },
    handle: async ({ query, db }) => ({ status: 200, body: { orders: (await listOrders(db, query)).map((o) => orderView(o, d)) } }),
  });
}
