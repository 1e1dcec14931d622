/** Order state, for the shop that sent it and the operator (docs/api.md, "Shops and orders"). */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import { type OrderRecord, SHOP_BALANCE_TOO_LOW, findOrder } from "../adapters/db/orders";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { type RouteHost, defineRoute } from "./route";
import { Id, OrderView, publicOrderState } from "./schemas";

/**
 * The order as the API shows it; `estimate` (GP at today's price, 18 decimals) only for a pending
 * order, read by the caller from the pool (`pendingEstimate`).
 */
export function orderView(o: OrderRecord, settlementDecimals: number, estimate?: bigint): z.infer<typeof OrderView> {
  const f = (v: bigint) => formatAmount(v, settlementDecimals);
  return {
    shopId: o.shopId,
    orderId: o.orderId,
    userId: o.userId,
    amount: formatAmount(o.amount, settlementDecimals),
    state: publicOrderState(o.state),
    ...(o.state === "pending" ? { pending: true as const } : {}),
    ...(o.state === "cancelled" ? { cancelled: true as const } : {}),
    ...(o.gpMinted !== null && o.state === "confirmed" ? { gpMinted: formatAmount(o.gpMinted, 18) } : {}),
    ...(o.txHash && o.state !== "received" ? { txHash: o.txHash } : {}),
    ...(o.reason && (o.state === "rejected" || o.state === "received" || o.state === "cancelled") ? { reason: o.reason } : {}),
    ...(o.state === "received" && o.reason === SHOP_BALANCE_TOO_LOW ? { reasonCode: "SHOP_BALANCE_TOO_LOW" as const } : {}),
    ...(o.state === "pending" && o.releaseAt !== null ? { releaseAt: new Date(o.releaseAt * 1000).toISOString() } : {}),
    ...(estimate !== undefined && o.state === "pending" ? { estimate: formatAmount(estimate, 18) } : {}),
    ...(o.refunded > 0n ? { refunded: f(o.refunded) } : {}),
    ...(o.contribution !== null && o.state !== "received" && o.state !== "rejected" ? { contribution: f(o.contribution) } : {}),
  };
}

/** GP the pending order would credit its buyer at today's price (what is left of it after refunds); undefined when not pending. */
export async function pendingEstimate(chain: ChainPort, o: OrderRecord): Promise<bigint | undefined> {
  if (o.state !== "pending") return undefined;
  return (await chain.pool.previewOrder(o.amount - o.refunded)).points_;
}

async function requireOrder(db: Queryable, shopId: string, orderId: string): Promise<OrderRecord> {
  const order = await findOrder(db, shopId, orderId);
  if (!order) throw new AppError("NOT_FOUND", `shop ${shopId} has no order ${orderId}`, { shopId, orderId });
  return order;
}

export function orderRoutes(host: RouteHost, deps: { settlementDecimals: number; chain: ChainPort }): void {
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
    handle: async ({ params, db }) => {
      const order = await requireOrder(db, params.shopId, params.orderId);
      return { status: 200, body: orderView(order, deps.settlementDecimals, await pendingEstimate(deps.chain, order)) };
    },
  });
}
