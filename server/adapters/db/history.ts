/**
 * What the database knows of one user's history: its orders (with the shop, the key that sent
 * them and when they arrived), its ad-voucher conversions (with the transaction of their batch),
 * and the first block where a relayer transaction named it. Its operations are read with
 * `operationsOfAccount` (operations.ts).
 */
import type { Queryable } from "./db";
import type { OrderState } from "./orders";

/** At most this many rows of each source (orders, operations, conversions) are read per history. */
export const HISTORY_LIMIT = 10_000;

export interface HistoryOrder {
  shopId: string;
  orderId: string;
  amount: bigint;
  chainOrderId: string;
  /** The relayer key that sent it (the pool keys an order by its sender); null before it was sent. */
  sentBy: string | null;
  state: OrderState;
  gpMinted: bigint | null;
  txHash: string | null;
  reason: string | null;
  createdAt: Date;
  /** While pending: when it is sent (unix seconds). */
  releaseAt: number | null;
  /** What the shop refunded of it. */
  refunded: bigint;
}

interface HistoryOrderRow {
  shop_id: string;
  order_id: string;
  amount: string;
  chain_order_id: string;
  sent_by: string | null;
  state: OrderState;
  gp_minted: string | null;
  tx_hash: string | null;
  reason: string | null;
  created_at: Date | string;
  release_at: string | number | null;
  refunded: string;
}

const ORDERS_OF_USER = `SELECT shop_id, order_id, amount::text AS amount, chain_order_id, sent_by, state, gp_minted::text AS gp_minted,
    tx_hash, reason, created_at, release_at, refunded::text AS refunded
  FROM orders WHERE user_id = $1 ORDER BY created_at, shop_id, order_id LIMIT $2`;
/** The user's orders, oldest first. */
export async function ordersOfUser(db: Queryable, userId: string, limit = HISTORY_LIMIT): Promise<HistoryOrder[]> {
  const rows = await db.query<HistoryOrderRow>(ORDERS_OF_USER, [userId, limit]);
  return rows.map((r) => ({
    shopId: r.shop_id,
    orderId: r.order_id,
    amount: BigInt(r.amount),
    chainOrderId: r.chain_order_id,
    sentBy: r.sent_by,
    state: r.state,
    gpMinted: r.gp_minted === null ? null : BigInt(r.gp_minted),
    txHash: r.tx_hash,
    reason: r.reason,
    createdAt: new Date(r.created_at),
    releaseAt: r.release_at === null ? null : Number(r.release_at),
    refunded: BigInt(r.refunded),
  }));
}

export interface HistoryConversion {
  id: string;
  /** The 32-byte id the ad-credit contract's VouchersConverted event names. */
  conversionId: string;
  merchantId: string;
  vouchers: bigint;
  state: "pending" | "submitted" | "confirmed" | "rejected";
  backing: bigint | null;
  points: bigint | null;
  reason: string | null;
  /** The transaction of the batch that carried it, once sent. */
  txHash: string | null;
  createdAt: Date;
}

interface HistoryConversionRow {
  id: string;
  conversion_id: string;
  merchant_id: string;
  vouchers: string;
  state: HistoryConversion["state"];
  backing: string | null;
  points: string | null;
  reason: string | null;
  tx_hash: string | null;
  created_at: Date | string;
}

const CONVERSIONS_OF_USER = `SELECT c.id, c.conversion_id, c.merchant_id, c.vouchers::text AS vouchers, c.state, c.backing::text AS backing,
    c.points::text AS points, c.reason, o.tx_hash, c.created_at
  FROM voucher_conversions c LEFT JOIN operations o ON o.id = c.operation_id
  WHERE c.user_id = $1 ORDER BY c.created_at, c.id LIMIT $2`;
/** The user's ad-voucher conversions, oldest first. */
export async function conversionsOfUser(db: Queryable, userId: string, limit = HISTORY_LIMIT): Promise<HistoryConversion[]> {
  const rows = await db.query<HistoryConversionRow>(CONVERSIONS_OF_USER, [userId, limit]);
  return rows.map((r) => ({
    id: r.id,
    conversionId: r.conversion_id,
    merchantId: r.merchant_id,
    vouchers: BigInt(r.vouchers),
    state: r.state,
    backing: r.backing === null ? null : BigInt(r.backing),
    points: r.points === null ? null : BigInt(r.points),
    reason: r.reason,
    txHash: r.tx_hash,
    createdAt: new Date(r.created_at),
  }));
}

// A custodial account exists on the chain only once a relayer transaction made it (its first
// order's batch or its registration): none of its events can come from an earlier block. Unless
// every such transaction sent has its block recorded, the earliest cannot be told.
const FIRST_BLOCK = `WITH named AS (
    SELECT transaction_id FROM orders WHERE user_id = $1 AND state IN ('submitted', 'confirmed')
    UNION ALL SELECT transaction_id FROM operations WHERE account = $2 AND kind = 'register' AND state IN ('submitted', 'confirmed'))
  SELECT min(t.block_number)::text AS block, count(*)::int AS sent, count(t.block_number)::int AS known
  FROM named LEFT JOIN transactions t ON t.id = named.transaction_id`;
/**
 * The first block where a relayer transaction of the user's orders or registration was mined;
 * null when none was sent, or one sent has no block recorded (in flight, or settled from the chain).
 */
export async function firstBlockOfUser(db: Queryable, userId: string, account: string): Promise<number | null> {
  const [row] = await db.query<{ block: string | null; sent: number; known: number }>(FIRST_BLOCK, [userId, account]);
  return row.block === null || Number(row.known) < Number(row.sent) ? null : Number(row.block);
}
