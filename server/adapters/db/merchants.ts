import type { Queryable } from "./db";

export interface MerchantRecord {
  id: string;
  name: string;
  /** The merchant's custodial account id on the chain. */
  account: string;
  createdAt: Date;
  /** When the operator suspended it (no payments to it, no ad orders naming it); null while it is active. */
  suspendedAt: Date | null;
  suspensionReason: string | null;
}

interface MerchantRow {
  id: string;
  name: string;
  account: string;
  created_at: Date | string;
  suspended_at: Date | string | null;
  suspension_reason: string | null;
}

const toRecord = (r: MerchantRow): MerchantRecord => ({
  id: r.id,
  name: r.name,
  account: r.account,
  createdAt: new Date(r.created_at),
  suspendedAt: r.suspended_at === null ? null : new Date(r.suspended_at),
  suspensionReason: r.suspension_reason,
});

const MERCHANT_COLUMNS = "id, name, account, created_at, suspended_at, suspension_reason";

const INSERT = "INSERT INTO merchants (id, name, account) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id";
/** False when a merchant has this name already. */
export async function insertMerchant(db: Queryable, m: Pick<MerchantRecord, "id" | "name" | "account">): Promise<boolean> {
  return (await db.query(INSERT, [m.id, m.name, m.account])).length > 0;
}

const FIND = `SELECT ${MERCHANT_COLUMNS} FROM merchants WHERE id = $1`;
export async function findMerchant(db: Queryable, id: string): Promise<MerchantRecord | null> {
  const [row] = await db.query<MerchantRow>(FIND, [id]);
  return row ? toRecord(row) : null;
}

const LIST = `SELECT ${MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id`;
export async function listMerchants(db: Queryable): Promise<MerchantRecord[]> {
  return (await db.query<MerchantRow>(LIST)).map(toRecord);
}

const SUSPEND = `UPDATE merchants SET suspended_at = now(), suspension_reason = $2 WHERE id = $1 AND suspended_at IS NULL
  RETURNING ${MERCHANT_COLUMNS}`;
const RESUME = `UPDATE merchants SET suspended_at = NULL, suspension_reason = NULL WHERE id = $1 AND suspended_at IS NOT NULL
  RETURNING ${MERCHANT_COLUMNS}`;
/** Suspends (`reason` given) or resumes (null) the merchant; null when it was so already (or does not exist). */
export async function setMerchantSuspension(db: Queryable, id: string, reason: string | null): Promise<MerchantRecord | null> {
  const [row] = await db.query<MerchantRow>(reason === null ? RESUME : SUSPEND, reason === null ? [id] : [id, reason]);
  return row ? toRecord(row) : null;
}

const INSERT_KEY = "INSERT INTO merchant_keys (id, merchant_id, key_hash) VALUES ($1, $2, $3)";
export async function insertMerchantKey(db: Queryable, k: { id: string; merchantId: string; keyHash: string }): Promise<void> {
  await db.query(INSERT_KEY, [k.id, k.merchantId, k.keyHash]);
}

const FIND_KEY = "SELECT merchant_id, key_hash FROM merchant_keys WHERE id = $1 AND revoked_at IS NULL";
/** The live key `id`: its merchant and the hash to compare with. */
export async function findMerchantKey(db: Queryable, id: string): Promise<{ merchantId: string; keyHash: string } | null> {
  const [row] = await db.query<{ merchant_id: string; key_hash: string }>(FIND_KEY, [id]);
  return row ? { merchantId: row.merchant_id, keyHash: row.key_hash } : null;
}

const REVOKE_KEY = "UPDATE merchant_keys SET revoked_at = now() WHERE id = $1 AND merchant_id = $2 AND revoked_at IS NULL RETURNING id";
/** False when the merchant has no such live key. */
export async function revokeMerchantKey(db: Queryable, merchantId: string, keyId: string): Promise<boolean> {
  return (await db.query(REVOKE_KEY, [keyId, merchantId])).length > 0;
}

const LIST_KEYS = "SELECT id, created_at, revoked_at FROM merchant_keys WHERE merchant_id = $1 ORDER BY created_at, id";
export async function listMerchantKeys(
  db: Queryable,
  merchantId: string,
): Promise<{ keyId: string; createdAt: Date; revokedAt: Date | null }[]> {
  const rows = await db.query<{ id: string; created_at: Date | string; revoked_at: Date | string | null }>(LIST_KEYS, [merchantId]);
  return rows.map((r) => ({
    keyId: r.id,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  }));
}
