import type { Db, Queryable } from "./db";
import { AppError } from "../../errors";

export interface IdempotentReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const CLAIM_KEY = `INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3)
  ON CONFLICT (scope, key) DO NOTHING RETURNING key`;
const READ_KEY = "SELECT fingerprint, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2";
const SAVE_REPLY = "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2";

/**
 * The answer stored for `(scope, key)`, to replay without doing a request's slow work again; null
 * when the key is new. The same key with a different request is refused.
 */
export async function storedReply(
  db: Queryable,
  request: { scope: string; key: string; fingerprint: string },
): Promise<IdempotentReply | null> {
  const [row] = await db.query<{ fingerprint: string; status: number | null; response: string | null }>(READ_KEY, [
    request.scope,
    request.key,
  ]);
  if (!row) return null;
  if (row.fingerprint !== request.fingerprint) {
    throw new AppError("IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used before for a different request", { key: request.key });
  }
  return row.response === null ? null : { status: row.status!, body: JSON.parse(row.response), headers: { "Idempotent-Replayed": "true" } };
}

/**
 * Runs `work` once per `(scope, key)`: the key, the change and the answer commit together in one
 * transaction, so a retry after any failure either replays the stored answer or runs afresh, and
 * never half of both. A concurrent duplicate waits on the key's row and then replays. The same key
 * with a different request is refused.
 */
export async function withIdempotency(
  db: Db,
  request: { scope: string; key: string; fingerprint: string },
  work: (tx: Queryable) => Promise<IdempotentReply>,
): Promise<IdempotentReply> {
  return db.transaction(async (tx) => {
    const claimed = await tx.query(CLAIM_KEY, [request.scope, request.key, request.fingerprint]);
    if (claimed.length === 0) {
      const [row] = await tx.query<{ fingerprint: string; status: number; response: string }>(READ_KEY, [request.scope, request.key]);
      if (row.fingerprint !== request.fingerprint) {
        throw new AppError("IDEMPOTENCY_CONFLICT", "this Idempotency-Key was used before for a different request", { key: request.key });
      }
      return { status: row.status, body: JSON.parse(row.response), headers: { "Idempotent-Replayed": "true" } };
    }
    const reply = await work(tx);
    await tx.query(SAVE_REPLY, [request.scope, request.key, reply.status, JSON.stringify(reply.body)]);
    return reply;
  });
}
