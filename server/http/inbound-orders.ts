/** The inbound order webhook (docs/api.md, "Shops and orders"): a shop's order, signed over its raw body, recorded before the answer. */
import { z } from "zod";
import type { Shop } from "../adapters/db/shops";
import type { OrderIntake } from "../services/order-intake";
import { type RouteHost, type SignedInput, type SignedSpec, defineRoute } from "./route";
import { OrderStateName, publicOrderState } from "./schemas";

const Accepted = z
  .object({
    orderId: z.string(),
    state: OrderStateName,
    pending: z.literal(true).optional().meta({ description: "Held for the shop's pending window (state `received`)." }),
  })
  .meta({ id: "OrderAccepted" });

export function inboundOrderRoutes(host: RouteHost, deps: { intake: OrderIntake }): void {
  defineRoute(host, {
    method: "post",
    path: "/v1/webhooks/orders",
    tag: "webhooks",
    summary: "A shop reports an order",
    description:
      'Signed with the shop\'s webhook secret: `X-GP-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`. ' +
      "Refused when the timestamp is more than 300 s from the server's clock. Idempotent by (shop, orderId): the same order " +
      "again answers 200 with its current state; the same orderId with another body is a 409. An unknown userId gets a custodial account. " +
      "A shop with a pending window (PUT /v1/admin/shops/{shopId}/funding) gets `received` with `pending: true`: minted when the window ends, at that moment's price.",
    auth: [],
    signed: shopSigned(deps.intake),
    body: deps.intake.orderBody.meta({ id: "InboundOrder" }),
    responses: {
      202: { description: "Recorded durably; it will be minted.", schema: Accepted },
      200: { description: "Received before: its current state.", schema: Accepted },
    },
    errors: [
      "AMOUNT_OUT_OF_RANGE",
      "ORDER_CONFLICT",
      "UNAVAILABLE",
      "SHOP_LIMIT_EXCEEDED",
      "DEPLOYMENT_LIMIT_REACHED",
      ...deps.intake.errors,
    ],
    handle: async ({ signer, body }) => {
      const result = await deps.intake.record(signer, body);
      const state = publicOrderState(result.state);
      const accepted = { orderId: result.orderId, state, ...(result.state === "pending" ? { pending: true as const } : {}) };
      return { status: result.created ? 202 : 200, body: accepted };
    },
  });
}

/** A shop's signature over a webhook's raw body, as orders and refunds carry it (X-GP-Shop, X-GP-Timestamp, X-GP-Signature). */
export function shopSigned(intake: Pick<OrderIntake, "verify">): SignedSpec<Shop> {
  return {
    headers: z.object({
      "x-gp-shop": z.string().meta({ description: "The shop's id." }),
      "x-gp-timestamp": z.string().meta({ description: "Unix seconds.", example: "1764000000" }),
      "x-gp-signature": z.string().meta({ example: "v1=5f2b…" }),
    }),
    errors: ["UNKNOWN_SHOP", "BAD_SIGNATURE", "STALE_TIMESTAMP"],
    verify: ({ header, rawBody }: SignedInput): Promise<Shop> =>
      intake.verify({ shopId: header("x-gp-shop"), timestamp: header("x-gp-timestamp"), signature: header("x-gp-signature"), rawBody }),
  };
}
