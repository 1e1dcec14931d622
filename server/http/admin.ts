/**
 * The operator's API (the admin token or an operator's session): shops and their webhook secrets,
 * order lookups, the relayer's status. Each change is in the audit log naming who made it.
 */
import { z } from "zod";
import { type OrderRecord, listOrders } from "../adapters/db/orders";
import { PhoneNumber } from "../domain/phones";
import { AppError } from "../errors";
import { memberOfPhone } from "../services/members";
import { refusalCode } from "../services/refusals";
import type { OrderLimits } from "../domain/shop-limits";
import type { Metrics } from "../services/metrics";
import { createShops } from "../services/shops";
import { orderView } from "./orders";
import { recordAction } from "../services/audit";
import { actorOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id, OrderLifecycleState, OrderView } from "./schemas";

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
    handle: async ({ body, db, principal }) => {
      const made = await shops.create(db, body.name);
      await recordAction(db, actorOf(principal), "shop-created", `shop:${made.shopId}`, { name: body.name });
      return { status: 201, body: made };
    },
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
    handle: async ({ params, db, principal }) => {
      const rotated = await shops.rotateSecret(db, params.shopId);
      await recordAction(db, actorOf(principal), "shop-secret-rotated", `shop:${params.shopId}`);
      return { status: 200, body: rotated };
    },
  });
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/shops",
    tag: "admin",
    summary: "List shops",
    auth: ["admin"],
    responses: {
      200: {
        description:
          "Every shop, oldest first, with its limits, what it used of them today and its orders by state (secrets are not listed).",
        schema: z.object({
          shops: z.array(
            z.object({
              shopId: z.string(),
              name: z.string(),
              createdAt: z.string(),
              limits: z.object({ perOrder: z.string(), perDay: z.string(), outstanding: z.string() }),
              today: z.string(),
              outstanding: z.string(),
              orders: z
                .object({
                  pending: z.number().int(),
                  received: z.number().int(),
                  submitted: z.number().int(),
                  confirmed: z.number().int(),
                  rejected: z.number().int(),
                  cancelled: z.number().int(),
                })
                .meta({ description: "The shop's orders by state, all time." }),
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
    description:
      "The newest first, narrowed by any of: the shop, the shop's order id, the user (by user id, or by `phone` as typed or in " +
      "E.164: PHONE_NOT_REGISTERED when no account has it), the state, and when the webhook recorded it (`from` included, `to` " +
      'excluded). A rejected order\'s `reasonCode` is the contract error that refused it (docs/api.md, "Refusal codes").',
    auth: ["admin"],
    query: z.object({
      shopId: Id("Only this shop's orders.", "shop_5c1e0b2a9d4f").optional(),
      orderId: Id("Only the orders with this id (one per shop).", "A-1001").optional(),
      state: OrderLifecycleState.optional(),
      userId: Id("Only this user's orders.", "alice").optional(),
      phone: PhoneNumber.optional().meta({ description: "Only the orders of this phone number's account (instead of `userId`)." }),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    responses: { 200: { description: "The newest first.", schema: z.object({ orders: z.array(AdminOrderView) }) } },
    errors: ["PHONE_NOT_REGISTERED"],
    handle: async ({ query, db }) => {
      if (query.phone && query.userId) throw new AppError("VALIDATION_FAILED", "query: give userId or phone, not both", { field: "phone" });
      const userId = query.phone ? await memberOfPhone(db, query.phone) : query.userId;
      const orders = await listOrders(db, {
        ...query,
        userId,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
      });
      return { status: 200, body: { orders: orders.map((o) => adminOrderView(o, d)) } };
    },
  });
}

/** An order as the operator sees it: its state's fields, when it came, and the stable code of why it was refused or waits. */
export const AdminOrderView = OrderView.extend({
  state: OrderLifecycleState,
  createdAt: z.string().meta({ description: "When the webhook recorded it." }),
  reasonCode: z
    .string()
    .nullable()
    .meta({
      description: "The contract error (or relayer code) behind `reason`, for a page's own words; null without one.",
      example: "PoolOrderTooSmall",
    }),
}).meta({ id: "AdminOrder" });

export const adminOrderView = (o: OrderRecord, settlementDecimals: number): z.infer<typeof AdminOrderView> => {
  const view = orderView(o, settlementDecimals);
  return { ...view, state: o.state, createdAt: o.createdAt.toISOString(), reasonCode: refusalCode(view.reason) };
};

const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable();
const ErrorMessage = z
  .string()
  .meta({ description: "The error's message, its URLs cut to their scheme and host (an RPC URL's path or query often holds an API key)." });
const RelayerStatus = z
  .object({
    wallet: z.object({
      address: z.string().meta({ example: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" }),
      balance: Nullable(z.string()).meta({ description: "Native balance in ether (pays the gas); null while the chain does not answer." }),
      minimumBalance: z.string().meta({ description: "GP_MIN_GAS_BALANCE in ether; below it new chain work waits (0: not watched)." }),
      nonce: Nullable(z.object({ latest: z.number().int(), pending: z.number().int() })),
    }),
    chain: z.object({
      answers: z.boolean(),
      error: Nullable(ErrorMessage),
      head: Nullable(z.number().int()),
      blocksBehind: Nullable(z.number().int()).meta({ description: "Blocks since the head the sender last finished a round at." }),
      maxFeeGwei: Nullable(z.string()).meta({
        description: "The max fee per gas a new transaction would be signed with, at the last check.",
      }),
      feeCapGwei: Nullable(z.string()).meta({ description: "GP_MAX_FEE_GWEI; null when there is no cap." }),
    }),
    database: z.object({ answers: z.boolean(), error: Nullable(ErrorMessage) }),
    pending: Nullable(
      z.object({ receivedOrders: z.number().int(), queuedOperations: z.number().int(), openTransactions: z.number().int() }),
    ).meta({ description: "Work not yet on the chain or not yet confirmed; null while the database does not answer." }),
    waiting: z
      .boolean()
      .meta({ description: "Whether new chain work (batches, operations) waits; what is in flight is still seen through." }),
    waits: z.array(
      z.object({
        reason: z.enum(["gas-balance", "fee-cap", "replacement-fee-cap"]),
        alert: z.string().meta({ example: "relayer-gas-low" }),
        message: z.string(),
      }),
    ),
    lastRoundAt: Nullable(z.string()).meta({ description: "When the sender last finished a round." }),
    lastErrors: z
      .array(z.object({ at: z.string(), step: z.string(), kind: z.enum(["database", "chain", "other"]), message: ErrorMessage }))
      .meta({ description: "The relayer steps' last failures, newest first (at most 10)." }),
  })
  .meta({ id: "RelayerStatus" });

/** `GET /v1/admin/relayer`: the relayer's wallet, the chain, pending work and what new work waits for (services/metrics.ts). */
export function relayerStatusRoute(host: RouteHost, deps: { metrics: Metrics }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/relayer",
    tag: "admin",
    summary: "The relayer's status",
    description:
      "The relayer wallet (address, native balance, nonces), the chain head and how far behind the sender is, the work pending, " +
      "whether new chain work waits and why (gas balance, fee cap), and the relayer's last errors. It answers while the chain " +
      "or the database is down, with their parts null and the error named (its URLs cut to scheme and host).",
    auth: ["admin"],
    responses: { 200: { description: "The status now.", schema: RelayerStatus } },
    handle: async () => ({ status: 200, body: await deps.metrics.status() }),
  });
}
