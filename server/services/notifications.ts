/**
 * The endpoints shops and merchants register for signed notifications: where (an http(s) URL on
 * an address the operator allows), which event types, and the secret, shown once when made and
 * when rotated. A rotation keeps the old secret signing for an overlap, so a receiver can switch
 * without missing a delivery. Endpoints are the owner's only: another owner's are NOT_FOUND.
 */
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { MemoryStore, type Options } from "express-rate-limit";
import type { Queryable } from "../adapters/db/db";
import {
  type EndpointRecord,
  type Owner,
  countEndpoints,
  deliveriesOf,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  lockOwnerEndpoints,
  redeliver,
  rotateEndpointSecret,
  updateEndpoint,
} from "../adapters/db/notifications";
import { type PrivateAllowance, addressAllowed, classifyAddress } from "../domain/endpoint-addresses";
import { newEndpointSecret } from "../domain/outbound-signature";
import { AppError } from "../errors";

export const EVENT_TYPES = [
  "order.pending",
  "order.confirmed",
  "order.rejected",
  "order.refunded",
  "payment.received",
  "redemption.paid",
  "ad_credit.low",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Which events reach which owner: orders go to shops, payments, redemptions and ad credit to merchants. */
export const EVENTS_OF: Record<Owner["kind"], readonly EventType[]> = {
  shop: ["order.pending", "order.confirmed", "order.rejected", "order.refunded"],
  merchant: ["payment.received", "redemption.paid", "ad_credit.low"],
};

/** Endpoints per owner. */
export const MAX_ENDPOINTS = 10;
/** Redelivery requests per owner a minute (each relayer process counts its own callers). */
export const REDELIVERS_PER_MINUTE = 5;
/** The longest overlap of a rotated secret: a week. */
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

/** Resolves a host name to its addresses (node's resolver by default; tests may give one). */
export type Resolve = (host: string) => Promise<string[]>;
export const systemResolve: Resolve = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Refuses a URL that is not http(s), carries credentials, or names (or resolves to) an address the
 * allowance refuses. Checked again at each delivery: a name may resolve elsewhere later.
 */
export async function checkEndpointUrl(raw: string, allowance: PrivateAllowance, resolve: Resolve = systemResolve): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError("VALIDATION_FAILED", "url is not a URL", { field: "url" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new AppError("VALIDATION_FAILED", "url must be http or https", { field: "url", protocol: url.protocol });
  if (url.username || url.password) throw new AppError("VALIDATION_FAILED", "url must not carry credentials", { field: "url" });
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    // An address the caller wrote: its kind may be named.
    if (!addressAllowed(host, allowance))
      throw new AppError(
        "ENDPOINT_ADDRESS_REFUSED",
        `the address ${host} is a ${classifyAddress(host)} address, which notifications are not sent to`,
        { host },
      );
    return url;
  }
  // A name: whether it resolved, and to what, is not told (it would map the relayer's network for the caller).
  const refusedName = new AppError(
    "ENDPOINT_ADDRESS_REFUSED",
    `the host ${host} does not resolve to public addresses only, which notifications are sent to`,
    { host },
  );
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    throw refusedName;
  }
  if (addresses.length === 0 || addresses.some((a) => !addressAllowed(a, allowance))) throw refusedName;
  return url;
}

/** An endpoint as the API shows it: never its secret. */
export function endpointView(e: EndpointRecord) {
  return {
    endpointId: e.id,
    url: e.url,
    eventTypes: e.eventTypes,
    enabled: e.disabledAt === null,
    ...(e.disabledAt ? { disabledAt: e.disabledAt.toISOString(), disabledReason: e.disabledReason ?? "" } : {}),
    ...(e.previousUntil && e.previousUntil > new Date() ? { previousSecretValidUntil: e.previousUntil.toISOString() } : {}),
    createdAt: e.createdAt.toISOString(),
  };
}

function checkTypes(owner: Owner, types: readonly string[]): string[] {
  const wrong = types.filter((t) => !(EVENTS_OF[owner.kind] as readonly string[]).includes(t));
  if (wrong.length > 0)
    throw new AppError("VALIDATION_FAILED", `a ${owner.kind} does not receive ${wrong.join(", ")}`, {
      field: "eventTypes",
      refused: wrong,
      allowed: EVENTS_OF[owner.kind],
    });
  return [...new Set(types)].sort();
}

export function createNotifications(deps: { allowance: PrivateAllowance; resolve?: Resolve; redeliversPerMinute?: number }) {
  const redelivers = new MemoryStore();
  redelivers.init({ windowMs: 60_000 } as Options);
  const redeliverLimit = deps.redeliversPerMinute ?? REDELIVERS_PER_MINUTE;
  const found = async (db: Queryable, owner: Owner, id: string, lock = false) => {
    const e = await findEndpoint(db, owner, id, lock);
    if (!e) throw new AppError("NOT_FOUND", `no notification endpoint ${id}`, { endpointId: id });
    return e;
  };
  return {
    EVENTS_OF,
    async create(db: Queryable, owner: Owner, body: { url: string; eventTypes: string[] }, createdBy: string) {
      const url = await checkEndpointUrl(body.url, deps.allowance, deps.resolve);
      const types = checkTypes(owner, body.eventTypes);
      // `db` is the route's transaction: the lock holds until it commits, so the count stays true.
      await lockOwnerEndpoints(db, owner);
      if ((await countEndpoints(db, owner)) >= MAX_ENDPOINTS)
        throw new AppError("VALIDATION_FAILED", `at most ${MAX_ENDPOINTS} endpoints`, { max: MAX_ENDPOINTS });
      const secret = newEndpointSecret();
      const e = await insertEndpoint(db, {
        id: `nep_${randomBytes(10).toString("hex")}`,
        owner,
        url: url.toString(),
        eventTypes: types,
        secret,
        createdBy,
      });
      return { ...endpointView(e), secret };
    },
    async list(db: Queryable, owner: Owner) {
      return (await listEndpoints(db, owner)).map(endpointView);
    },
    async get(db: Queryable, owner: Owner, id: string) {
      return endpointView(await found(db, owner, id));
    },
    async update(db: Queryable, owner: Owner, id: string, body: { url?: string; eventTypes?: string[]; enabled?: boolean }, by: string) {
      const e = await found(db, owner, id, true);
      const url = body.url === undefined ? e.url : (await checkEndpointUrl(body.url, deps.allowance, deps.resolve)).toString();
      const types = body.eventTypes === undefined ? e.eventTypes : checkTypes(owner, body.eventTypes);
      const enabled = body.enabled ?? e.disabledAt === null;
      return endpointView(await updateEndpoint(db, id, { url, eventTypes: types, enabled, disabledReason: `disabled by ${by}` }));
    },
    async rotate(db: Queryable, owner: Owner, id: string, overlapSeconds: number) {
      await found(db, owner, id, true);
      const secret = newEndpointSecret();
      const e = await rotateEndpointSecret(db, id, secret, overlapSeconds);
      return { ...endpointView(e), secret };
    },
    async deliveries(db: Queryable, owner: Owner, id: string, page: { before?: string; limit: number }) {
      await found(db, owner, id);
      const rows = await deliveriesOf(db, id, page);
      return rows.map((d) => ({
        deliveryId: d.id,
        webhookId: d.eventId,
        type: d.type,
        state: d.state,
        payload: d.payload,
        attempts: d.attempts.map((a) => ({
          attempt: a.attempt,
          at: a.startedAt.toISOString(),
          status: a.status,
          durationMs: a.durationMs,
          outcome: a.outcome,
          ...(a.error ? { error: a.error } : {}),
        })),
        ...(d.nextAttemptAt ? { nextAttemptAt: d.nextAttemptAt.toISOString() } : {}),
        ...(d.deliveredAt ? { deliveredAt: d.deliveredAt.toISOString() } : {}),
        createdAt: d.createdAt.toISOString(),
      }));
    },
    async redeliver(db: Queryable, owner: Owner, id: string, deliveryId: string) {
      // Every request counts, refused ones too: a flood of them costs the database nothing.
      if ((await redelivers.increment(`${owner.kind}:${owner.id}`)).totalHits > redeliverLimit)
        throw new AppError("RATE_LIMITED", "too many redelivery requests; try again in a minute", { limit: redeliverLimit });
      await found(db, owner, id);
      const result = await redeliver(db, id, deliveryId);
      if (result === "not-found") throw new AppError("NOT_FOUND", `no delivery ${deliveryId} of endpoint ${id}`, { deliveryId });
      if (result === "in-flight")
        throw new AppError("DELIVERY_IN_FLIGHT", "an attempt of this delivery is being made or already due; try again when it is done", {
          deliveryId,
        });
      return { deliveryId, state: "pending" as const };
    },
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
