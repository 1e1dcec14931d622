import type { Queryable } from "./db";
import { emitOperationEvents } from "./notifications";

export type OperationState = "queued" | "submitted" | "confirmed" | "rejected";

/** The contract an operation calls: its `target` in the chain port's registry (custody, pool, points, settlement, a module's). */
export type OperationTarget = string;

export interface OperationRecord {
  id: string;
  kind: string;
  /** Who asked: `user:<id>`, `merchant:<id>`, `admin`, `shop:<id>` or `relay`. */
  actor: string;
  /** The custodial account the operation debits or changes, when there is one. */
  account: string | null;
  /** The custodial account it credits (a transfer's receiver, a paid merchant). */
  counterparty: string | null;
  /** The custody's request id: its exactly-once key on the chain. */
  requestId: string | null;
  target: OperationTarget;
  /** Encoded when queued; null for kinds whose call depends on the chain when sent. */
  calldata: string | null;
  /** The request in people's units (decimal strings), for views and statements. */
  details: Record<string, string>;
  state: OperationState;
  transactionId: string | null;
  txHash: string | null;
  /** The events the transaction emitted, once confirmed. */
  result: { name: string; args: Record<string, string> }[] | null;
  reason: string | null;
  createdAt: Date;
}

interface OperationRow {
  id: string;
  kind: string;
  actor: string;
  account: string | null;
  counterparty: string | null;
  request_id: string | null;
  target: OperationTarget;
  calldata: string | null;
  details: string;
  state: OperationState;
  transaction_id: string | number | null;
  tx_hash: string | null;
  result: string | null;
  reason: string | null;
  created_at: Date | string;
}

const COLUMNS =
  "id, kind, actor, account, counterparty, request_id, target, calldata, details, state, transaction_id, tx_hash, result, reason, created_at";

function toRecord(r: OperationRow): OperationRecord {
  return {
    id: r.id,
    kind: r.kind,
    actor: r.actor,
    account: r.account,
    counterparty: r.counterparty,
    requestId: r.request_id,
    target: r.target,
    calldata: r.calldata,
    details: JSON.parse(r.details) as Record<string, string>,
    state: r.state,
    transactionId: r.transaction_id === null ? null : String(r.transaction_id),
    txHash: r.tx_hash,
    result: r.result === null ? null : (JSON.parse(r.result) as OperationRecord["result"]),
    reason: r.reason,
    createdAt: new Date(r.created_at),
  };
}

export type NewOperation = Pick<
  OperationRecord,
  "id" | "kind" | "actor" | "account" | "counterparty" | "requestId" | "target" | "calldata" | "details"
> & {
  /** The gas the call is estimated to use: kept for relayed signatures, whose gas is capped per user. */
  gasEstimate?: bigint | null;
  /** The relayer key that alone may send it (a refill of that relayer's own settlement float); any when absent. */
  sentBy?: string | null;
};

const INSERT = `INSERT INTO operations (id, kind, actor, account, counterparty, request_id, target, calldata, details, gas_estimate, sent_by, state)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued') RETURNING ${COLUMNS}`;
const insertValues = (op: NewOperation) => [
  op.id,
  op.kind,
  op.actor,
  op.account,
  op.counterparty,
  op.requestId,
  op.target,
  op.calldata,
  JSON.stringify(op.details),
  op.gasEstimate?.toString() ?? null,
  op.sentBy ?? null,
];

export async function insertOperation(db: Queryable, op: NewOperation): Promise<OperationRecord> {
  const [row] = await db.query<OperationRow>(INSERT, insertValues(op));
  return toRecord(row);
}

const INSERT_SIGNED = `INSERT INTO operations (id, kind, actor, account, counterparty, request_id, target, calldata, details, gas_estimate, sent_by, state)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued') ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`;
/**
 * Records a relayed signed request; null when another request over the same (contract, owner,
 * nonce) is queued, sent or confirmed (a unique index: two at once cannot both be recorded).
 */
export async function insertSignedOperation(db: Queryable, op: NewOperation): Promise<OperationRecord | null> {
  const [row] = await db.query<OperationRow>(INSERT_SIGNED, insertValues(op));
  return row ? toRecord(row) : null;
}

const OTHER_OF_TX = "SELECT 1 FROM operations WHERE tx_hash = $1 AND id <> $2 AND state = 'confirmed' LIMIT 1";
/** Whether another confirmed operation is settled by the transaction `txHash`. */
export async function otherOperationOfTransaction(db: Queryable, txHash: string, operationId: string): Promise<boolean> {
  return (await db.query(OTHER_OF_TX, [txHash, operationId])).length > 0;
}

const FIND = `SELECT ${COLUMNS} FROM operations WHERE id = $1`;
export async function findOperation(db: Queryable, id: string): Promise<OperationRecord | null> {
  const [row] = await db.query<OperationRow>(FIND, [id]);
  return row ? toRecord(row) : null;
}

const CLAIM_QUEUED = `SELECT ${COLUMNS} FROM operations WHERE state = 'queued' AND (sent_by IS NULL OR sent_by = $2)
  AND NOT EXISTS (SELECT 1 FROM operations older JOIN transactions t ON t.id = older.transaction_id
    WHERE older.state = 'submitted' AND t.sender <> $2 AND older.seq < operations.seq)
  ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`;
/**
 * Queued operations, oldest first, locked for this transaction; other relayers skip them, and
 * leave one bound to another relayer key (the refill of that relayer's own float). None while an
 * older one is in flight under another key: nonces order one key's transactions, not two keys',
 * and an operation may rely on the one before it (a merchant flagged, then paid).
 */
export async function claimQueued(tx: Queryable, limit: number, sender: string): Promise<OperationRecord[]> {
  return (await tx.query<OperationRow>(CLAIM_QUEUED, [limit, sender])).map(toRecord);
}

const OLDER_UNSETTLED = `SELECT 1 FROM operations WHERE state IN ('queued', 'submitted') AND (sent_by IS NULL OR sent_by = $2)
  AND seq < (SELECT seq FROM operations WHERE id = $1) LIMIT 1`;
/**
 * Whether an operation older than `op` is still queued (another relayer process may hold it) or
 * in flight: a refusal of `op` on the pending state may then be only that its predecessor has not
 * applied yet, so it is not final.
 */
export async function olderOperationUnsettled(tx: Queryable, op: OperationRecord, sender: string): Promise<boolean> {
  return (await tx.query(OLDER_UNSETTLED, [op.id, sender])).length > 0;
}

const OF_TRANSACTION = `SELECT ${COLUMNS} FROM operations WHERE transaction_id = $1`;
export async function operationsOfTransaction(db: Queryable, transactionId: string): Promise<OperationRecord[]> {
  return (await db.query<OperationRow>(OF_TRANSACTION, [transactionId])).map(toRecord);
}

const MARK_SUBMITTED = `UPDATE operations SET state = 'submitted', calldata = $2, transaction_id = $3, tx_hash = $4, updated_at = now() WHERE id = $1`;
export async function markOperationSubmitted(
  tx: Queryable,
  id: string,
  calldata: string,
  transactionId: string,
  txHash: string,
): Promise<void> {
  await tx.query(MARK_SUBMITTED, [id, calldata, transactionId, txHash]);
}

const MARK_CONFIRMED = `UPDATE operations SET state = 'confirmed', result = $2, tx_hash = COALESCE($3, tx_hash), reason = NULL,
  gas_used = COALESCE($4, gas_used), updated_at = now() WHERE id = $1`;
/** Confirmed, with the gas its receipt shows (null when settled from the chain without one). */
export async function markOperationConfirmed(
  tx: Queryable,
  id: string,
  result: OperationRecord["result"],
  txHash: string | null,
  gasUsed: bigint | null = null,
): Promise<void> {
  await tx.query(MARK_CONFIRMED, [id, JSON.stringify(result ?? []), txHash, gasUsed?.toString() ?? null]);
  // Its notifications (a payment to a merchant, a merchant's redemption), in the same transaction.
  await emitOperationEvents(tx, id);
}

const MARK_REJECTED = `UPDATE operations SET state = 'rejected', reason = $2, gas_used = COALESCE($3, gas_used), updated_at = now() WHERE id = $1`;
/** Rejected; `gasUsed` when its transaction was mined and reverted, which spent the gas all the same. */
export async function markOperationRejected(tx: Queryable, id: string, reason: string, gasUsed: bigint | null = null): Promise<void> {
  await tx.query(MARK_REJECTED, [id, reason, gasUsed?.toString() ?? null]);
}

const REQUEUE = `UPDATE operations SET state = 'queued', transaction_id = NULL, tx_hash = NULL, updated_at = now() WHERE id = $1`;
/** Back to the queue: its transaction never reached the chain (or its block was lost). */
export async function requeueOperation(tx: Queryable, id: string): Promise<void> {
  await tx.query(REQUEUE, [id]);
}

const OF_ACCOUNT = `SELECT ${COLUMNS} FROM operations
  WHERE (account = $1 OR counterparty = $1)
    AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
  ORDER BY seq LIMIT $4`;
/** The operations that debit or credit `account`, oldest first. */
export async function operationsOfAccount(
  db: Queryable,
  account: string,
  window: { from?: Date; to?: Date; limit: number },
): Promise<OperationRecord[]> {
  const rows = await db.query<OperationRow>(OF_ACCOUNT, [account, window.from ?? null, window.to ?? null, window.limit]);
  return rows.map(toRecord);
}

const PAYMENTS_TO = `SELECT ${COLUMNS} FROM operations
  WHERE counterparty = $1 AND kind = 'pay-merchant'
    AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
    AND ($4::text IS NULL OR state = $4) AND ($5::text IS NULL OR (details::jsonb) ->> 'asset' = $5)
  ORDER BY seq DESC LIMIT $6`;
/** The payments made to the merchant account `account`, in any state, newest first. */
export async function paymentsToAccount(
  db: Queryable,
  account: string,
  filter: { from?: Date; to?: Date; state?: OperationState; asset?: string; limit: number },
): Promise<OperationRecord[]> {
  const rows = await db.query<OperationRow>(PAYMENTS_TO, [
    account,
    filter.from ?? null,
    filter.to ?? null,
    filter.state ?? null,
    filter.asset ?? null,
    filter.limit,
  ]);
  return rows.map(toRecord);
}

const LIST = `SELECT ${COLUMNS} FROM operations
  WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR account = $3 OR counterparty = $3)
    AND ($4::text IS NULL OR id = $4) AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)
  ORDER BY seq DESC LIMIT $7`;
/** The newest operations, filtered by kind, state, the account on either side, id and when queued (`from` included, `to` excluded). */
export async function listOperations(
  db: Queryable,
  filter: { kind?: string; state?: OperationState; account?: string; operationId?: string; from?: Date; to?: Date; limit: number },
): Promise<OperationRecord[]> {
  const rows = await db.query<OperationRow>(LIST, [
    filter.kind ?? null,
    filter.state ?? null,
    filter.account ?? null,
    filter.operationId ?? null,
    filter.from ?? null,
    filter.to ?? null,
    filter.limit,
  ]);
  return rows.map(toRecord);
}

const PENDING_REGISTRATIONS = `SELECT DISTINCT account FROM operations WHERE kind = 'register' AND state IN ('queued', 'submitted')`;
/** Accounts whose registration (with a referrer) is not on the chain yet: their orders wait for it. */
export async function pendingRegistrations(db: Queryable): Promise<Set<string>> {
  return new Set((await db.query<{ account: string }>(PENDING_REGISTRATIONS)).map((r) => r.account));
}

const RELAYED_GAS_SINCE = `SELECT COALESCE(SUM(CASE WHEN state = 'rejected' THEN COALESCE(gas_used, 0) ELSE COALESCE(gas_used, gas_estimate) END), 0)::text AS gas
  FROM operations WHERE actor = $1 AND gas_estimate IS NOT NULL AND created_at >= $2`;
/**
 * The gas of `actor`'s relayed signatures since `since`: what the receipts show for those mined
 * (reverted ones too), the estimate for those not mined yet; nothing for those never sent.
 */
export async function relayedGasSince(db: Queryable, actor: string, since: Date): Promise<bigint> {
  const [row] = await db.query<{ gas: string }>(RELAYED_GAS_SINCE, [actor, since]);
  return BigInt(row.gas);
}

/** Serialises one actor's relays (their gas count and queueing) until the transaction ends, across relayer processes. */
export async function lockRelayActor(tx: Queryable, actor: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`relay:${actor}`]);
}

/** Serialises the queueing of settlement refills until the transaction ends, across relayer processes. */
export async function lockSettlementRefill(tx: Queryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('settlement-refill'))");
}

const REFILL_REFUSED = `SELECT 1 FROM operations WHERE kind IN ('settlement-refill', 'settlement-approve')
  AND (sent_by IS NULL OR sent_by = $1) AND state = 'rejected' AND updated_at > now() - interval '1 minute' LIMIT 1`;
/** Whether the chain refused a refill of this relayer's settlement in the last minute (the treasury's budget spent). */
export async function settlementRefillRefusedLately(db: Queryable, sender: string): Promise<boolean> {
  return (await db.query(REFILL_REFUSED, [sender])).length > 0;
}

const REFILL_PENDING = `SELECT 1 FROM operations WHERE kind IN ('settlement-refill', 'settlement-approve') AND (sent_by IS NULL OR sent_by = $1)
  AND (state IN ('queued', 'submitted') OR (state = 'rejected' AND updated_at > now() - interval '1 minute')) LIMIT 1`;
/** Whether a refill of this relayer's settlement is on its way, or was refused in the last minute (not asked again so soon). */
export async function settlementRefillPending(db: Queryable, sender: string): Promise<boolean> {
  return (await db.query(REFILL_PENDING, [sender])).length > 0;
}

const COUNT_BY_STATE = "SELECT state, count(*)::int AS n FROM operations GROUP BY state";
/** How many operations are in each state (the metrics and the relayer's status). */
export async function countOperationsByState(db: Queryable): Promise<Record<OperationState, number>> {
  const counts: Record<OperationState, number> = { queued: 0, submitted: 0, confirmed: 0, rejected: 0 };
  for (const row of await db.query<{ state: OperationState; n: number }>(COUNT_BY_STATE)) counts[row.state] = row.n;
  return counts;
}
