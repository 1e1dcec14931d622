/**
 * Sends the relayer's transactions and sees each through to confirmed, exactly once: received
 * orders as batched mints, queued operations one transaction each.
 *
 * Each tick: (1) reconcile transactions already sent (receipts, re-broadcast, replacement, nonces the
 * chain used for something else), (2) check confirmed transactions' blocks are still the chain's
 * (a lost block is a reorg: its orders go back to the queue unless the chain records them), (3)
 * claim received orders, drop the ones the chain would refuse (with the reason), park the one it
 * refuses alone for a reason that names no order (the relayer's wallet short), allocate a
 * nonce, sign, and record the signed transaction and its orders as `submitted` in one database
 * transaction, and only then broadcast. A crash anywhere leaves either nothing sent or a
 * recorded intent that the next tick re-broadcasts; the contract refuses a repeated order id.
 */
import type { Logger } from "pino";
import type { Fault } from "../config";
import { Transaction } from "ethers";
import { type ChainOrder, type ChainPort, FeeCapError, type MinedBatch } from "../adapters/chain/chain";
import type { ChainRevertError } from "../adapters/chain/errors";
import { custodialUserId } from "../adapters/chain/ids";
import {
  allocateNonce,
  insertTransaction,
  lockTransaction,
  openTransactions,
  recentConfirmed,
  replaceTransaction,
  resetNonce,
  setTransactionState,
  type TransactionRecord,
} from "../adapters/db/transactions";
import type { Db, Queryable } from "../adapters/db/db";
import {
  claimQueued,
  markOperationConfirmed,
  markOperationRejected,
  markOperationSubmitted,
  olderOperationUnsettled,
  operationsOfTransaction,
  pendingRegistrations,
  requeueOperation,
} from "../adapters/db/operations";
import { AppError } from "../errors";
import { type SettlementFloat, callOf, doneOnChain, isSignedRequest, refillFloat } from "./operations";
import { REFERRER_SET_ELSEWHERE, REVERTED_WITHOUT_REASON, orderRejection, parkedReason, reasonOf } from "./refusals";
import {
  type OrderRecord,
  claimReceived,
  markConfirmed,
  markRejected,
  markSubmitted,
  ordersOfTransaction,
  parkOrder,
  returnToReceived,
  settledByDeposit,
  shopBalance,
  waitForBalance,
} from "../adapters/db/orders";
import { findShop, lockShopBalance } from "../adapters/db/shops";
import { contribution as poolContribution } from "../domain/points-math";

export interface SenderOptions {
  batchSize: number;
  /** Operations sent per round (each is a transaction of its own); default 20. */
  operationsPerRound?: number;
  confirmations: number;
  replaceAfterMs: number;
  /**
   * An order the chain refuses alone, for a reason that names no order, waits this long before it
   * is tried again, doubling each time it is refused again (at most 10 minutes); default 30 s.
   */
  parkedRetryMs?: number;
  /** Crash tests only: kill this process (SIGKILL) just before or just after sending a batch. */
  fault?: Fault | null;
  /** The relayer's bounded float, refilled from the treasury when orders need more; absent, never refilled. */
  settlement?: SettlementFloat | null;
}

/** What new chain work waits for (services/gas-watch.ts): gas in the wallet, fees under the cap. */
export interface SenderGate {
  /** Non-empty while new work must wait: the round then only sees what is in flight through. */
  waiting(): readonly unknown[];
  /** A stuck transaction's replacement would be above the fee cap; the old one was broadcast again. */
  replacementHeld(error: FeeCapError): void;
}

/** What the sender reports to the metrics (services/metrics.ts). */
export interface SenderMetrics {
  /** The head a round starts reconciling at (the metrics' blocks behind). */
  headSeen(head: number): void;
  batchSent(orders: number): void;
  orderConfirmed(receivedAt: Date): void;
}

/** What the settlement token answers when the relayer's float or its allowance to the pool ran low. */
const SETTLEMENT_SHORT = ["ERC20InsufficientBalance", "ERC20InsufficientAllowance"];

const MAX_PARK_MS = 10 * 60_000;
/** The longest the receipts of recent confirmed batches go unchecked for a reorg while the head stays the same. */
const REORG_RECHECK_MS = 5_000;

export function createSender(deps: {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  log: Logger;
  options: SenderOptions;
  gate?: SenderGate;
  metrics?: SenderMetrics;
}) {
  const { db, chain, log, options } = deps;
  // What a shop refunded of an order while it was pending is not sent: the pool gets the rest.
  const toChain = (o: OrderRecord): ChainOrder => ({
    orderId: o.chainOrderId,
    user: custodialUserId(deps.userSalt, o.userId),
    amount: o.amount - o.refunded,
  });

  /**
   * The fee rose above the cap between the gas watch's reading and the signature: the database
   * transaction (and its nonce) rolled back, nothing was sent; the work waits, as the gas watch will
   * say at its next reading, instead of failing the round.
   */
  const heldByFeeCap = (error: unknown): null => {
    if (!(error instanceof FeeCapError)) throw error;
    log.info({ maxFeePerGas: error.maxFeePerGas.toString(), cap: error.cap.toString() }, "not signed: the fee is above the cap");
    return null;
  };

  /** Confirms the orders (or the operation) of a mined transaction from its receipt. */
  async function confirm(tx: Queryable, batch: TransactionRecord, mined: MinedBatch, txHash: string, receivedAt: Date[]) {
    if (batch.kind === "operation") {
      for (const op of await operationsOfTransaction(tx, batch.id))
        await markOperationConfirmed(tx, op.id, mined.events, txHash, mined.gasUsed);
      return;
    }
    const credited = mined.credited;
    for (const o of await ordersOfTransaction(tx, batch.id)) {
      const points = credited.get(chain.orderKey(o.chainOrderId).toLowerCase());
      if (points === undefined) {
        throw new AppError("INTERNAL", `batch ${batch.id} mined without order ${o.shopId}/${o.orderId}`, {
          batch: batch.id,
          txHash,
          shopId: o.shopId,
          orderId: o.orderId,
        });
      }
      const received = await markConfirmed(tx, o, points, txHash);
      if (received) receivedAt.push(received);
    }
  }

  /** The chain is the truth for orders and operations whose transaction is gone: done (by which transaction), or back to the queue. */
  async function settleFromChain(tx: Queryable, batch: TransactionRecord) {
    for (const op of await operationsOfTransaction(tx, batch.id)) {
      const done = await doneOnChain(tx, chain, op);
      if (done) await markOperationConfirmed(tx, op.id, done.events, done.txHash);
      else await requeueOperation(tx, op.id);
    }
    for (const o of await ordersOfTransaction(tx, batch.id)) {
      const points = (await chain.isOrderRecorded(o.chainOrderId)) ? await chain.creditedPoints(o.chainOrderId) : null;
      if (points !== null) await markConfirmed(tx, o, points, o.txHash ?? batch.txHash);
      else await returnToReceived(tx, o);
    }
    await setTransactionState(tx, batch.id, "abandoned", null);
  }

  /**
   * Settles one of our open transactions, locked in `tx` (receipts, confirmation depth, a nonce the
   * chain used for something else, a revert, a replacement when it is not mined in time). Answers
   * the signed transaction to broadcast once `tx` commits, or null.
   */
  async function reconcileOne(tx: Queryable, batch: TransactionRecord, head: number, receivedAt: Date[]): Promise<string | null> {
    let mined = await chain.mined(batch.txHash);
    if (!mined && (await chain.minedNonce()) > batch.nonce) {
      // The nonce is used: by this transaction, mined since its receipt was asked for, or by another
      // one (a replacement whose hash we did not keep). Its own receipt, when there is one, is the truth.
      mined = await chain.mined(batch.txHash);
      if (!mined) {
        await settleFromChain(tx, batch);
        return null;
      }
    }
    if (mined && mined.status === 1) {
      if (head - mined.blockNumber >= options.confirmations) {
        await confirm(tx, batch, mined, batch.txHash, receivedAt);
        await setTransactionState(tx, batch.id, "confirmed", { number: mined.blockNumber, hash: mined.blockHash });
      } else {
        await setTransactionState(tx, batch.id, "mined", { number: mined.blockNumber, hash: mined.blockHash });
      }
      return null;
    }
    if (mined && batch.kind === "operation") {
      // Simulated on the pending state, refused when mined: something sent before it changed the
      // state, or someone else landed the same signed request first (then it is done, by theirs).
      log.warn({ batch: batch.id, tx: batch.txHash }, "operation reverted on chain");
      for (const op of await operationsOfTransaction(tx, batch.id)) {
        const done = op.requestId || isSignedRequest(op) ? await doneOnChain(tx, chain, op) : null;
        if (done) {
          await markOperationConfirmed(tx, op.id, done.events, done.txHash);
          continue;
        }
        const call = await callOf(chain, op);
        const refusal = call ? await chain.simulateCall(call) : undefined;
        await markOperationRejected(tx, op.id, refusal ? reasonOf(refusal) : REVERTED_WITHOUT_REASON, mined.gasUsed);
      }
      await setTransactionState(tx, batch.id, "abandoned", null);
      return null;
    }
    if (mined) {
      log.warn({ batch: batch.id, tx: batch.txHash }, "batch reverted on chain; its orders are queued again");
      await settleFromChain(tx, batch);
      return null;
    }
    if (Date.now() - batch.sentAt.getTime() <= options.replaceAfterMs) return batch.rawTx;
    // The same call again, from the recorded transaction: only the fees change. Recorded before it is sent.
    const stuck = Transaction.from(batch.rawTx);
    const replacement = await chain.signCall({ to: stuck.to!, data: stuck.data }, batch.nonce, batch.rawTx).catch((error: unknown) => {
      // Bumped above the fee cap: not signed; the stuck one is sent again as it is, and the wait shows.
      if (!(error instanceof FeeCapError)) throw error;
      deps.gate?.replacementHeld(error);
      return null;
    });
    if (!replacement) return batch.rawTx;
    await replaceTransaction(tx, batch.id, replacement.hash, replacement.raw);
    for (const o of await ordersOfTransaction(tx, batch.id)) await markSubmitted(tx, o, batch.id, replacement.hash, chain.sender);
    for (const op of await operationsOfTransaction(tx, batch.id))
      await markOperationSubmitted(tx, op.id, op.calldata!, batch.id, replacement.hash);
    log.info({ batch: batch.id, nonce: batch.nonce, tx: replacement.hash }, "replaced a transaction not mined in time");
    return replacement.raw;
  }

  /**
   * This key's open transactions, each settled under its row lock: another process sharing the key
   * skips the one this one holds, so no transaction is settled twice at once. Only our own key's:
   * another relayer's nonces, receipts and order keys are its own to read.
   */
  async function reconcile() {
    const head = await chain.blockNumber();
    deps.metrics?.headSeen(head);
    for (const open of await openTransactions(db, chain.sender)) {
      // The usual case, read without a lock: sent, not mined, its nonce unused, not due for a
      // replacement. It is sent again (the node may have dropped it); nothing is written.
      const waiting =
        open.state === "sent" &&
        Date.now() - open.sentAt.getTime() <= options.replaceAfterMs &&
        !(await chain.mined(open.txHash)) &&
        (await chain.minedNonce()) <= open.nonce;
      if (waiting) {
        await chain.broadcast(open.rawTx);
        continue;
      }
      // When the orders were received, observed once their confirmation commits.
      const receivedAt: Date[] = [];
      const raw = await db.transaction(async (tx) => {
        const batch = await lockTransaction(tx, open.id, "open");
        return batch ? reconcileOne(tx, batch, head, receivedAt) : null;
      });
      for (const at of receivedAt) deps.metrics?.orderConfirmed(at);
      if (raw) await chain.broadcast(raw);
    }
  }

  /**
   * A confirmed batch whose transaction is no longer mined in the block we recorded was lost (a
   * reorg, or the embedded chain restarting without its last blocks). The receipt is the test:
   * anvil can still answer the old hash for a height after reverting it.
   */
  let lastReorgCheck: { head: number; hash: string | null; at: number } | null = null;
  async function checkReorgs() {
    const head = await chain.blockNumber();
    // Rounds run every few tens of milliseconds and blocks come every second or more: while the head
    // is the same block as at the last check, the receipts are not fetched again, but at least every
    // REORG_RECHECK_MS they are (a node can answer a reverted height's old hash for a while).
    const hash = await chain.blockHash(head);
    const last = lastReorgCheck;
    if (last && last.head === head && last.hash === hash && Date.now() - last.at < REORG_RECHECK_MS) return;
    const at = Date.now();
    for (const recent of await recentConfirmed(db, Math.max(0, head - 128), chain.sender)) {
      const mined = await chain.mined(recent.txHash);
      if (mined && mined.status === 1 && mined.blockHash === recent.blockHash) continue;
      await db.transaction(async (tx) => {
        const batch = await lockTransaction(tx, recent.id, "confirmed");
        if (!batch) return;
        log.warn({ batch: batch.id, block: batch.blockNumber }, "a confirmed batch's block is gone; checking its orders");
        await settleFromChain(tx, batch);
        await resetNonce(tx, chain.sender, () => chain.pendingNonce());
      });
    }
    lastReorgCheck = { head, hash, at };
  }

  /**
   * Sends queued operations, one transaction each, in the order they were queued. Each is run on
   * the pending state first; only what the chain refuses is asked whether it is done already
   * (confirmed) or not (rejected with the chain's reason), and the rest get a nonce.
   */
  async function submitOperations(): Promise<number> {
    let sent = 0;
    // One database transaction per operation, broadcast before the next is simulated: an
    // operation may rely on the one before it (a merchant flagged, then paid).
    for (let i = 0; i < (options.operationsPerRound ?? 20); i++) {
      const step = await db
        .transaction(async (tx) => {
          const [op] = await claimQueued(tx, 1, chain.sender);
          if (!op) return null;
          const call = await callOf(chain, op);
          const refusal = call ? await chain.simulateCall(call) : undefined;
          if (!call || refusal) {
            // Refused: done already (sent before, its record lost), or refused with the chain's reason;
            // not final while an older operation has yet to apply (another process may hold it): it
            // waits, and the ones after it with it, for a later round.
            const done = await doneOnChain(tx, chain, op);
            if (done) await markOperationConfirmed(tx, op.id, done.events, done.txHash);
            else if (await olderOperationUnsettled(tx, op, chain.sender)) return { op: op.id, deferred: true };
            else await markOperationRejected(tx, op.id, refusal ? reasonOf(refusal) : REFERRER_SET_ELSEWHERE);
            return { op: op.id, deferred: false };
          }
          const nonce = await allocateNonce(tx, chain.sender, () => chain.pendingNonce());
          const opTx = await chain.signCall(call, nonce);
          const batch = await insertTransaction(tx, { sender: chain.sender, nonce, txHash: opTx.hash, rawTx: opTx.raw, kind: "operation" });
          await markOperationSubmitted(tx, op.id, call.data, batch.id, opTx.hash);
          return { op: op.id, raw: opTx.raw, batch: batch.id, nonce, deferred: false };
        })
        .catch(heldByFeeCap);
      if (!step || step.deferred) break;
      if (step.raw) {
        await chain.broadcast(step.raw);
        log.info({ batch: step.batch, nonce: step.nonce, operation: step.op }, "operation sent");
        sent++;
      }
    }
    return sent;
  }

  async function park(tx: Queryable, o: OrderRecord, refusal: ChainRevertError) {
    const delay = Math.min((options.parkedRetryMs ?? 30_000) * 2 ** Math.min(o.parked, 20), MAX_PARK_MS);
    const retryAt = new Date(Date.now() + delay);
    const why = parkedReason(refusal);
    await parkOrder(tx, o, `parked: ${why} (${refusal.name}); tried again from ${retryAt.toISOString()}`, retryAt);
    log.error(
      { alert: "order-parked", shopId: o.shopId, orderId: o.orderId, chainError: refusal.name, retryAt: retryAt.toISOString() },
      "the chain refuses an order alone for a reason that names no order; it is parked and the other orders go on",
    );
  }

  /**
   * Whether the orders should wait for a refill of the relayer's settlement (queued here when none
   * is on its way). Not when a refill cannot help (there is no treasury, a full float is too
   * little, or the treasury refused one a moment ago): the order that fails alone is then found
   * and parked, and the rest go on.
   */
  async function waitsForRefill(tx: Queryable): Promise<boolean> {
    if (!options.settlement) return false;
    const refill = await refillFloat(tx, chain, options.settlement, chain.deployments.pool);
    if (refill === "queued")
      log.info({ float: options.settlement.float.toString() }, "the settlement float ran low; refilling it from the treasury");
    return refill !== "cannot-help";
  }

  /**
   * Each claimed order's contribution at the pool's share now, and who pays it: the platform's
   * wallet for an invoiced shop; a prefunded shop's balance (its deposits less what its orders
   * sent or confirmed took) while it covers the order, oldest first. An order it does not cover
   * is left out and waits, received, with SHOP_BALANCE_TOO_LOW until a deposit wakes it. The
   * shop's balance is locked (lockShopBalance), so two relayers cannot spend it twice.
   */
  async function payersOf(tx: Queryable, orders: OrderRecord[]) {
    const poolShare = (await chain.pool.parameters()).poolShare;
    const paid = new Map<OrderRecord, { contribution: bigint; by: "platform" | "shop" }>();
    const left = new Map<string, bigint | null>();
    for (const o of orders) {
      const contribution = poolContribution(o.amount - o.refunded, poolShare);
      if (!left.has(o.shopId)) {
        const shop = await findShop(tx, o.shopId);
        if (shop?.funding !== "prefunded") left.set(o.shopId, null);
        else {
          await lockShopBalance(tx, o.shopId);
          const b = await shopBalance(tx, o.shopId);
          left.set(o.shopId, b.deposited - b.spent);
        }
      }
      const balance = left.get(o.shopId)!;
      if (balance === null) paid.set(o, { contribution, by: "platform" });
      else if (balance >= contribution) {
        left.set(o.shopId, balance - contribution);
        paid.set(o, { contribution, by: "shop" });
      } else {
        await waitForBalance(tx, o);
        log.info({ shopId: o.shopId, orderId: o.orderId }, "a prefunded shop's order waits for a deposit");
      }
    }
    return paid;
  }

  async function submit(): Promise<number> {
    const signed = await db
      .transaction(async (tx) => {
        let orders = await claimReceived(tx, options.batchSize, chain.sender);
        // Who pays each order's contribution; a prefunded shop's orders beyond its balance wait for a deposit.
        const paid =
          orders.length > 0 ? await payersOf(tx, orders) : new Map<OrderRecord, { contribution: bigint; by: "platform" | "shop" }>();
        orders = orders.filter((o) => paid.has(o));
        const waiting = orders.length > 0 ? await pendingRegistrations(tx) : new Set<string>();
        // A buyer's registration with its referrer goes first, so the referrer earns from the order.
        if (waiting.size > 0) orders = orders.filter((o) => !waiting.has(custodialUserId(deps.userSalt, o.userId)));
        while (orders.length > 0) {
          const refusal: ChainRevertError | undefined = await chain.simulate(orders.map(toChain));
          if (!refusal) break;
          const named = refusal.orderKey
            ? orders.find((o) => chain.orderKey(o.chainOrderId).toLowerCase() === refusal.orderKey)
            : undefined;
          if (named && refusal.name === "PoolOrderAlreadyRecorded") {
            // Recorded by an earlier transaction whose outcome this database missed: the chain is the truth.
            await markConfirmed(tx, named, (await chain.creditedPoints(named.chainOrderId)) ?? 0n, named.txHash);
            orders = orders.filter((o) => o !== named);
          } else if (named) {
            await markRejected(tx, named, orderRejection(refusal));
            orders = orders.filter((o) => o !== named);
          } else if (refusal.name === "GreenPointsCapExceeded" && orders.length === 1) {
            await markRejected(tx, orders[0], orderRejection(refusal));
            orders = [];
          } else if (SETTLEMENT_SHORT.includes(refusal.name) && (await waitsForRefill(tx))) {
            // The float or its allowance ran low: the orders wait (received) for a refill from the
            // treasury, which the next rounds send before them.
            return null;
          } else if (refusal.name === "EnforcedPause") {
            // The operator paused the pool: the orders stay received until it is unpaused.
            return null;
          } else if (orders.length === 1) {
            // Refused alone, for a reason that may pass (a top-up of the relayer's wallet): parked, not rejected.
            await park(tx, orders[0], refusal);
            orders = [];
          } else {
            // The error names no order: send the first half if it passes; the rest stay received for
            // the next round. Halving again finds the order that fails alone, so one cannot stop all.
            orders = orders.slice(0, Math.ceil(orders.length / 2));
          }
        }
        if (orders.length === 0) return null;
        const nonce = await allocateNonce(tx, chain.sender, () => chain.pendingNonce());
        const batchTx = await chain.signBatch(orders.map(toChain), nonce);
        const batch = await insertTransaction(tx, { sender: chain.sender, nonce, txHash: batchTx.hash, rawTx: batchTx.raw });
        for (const o of orders) {
          // Paid from the shop's own deposits: the order no longer counts in what the shop owes the platform (once).
          if (paid.get(o)!.by === "shop") await settledByDeposit(tx, o);
          await markSubmitted(tx, o, batch.id, batchTx.hash, chain.sender, paid.get(o)!);
        }
        return { raw: batchTx.raw, count: orders.length, batch: batch.id, nonce };
      })
      .catch(heldByFeeCap);
    if (!signed) return 0;
    if (options.fault === "crash-before-broadcast") process.kill(process.pid, "SIGKILL");
    await chain.broadcast(signed.raw);
    if (options.fault === "crash-after-broadcast") process.kill(process.pid, "SIGKILL");
    log.info({ batch: signed.batch, nonce: signed.nonce, orders: signed.count }, "batch sent");
    deps.metrics?.batchSent(signed.count);
    return signed.count;
  }

  return {
    /** One round; returns how many orders and operations it sent. */
    async tick(): Promise<number> {
      await reconcile();
      await checkReorgs();
      if ((deps.gate?.waiting().length ?? 0) > 0) return 0;
      return (await submitOperations()) + (await submit());
    },
  };
}

export type Sender = ReturnType<typeof createSender>;
