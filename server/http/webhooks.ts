/** The shop order webhook (docs/api.md, "Shops and orders"): raw body, verified, recorded before the 202. */
import express from "express";
import { z } from "zod";
import type { OrderIntake } from "../services/order-intake";
import { OrderWebhookBody } from "../services/order-intake";
import { STATUS_OF } from "./status";
import { ErrorBody } from "./route";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { OrderStateName } from "./schemas";

const Accepted = z.object({ orderId: z.string(), state: OrderStateName }).meta({ id: "OrderAccepted" });
const header = (value: string | string[] | undefined) => (typeof value === "string" ? value : undefined);

export function webhookRouter(deps: { intake: OrderIntake; registry: OpenAPIRegistry }): express.Router {
  const router = express.Router();
  const error = (codes: string) => ({ description: codes, content: { "application/json": { schema: ErrorBody } } });
  deps.registry.registerPath({
    method: "post",
    path: "/v1/webhooks/orders",
    tags: ["webhooks"],
    summary: "A shop reports an order",
    description:
      'Signed with the shop\'s webhook secret: `X-GP-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`. ' +
      "Refused when the timestamp is more than 300 s from the server's clock. Idempotent by (shop, orderId): the same order " +
      "again answers 200 with its current state; the same orderId with another body is a 409. An unknown userId gets a custodial account.",
    request: {
      headers: z.object({
        "x-gp-shop": z.string().meta({ description: "The shop's id." }),
        "x-gp-timestamp": z.string().meta({ description: "Unix seconds.", example: "1764000000" }),
        "x-gp-signature": z.string().meta({ example: "v1=5f2b…" }),
      }),
      body: { required: true, content: { "application/json": { schema: OrderWebhookBody.meta({ id: "OrderWebhook" }) } } },
    },
    responses: {
      202: { description: "Recorded durably; it will be minted.", content: { "application/json": { schema: Accepted } } },
      200: { description: "Received before: its current state.", content: { "application/json": { schema: Accepted } } },
      [STATUS_OF.VALIDATION_FAILED]: error("VALIDATION_FAILED, INVALID_JSON, AMOUNT_OUT_OF_RANGE"),
      [STATUS_OF.BAD_SIGNATURE]: error("UNKNOWN_SHOP, BAD_SIGNATURE, STALE_TIMESTAMP"),
      [STATUS_OF.ORDER_CONFLICT]: error("ORDER_CONFLICT"),
      [STATUS_OF.UNAVAILABLE]: error("UNAVAILABLE: the database could not record it; nothing was accepted, send it again"),
    },
  });
  router.post("/v1/webhooks/orders", express.raw({ type: () => true, limit: "16kb" }), async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await deps.intake.receive({
      shopId: header(req.headers["x-gp-shop"]),
      timestamp: header(req.headers["x-gp-timestamp"]),
      signature: header(req.headers["x-gp-signature"]),
      rawBody,
    });
    res.status(result.created ? 202 : 200).json({ orderId: result.orderId, state: result.state });
  });
  return router;
}
