/**
 * Signed notifications (all their SQL): the endpoints shops and merchants register, the outbox of
 * events (written in the transaction of the change each reports), one delivery per event and
 * endpoint, and the log of each delivery's attempts. Deliveries are claimed with a lease
 * (`leased_until`) under `FOR UPDATE SKIP LOCKED`, so two relayer processes never send the same
 * attempt at once, and no transaction is held open while a receiver is called.
 */
import { randomBytes } from "node:crypto";
import type { Queryable } from "./db";

export type OwnerKind = "shop" | "merchant";
export interface Owner {
  kind: OwnerKind;
  id: string;
}

export interface EndpointRecord {
  id: string;
  owner: Owner;
  url: string;
  eventTypes: string[];
  secret: string;
  /** The secret it replaced, which still signs until `previousUntil`. */
  previousSecret: string | null;
  previousUntil: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdBy: string;
  createdAt: Date;
}

interface EndpointRow {
  id: string;
  owner_kind: OwnerKind;
  owner_id: string;
  url: string;
  event_types: string;
  secret: string;
  previous_secret: string | null;
  previous_until: Date | string | null;
  disabled_at: Date | string | null;
  disabled_reason: string | null;
  created_by: string;
  created_at: Date | string;
}

const date = (v: Date | string | null) => (v === null ? null : new Date(v));

function toEndpoint(r: EndpointRow): EndpointRecord {
  return {
    id: r.id,
    owner: { kind: r.owner_kind, id: r.owner_id },
    url: r.url,
    eventTypes: JSON.parse(r.event_types) as string[],
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousUntil: date(r.previous_until),
    disabledAt: date(r.disabled_at),
    disabledReason: r.disabled_reason,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
  };
}

const ENDPOINT_COLUMNS =
  "id, owner_kind, owner_id, url, event_types, secret, previous_secret, previous_until, disabled_at, disabled_reason, created_by, created_at";

const INSERT_ENDPOINT = `INSERT INTO notification_endpoints (id, owner_kind, owner_id, url, event_types, secret, created_by)
  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ENDPOINT_COLUMNS}`;
export async function insertEndpoint(
  db: Queryable,
  e: { id: string; owner: Owner; url: string; eventTypes: string[]; secret: string; createdBy: string },
): Promise<EndpointRecord> {
  const [row] = await db.query<EndpointRow>(INSERT_ENDPOINT, [
    e.id,
    e.owner.kind,
    e.owner.id,
    e.url,
    JSON.stringify(e.eventTypes),
    e.secret,
    e.createdBy,
  ]);
  return toEndpoint(row);
}

const LOCK_OWNER = "SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))";
/**
 * Takes the owner's endpoint lock until the caller's transaction ends: registrations of one owner
 * then count and insert one after another, so two at once cannot both pass the limit (under READ
 * COMMITTED each would count the other's row as absent).
 */
export async function lockOwnerEndpoints(tx: Queryable, owner: Owner): Promise<void> {
  await tx.query(LOCK_OWNER, [`notification-endpoints:${owner.kind}`, owner.id]);
}

const COUNT_ENDPOINTS = "SELECT count(*)::int AS n FROM notification_endpoints WHERE owner_kind = $1 AND owner_id = $2";
export async function countEndpoints(db: Queryable, owner: Owner): Promise<number> {
  const [row] = await db.query<{ n: number }>(COUNT_ENDPOINTS, [owner.kind, owner.id]);
  return row.n;
}

const LIST_ENDPOINTS = `SELECT ${ENDPOINT_COLUMNS} FROM notification_endpoints WHERE owner_kind = $1 AND owner_id = $2 ORDER BY created_at, id`;
export async function listEndpoints(db: Queryable, owner: Owner): Promise<EndpointRecord[]> {
  return (await db.query<EndpointRow>(LIST_ENDPOINTS, [owner.kind, owner.id])).map(toEndpoint);
}

const FIND_ENDPOINT = `SELECT ${ENDPOINT_COLUMNS} FROM notification_endpoints WHERE id = $1 AND owner_kind = $2 AND owner_id = $3`;
/** The endpoint `id` of `owner`; null when there is none, or it is another owner's. */
export async function findEndpoint(db: Queryable, owner: Owner, id: string, lock = false): Promise<EndpointRecord | null> {
  const [row] = await db.query<EndpointRow>(FIND_ENDPOINT + (lock ? " FOR UPDATE" : ""), [id, owner.kind, owner.id]);
  return row ? toEndpoint(row) : null;
}

const UPDATE_ENDPOINT = `UPDATE notification_endpoints SET url = $2, event_types = $3,
    disabled_at = CASE WHEN $4::boolean THEN NULL ELSE COALESCE(disabled_at, now()) END,
    disabled_reason = CASE WHEN $4::boolean THEN NULL ELSE COALESCE(disabled_reason, $5) END
  WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`;
export async function updateEndpoint(
  db: Queryable,
  id: string,
  e: { url: string; eventTypes: string[]; enabled: boolean; disabledReason: string },
): Promise<EndpointRecord> {
  const [row] = await db.query<EndpointRow>(UPDATE_ENDPOINT, [id, e.url, JSON.stringify(e.eventTypes), e.enabled, e.disabledReason]);
  return toEndpoint(row);
}

const ROTATE = `UPDATE notification_endpoints SET previous_secret = secret, previous_until = now() + ($3 * interval '1 second'), secret = $2
  WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`;
/** A new secret; the one it replaces keeps signing for `overlapSeconds` (0: no more). */
export async function rotateEndpointSecret(db: Queryable, id: string, secret: string, overlapSeconds: number): Promise<EndpointRecord> {
  const [row] = await db.query<EndpointRow>(ROTATE, [id, secret, overlapSeconds]);
  return toEndpoint(row);
}

const DISABLE = `UPDATE notification_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL`;
export async function disableEndpoint(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(DISABLE, [id, reason]);
}

// The outbox.

const INSERT_EVENT = `INSERT INTO notification_events (id, dedupe_key, type, owner_kind, owner_id, payload)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`;
// Every endpoint of the owner that takes the type and is not disabled gets a delivery, due now.
const FAN_OUT = `INSERT INTO notification_deliveries (event_id, endpoint_id, state)
  SELECT $1, id, 'pending' FROM notification_endpoints
  WHERE owner_kind = $2 AND owner_id = $3 AND disabled_at IS NULL AND (event_types::jsonb) ? $4`;
/**
 * Writes an event of `type` for `owner` (in the caller's transaction: it commits or rolls back
 * with the change it reports) and a delivery of it to each of the owner's endpoints that take
 * it. A second event with the same `dedupeKey` (a change written again) is not written; returns
 * the event's id, null then.
 */
export async function insertEvent(
  tx: Queryable,
  e: { type: string; owner: Owner; dedupeKey: string; data: Record<string, unknown> },
): Promise<string | null> {
  const id = `msg_${randomBytes(16).toString("hex")}`;
  const payload = JSON.stringify({ type: e.type, timestamp: new Date().toISOString(), data: e.data });
  const [row] = await tx.query<{ id: string }>(INSERT_EVENT, [id, e.dedupeKey, e.type, e.owner.kind, e.owner.id, payload]);
  if (!row) return null;
  await tx.query(FAN_OUT, [id, e.owner.kind, e.owner.id, e.type]);
  return id;
}

// Deliveries.

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  type: string;
  payload: string;
  /** This attempt's number (1 for the first); its outcome is recorded only while it is still the latest. */
  attempt: number;
  /** Which wait of the schedule comes next after a failure (0: none waited yet). */
  step: number;
  endpointId: string;
  url: string;
  /** The secrets that sign it: the endpoint's, and the one it replaced while that still signs. */
  secrets: string[];
}

const CLAIM_DUE = `WITH due AS (
    SELECT d.id FROM notification_deliveries d
    WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
      AND NOT (d.endpoint_id = ANY($3::text[]))
    ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
  UPDATE notification_deliveries d SET leased_until = now() + ($2 * interval '1 millisecond'), attempts = d.attempts + 1
  FROM due, notification_events e, notification_endpoints p
  WHERE d.id = due.id AND e.id = d.event_id AND p.id = d.endpoint_id
  RETURNING d.id::text AS id, d.event_id, e.type, e.payload, d.attempts, d.step, p.id AS endpoint_id, p.url, p.secret,
    CASE WHEN p.previous_until > now() THEN p.previous_secret END AS previous_secret, p.disabled_at`;
/**
 * Claims up to `limit` due deliveries for `leaseMs` (the send's timeout and a margin): another
 * process skips them while the lease runs, and takes them up once it has run out (this one died).
 * Deliveries to the endpoints in `skipEndpoints` (those with as many sends under way as they may
 * have) are left for a later run.
 */
export async function claimDueDeliveries(
  tx: Queryable,
  limit: number,
  leaseMs: number,
  skipEndpoints: readonly string[] = [],
): Promise<(ClaimedDelivery & { disabled: boolean })[]> {
  const rows = await tx.query<{
    id: string;
    event_id: string;
    type: string;
    payload: string;
    attempts: number;
    step: number;
    endpoint_id: string;
    url: string;
    secret: string;
    previous_secret: string | null;
    disabled_at: Date | string | null;
  }>(CLAIM_DUE, [limit, leaseMs, skipEndpoints]);
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    type: r.type,
    payload: r.payload,
    attempt: Number(r.attempts),
    step: Number(r.step),
    endpointId: r.endpoint_id,
    url: r.url,
    secrets: r.previous_secret ? [r.secret, r.previous_secret] : [r.secret],
    disabled: r.disabled_at !== null,
  }));
}

const RELEASE = `UPDATE notification_deliveries SET leased_until = NULL, attempts = attempts - 1
  WHERE id = $1 AND attempts = $2 AND state = 'pending'`;
/** Gives a claimed delivery back unsent (its attempt not made): due again as it was, for a later run. */
export async function releaseClaim(tx: Queryable, d: Pick<ClaimedDelivery, "id" | "attempt">): Promise<void> {
  await tx.query(RELEASE, [d.id, d.attempt]);
}

export type AttemptOutcome = "delivered" | "failed" | "refused-address" | "endpoint-gone" | "endpoint-disabled";

export interface AttemptResult {
  status: number | null;
  durationMs: number;
  outcome: AttemptOutcome;
  error: string | null;
  startedAt: Date;
}

const INSERT_ATTEMPT = `INSERT INTO notification_attempts (delivery_id, attempt, started_at, status, duration_ms, outcome, error)
  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`;
const SETTLE = `UPDATE notification_deliveries SET state = $3, step = $4, last_status = $5, leased_until = NULL,
    next_attempt_at = CASE WHEN $6::bigint IS NULL THEN next_attempt_at ELSE now() + ($6 * interval '1 millisecond') END,
    delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END
  WHERE id = $1 AND attempts = $2 AND state = 'pending' RETURNING id`;
/**
 * Records attempt `attempt`'s outcome and what follows: delivered, failed for good, or pending
 * again after `retryInMs`. Nothing is written when the attempt is no longer the delivery's latest
 * (its lease ran out and another process tried again): answers false then.
 */
export async function settleAttempt(
  tx: Queryable,
  d: Pick<ClaimedDelivery, "id" | "attempt">,
  result: AttemptResult,
  next: { state: "pending" | "delivered" | "failed"; step: number; retryInMs: number | null },
): Promise<boolean> {
  const [row] = await tx.query(SETTLE, [d.id, d.attempt, next.state, next.step, result.status, next.retryInMs]);
  if (!row) return false;
  await tx.query(INSERT_ATTEMPT, [
    d.id,
    d.attempt,
    result.startedAt,
    result.status,
    result.durationMs,
    result.outcome,
    result.error?.slice(0, 500) ?? null,
  ]);
  return true;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: { attempt: number; startedAt: Date; status: number | null; durationMs: number; outcome: string; error: string | null }[];
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  payload: string;
}

const DELIVERIES_OF = `SELECT d.id::text AS id, d.event_id, e.type, e.payload, d.state, d.next_attempt_at, d.delivered_at, d.created_at
  FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id
  WHERE d.endpoint_id = $1 AND ($2::bigint IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3`;
const ATTEMPTS_OF = `SELECT delivery_id::text AS delivery_id, attempt, started_at, status, duration_ms, outcome, error
  FROM notification_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt`;
/** The endpoint's deliveries, newest first (before the delivery `before` when given), each with its attempts. */
export async function deliveriesOf(db: Queryable, endpointId: string, page: { before?: string; limit: number }): Promise<DeliveryView[]> {
  const rows = await db.query<{
    id: string;
    event_id: string;
    type: string;
    payload: string;
    state: DeliveryView["state"];
    next_attempt_at: Date | string;
    delivered_at: Date | string | null;
    created_at: Date | string;
  }>(DELIVERIES_OF, [endpointId, page.before ?? null, page.limit]);
  const attempts = rows.length
    ? await db.query<{
        delivery_id: string;
        attempt: number;
        started_at: Date | string;
        status: number | null;
        duration_ms: number;
        outcome: string;
        error: string | null;
      }>(ATTEMPTS_OF, [rows.map((r) => r.id)])
    : [];
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    type: r.type,
    state: r.state,
    payload: r.payload,
    attempts: attempts
      .filter((a) => a.delivery_id === r.id)
      .map((a) => ({
        attempt: Number(a.attempt),
        startedAt: new Date(a.started_at),
        status: a.status === null ? null : Number(a.status),
        durationMs: Number(a.duration_ms),
        outcome: a.outcome,
        error: a.error,
      })),
    nextAttemptAt: r.state === "pending" ? new Date(r.next_attempt_at) : null,
    deliveredAt: date(r.delivered_at),
    createdAt: new Date(r.created_at),
  }));
}

// A pending delivery is pushed forward only while it waits for a retry: one already due (a redelivery
// not yet made) or being attempted is not queued again.
const REDELIVER = `UPDATE notification_deliveries SET state = 'pending', step = 0, next_attempt_at = now(), leased_until = NULL
  WHERE id = $1 AND endpoint_id = $2
    AND (state <> 'pending' OR ((leased_until IS NULL OR leased_until < now()) AND next_attempt_at > now()))
  RETURNING id::text AS id`;
const DELIVERY_OF_ENDPOINT = "SELECT id::text AS id FROM notification_deliveries WHERE id = $1 AND endpoint_id = $2";
/**
 * Sends the delivery again (the same event, the same `webhook-id`) from the start of the schedule.
 * Answers "not-found" for another endpoint's delivery, "in-flight" while an attempt is being made
 * or is due already (at most one redelivery waits at a time).
 */
export async function redeliver(db: Queryable, endpointId: string, deliveryId: string): Promise<"queued" | "not-found" | "in-flight"> {
  if (!/^\d{1,18}$/.test(deliveryId)) return "not-found";
  const [row] = await db.query(REDELIVER, [deliveryId, endpointId]);
  if (row) return "queued";
  const [exists] = await db.query(DELIVERY_OF_ENDPOINT, [deliveryId, endpointId]);
  return exists ? "in-flight" : "not-found";
}

const COUNT_PENDING = "SELECT count(*)::int AS n FROM notification_deliveries WHERE state = 'pending'";
export async function countPendingDeliveries(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>(COUNT_PENDING);
  return row.n;
}

// The events of the changes the relayer writes, called in the transaction that writes each.

/** The order's fields every order event carries (amounts in base units, as integer strings). */
export interface OrderEventSource {
  shopId: string;
  orderId: string;
  userId: string;
  amount: bigint;
}

/**
 * An order event to its shop: `order.confirmed` (with `gpMinted`, `txHash`), `order.rejected`
 * (with `reason`); `order.pending` and `order.refunded` for pending points and refunds. `key`
 * tells one event of the type for the order from another (a refund's id); none for the rest.
 */
export async function emitOrderEvent(
  tx: Queryable,
  type: "order.pending" | "order.confirmed" | "order.rejected" | "order.refunded",
  o: OrderEventSource,
  extra: Record<string, string | null> = {},
  key = "",
): Promise<string | null> {
  return insertEvent(tx, {
    type,
    owner: { kind: "shop", id: o.shopId },
    dedupeKey: `${type}:${o.shopId}:${o.orderId}${key ? `:${key}` : ""}`,
    data: { shopId: o.shopId, orderId: o.orderId, userId: o.userId, amount: o.amount.toString(), ...extra },
  });
}

const OPERATION_FOR_EVENT = `SELECT o.id, o.kind, o.actor, o.details, o.tx_hash, o.result, m.id AS paid_merchant
  FROM operations o LEFT JOIN merchants m ON o.kind = 'pay-merchant' AND m.account = o.counterparty
  WHERE o.id = $1`;
/**
 * The events of a confirmed operation: `payment.received` to the merchant a user paid, and
 * `redemption.paid` to a merchant whose own redemption paid out. Users' redemptions are reported
 * to no one: a user is no single shop's, and what they redeem is theirs to know.
 */
export async function emitOperationEvents(tx: Queryable, operationId: string): Promise<void> {
  const [op] = await tx.query<{
    id: string;
    kind: string;
    actor: string;
    details: string;
    tx_hash: string | null;
    result: string | null;
    paid_merchant: string | null;
  }>(OPERATION_FOR_EVENT, [operationId]);
  if (!op) return;
  const details = JSON.parse(op.details) as Record<string, string>;
  const events = JSON.parse(op.result ?? "[]") as { name: string; args: Record<string, string> }[];
  if (op.kind === "pay-merchant" && op.paid_merchant) {
    await insertEvent(tx, {
      type: "payment.received",
      owner: { kind: "merchant", id: op.paid_merchant },
      dedupeKey: `payment.received:${op.id}`,
      data: {
        paymentId: op.id,
        merchantId: op.paid_merchant,
        userId: op.actor.startsWith("user:") ? op.actor.slice(5) : null,
        asset: details.asset ?? null,
        amount: details.amount ?? null,
        txHash: op.tx_hash,
      },
    });
  }
  const merchant = /^merchant:([^:]+)/.exec(op.actor)?.[1];
  if ((op.kind === "redeem" || op.kind === "redeem-constant") && merchant) {
    const redeemed = events.find((e) => e.name === "RedeemedToBalance");
    await insertEvent(tx, {
      type: "redemption.paid",
      owner: { kind: "merchant", id: merchant },
      dedupeKey: `redemption.paid:${op.id}`,
      data: {
        redemptionId: op.id,
        merchantId: merchant,
        asset: details.asset ?? (op.kind === "redeem" ? "GP" : "CP"),
        amount: details.amount ?? null,
        payout: redeemed?.args.payout ?? null,
        txHash: op.tx_hash,
      },
    });
  }
}

const WATCH_OF = `SELECT m.id, w.low, w.crossings FROM merchants m LEFT JOIN ad_credit_watch w ON w.merchant_id = m.id
  WHERE m.account = $1 FOR UPDATE OF m`;
const WATCH_SET = `INSERT INTO ad_credit_watch (merchant_id, low, crossings) VALUES ($1, $2, $3)
  ON CONFLICT (merchant_id) DO UPDATE SET low = $2, crossings = $3, updated_at = now()`;
/**
 * Notes a merchant's ad credit as the chain shows it now: the first reading below `threshold`
 * since it was last at or above it writes one `ad_credit.low` (in the same transaction as the
 * mark), and a reading at or above it arms the next. Amounts in settlement base units.
 */
export async function noteAdCredit(tx: Queryable, merchantAccount: string, credit: bigint, threshold: bigint): Promise<string | null> {
  const [w] = await tx.query<{ id: string; low: boolean | null; crossings: number | null }>(WATCH_OF, [merchantAccount]);
  if (!w) return null;
  const low = credit < threshold;
  if (low === Boolean(w.low)) return null;
  const crossings = Number(w.crossings ?? 0) + (low ? 1 : 0);
  await tx.query(WATCH_SET, [w.id, low, crossings]);
  if (!low) return null;
  return insertEvent(tx, {
    type: "ad_credit.low",
    owner: { kind: "merchant", id: w.id },
    dedupeKey: `ad_credit.low:${w.id}:${crossings}`,
    data: { merchantId: w.id, credit: credit.toString(), threshold: threshold.toString() },
  });
}
