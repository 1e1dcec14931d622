/**
 * Signed notifications' endpoints over HTTP, for three callers:
 * - a shop, with its webhook secret (or the operator): `/v1/shops/{shopId}/notification-endpoints`;
 * - a merchant, with an API key or an owner's session (a staff session reads only):
 *   `/v1/merchant/notification-endpoints`;
 * - the operator, for a merchant: `/v1/admin/merchants/{merchantId}/notification-endpoints`.
 * Each owner sees only its own endpoints and their delivery logs: another owner's endpoint id is
 * NOT_FOUND. Every change is in the audit log with who made it.
 */
import { z } from "zod";
import type { Queryable } from "../adapters/db/db";
import { findMerchant } from "../adapters/db/merchants";
import type { Owner } from "../adapters/db/notifications";
import { findShop } from "../adapters/db/shops";
import { AppError } from "../errors";
import { recordAction } from "../services/audit";
import { EVENT_TYPES, MAX_OVERLAP_SECONDS, type Notifications } from "../services/notifications";
import type { Principal, PrincipalKind } from "./auth";
import { actorOf, merchantOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id } from "./schemas";

const Endpoint = z
  .object({
    endpointId: z.string().meta({ example: "nep_3f9a0c1d2e4b5a6c7d8e" }),
    url: z.string().meta({ example: "https://shop.example.com/hooks/green-points" }),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledAt: z.string().optional(),
    disabledReason: z.string().optional(),
    previousSecretValidUntil: z
      .string()
      .optional()
      .meta({ description: "After a rotation: until when the previous secret still signs (a second `v1,` signature)." }),
    createdAt: z.string(),
  })
  .meta({ id: "NotificationEndpoint" });

const EndpointWithSecret = Endpoint.extend({
  secret: z
    .string()
    .meta({
      description: "The signing secret (`whsec_` and base64, as Standard Webhooks): shown this once, kept by the receiver.",
      example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }),
}).meta({ id: "NotificationEndpointWithSecret" });

const Delivery = z
  .object({
    deliveryId: z.string(),
    webhookId: z.string().meta({ description: "The `webhook-id` header: the same on every attempt, the receiver's dedupe key." }),
    type: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    payload: z.string().meta({ description: "The exact body sent: `{ type, timestamp, data }`." }),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        at: z.string(),
        status: z.number().int().nullable().meta({ description: "The receiver's HTTP status; null when it gave none (timeout, refused)." }),
        durationMs: z.number().int(),
        outcome: z.string().meta({ example: "delivered" }),
        error: z.string().optional(),
      }),
    ),
    nextAttemptAt: z.string().optional(),
    deliveredAt: z.string().optional(),
    createdAt: z.string(),
  })
  .meta({ id: "NotificationDelivery" });

const EventTypes = z
  .array(z.enum(EVENT_TYPES))
  .min(1)
  .max(EVENT_TYPES.length)
  .meta({ description: "Shops: order.*; merchants: payment.received, redemption.paid, ad_credit.low." });
const Url = z.string().min(1).max(2048).meta({ example: "https://shop.example.com/hooks/green-points" });
const CreateBody = z.object({ url: Url, eventTypes: EventTypes }).strict();
const UpdateBody = z
  .object({ url: Url.optional(), eventTypes: EventTypes.optional(), enabled: z.boolean().optional() })
  .strict()
  .meta({ description: "Fields left out keep their values; `enabled: true` turns an endpoint disabled (by its owner or a 410) back on." });
const RotateBody = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_SECONDS)
      .default(86_400)
      .meta({ description: "How long the old secret keeps signing beside the new one (default a day; 0 ends it now)." }),
  })
  .strict();
const EndpointParams = { endpointId: Id("The endpoint's id.", "nep_3f9a0c1d2e4b5a6c7d8e") };
const DeliveriesQuery = z.object({
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .meta({ description: "A delivery id: the page of older deliveries." }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

interface Audience {
  /** The path of the endpoints, OpenAPI style. */
  base: string;
  tag: string;
  auth: readonly PrincipalKind[];
  params: Record<string, z.ZodType>;
  /** Merchant staff sessions only read. */
  ownerOnly?: true;
  /** Whose endpoints the call reaches (NOT_FOUND when that owner does not exist). */
  owner(db: Queryable, params: Record<string, string>, principal: Principal): Promise<Owner>;
  /** Who did it, for the audit log. */
  actor(principal: Principal): string;
  who: string;
}

const NO_STORE = { "Cache-Control": "no-store" };

function audienceRoutes(host: RouteHost, a: Audience, notifications: Notifications): void {
  const P = z.object(a.params);
  const PE = z.object({ ...a.params, ...EndpointParams });
  const PD = z.object({ ...a.params, ...EndpointParams, deliveryId: z.string().regex(/^\d{1,18}$/) });
  const subject = (owner: Owner) => `${owner.kind}:${owner.id}`;
  const writes = a.ownerOnly ? { ownerOnly: true as const } : {};

  defineRoute(host, {
    method: "get",
    path: a.base,
    tag: a.tag,
    summary: `${a.who}'s notification endpoints`,
    auth: a.auth,
    params: P,
    responses: { 200: { description: "The endpoints, oldest first (no secrets).", schema: z.object({ endpoints: z.array(Endpoint) }) } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      return { status: 200, body: { endpoints: await notifications.list(db, owner) } };
    },
  });

  defineRoute(host, {
    method: "post",
    path: a.base,
    tag: a.tag,
    summary: `Register a notification endpoint (${a.who})`,
    description:
      "Deliveries are signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` " +
      "(`v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed by the secret's base64 part). The secret is in this answer only. " +
      "A URL on a loopback, private or link-local address (or a host resolving to one) is refused (ENDPOINT_ADDRESS_REFUSED) " +
      "unless the operator allows it (GP_WEBHOOK_ALLOW_PRIVATE).",
    auth: a.auth,
    ...writes,
    idempotency: "optional",
    params: P,
    body: CreateBody,
    responses: { 201: { description: "Registered; the secret is shown this once.", schema: EndpointWithSecret } },
    errors: ["NOT_FOUND", "ENDPOINT_ADDRESS_REFUSED"],
    handle: async ({ params, body, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      const actor = a.actor(principal);
      const made = await notifications.create(db, owner, body, actor);
      await recordAction(db, actor, "notification-endpoint-created", subject(owner), {
        endpointId: made.endpointId,
        url: made.url,
        eventTypes: made.eventTypes,
      });
      return { status: 201, body: made, headers: NO_STORE };
    },
  });

  defineRoute(host, {
    method: "get",
    path: `${a.base}/{endpointId}`,
    tag: a.tag,
    summary: `One notification endpoint (${a.who})`,
    auth: a.auth,
    params: PE,
    responses: { 200: { description: "The endpoint (no secret).", schema: Endpoint } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      return { status: 200, body: await notifications.get(db, owner, params.endpointId as string) };
    },
  });

  defineRoute(host, {
    method: "put",
    path: `${a.base}/{endpointId}`,
    tag: a.tag,
    summary: `Change, disable or enable a notification endpoint (${a.who})`,
    auth: a.auth,
    ...writes,
    idempotency: "optional",
    params: PE,
    body: UpdateBody,
    responses: { 200: { description: "The endpoint now.", schema: Endpoint } },
    errors: ["NOT_FOUND", "ENDPOINT_ADDRESS_REFUSED"],
    handle: async ({ params, body, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      const actor = a.actor(principal);
      const now = await notifications.update(db, owner, params.endpointId as string, body, actor);
      await recordAction(db, actor, "notification-endpoint-changed", subject(owner), { endpointId: now.endpointId, ...body });
      return { status: 200, body: now };
    },
  });

  defineRoute(host, {
    method: "post",
    path: `${a.base}/{endpointId}/secret-rotations`,
    tag: a.tag,
    summary: `Rotate a notification endpoint's secret (${a.who})`,
    description:
      "A new secret, shown this once. During the overlap deliveries carry two signatures (`v1,<new> v1,<old>`), so the " +
      "receiver verifies with either while it switches.",
    auth: a.auth,
    ...writes,
    idempotency: "optional",
    params: PE,
    body: RotateBody,
    responses: { 201: { description: "The new secret.", schema: EndpointWithSecret } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, body, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      const rotated = await notifications.rotate(db, owner, params.endpointId as string, body.overlapSeconds);
      await recordAction(db, a.actor(principal), "notification-secret-rotated", subject(owner), {
        endpointId: rotated.endpointId,
        overlapSeconds: body.overlapSeconds,
      });
      return { status: 201, body: rotated, headers: NO_STORE };
    },
  });

  defineRoute(host, {
    method: "get",
    path: `${a.base}/{endpointId}/deliveries`,
    tag: a.tag,
    summary: `A notification endpoint's delivery log (${a.who})`,
    auth: a.auth,
    params: PE,
    query: DeliveriesQuery,
    responses: {
      200: { description: "Deliveries, newest first, each with its attempts.", schema: z.object({ deliveries: z.array(Delivery) }) },
    },
    errors: ["NOT_FOUND"],
    handle: async ({ params, query, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      return { status: 200, body: { deliveries: await notifications.deliveries(db, owner, params.endpointId as string, query) } };
    },
  });

  defineRoute(host, {
    method: "post",
    path: `${a.base}/{endpointId}/deliveries/{deliveryId}/redeliver`,
    tag: a.tag,
    summary: `Send a delivery again (${a.who})`,
    description:
      "The same message (the same `webhook-id`, freshly signed) from the start of the retry schedule. Refused with " +
      "DELIVERY_IN_FLIGHT while an attempt is being made or one is already due, and RATE_LIMITED past 5 requests a minute per owner.",
    auth: a.auth,
    ...writes,
    idempotency: "optional",
    params: PD,
    responses: {
      202: { description: "Queued for the next round.", schema: z.object({ deliveryId: z.string(), state: z.literal("pending") }) },
    },
    errors: ["NOT_FOUND", "DELIVERY_IN_FLIGHT", "RATE_LIMITED"],
    handle: async ({ params, db, principal }) => {
      const owner = await a.owner(db, params as Record<string, string>, principal);
      const queued = await notifications.redeliver(db, owner, params.endpointId as string, params.deliveryId as string);
      await recordAction(db, a.actor(principal), "notification-redelivered", subject(owner), {
        endpointId: params.endpointId,
        deliveryId: params.deliveryId,
      });
      return { status: 202, body: queued };
    },
  });
}

export function notificationRoutes(host: RouteHost, deps: { notifications: Notifications }): void {
  audienceRoutes(
    host,
    {
      base: "/v1/shops/{shopId}/notification-endpoints",
      tag: "notifications",
      who: "a shop",
      auth: ["shop", "admin"],
      params: { shopId: Id("The shop's id.", "shop_5c1e0b2a9d4f") },
      owner: async (db, params) => {
        if (!(await findShop(db, params.shopId))) throw new AppError("NOT_FOUND", `no shop ${params.shopId}`);
        return { kind: "shop", id: params.shopId };
      },
      actor: (p) => (p.kind === "shop" ? `shop:${p.shopId}` : actorOf(p)),
    },
    deps.notifications,
  );
  audienceRoutes(
    host,
    {
      base: "/v1/merchant/notification-endpoints",
      tag: "notifications",
      who: "the calling merchant",
      auth: ["merchant"],
      ownerOnly: true,
      params: {},
      owner: async (db, _params, principal) => ({ kind: "merchant", id: (await merchantOf(db, principal)).id }),
      actor: actorOf,
    },
    deps.notifications,
  );
  audienceRoutes(
    host,
    {
      base: "/v1/admin/merchants/{merchantId}/notification-endpoints",
      tag: "notifications",
      who: "a merchant, by the operator",
      auth: ["admin"],
      params: { merchantId: Id("The merchant's id.", "m_7d2c4f1a") },
      owner: async (db, params) => {
        if (!(await findMerchant(db, params.merchantId))) throw new AppError("NOT_FOUND", `no merchant ${params.merchantId}`);
        return { kind: "merchant", id: params.merchantId };
      },
      actor: actorOf,
    },
    deps.notifications,
  );
}
