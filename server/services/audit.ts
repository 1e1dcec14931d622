/**
 * The audit log's entries of the operator's and merchants' actions (shops, merchants, keys, staff,
 * and those that queue an operation, named with it): written in the caller's transaction where
 * the route has one, so the action and its entry land together.
 */
import type { Queryable } from "../adapters/db/db";
import { insertAuditEntry } from "../adapters/db/audit";

/** Records that `actor` (http/callers.ts `actorOf`) did `action` to `subject`. */
export async function recordAction(
  db: Queryable,
  actor: string,
  action: string,
  subject: string,
  details: Record<string, unknown> = {},
  also: { operationId?: string; reason?: string } = {},
): Promise<void> {
  await insertAuditEntry(db, { actor, action, subject, operationId: also.operationId ?? null, reason: also.reason ?? null, details });
}
