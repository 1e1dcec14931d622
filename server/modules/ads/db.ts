/**
 * Rewarded ads in the database: ad networks, counted tasks, voucher sales (what each sale asked
 * the chain to issue) and conversions (what each completed task released). A user's vouchers
 * available per merchant are derived, never stored: issued sales minus conversions not rejected.
 */
import type { Queryable } from "../../adapters/db/db";

/** An event as operations keep them (the chain port's shape). */
type RecordedEvent = { name: string; args: Record<string, string> };
import type { AdScheme } from "./ad-callback-signature";
import type { SaleAsset } from "../../domain/assets";

export interface AdNetworkRecord {
  id: string;
  name: string;
  scheme: AdScheme;
  secret: string | null;
  publicKey: string | null;
}

const INSERT_NETWORK = `INSERT INTO ad_networks (id, name, scheme, secret, public_key) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (name) DO NOTHING RETURNING id`;
/** False when the name is taken. */
export async function insertAdNetwork(db: Queryable, n: AdNetworkRecord): Promise<boolean> {
  return (await db.query(INSERT_NETWORK, [n.id, n.name, n.scheme, n.secret, n.publicKey])).length === 1;
}

const FIND_NETWORK = "SELECT id, name, scheme, secret, public_key FROM ad_networks WHERE id = $1";
export async function findAdNetwork(db: Queryable, id: string): Promise<AdNetworkRecord | null> {
  const [r] = await db.query<{ id: string; name: string; scheme: AdScheme; secret: string | null; public_key: string | null }>(
    FIND_NETWORK,
    [id],
  );
  return r ? { id: r.id, name: r.name, scheme: r.scheme, secret: r.secret, publicKey: r.public_key } : null;
}

const LIST_NETWORKS = "SELECT id, name, scheme, public_key, created_at FROM ad_networks ORDER BY created_at, id";
/** Every network, oldest first, without its secret. */
export async function listAdNetworks(
  db: Queryable,
): Promise<{ id: string; name: string; scheme: AdScheme; publicKey: string | null; createdAt: Date }[]> {
  const rows = await db.query<{ id: string; name: string; scheme: AdScheme; public_key: string | null; created_at: Date | string }>(
    LIST_NETWORKS,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, scheme: r.scheme, publicKey: r.public_key, createdAt: new Date(r.created_at) }));
}

/** Serialises one user's callbacks (their counts and balances) until the transaction ends. */
export async function lockAdUser(tx: Queryable, userId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`ads:${userId}`]);
}

const USER_KNOWN = `SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1) OR EXISTS (SELECT 1 FROM orders WHERE user_id = $1) AS known`;
/** A user the relayer knows: registered, or the buyer of an order (which made the custodial account). */
export async function adUserKnown(db: Queryable, userId: string): Promise<boolean> {
  const [r] = await db.query<{ known: boolean }>(USER_KNOWN, [userId]);
  return r.known;
}

const TASK_EXISTS = "SELECT 1 FROM ad_tasks WHERE network_id = $1 AND transaction_id = $2";
export async function taskExists(db: Queryable, networkId: string, transactionId: string): Promise<boolean> {
  return (await db.query(TASK_EXISTS, [networkId, transactionId])).length > 0;
}

const TASK_COUNTS = `SELECT count(*) FILTER (WHERE day = $2)::int AS today, count(*)::int AS total FROM ad_tasks WHERE user_id = $1`;
export async function taskCounts(db: Queryable, userId: string, day: string): Promise<{ today: number; total: number }> {
  const [r] = await db.query<{ today: number; total: number }>(TASK_COUNTS, [userId, day]);
  return { today: Number(r.today), total: Number(r.total) };
}

const INSERT_TASK = `INSERT INTO ad_tasks (network_id, transaction_id, user_id, day, released) VALUES ($1, $2, $3, $4, $5)`;
export async function insertTask(
  tx: Queryable,
  t: { networkId: string; transactionId: string; userId: string; day: string; released: bigint },
): Promise<void> {
  await tx.query(INSERT_TASK, [t.networkId, t.transactionId, t.userId, t.day, t.released.toString()]);
}

export interface VoucherBucketRow {
  merchantId: string;
  available: bigint;
}

const BUCKETS = `SELECT s.merchant_id,
    (sum(s.amount) - coalesce((SELECT sum(c.vouchers) FROM voucher_conversions c
       WHERE c.user_id = $1 AND c.merchant_id = s.merchant_id AND c.state <> 'rejected'), 0))::text AS available,
    min(s.created_at) AS first
  FROM voucher_sales s WHERE s.user_id = $1 AND s.state = 'issued'
  GROUP BY s.merchant_id ORDER BY first, s.merchant_id`;
/** The user's vouchers per merchant, oldest bucket first (conversions take from it first). */
export async function voucherBuckets(db: Queryable, userId: string): Promise<VoucherBucketRow[]> {
  const rows = await db.query<{ merchant_id: string; available: string }>(BUCKETS, [userId]);
  return rows.map((r) => ({ merchantId: r.merchant_id, available: BigInt(r.available) }));
}

/** A sale that earns vouchers, recorded with the order or the payment, waiting for it to be confirmed. */
export interface NewSale {
  saleKey: string;
  saleId: string;
  userId: string;
  merchantId: string;
  source: { shopId: string; orderId: string } | { paymentId: string };
  asset: SaleAsset;
  paid: bigint;
}

const INSERT_SALE = `INSERT INTO voucher_sales (sale_key, sale_id, user_id, merchant_id, shop_id, order_id, payment_id, asset, paid, state)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'awaiting')`;
export async function insertSale(tx: Queryable, s: NewSale): Promise<void> {
  const order = "orderId" in s.source ? s.source : null;
  const paymentId = "paymentId" in s.source ? s.source.paymentId : null;
  await tx.query(INSERT_SALE, [
    s.saleKey,
    s.saleId,
    s.userId,
    s.merchantId,
    order?.shopId ?? null,
    order?.orderId ?? null,
    paymentId,
    s.asset,
    s.paid.toString(),
  ]);
}

/** A sale whose order or payment the chain has settled. */
export interface DueSale {
  saleKey: string;
  saleId: string;
  userId: string;
  merchantId: string;
  asset: SaleAsset;
  paid: bigint;
  /** The order's or payment's state: confirmed, or rejected with `reason`. */
  outcome: "confirmed" | "rejected";
  reason: string | null;
}

const DUE_SALES = `SELECT s.sale_key, s.sale_id, s.user_id, s.merchant_id, s.asset, s.paid::text AS paid,
    coalesce(o.state, p.state) AS outcome, coalesce(o.reason, p.reason) AS reason
  FROM voucher_sales s
    LEFT JOIN orders o ON o.shop_id = s.shop_id AND o.order_id = s.order_id
    LEFT JOIN operations p ON p.id = s.payment_id
  WHERE s.state = 'awaiting' AND coalesce(o.state, p.state) IN ('confirmed', 'rejected')
  ORDER BY s.created_at LIMIT $1`;
/** Sales whose order or payment is settled, oldest first; only sales still awaiting are read. */
export async function dueSales(db: Queryable, limit: number): Promise<DueSale[]> {
  const rows = await db.query<{
    sale_key: string;
    sale_id: string;
    user_id: string;
    merchant_id: string;
    asset: SaleAsset;
    paid: string;
    outcome: "confirmed" | "rejected";
    reason: string | null;
  }>(DUE_SALES, [limit]);
  return rows.map((r) => ({
    saleKey: r.sale_key,
    saleId: r.sale_id,
    userId: r.user_id,
    merchantId: r.merchant_id,
    asset: r.asset,
    paid: BigInt(r.paid),
    outcome: r.outcome,
    reason: r.reason,
  }));
}

const ASK_SALE = `UPDATE voucher_sales SET state = $2, amount = $3, operation_id = $4, reason = $5 WHERE sale_key = $1 AND state = 'awaiting'`;
/** A due sale asks for `amount` vouchers in operation `operationId` (queued), or gets none (refused, rejected). */
export async function askSale(
  tx: Queryable,
  saleKey: string,
  outcome:
    { state: "queued"; amount: bigint; operationId: string } | { state: "refused" | "rejected"; amount: bigint | null; reason: string },
): Promise<void> {
  const operationId = outcome.state === "queued" ? outcome.operationId : null;
  const reason = outcome.state === "queued" ? null : outcome.reason;
  await tx.query(ASK_SALE, [saleKey, outcome.state, outcome.amount?.toString() ?? null, operationId, reason]);
}

const SETTLED_SALES = `SELECT s.sale_key, s.sale_id, o.state, o.result, o.reason FROM voucher_sales s JOIN operations o ON o.id = s.operation_id
  WHERE s.state = 'queued' AND o.state IN ('confirmed', 'rejected') LIMIT 500`;
/** Sales asked for whose issuance operation is settled. */
export async function salesToSettle(
  db: Queryable,
): Promise<{ saleKey: string; saleId: string; state: string; result: RecordedEvent[]; reason: string | null }[]> {
  const rows = await db.query<{ sale_key: string; sale_id: string; state: string; result: string | null; reason: string | null }>(
    SETTLED_SALES,
  );
  return rows.map((r) => ({
    saleKey: r.sale_key,
    saleId: r.sale_id,
    state: r.state,
    result: r.result ? JSON.parse(r.result) : [],
    reason: r.reason,
  }));
}

const SETTLE_SALE = `UPDATE voucher_sales SET state = $2, backing = $3, reason = $4 WHERE sale_key = $1 AND state = 'queued'`;
export async function settleSale(
  tx: Queryable,
  saleKey: string,
  state: "issued" | "refused" | "rejected",
  backing: bigint | null,
  reason: string | null,
) {
  await tx.query(SETTLE_SALE, [saleKey, state, backing?.toString() ?? null, reason]);
}

export interface ConversionRecord {
  id: string;
  conversionId: string;
  userId: string;
  merchantId: string;
  vouchers: bigint;
  networkId: string;
  transactionId: string;
  operationId: string | null;
  state: "pending" | "submitted" | "confirmed" | "rejected";
  backing: bigint | null;
  points: bigint | null;
  reason: string | null;
  createdAt: Date;
}

interface ConversionRow {
  id: string;
  conversion_id: string;
  user_id: string;
  merchant_id: string;
  vouchers: string;
  network_id: string;
  transaction_id: string;
  operation_id: string | null;
  state: ConversionRecord["state"];
  backing: string | null;
  points: string | null;
  reason: string | null;
  created_at: Date | string;
}

const CONVERSION_COLUMNS = `c.id, c.conversion_id, c.user_id, c.merchant_id, c.vouchers::text AS vouchers,
  c.network_id, c.transaction_id, c.operation_id, c.state, c.backing::text AS backing, c.points::text AS points, c.reason, c.created_at`;

function toConversion(r: ConversionRow): ConversionRecord {
  return {
    id: r.id,
    conversionId: r.conversion_id,
    userId: r.user_id,
    merchantId: r.merchant_id,
    vouchers: BigInt(r.vouchers),
    networkId: r.network_id,
    transactionId: r.transaction_id,
    operationId: r.operation_id,
    state: r.state,
    backing: r.backing === null ? null : BigInt(r.backing),
    points: r.points === null ? null : BigInt(r.points),
    reason: r.reason,
    createdAt: new Date(r.created_at),
  };
}

const INSERT_CONVERSION = `INSERT INTO voucher_conversions (id, conversion_id, user_id, merchant_id, vouchers, network_id, transaction_id, state)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')`;
export async function insertConversion(
  tx: Queryable,
  c: Pick<ConversionRecord, "id" | "conversionId" | "userId" | "merchantId" | "vouchers" | "networkId" | "transactionId">,
): Promise<void> {
  await tx.query(INSERT_CONVERSION, [c.id, c.conversionId, c.userId, c.merchantId, c.vouchers.toString(), c.networkId, c.transactionId]);
}

const PENDING = `SELECT ${CONVERSION_COLUMNS} FROM voucher_conversions c
  WHERE c.state = 'pending' ORDER BY c.created_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED`;
/** Pending conversions, oldest first, locked for this transaction (another relayer skips them). */
export async function claimPendingConversions(tx: Queryable, limit: number): Promise<ConversionRecord[]> {
  return (await tx.query<ConversionRow>(PENDING, [limit])).map(toConversion);
}

const ATTACH = `UPDATE voucher_conversions SET operation_id = $2, state = 'submitted' WHERE id = ANY($1::text[])`;
export async function attachConversions(tx: Queryable, ids: readonly string[], operationId: string): Promise<void> {
  await tx.query(ATTACH, [ids, operationId]);
}

const REJECT = `UPDATE voucher_conversions SET state = 'rejected', reason = $2 WHERE id = ANY($1::text[])`;
export async function rejectConversions(tx: Queryable, ids: readonly string[], reason: string): Promise<void> {
  await tx.query(REJECT, [ids, reason]);
}

const SETTLED_CONVERSIONS = `SELECT ${CONVERSION_COLUMNS}, o.state AS op_state, o.result, o.reason AS op_reason
  FROM voucher_conversions c JOIN operations o ON o.id = c.operation_id
  WHERE c.state = 'submitted' AND o.state IN ('confirmed', 'rejected') LIMIT 1000`;
export async function conversionsToSettle(
  db: Queryable,
): Promise<(ConversionRecord & { opState: string; result: RecordedEvent[]; opReason: string | null })[]> {
  const rows = await db.query<ConversionRow & { op_state: string; result: string | null; op_reason: string | null }>(SETTLED_CONVERSIONS);
  return rows.map((r) => ({
    ...toConversion(r),
    opState: r.op_state,
    result: r.result ? JSON.parse(r.result) : [],
    opReason: r.op_reason,
  }));
}

const CONFIRM = `UPDATE voucher_conversions SET state = 'confirmed', backing = $2, points = $3 WHERE id = $1 AND state = 'submitted'`;
export async function confirmConversion(tx: Queryable, id: string, backing: bigint, points: bigint): Promise<void> {
  await tx.query(CONFIRM, [id, backing.toString(), points.toString()]);
}

const CONVERTING = `SELECT coalesce(sum(vouchers), 0)::text AS vouchers FROM voucher_conversions
  WHERE user_id = $1 AND state IN ('pending', 'submitted')`;
/** Vouchers released and not yet converted on the chain. */
export async function convertingVouchers(db: Queryable, userId: string): Promise<bigint> {
  const [r] = await db.query<{ vouchers: string }>(CONVERTING, [userId]);
  return BigInt(r.vouchers);
}

const OF_USER = `SELECT ${CONVERSION_COLUMNS} FROM voucher_conversions c
  WHERE c.user_id = $1 ORDER BY c.created_at DESC LIMIT $2`;
export async function conversionsOfUser(db: Queryable, userId: string, limit: number): Promise<ConversionRecord[]> {
  return (await db.query<ConversionRow>(OF_USER, [userId, limit])).map(toConversion);
}

const MERCHANT_SALES = `SELECT state, count(*)::int AS sales, coalesce(sum(amount), 0)::text AS amount
  FROM voucher_sales WHERE merchant_id = $1 GROUP BY state`;
/** A merchant's sales by state: how many, and the vouchers they asked for (none yet while awaiting). */
export async function salesOfMerchant(db: Queryable, merchantId: string): Promise<Record<string, { sales: number; amount: bigint }>> {
  const rows = await db.query<{ state: string; sales: number; amount: string }>(MERCHANT_SALES, [merchantId]);
  return Object.fromEntries(rows.map((r) => [r.state, { sales: Number(r.sales), amount: BigInt(r.amount) }]));
}
