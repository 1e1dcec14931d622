/**
 * Who pays, pending points and refunds over HTTP (docs/api.md, "Refunds and shop funding"): the
 * signed refund webhook, the operator's shop terms and the shop's statement.
 *
 * Who may call: the refund webhook, only the shop whose webhook secret signs it (X-GP-Shop names
 * it; its refunds name only its own orders). The terms, the operator only (admin token or an
 * operator session), each change audit-logged. The statement, the operator or the shop itself
 * (its webhook secret as bearer token, for its own shopId only).
 */
import { z } from "zod";
import type { OrderIntake } from "../services/order-intake";
import { recordAction } from "../services/audit";
import { type Refunds, RefundBody } from "../services/refunds";
import { MAX_PENDING_SECONDS, type ShopFunding, shopStatement, shopStatementCsv } from "../services/shop-funding";
import { actorOf } from "./callers";
import { shopSigned } from "./inbound-orders";
import { type RouteHost, defineRoute } from "./route";
import { Id, OrderLifecycleState } from "./schemas";

const ShopParams = z.object({ shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") });

const RefundView = z
  .object({
    refundId: z.string(),
    orderId: z.string(),
    amount: z.string(),
    outcome: z
      .enum(["reduced", "cancelled", "kept", "clawback"])
      .meta({
        description:
          "`reduced`/`cancelled`: the order was not sent yet, its amount is reduced or it is cancelled (nothing on the chain); `kept`: " +
          "minted, the shop's policy is none; `clawback`: minted, the buyer's GP in proportion are retired (Custody.remove).",
      }),
    orderState: OrderLifecycleState,
    orderRefunded: z.string().meta({ description: "What is refunded of the order in all." }),
    clawback: z.string().optional().meta({ description: "GP retired from the buyer's custodial account." }),
    alreadySpent: z.string().optional().meta({ description: "GP the refund asked back that the account no longer held." }),
    operationId: z.string().nullable().optional(),
    operationState: z.string().nullable().optional(),
    txHash: z.string().optional(),
  })
  .meta({ id: "Refund" });

const TermsView = z
  .object({
    shopId: z.string(),
    funding: z.enum(["invoiced", "prefunded"]),
    payer: z.string().nullable(),
    depositAddress: z.string().meta({ description: "Where a prefunded shop transfers settlement from its payer address." }),
    pendingDays: z.number(),
    pendingSeconds: z.number().int(),
    refundPolicy: z.enum(["none", "clawback"]),
    balance: z.object({ deposited: z.string(), spent: z.string(), available: z.string() }),
  })
  .meta({ id: "ShopFunding" });

const S = z.string();
const ShopStatementView = z
  .object({
    shopId: S,
    funding: z.enum(["invoiced", "prefunded"]),
    from: S.nullable(),
    to: S.nullable(),
    rows: z.array(
      z.object({
        time: S,
        type: z.enum(["order", "refund", "deposit"]),
        orderId: S,
        refundId: S,
        state: S,
        amount: S,
        contribution: S,
        gpMinted: S,
        refunded: S,
        clawback: S,
        spent: S.meta({ description: "GP a clawback asked back that the buyer no longer held." }),
        paidBy: S.meta({ description: "`platform` or `shop`, for an order sent." }),
        txHash: S,
      }),
    ),
    totals: z.object({
      orders: S,
      contributions: S,
      paidByPlatform: S,
      paidByShop: S,
      gpMinted: S,
      refunded: S,
      clawedBack: S,
      alreadySpent: S,
      deposited: S,
    }),
    owesPlatform: S.meta({ description: "All time: contributions the platform's wallet paid for the shop's orders." }),
    prepaid: S.meta({ description: "All time: the shop's deposits less what its orders took of them." }),
    outstanding: S.meta({
      description: "Order amounts accepted and not settled (what the shop's outstanding limit counts), after refunds and deposits.",
    }),
    settled: S.meta({ description: "All time: what the operator recorded the shop settled off-chain (POST .../settlements)." }),
  })
  .meta({ id: "ShopStatement" });

export function refundRoutes(
  host: RouteHost,
  deps: { intake: OrderIntake; refunds: Refunds; funding: ShopFunding; settlementDecimals: number },
): void {
  defineRoute(host, {
    method: "post",
    path: "/v1/webhooks/refunds",
    tag: "webhooks",
    summary: "A shop reports a refund",
    description:
      "Signed as the order webhook (X-GP-Shop, X-GP-Timestamp, X-GP-Signature over the raw body). Idempotent by (shop, refundId): " +
      "the same refund again answers 200 with its outcome; the same refundId with another body is REFUND_CONFLICT. Full or " +
      "partial: before the order is sent its amount is reduced (or it is cancelled); after minting the shop's refund policy " +
      "decides (none, or clawback of the buyer's GP in proportion). Refused, changing nothing: unknown order, rejected or " +
      "cancelled order, order on its way (retry), more than is left of the order.",
    auth: [],
    signed: shopSigned(deps.intake),
    body: RefundBody.meta({ id: "InboundRefund" }),
    responses: {
      201: { description: "Recorded with its effect.", schema: RefundView },
      200: { description: "Received before: its outcome.", schema: RefundView },
    },
    errors: [
      "AMOUNT_OUT_OF_RANGE",
      "ORDER_UNKNOWN",
      "ORDER_REJECTED",
      "ORDER_IN_FLIGHT",
      "REFUND_EXCEEDS_ORDER",
      "REFUND_CONFLICT",
      "UNAVAILABLE",
    ],
    handle: async ({ signer, body }) => {
      const result = await deps.refunds.record(signer, body);
      return { status: result.created ? 201 : 200, body: result.refund };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops/{shopId}/funding",
    tag: "admin",
    summary: "A shop's funding mode, pending window, refund policy and balance",
    auth: ["admin"],
    params: ShopParams,
    responses: { 200: { description: "The shop's terms.", schema: TermsView } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await deps.funding.terms(db, params.shopId) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/shops/{shopId}/funding",
    tag: "admin",
    summary: "Set a shop's funding mode, pending window and refund policy",
    description:
      "`invoiced` (the default): the platform's wallet pays each order's contribution and the shop owes it (statement). " +
      "`prefunded`: the shop's deposits pay, Transfers of settlement from `payer` to `depositAddress` seen on the chain; an " +
      "order its balance does not cover waits (received, SHOP_BALANCE_TOO_LOW) and goes on after a deposit. `pendingDays` " +
      "(0 to 90, 0: mint at once) holds new orders pending; `refundPolicy` decides what a refund after minting does. A field " +
      "left out keeps its value. Audit-logged.",
    auth: ["admin"],
    idempotency: "optional",
    params: ShopParams,
    body: z
      .object({
        funding: z.enum(["invoiced", "prefunded"]).optional(),
        payer: z.string().nullable().optional().meta({ description: "The address a prefunded shop deposits from." }),
        pendingDays: z.number().min(0).max(90).optional().meta({ description: "Days (fractions allowed, whole seconds kept)." }),
        refundPolicy: z.enum(["none", "clawback"]).optional(),
      })
      .strict(),
    responses: { 200: { description: "The terms now in force.", schema: TermsView } },
    errors: ["NOT_FOUND", "PAYER_REQUIRED", "PAYER_IN_USE"],
    handle: async ({ params, body, db, principal }) => {
      const pendingSeconds =
        body.pendingDays === undefined ? undefined : Math.min(Math.round(body.pendingDays * 86_400), MAX_PENDING_SECONDS);
      const set = await deps.funding.setTerms(db, params.shopId, { ...body, pendingSeconds });
      await recordAction(db, actorOf(principal), "shop-funding-set", `shop:${params.shopId}`, { ...body, inForce: set });
      return { status: 200, body: set };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/shops/{shopId}/statement",
    tag: "orders",
    summary: "A shop's statement",
    description:
      "Every order received in [from, to) (its contribution, who paid it, GP minted), every refund (reduced, cancelled, kept, " +
      "clawed back, already spent) and deposit; totals; and, over all time, what the shop owes the platform (contributions the " +
      "platform's wallet paid) and has prepaid (deposits less what orders took). JSON, or CSV with `format=csv` or Accept: " +
      "text/csv. For the operator, or the shop with its webhook secret as the bearer token.",
    auth: ["admin", "shop"],
    params: ShopParams,
    query: z.object({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      format: z.enum(["json", "csv"]).optional(),
    }),
    responses: {
      200: {
        description: "The statement.",
        schema: ShopStatementView,
        also: {
          "text/csv": z.string().meta({ description: "With `format=csv` (or Accept: text/csv): a header line, then one line per row." }),
        },
      },
    },
    errors: ["NOT_FOUND"],
    handle: async ({ params, query, db, accepts }) => {
      const shop = await deps.funding.requireShop(db, params.shopId);
      const range = { from: query.from ? new Date(query.from) : null, to: query.to ? new Date(query.to) : null };
      const statement = await shopStatement(db, shop, range, deps.settlementDecimals);
      const csv = query.format === "csv" || (query.format === undefined && accepts(["application/json", "text/csv"]) === "text/csv");
      if (csv) {
        return {
          status: 200,
          body: shopStatementCsv(statement.rows),
          contentType: "text/csv; charset=utf-8",
          headers: { "Content-Disposition": `attachment; filename="statement-${shop.id}.csv"` },
        };
      }
      return { status: 200, body: statement };
    },
  });
}
