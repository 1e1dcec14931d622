/**
 * The operator's audit log (all its SQL): one row per operator action, general enough for any
 * action (issue 17 adds more): who (`actor`), what (`action`), to whom (`subject`, e.g.
 * `user:alice`), why (`reason`), the operation it queued, and the request's details as JSON.
 */
import type { Queryable } from "./db";

export interface AuditEntry {
  /** Its place in the log; the cursor counts down from it. */
  seq: bigint;
  actor: string;
  action: string;
  subject: string | null;
  operationId: string | null;
  reason: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

export type NewAuditEntry = Omit<AuditEntry, "seq" | "createdAt">;

interface AuditRow {
  seq: string | number | bigint;
  actor: string;
  action: string;
  subject: string | null;
  operation_id: string | null;
  reason: string | null;
  details: string;
  created_at: Date | string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  seq: BigInt(r.seq),
  actor: r.actor,
  action: r.action,
  subject: r.subject,
  operationId: r.operation_id,
  reason: r.reason,
  details: JSON.parse(r.details) as Record<string, unknown>,
  createdAt: new Date(r.created_at),
});

const COLUMNS = "seq, actor, action, subject, operation_id, reason, details, created_at";

const INSERT = `INSERT INTO audit_log (actor, action, subject, operation_id, reason, details) VALUES ($1, $2, $3, $4, $5, $6)
  RETURNING ${COLUMNS}`;
/** Appends an entry; called inside the transaction that does (or queues) what it records. */
export async function insertAuditEntry(db: Queryable, e: NewAuditEntry): Promise<AuditEntry> {
  const [row] = await db.query<AuditRow>(INSERT, [e.actor, e.action, e.subject, e.operationId, e.reason, JSON.stringify(e.details)]);
  return toEntry(row);
}

export interface AuditQuery {
  /** Entries older than this one (the previous page's cursor); the newest when absent. */
  before?: bigint;
  action?: string;
  subject?: string;
  limit: number;
}

const LIST = `SELECT ${COLUMNS} FROM audit_log
  WHERE ($1::bigint IS NULL OR seq < $1::bigint) AND ($2::text IS NULL OR action = $2::text) AND ($3::text IS NULL OR subject = $3::text)
  ORDER BY seq DESC LIMIT $4`;
/** Newest first, at most `limit`. */
export async function listAuditEntries(db: Queryable, q: AuditQuery): Promise<AuditEntry[]> {
  const rows = await db.query<AuditRow>(LIST, [q.before?.toString() ?? null, q.action ?? null, q.subject ?? null, q.limit]);
  return rows.map(toEntry);
}
