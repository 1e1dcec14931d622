import type { Queryable } from "./db";
import { emitOrderEvent } from "./notifications";

export type OrderState = "pending" | "received" | "submitted" | "confirmed" | "rejected" | "cancelled";
export const ORDER_STATES: readonly OrderState[] = ["pending", "received", "submitted", "confirmed", "rejected", "cancelled"];
export const noCounts = (): Record<OrderState, number> => ({
  pending: 0,
  received: 0,
  submitted: 0,
  confirmed: 0,
  rejected: 0,
  cancelled: 0,
});
/** The stable reason of an order of a prefunded shop that waits (received) for a deposit. */
export const SHOP_BALANCE_TOO_LOW = "shop balance too low";

export interface OrderRecord {
  shopId: string;
  orderId: string;
  userId: string;
  referrerId: string | null;
  amount: bigint;
  bodyHash: string;
  chainOrderId: string;
  state: OrderState;
  transactionId: string | null;
  gpMinted: bigint | null;
  txHash: string | null;
  /** Why it was rejected, or why it waits (parked). */
  reason: string | null;
  /** Times in a row the chain refused it alone for a reason that names no order (see parkOrder). */
  parked: number;
  /** When the webhook recorded it. */
  createdAt: Date;
  /** While pending: when it is sent (unix seconds, the relayer's clock). */
  releaseAt: number | null;
  /** What the shop refunded of it (settlement units). */
  refunded: bigint;
  /** What was paid into the pool for it, once sent. */
  contribution: bigint | null;
}

interface OrderRow {
  shop_id: string;
  order_id: string;
  user_id: string;
  referrer_id: string | null;
  amount: string;
  body_hash: string;
  chain_order_id: string;
  state: OrderState;
  transaction_id: string | number | null;
  gp_minted: string | null;
  tx_hash: string | null;
  reason: string | null;
  parked: number;
  created_at: Date | string;
  release_at: string | number | null;
  refunded: string;
  contribution: string | null;
}

const COLUMNS =
  "shop_id, order_id, user_id, referrer_id, amount::text AS amount, body_hash, chain_order_id, state, transaction_id, gp_minted::text AS gp_minted, tx_hash, reason, parked, created_at, release_at, " +
  "refunded::text AS refunded, contribution::text AS contribution";

function toRecord(row: OrderRow): OrderRecord {
  return {
    shopId: row.shop_id,
    orderId: row.order_id,
    userId: row.user_id,
    referrerId: row.referrer_id,
    amount: BigInt(row.amount),
    bodyHash: row.body_hash,
    chainOrderId: row.chain_order_id,
    state: row.state,
    transactionId: row.transaction_id === null ? null : String(row.transaction_id),
    gpMinted: row.gp_minted === null ? null : BigInt(row.gp_minted),
    txHash: row.tx_hash,
    reason: row.reason,
    parked: Number(row.parked),
    createdAt: new Date(row.created_at),
    releaseAt: row.release_at === null ? null : Number(row.release_at),
    refunded: BigInt(row.refunded),
    contribution: row.contribution === null ? null : BigInt(row.contribution),
  };
}

const INSERT_ORDER = `INSERT INTO orders (shop_id, order_id, user_id, referrer_id, amount, body_hash, chain_order_id, state, release_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::bigint IS NULL THEN 'received' ELSE 'pending' END, $8)
  ON CONFLICT (shop_id, order_id) DO NOTHING
  RETURNING ${COLUMNS}`;
/**
 * Records a new order, `pending` until `releaseAt` when given, else `received`; returns null when
 * `(shop, order id)` exists already (the caller reads it).
 */
export async function insertOrder(
  db: Queryable,
  o: Pick<OrderRecord, "shopId" | "orderId" | "userId" | "referrerId" | "amount" | "bodyHash" | "chainOrderId"> & {
    releaseAt?: number | null;
  },
): Promise<OrderRecord | null> {
  const [row] = await db.query<OrderRow>(INSERT_ORDER, [
    o.shopId,
    o.orderId,
    o.userId,
    o.referrerId,
    o.amount.toString(),
    o.bodyHash,
    o.chainOrderId,
    o.releaseAt ?? null,
  ]);
  return row ? toRecord(row) : null;
}

const FIND_ORDER = `SELECT ${COLUMNS} FROM orders WHERE shop_id = $1 AND order_id = $2`;
export async function findOrder(db: Queryable, shopId: string, orderId: string): Promise<OrderRecord | null> {
  const [row] = await db.query<OrderRow>(FIND_ORDER, [shopId, orderId]);
  return row ? toRecord(row) : null;
}

const CLAIM_RECEIVED = `SELECT ${COLUMNS} FROM orders WHERE state = 'received' AND (retry_at IS NULL OR retry_at <= now())
  AND reason IS DISTINCT FROM '${SHOP_BALANCE_TOO_LOW}'
  AND (sent_by IS NULL OR sent_by = $2)
  ORDER BY created_at, shop_id, order_id LIMIT $1 FOR UPDATE SKIP LOCKED`;
/**
 * Received orders not parked, oldest first, locked for this transaction; other relayers skip them.
 * An order sent before under another relayer key is left to that key: the pool records an order
 * per sending address, so only a resend by the same key is refused as a repeat.
 */
export async function claimReceived(tx: Queryable, limit: number, sender: string): Promise<OrderRecord[]> {
  return (await tx.query<OrderRow>(CLAIM_RECEIVED, [limit, sender])).map(toRecord);
}

const MARK_SUBMITTED = `UPDATE orders SET state = 'submitted', transaction_id = $3, tx_hash = $4, sent_by = $5, reason = NULL, retry_at = NULL,
  parked = 0, contribution = COALESCE($6, contribution), paid_by = COALESCE($7, paid_by), updated_at = now()
  WHERE shop_id = $1 AND order_id = $2`;
/**
 * In the signed transaction `transactionId`, bound from now on to the key that signed it, with
 * what it pays into the pool (kept as it was when null: a replacement of the same call).
 */
export async function markSubmitted(
  tx: Queryable,
  o: OrderRecord,
  transactionId: string,
  txHash: string,
  sender: string,
  paid: { contribution: bigint; by: "platform" | "shop" } | null = null,
): Promise<void> {
  await tx.query(MARK_SUBMITTED, [
    o.shopId,
    o.orderId,
    transactionId,
    txHash,
    sender,
    paid?.contribution.toString() ?? null,
    paid?.by ?? null,
  ]);
}

const SETTLED_BY_DEPOSIT = `WITH o AS (SELECT amount - refunded AS left FROM orders WHERE shop_id = $1 AND order_id = $2 AND paid_by IS NULL)
  UPDATE shops SET outstanding = GREATEST(shops.outstanding - o.left, 0) FROM o WHERE shops.id = $1`;
/**
 * A prefunded shop's order paid from its deposits leaves what the shop owes the platform (its
 * outstanding limit counts order amounts not settled); only the first time it is sent, before
 * `markSubmitted` records who paid.
 */
export async function settledByDeposit(tx: Queryable, o: OrderRecord): Promise<void> {
  await tx.query(SETTLED_BY_DEPOSIT, [o.shopId, o.orderId]);
}

const WAIT_FOR_BALANCE = `UPDATE orders SET reason = '${SHOP_BALANCE_TOO_LOW}', updated_at = now()
  WHERE shop_id = $1 AND order_id = $2 AND state = 'received'`;
/** A prefunded shop's order its balance cannot pay: it stays received, with the reason, until a deposit (wakeShopOrders). */
export async function waitForBalance(tx: Queryable, o: OrderRecord): Promise<void> {
  await tx.query(WAIT_FOR_BALANCE, [o.shopId, o.orderId]);
}

const WAKE_SHOP_ORDERS = `UPDATE orders SET reason = NULL, updated_at = now()
  WHERE shop_id = $1 AND state = 'received' AND reason = '${SHOP_BALANCE_TOO_LOW}'`;
/** The shop's orders waiting for its balance are claimed again (a deposit arrived, or its funding changed). */
export async function wakeShopOrders(tx: Queryable, shopId: string): Promise<void> {
  await tx.query(WAKE_SHOP_ORDERS, [shopId]);
}

const SHOP_BALANCE = `SELECT
    (SELECT COALESCE(sum(amount), 0) FROM shop_deposits WHERE shop_id = $1)::text AS deposited,
    (SELECT COALESCE(sum(contribution), 0) FROM orders WHERE shop_id = $1 AND paid_by = 'shop'
      AND state IN ('submitted', 'confirmed'))::text AS spent`;
/** A prefunded shop's deposits seen on the chain, and what its orders sent or confirmed took of them. */
export async function shopBalance(db: Queryable, shopId: string): Promise<{ deposited: bigint; spent: bigint }> {
  const [row] = await db.query<{ deposited: string; spent: string }>(SHOP_BALANCE, [shopId]);
  return { deposited: BigInt(row.deposited), spent: BigInt(row.spent) };
}

const INSERT_DEPOSIT = `INSERT INTO shop_deposits (tx_hash, ordinal, shop_id, payer, amount, block_number) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (tx_hash, ordinal) DO NOTHING RETURNING tx_hash`;
/** Records a deposit seen on the chain once (by its transaction and its place among the payer's transfers in it); whether it is new. */
export async function insertDeposit(
  db: Queryable,
  d: { txHash: string; ordinal: number; shopId: string; payer: string; amount: bigint; blockNumber: number },
): Promise<boolean> {
  return (await db.query(INSERT_DEPOSIT, [d.txHash, d.ordinal, d.shopId, d.payer, d.amount.toString(), d.blockNumber])).length > 0;
}

const RELEASE_DUE = `UPDATE orders SET state = 'received', updated_at = now()
  WHERE state = 'pending' AND release_at <= $1 RETURNING shop_id, order_id`;
/** Pending orders whose window ended by `nowSeconds` go to the queue; how many. */
export async function releaseDue(db: Queryable, nowSeconds: number): Promise<number> {
  return (await db.query(RELEASE_DUE, [nowSeconds])).length;
}

const MARK_CONFIRMED = `UPDATE orders SET state = 'confirmed', gp_minted = $3, tx_hash = $4, reason = NULL, updated_at = now()
  WHERE shop_id = $1 AND order_id = $2 RETURNING created_at`;
/** Confirmed; returns when the order was received (the metrics' received-to-confirmed time), null when there is no such order. */
export async function markConfirmed(tx: Queryable, o: OrderRecord, gpMinted: bigint, txHash: string | null): Promise<Date | null> {
  const [row] = await tx.query<{ created_at: Date | string }>(MARK_CONFIRMED, [o.shopId, o.orderId, gpMinted.toString(), txHash]);
  // Its notification, in the same transaction (one per order, however often it is confirmed again).
  if (row) await emitOrderEvent(tx, "order.confirmed", o, { gpMinted: gpMinted.toString(), txHash });
  return row ? new Date(row.created_at) : null;
}

// A rejected order is paid by no one: what is left of its amount leaves what its shop owes the
// platform (unless a deposit of the shop's paid it when it was sent: settledByDeposit took it off then).
const MARK_REJECTED = `WITH before AS (SELECT paid_by FROM orders WHERE shop_id = $1 AND order_id = $2),
  o AS (UPDATE orders SET state = 'rejected', reason = $3, transaction_id = NULL, updated_at = now()
    WHERE shop_id = $1 AND order_id = $2 AND state <> 'rejected' RETURNING shop_id, amount - refunded AS left)
  UPDATE shops SET outstanding = GREATEST(shops.outstanding - o.left, 0) FROM o, before
  WHERE shops.id = o.shop_id AND before.paid_by IS DISTINCT FROM 'shop'`;
export async function markRejected(tx: Queryable, o: OrderRecord, reason: string): Promise<void> {
  await tx.query(MARK_REJECTED, [o.shopId, o.orderId, reason]);
  await emitOrderEvent(tx, "order.rejected", o, { reason });
}

const PARK = `UPDATE orders SET reason = $3, retry_at = $4, parked = parked + 1, updated_at = now()
  WHERE shop_id = $1 AND order_id = $2`;
/**
 * Parks a received order the chain refuses for a reason that names no order and may pass (the
 * relayer's settlement wallet short): it stays received, with the reason, and is not claimed
 * again before `retryAt`.
 */
export async function parkOrder(tx: Queryable, o: OrderRecord, reason: string, retryAt: Date): Promise<void> {
  await tx.query(PARK, [o.shopId, o.orderId, reason, retryAt]);
}

const RETURN_TO_RECEIVED = `UPDATE orders SET state = 'received', transaction_id = NULL, tx_hash = NULL, updated_at = now()
  WHERE shop_id = $1 AND order_id = $2 AND transaction_id IS NOT DISTINCT FROM $3`;
/**
 * Back to the queue: its transaction never reached the chain (or its block was lost). Only while
 * it is still in the transaction `o` was read with: one sent again since stays where it is.
 */
export async function returnToReceived(tx: Queryable, o: OrderRecord): Promise<void> {
  await tx.query(RETURN_TO_RECEIVED, [o.shopId, o.orderId, o.transactionId]);
}

const ORDERS_OF_TRANSACTION = `SELECT ${COLUMNS} FROM orders WHERE transaction_id = $1 ORDER BY shop_id, order_id`;
export async function ordersOfTransaction(db: Queryable, transactionId: string): Promise<OrderRecord[]> {
  return (await db.query<OrderRow>(ORDERS_OF_TRANSACTION, [transactionId])).map(toRecord);
}

const COUNT_BY_STATE = "SELECT state, count(*)::int AS n FROM orders GROUP BY state";
export async function countByState(db: Queryable): Promise<Record<OrderState, number>> {
  const counts = noCounts();
  for (const row of await db.query<{ state: OrderState; n: number }>(COUNT_BY_STATE)) counts[row.state] = row.n;
  return counts;
}

const COUNT_BY_SHOP = "SELECT shop_id, state, count(*)::int AS n FROM orders GROUP BY shop_id, state";
/** Each shop's orders by state (a shop without orders is absent). */
export async function countByShop(db: Queryable): Promise<Map<string, Record<OrderState, number>>> {
  const byShop = new Map<string, Record<OrderState, number>>();
  for (const row of await db.query<{ shop_id: string; state: OrderState; n: number }>(COUNT_BY_SHOP)) {
    const counts = byShop.get(row.shop_id) ?? noCounts();
    counts[row.state] = row.n;
    byShop.set(row.shop_id, counts);
  }
  return byShop;
}

const LIST_ORDERS = `SELECT ${COLUMNS} FROM orders
  WHERE ($1::text IS NULL OR shop_id = $1) AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR user_id = $3)
    AND ($4::text IS NULL OR order_id = $4) AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
  ORDER BY created_at DESC, shop_id, order_id LIMIT $7`;
/** The newest orders, filtered by shop, state, user, order id and when received (`from` included, `to` excluded) when given. */
export async function listOrders(
  db: Queryable,
  filter: { shopId?: string; state?: OrderState; userId?: string; orderId?: string; from?: Date; to?: Date; limit: number },
): Promise<OrderRecord[]> {
  const rows = await db.query<OrderRow>(LIST_ORDERS, [
    filter.shopId ?? null,
    filter.state ?? null,
    filter.userId ?? null,
    filter.orderId ?? null,
    filter.from ?? null,
    filter.to ?? null,
    filter.limit,
  ]);
  return rows.map(toRecord);
}
