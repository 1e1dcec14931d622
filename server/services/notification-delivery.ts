/**
 * Delivers the outbox's notifications, a step of the relayer's round. Each run claims the due
 * deliveries with a lease (a second relayer skips them while it runs), commits, and only then
 * starts the calls to the receivers, each signed as the Standard Webhooks specification says, with
 * a timeout; the run does not wait for them, so a slow receiver never holds up the round (the
 * sender's minting included). At most `maxInFlight` sends are under way in the process, and at
 * most `maxPerEndpoint` to one endpoint: a run claims only what fits. Each outcome is recorded in a
 * transaction of its own, and only while the attempt is still the delivery's latest. A process
 * that dies between claim and record leaves a lease that runs out, and the next run sends the same
 * message (the same `webhook-id`) again. `stop()` cuts the sends under way and records them as
 * failed attempts (retried by the schedule), so nothing is left writing after it.
 *
 * Outcomes: 2xx is delivered; anything else (3xx included: redirects are not followed, a timeout,
 * a refused connection, an address the operator does not allow) fails the attempt, and the next
 * waits the schedule's next delay (with ±10% jitter), or the receiver's `Retry-After` on 429 and
 * 503 when longer; after the last, the delivery has failed. 410 Gone disables the endpoint.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { isIP } from "node:net";
import type { Logger } from "pino";
import type { Fault } from "../config";
import type { Db } from "../adapters/db/db";
import {
  type AttemptResult,
  type ClaimedDelivery,
  claimDueDeliveries,
  disableEndpoint,
  releaseClaim,
  settleAttempt,
} from "../adapters/db/notifications";
import { type PrivateAllowance, addressAllowed } from "../domain/endpoint-addresses";
import { signedHeaders } from "../domain/outbound-signature";
import { type Resolve, systemResolve } from "./notifications";

/**
 * The specification's schedule: the first attempt at once, then after 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h and 10 h (about 3 days and 3 hours in all), milliseconds.
 */
export const RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;
export const DELIVERY_TIMEOUT_MS = 15_000;
/** The longest `Retry-After` honoured: the schedule's longest wait. */
const MAX_RETRY_AFTER_MS = 36_000_000;
/** The most of a receiver's answer read (and thrown away), and kept of an error. */
const MAX_BODY_BYTES = 64 * 1024;
/** Sends under way at once in the process, and to one endpoint, by default. */
export const MAX_IN_FLIGHT = 32;
export const MAX_PER_ENDPOINT = 2;

export interface DeliveryOptions {
  allowance: PrivateAllowance;
  /** Each attempt's timeout; DELIVERY_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /**
   * Multiplies the schedule's delays (not `Retry-After`): 1 in production; tests shrink it
   * (GP_WEBHOOK_RETRY_SCALE) so a day of retries takes seconds.
   */
  retryScale?: number;
  /** Deliveries claimed per run (at most what the caps leave room for). */
  batch?: number;
  /** Sends under way at once in the process (MAX_IN_FLIGHT by default), and to one endpoint (MAX_PER_ENDPOINT). */
  maxInFlight?: number;
  maxPerEndpoint?: number;
  resolve?: Resolve;
  /** Crash tests only: SIGKILL this process after claiming deliveries, before sending them. */
  fault?: Fault | null;
}

/** What delivery reports to the metrics: each attempt's outcome. */
export interface DeliveryMetrics {
  deliveryAttempted(outcome: "delivered" | "retrying" | "failed" | "endpoint-disabled", durationMs: number): void;
}

/** The wait before retry number `step` (1-based: the wait after the first failed attempt is step 1), jittered; null when none is left. */
export function nextDelayMs(step: number, scale: number, random: () => number = Math.random): number | null {
  if (step >= RETRY_SCHEDULE_MS.length) return null;
  const base = RETRY_SCHEDULE_MS[step] * scale;
  return Math.round(base * (0.9 + 0.2 * random()));
}

/** A `Retry-After` value (seconds, or an HTTP date) in milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  if (/^\d{1,10}$/.test(header.trim())) return Math.min(Number(header.trim()) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER_MS);
}

interface Sent {
  status: number | null;
  retryAfter?: string;
  error: string | null;
  refusedAddress?: boolean;
}

class AddressRefused extends Error {}

export function createNotificationDelivery(deps: { db: Db; log: Logger; options: DeliveryOptions; metrics?: DeliveryMetrics }) {
  const { db, log, options } = deps;
  const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const scale = options.retryScale ?? 1;
  const resolve = options.resolve ?? systemResolve;
  // Long enough for the send and its record; a process that died gives its claims up after this.
  const leaseMs = 2 * timeoutMs + 1_000;

  /** Resolves the host at connection time and refuses an address the allowance does not let through (a name may point anywhere). */
  const checkedLookup: LookupFunction = (hostname, opts, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refused = addresses.find((a) => !addressAllowed(a, options.allowance));
        if (refused || addresses.length === 0) {
          // The owner reads the attempt's error: it names no address; the log keeps what it was.
          log.warn({ host: hostname, address: refused ?? null }, "notification refused: the host resolves to an address not allowed");
          callback(new AddressRefused(`${hostname} does not resolve to public addresses only, which notifications are sent to`), "", 4);
          return;
        }
        if ((opts as { all?: boolean }).all)
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            addresses.map((address) => ({ address, family: isIP(address) })),
          );
        else callback(null, addresses[0], isIP(addresses[0]));
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, "", 4),
    );
  };

  /** The sends under way, each with what cuts it short. */
  const inFlight = new Map<Promise<void>, { endpointId: string; abort(): void }>();
  let stopping = false;

  function send(d: ClaimedDelivery, onAbort: (abort: () => void) => void): Promise<Sent> {
    return new Promise((done) => {
      let url: URL;
      try {
        url = new URL(d.url);
      } catch {
        done({ status: null, error: "the endpoint's URL does not parse" });
        return;
      }
      const host = url.hostname.replace(/^\[|\]$/g, "");
      if (isIP(host) && !addressAllowed(host, options.allowance)) {
        done({ status: null, error: `${host} is not an address notifications are sent to`, refusedAddress: true });
        return;
      }
      const timestamp = Math.floor(Date.now() / 1000);
      const body = Buffer.from(d.payload, "utf8");
      const headers = {
        ...signedHeaders(d.eventId, timestamp, d.payload, d.secrets),
        "content-type": "application/json",
        "content-length": String(body.length),
        "user-agent": "GreenPoints-Webhooks/1",
      };
      const client = url.protocol === "https:" ? https : http;
      let settled = false;
      const finish = (s: Sent) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(s);
      };
      const req = client.request(url, { method: "POST", headers, lookup: checkedLookup, agent: false }, (res) => {
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BODY_BYTES) res.destroy();
        });
        const answer = () =>
          finish({
            status: res.statusCode ?? null,
            retryAfter: typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined,
            error: null,
          });
        res.on("end", answer);
        res.on("close", answer);
        res.on("error", answer);
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish({ status: null, error: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      onAbort(() => {
        req.destroy();
        finish({ status: null, error: "the relayer stopped before the receiver answered" });
      });
      req.on("error", (error) =>
        finish({ status: null, error: error.message, refusedAddress: error instanceof AddressRefused || undefined }),
      );
      req.end(body);
    });
  }

  async function deliverOne(d: ClaimedDelivery & { disabled: boolean }, onAbort: (abort: () => void) => void): Promise<void> {
    const startedAt = new Date();
    if (d.disabled) {
      const result: AttemptResult = {
        status: null,
        durationMs: 0,
        outcome: "endpoint-disabled",
        error: "the endpoint is disabled",
        startedAt,
      };
      if (await db.transaction((tx) => settleAttempt(tx, d, result, { state: "failed", step: d.step, retryInMs: null })))
        deps.metrics?.deliveryAttempted("endpoint-disabled", 0);
      return;
    }
    const sent = await send(d, onAbort);
    const durationMs = Date.now() - startedAt.getTime();
    const ok = sent.status !== null && sent.status >= 200 && sent.status < 300;
    const gone = sent.status === 410;
    const error =
      sent.error ??
      (ok ? null : sent.status !== null && sent.status >= 300 && sent.status < 400 ? `redirect (${sent.status}) not followed` : null);
    const result: AttemptResult = {
      status: sent.status,
      durationMs,
      outcome: ok ? "delivered" : gone ? "endpoint-gone" : sent.refusedAddress ? "refused-address" : "failed",
      error,
      startedAt,
    };
    let next: { state: "pending" | "delivered" | "failed"; step: number; retryInMs: number | null };
    if (ok) next = { state: "delivered", step: d.step, retryInMs: null };
    else if (gone) next = { state: "failed", step: d.step, retryInMs: null };
    else {
      const step = d.step + 1;
      let wait = nextDelayMs(step, scale);
      const asked = sent.status === 429 || sent.status === 503 ? retryAfterMs(sent.retryAfter) : null;
      if (wait !== null && asked !== null) wait = Math.max(wait, asked);
      next = wait === null ? { state: "failed", step, retryInMs: null } : { state: "pending", step, retryInMs: wait };
    }
    const recorded = await db.transaction(async (tx) => {
      const kept = await settleAttempt(tx, d, result, next);
      if (kept && gone) await disableEndpoint(tx, d.endpointId, "the receiver answered 410 Gone");
      return kept;
    });
    if (!recorded) return;
    const outcome = ok ? "delivered" : gone ? "endpoint-disabled" : next.state === "pending" ? "retrying" : "failed";
    deps.metrics?.deliveryAttempted(outcome, durationMs);
    if (!ok)
      log.info(
        { delivery: d.id, webhookId: d.eventId, endpoint: d.endpointId, attempt: d.attempt, status: sent.status, error, next: next.state },
        "a notification was not delivered",
      );
  }

  /** Starts delivering `d` without waiting for it; it leaves `inFlight` once its outcome is recorded. */
  function start(d: ClaimedDelivery & { disabled: boolean }): void {
    const entry = { endpointId: d.endpointId, abort: () => undefined as void };
    const run = deliverOne(d, (abort) => (entry.abort = abort))
      .catch((error: unknown) =>
        // The record failed (the database away): the lease runs out and a later run tries again.
        log.warn({ err: error, delivery: d.id, webhookId: d.eventId }, "a notification's outcome was not recorded"),
      )
      .finally(() => inFlight.delete(run));
    inFlight.set(run, entry);
  }

  return {
    /**
     * One run: claims what is due and fits under the caps, and starts sending it without waiting
     * for the receivers; returns how many it started.
     */
    async tick(): Promise<number> {
      if (stopping) return 0;
      const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
      const maxPerEndpoint = options.maxPerEndpoint ?? MAX_PER_ENDPOINT;
      const room = Math.min(options.batch ?? 20, maxInFlight - inFlight.size);
      if (room <= 0) return 0;
      const busy = new Map<string, number>();
      for (const { endpointId } of inFlight.values()) busy.set(endpointId, (busy.get(endpointId) ?? 0) + 1);
      const full = [...busy].filter(([, n]) => n >= maxPerEndpoint).map(([id]) => id);
      const claimed = await db.transaction((tx) => claimDueDeliveries(tx, room, leaseMs, full));
      if (claimed.length === 0) return 0;
      if (options.fault === "crash-before-delivery") process.kill(process.pid, "SIGKILL");
      // One claim may hold more for an endpoint than its cap leaves: those are given back, due as they were.
      const started: typeof claimed = [];
      const over: typeof claimed = [];
      for (const d of claimed) {
        const n = busy.get(d.endpointId) ?? 0;
        if (n >= maxPerEndpoint) over.push(d);
        else {
          busy.set(d.endpointId, n + 1);
          started.push(d);
        }
      }
      if (over.length > 0)
        await db.transaction(async (tx) => {
          for (const d of over) await releaseClaim(tx, d);
        });
      for (const d of started) start(d);
      return started.length;
    },
    /** How many sends are under way. */
    inFlight: () => inFlight.size,
    /** Waits until the sends under way now have their outcomes recorded (tests). */
    async settled(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight.keys()]);
    },
    /** Starts no more sends, cuts those under way (each recorded as a failed attempt, retried later) and waits for their records. */
    async stop(): Promise<void> {
      stopping = true;
      for (const entry of inFlight.values()) entry.abort();
      while (inFlight.size > 0) await Promise.all([...inFlight.keys()]);
    },
  };
}

export type NotificationDelivery = ReturnType<typeof createNotificationDelivery>;
