import type { Queryable } from "./db";

export type TransactionState = "sent" | "mined" | "confirmed" | "abandoned";
/** A transaction of order mints, or of one operation (a custodial move, an admin change, a relayed request). */
export type TransactionKind = "orders" | "operation";

export interface TransactionRecord {
  id: string;
  kind: TransactionKind;
  sender: string;
  nonce: number;
  txHash: string;
  rawTx: string;
  state: TransactionState;
  blockNumber: number | null;
  blockHash: string | null;
  sentAt: Date;
}

interface TransactionRow {
  id: string | number;
  kind: TransactionKind;
  sender: string;
  nonce: string | number;
  tx_hash: string;
  raw_tx: string;
  state: TransactionState;
  block_number: string | number | null;
  block_hash: string | null;
  sent_at: Date | string;
}

function toRecord(r: TransactionRow): TransactionRecord {
  return {
    id: String(r.id),
    kind: r.kind,
    sender: r.sender,
    nonce: Number(r.nonce),
    txHash: r.tx_hash,
    rawTx: r.raw_tx,
    state: r.state,
    blockNumber: r.block_number === null ? null : Number(r.block_number),
    blockHash: r.block_hash,
    sentAt: new Date(r.sent_at),
  };
}

const INSERT_TRANSACTION = `INSERT INTO transactions (sender, nonce, tx_hash, raw_tx, state, kind) VALUES ($1, $2, $3, $4, 'sent', $5)
  RETURNING id, kind, sender, nonce, tx_hash, raw_tx, state, block_number, block_hash, sent_at`;
/** Records the signed transaction before it is broadcast: the intent survives a crash. */
export async function insertTransaction(
  tx: Queryable,
  b: { sender: string; nonce: number; txHash: string; rawTx: string; kind?: TransactionKind },
) {
  const [row] = await tx.query<TransactionRow>(INSERT_TRANSACTION, [b.sender, b.nonce, b.txHash, b.rawTx, b.kind ?? "orders"]);
  return toRecord(row);
}

const REPLACE_TX = "UPDATE transactions SET tx_hash = $2, raw_tx = $3, sent_at = now(), updated_at = now() WHERE id = $1";
/** The same nonce, signed again with a higher fee. */
export async function replaceTransaction(tx: Queryable, id: string, txHash: string, rawTx: string): Promise<void> {
  await tx.query(REPLACE_TX, [id, txHash, rawTx]);
}

const SET_STATE = "UPDATE transactions SET state = $2, block_number = $3, block_hash = $4, updated_at = now() WHERE id = $1";
export async function setTransactionState(
  tx: Queryable,
  id: string,
  state: TransactionState,
  block: { number: number; hash: string } | null,
): Promise<void> {
  await tx.query(SET_STATE, [id, state, block?.number ?? null, block?.hash ?? null]);
}

const SELECT = "SELECT id, kind, sender, nonce, tx_hash, raw_tx, state, block_number, block_hash, sent_at FROM transactions";

const OPEN_TRANSACTIONS = `${SELECT} WHERE sender = $1 AND state IN ('sent', 'mined') ORDER BY nonce`;
/** The transactions `sender` signed that are not settled yet, by nonce. */
export async function openTransactions(db: Queryable, sender: string): Promise<TransactionRecord[]> {
  return (await db.query<TransactionRow>(OPEN_TRANSACTIONS, [sender])).map(toRecord);
}

const RECENT_CONFIRMED = `${SELECT} WHERE sender = $2 AND state = 'confirmed' AND block_number >= $1 ORDER BY block_number`;
/** `sender`'s confirmed transactions from `fromBlock` on, whose blocks are checked against the chain for reorgs. */
export async function recentConfirmed(db: Queryable, fromBlock: number, sender: string): Promise<TransactionRecord[]> {
  return (await db.query<TransactionRow>(RECENT_CONFIRMED, [fromBlock, sender])).map(toRecord);
}

const LOCK_OPEN = `${SELECT} WHERE id = $1 AND state IN ('sent', 'mined') FOR UPDATE SKIP LOCKED`;
const LOCK_CONFIRMED = `${SELECT} WHERE id = $1 AND state = 'confirmed' FOR UPDATE SKIP LOCKED`;
/**
 * The transaction, locked until this database transaction ends, if it is still open (sent or
 * mined) or still confirmed, as asked; null when it has moved on or another relayer process
 * sharing the key is dealing with it now.
 */
export async function lockTransaction(tx: Queryable, id: string, state: "open" | "confirmed"): Promise<TransactionRecord | null> {
  const [row] = await tx.query<TransactionRow>(state === "open" ? LOCK_OPEN : LOCK_CONFIRMED, [id]);
  return row ? toRecord(row) : null;
}

const INIT_NONCE = "INSERT INTO nonces (sender, next_nonce) VALUES ($1, 0) ON CONFLICT (sender) DO NOTHING";
const LOCK_NONCE = "SELECT next_nonce FROM nonces WHERE sender = $1 FOR UPDATE";
const IN_FLIGHT = "SELECT count(*)::int AS n FROM transactions WHERE sender = $1 AND state IN ('sent', 'mined')";
const BUMP_NONCE = "UPDATE nonces SET next_nonce = $2 WHERE sender = $1";
/**
 * The next nonce of `sender`, allocated under a row lock held until the transaction that records
 * the signed transaction commits, so two relayer processes sharing a key never take the same one.
 * What is in flight and the chain's count are read only once the lock is held: read before, they
 * could miss a transaction the other process committed meanwhile. With nothing of ours in flight,
 * the chain's count is exact (it may even have gone back, when the embedded chain lost blocks);
 * otherwise our counter runs ahead of what the node has seen.
 */
export async function allocateNonce(tx: Queryable, sender: string, chainNonce: () => Promise<number>): Promise<number> {
  await tx.query(INIT_NONCE, [sender]);
  const [row] = await tx.query<{ next_nonce: string | number }>(LOCK_NONCE, [sender]);
  const [{ n: inFlight }] = await tx.query<{ n: number }>(IN_FLIGHT, [sender]);
  const counted = await chainNonce();
  const nonce = inFlight > 0 ? Math.max(Number(row.next_nonce), counted) : counted;
  await tx.query(BUMP_NONCE, [sender, nonce + 1]);
  return nonce;
}

const MAX_IN_FLIGHT = "SELECT max(nonce) AS n FROM transactions WHERE sender = $1 AND state IN ('sent', 'mined')";
/**
 * After a lost block (reorg), the chain's count is the truth again, but never below a nonce still
 * in flight (it is sent again). The nonce lock is taken before the chain is asked, as in
 * allocateNonce: another process sharing the key may be recording a transaction meanwhile.
 */
export async function resetNonce(tx: Queryable, sender: string, chainNonce: () => Promise<number>): Promise<void> {
  await tx.query(INIT_NONCE, [sender]);
  await tx.query(LOCK_NONCE, [sender]);
  const [{ n }] = await tx.query<{ n: string | number | null }>(MAX_IN_FLIGHT, [sender]);
  const counted = await chainNonce();
  await tx.query(BUMP_NONCE, [sender, n === null ? counted : Math.max(counted, Number(n) + 1)]);
}
