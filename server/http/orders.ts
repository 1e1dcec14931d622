/** Order state, for the shop that sent it and the operator (docs/api.md, "Shops and orders"). */
import { z } from "zod";
import type { Queryable } from "../adapters/db/db";
import { type OrderRecord, findOrder } from "../adapters/db/orders";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { type RouteHost, defineRoute } from "./route";
import { Id, OrderView } from "./schemas";

export function orderView(o: OrderRecord, settlementDecimals: number): z.infer<typeof OrderView> {
  return {
    shopId: o.shopId,
    orderId: o.orderId,
    userId: o.userId,
    amount: formatAmount(o.amount, settlementDecimals),
    state: o.state,
    ...(o.gpMinted !== null && o.state === "confirmed" ? { gpMinted: formatAmount(o.gpMinted, 18) } : {}),
    ...(o.txHash && o.state !== "received" ? { txHash: o.txHash } : {}),
    ...(o.reason && (o.state === "rejected" || o.state === "received") ? { reason: o.reason } : {}),
  };
}

async function requireOrder(db: Queryable, shopId: string, orderId: string): Promise<OrderRecord> {
  const order = await findOrder(db, shopId, orderId);
  if (!order) throw new AppError("NOT_FOUND", `shop ${shopId} has no order ${orderId}`, { shopId, orderId });
  return order;
}

export function orderRoutes(host: RouteHost, deps: { settlementDecimals: number }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/shops/{shopId}/orders/{orderId}",
    tag: "orders",
    summary: "An order's state",
    description: "For the operator, or the shop with its webhook secret as the bearer token.",
    auth: ["admin", "shop"],
    params: z.object({ shopId: Id("The shop's id.", "shop_7f3a"), orderId: Id("The shop's order id.", "A-1001") }),
    responses: { 200: { description: "The order.", schema: OrderView } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({
      status: 200,
      body: orderView(await requireOrder(db, params.shopId, params.orderId), deps.settlementDecimals),
    }),
  });
}
