/**
 * The relayer's figures, for Prometheus (`GET /metrics`) and the operator (`GET /v1/admin/relayer`):
 * one Registry per relayer (tests run many in one process; the global default registry is never
 * used). What the database and the chain hold is read when scraped; what happens (webhooks, batches,
 * confirmations, failed relayer steps) is counted as it happens. docs/operations.md ("Monitoring") lists each one.
 * A figure whose source did not answer this scrape is absent, never its last value (`gp_database_up`
 * and `gp_chain_up` say which source), and so is one not known yet. An unlabelled gauge shows 0
 * until set, so those are removed (`remove({})`), not reset.
 */
import { withoutUrls } from "../redact";
import { formatEther } from "ethers";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ChainPort } from "../adapters/chain/chain";
import type { Db } from "../adapters/db/db";
import { countOperationsByState } from "../adapters/db/operations";
import { countByState } from "../adapters/db/orders";
import { openTransactions } from "../adapters/db/transactions";
import { AppError } from "../errors";
import { type GasWatch, type WaitKind, gwei } from "./gas-watch";

const ORDER_STATES = ["pending", "received", "submitted", "confirmed", "rejected", "cancelled"] as const;
const OPERATION_STATES = ["queued", "submitted", "confirmed", "rejected"] as const;
const WAIT_KINDS: readonly WaitKind[] = ["gas-balance", "fee-cap", "replacement-fee-cap"];
/** The failed relayer steps kept for the admin status. */
const LAST_ERRORS = 10;
/** How long one read of the database and the chain serves: the collects of one scrape share it. */
const SNAPSHOT_MS = 500;
/** A dependency slower than this to answer counts as down. */
const ANSWER_WITHIN_MS = 2_000;
const CHAIN_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "NETWORK_ERROR",
  "SERVER_ERROR",
  "TIMEOUT",
  "UNKNOWN_ERROR",
]);

export type FailureKind = "database" | "chain" | "other";

/** What failed a relayer step: the database (its adapters raise UNAVAILABLE), the chain node (ethers' codes), or something else. */
export function failureKind(error: unknown): FailureKind {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof AppError && e.code === "UNAVAILABLE") return "database";
    if (typeof e.code === "string" && CHAIN_CODES.has(e.code)) return "chain";
  }
  return "other";
}

/** `promise`, or a rejection once `ms` passed. */
export function within<T>(promise: Promise<T>, ms = ANSWER_WITHIN_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export interface WorkCounts {
  orders: Record<(typeof ORDER_STATES)[number], number>;
  operations: Record<(typeof OPERATION_STATES)[number], number>;
  openTransactions: number;
}

export interface WalletReading {
  balance: bigint;
  latestNonce: number;
  pendingNonce: number;
  head: number;
}

interface Snapshot {
  work: WorkCounts | null;
  workError: string | null;
  wallet: WalletReading | null;
  walletError: string | null;
}

/** Every URL cut to its scheme and host (server/redact.ts): RPC URLs often carry an API key, and ethers quotes them. */
export { withoutUrls };

const messageOf = (error: unknown) => withoutUrls(error instanceof Error ? error.message : String(error)).slice(0, 300);
/** Ether as a float, for Prometheus only (its values are floats); amounts stay bigint everywhere else. */
const etherFloat = (wei: bigint) => Number(formatEther(wei));

export function createMetrics(deps: { db: Db; chain: ChainPort; gas: GasWatch }) {
  const { db, chain, gas } = deps;
  const registry = new Registry();
  /** A gauge of one figure read at scrape; absent (removed, not 0) while `value` knows none. */
  const figure = (name: string, help: string, value: () => number | null | Promise<number | null>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const v = await value();
        if (v === null) this.remove({});
        else this.set(v);
      },
    });
  const lastErrors: { at: string; step: string; kind: FailureKind; message: string }[] = [];
  /** The head the sender's last finished round started at. */
  let lastRound: { head: number | null; at: Date } | null = null;
  let headSeen: number | null = null;

  let snapshot: { at: number; value: Promise<Snapshot> } | null = null;
  async function readSnapshot(): Promise<Snapshot> {
    const [work, wallet] = await Promise.allSettled([
      within(
        (async (): Promise<WorkCounts> => ({
          orders: await countByState(db),
          operations: await countOperationsByState(db),
          openTransactions: (await openTransactions(db, chain.sender)).length,
        }))(),
      ),
      within(
        (async (): Promise<WalletReading> => {
          const [balance, latestNonce, pendingNonce, head] = await Promise.all([
            chain.nativeBalance(),
            chain.minedNonce(),
            chain.pendingNonce(),
            chain.blockNumber(),
          ]);
          return { balance, latestNonce, pendingNonce, head };
        })(),
      ),
    ]);
    return {
      work: work.status === "fulfilled" ? work.value : null,
      workError: work.status === "rejected" ? messageOf(work.reason) : null,
      wallet: wallet.status === "fulfilled" ? wallet.value : null,
      walletError: wallet.status === "rejected" ? messageOf(wallet.reason) : null,
    };
  }
  const read = (): Promise<Snapshot> => {
    if (!snapshot || Date.now() - snapshot.at > SNAPSHOT_MS) snapshot = { at: Date.now(), value: readSnapshot() };
    return snapshot.value;
  };
  const blocksBehind = (head: number) => (lastRound?.head == null ? null : Math.max(0, head - lastRound.head));

  new Gauge({
    name: "gp_orders",
    help: "Orders by state in the whole database (every relayer's, not this process's: do not sum across relayers); absent while the database does not answer.",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const { work } = await read();
      if (!work) this.reset();
      else for (const state of ORDER_STATES) this.set({ state }, work.orders[state]);
    },
  });
  new Gauge({
    name: "gp_operations",
    help: "Custodial and admin operations by state in the whole database (every relayer's: do not sum across relayers); absent while the database does not answer.",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const { work } = await read();
      if (!work) this.reset();
      else for (const state of OPERATION_STATES) this.set({ state }, work.operations[state]);
    },
  });
  figure(
    "gp_open_transactions",
    "This relayer's own transactions (its wallet's) sent and not yet confirmed or abandoned; absent while the database does not answer.",
    async () => (await read()).work?.openTransactions ?? null,
  );
  figure("gp_database_up", "1 when the database answered this scrape's queries, else 0.", async () => ((await read()).work ? 1 : 0));
  figure("gp_chain_up", "1 when the chain node answered this scrape's calls, else 0.", async () => ((await read()).wallet ? 1 : 0));
  figure(
    "gp_relayer_balance_ether",
    "The relayer wallet's native balance (pays the gas), in ether; absent while the chain node does not answer.",
    async () => {
      const { wallet } = await read();
      return wallet ? etherFloat(wallet.balance) : null;
    },
  );
  figure("gp_relayer_min_balance_ether", "GP_MIN_GAS_BALANCE: below it new chain work waits (0: not watched).", () =>
    etherFloat(gas.minBalance),
  );
  new Gauge({
    name: "gp_relayer_nonce",
    help: "The relayer wallet's nonce: transactions mined (block=latest) and known to the node (block=pending); absent while the chain node does not answer.",
    labelNames: ["block"],
    registers: [registry],
    async collect() {
      const { wallet } = await read();
      if (!wallet) {
        this.reset();
        return;
      }
      this.set({ block: "latest" }, wallet.latestNonce);
      this.set({ block: "pending" }, wallet.pendingNonce);
    },
  });
  figure(
    "gp_chain_head_block",
    "The chain node's latest block number; absent while the node does not answer.",
    async () => (await read()).wallet?.head ?? null,
  );
  figure(
    "gp_chain_blocks_behind",
    "Blocks between the chain head and the head the sender's last finished round started at; absent while the node does not answer.",
    async () => {
      const { wallet } = await read();
      return wallet ? blocksBehind(wallet.head) : null;
    },
  );
  figure("gp_relayer_last_round_timestamp_seconds", "When the sender last finished a round (seconds since the epoch).", () =>
    lastRound ? lastRound.at.getTime() / 1000 : null,
  );
  figure(
    "gp_relayer_max_fee_gwei",
    "The max fee per gas a new transaction would be signed with, at the gas watch's last check, in gwei.",
    () => {
      const reading = gas.reading();
      return reading ? Number(gwei(reading.maxFeePerGas)) : null;
    },
  );
  figure("gp_relayer_fee_cap_gwei", "GP_MAX_FEE_GWEI: no transaction is signed above it (absent when there is no cap).", () =>
    chain.feeCap === null ? null : Number(gwei(chain.feeCap)),
  );
  new Gauge({
    name: "gp_relayer_waiting",
    help: "1 while new chain work waits for this reason (gas-balance, fee-cap, replacement-fee-cap), else 0.",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      const waits = gas.waiting();
      for (const reason of WAIT_KINDS) this.set({ reason }, waits.some((w) => w.kind === reason) ? 1 : 0);
    },
  });

  const webhookRequests = new Counter({
    name: "gp_webhook_requests_total",
    help: "Webhook requests (POST /v1/webhooks/...) answered, by HTTP status.",
    labelNames: ["status"],
    registers: [registry],
  });
  const webhookDuration = new Histogram({
    name: "gp_webhook_duration_seconds",
    help: "Time to answer a webhook request, in seconds.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchOrders = new Histogram({
    name: "gp_batch_orders",
    help: "Orders per batch transaction sent.",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });
  const confirmSeconds = new Histogram({
    name: "gp_order_confirmation_seconds",
    help: "Time from an order received to its batch confirmed, in seconds.",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const stepFailures = new Counter({
    name: "gp_relayer_step_failures_total",
    help: "Failed runs of the relayer's steps, by step and by what failed (database, chain, other).",
    labelNames: ["step", "kind"],
    registers: [registry],
  });

  const smsCodes = new Counter({
    name: "gp_sms_codes_total",
    help: "SMS code requests answered by this process, by purpose and result (sent, limited by our limits, throttled or failed by the provider).",
    labelNames: ["purpose", "result"],
    registers: [registry],
  });

  const notificationAttempts = new Counter({
    name: "gp_notification_deliveries_total",
    help: "Attempts to deliver signed notifications by this process, by outcome (delivered, retrying, failed for good, endpoint-disabled).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const notificationSeconds = new Histogram({
    name: "gp_notification_delivery_seconds",
    help: "Time a notification receiver took to answer (or fail), in seconds.",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 15],
    registers: [registry],
  });

  return {
    registry,
    /** The outcome of one attempt to deliver a notification (services/notification-delivery.ts). */
    notifications: {
      deliveryAttempted(outcome: "delivered" | "retrying" | "failed" | "endpoint-disabled", durationMs: number): void {
        notificationAttempts.inc({ outcome });
        notificationSeconds.observe(durationMs / 1000);
      },
    },
    /** One SMS code request's outcome (services/phone-codes.ts). */
    smsCode(purpose: string, result: "sent" | "limited" | "throttled" | "failed"): void {
      smsCodes.inc({ purpose, result });
    },
    /** Times one webhook request; `done` when answered. */
    webhookStarted(): (status: number) => void {
      const end = webhookDuration.startTimer();
      return (status) => {
        end();
        webhookRequests.inc({ status: String(status) });
      };
    },
    /** The sender's reports (services/sender.ts). */
    sender: {
      headSeen: (head: number) => {
        headSeen = head;
      },
      batchSent: (orders: number) => batchOrders.observe(orders),
      orderConfirmed: (receivedAt: Date) => confirmSeconds.observe(Math.max(0, (Date.now() - receivedAt.getTime()) / 1000)),
    },
    /** The relayer loop's reports (services/relayer-loop.ts). */
    stepFailed(step: string, error: unknown): void {
      const kind = failureKind(error);
      stepFailures.inc({ step, kind });
      lastErrors.unshift({ at: new Date().toISOString(), step, kind, message: messageOf(error) });
      lastErrors.length = Math.min(lastErrors.length, LAST_ERRORS);
    },
    stepSucceeded(step: string): void {
      if (step === "sender") lastRound = { head: headSeen, at: new Date() };
    },
    /** The relayer's state for the operator (GET /v1/admin/relayer): what the chain and database answer now, and what waits. */
    async status() {
      const { work, workError, wallet, walletError } = await read();
      const reading = gas.reading();
      const waits = gas.waiting();
      return {
        wallet: {
          address: chain.sender,
          balance: wallet ? formatEther(wallet.balance) : null,
          minimumBalance: formatEther(gas.minBalance),
          nonce: wallet ? { latest: wallet.latestNonce, pending: wallet.pendingNonce } : null,
        },
        chain: {
          answers: wallet !== null,
          error: walletError,
          head: wallet?.head ?? null,
          blocksBehind: wallet ? blocksBehind(wallet.head) : null,
          maxFeeGwei: reading ? gwei(reading.maxFeePerGas) : null,
          feeCapGwei: chain.feeCap === null ? null : gwei(chain.feeCap),
        },
        database: { answers: work !== null, error: workError },
        pending: work
          ? { receivedOrders: work.orders.received, queuedOperations: work.operations.queued, openTransactions: work.openTransactions }
          : null,
        waiting: waits.length > 0,
        waits: waits.map((w) => ({ reason: w.kind, alert: w.alert, message: w.message })),
        lastRoundAt: lastRound?.at.toISOString() ?? null,
        lastErrors: [...lastErrors],
      };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
export type RelayerStatus = Awaited<ReturnType<Metrics["status"]>>;
