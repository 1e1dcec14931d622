/**
 * What the operator's dashboard counts in the relayer's own records (the chain's figures are in
 * pool-index.ts): members, the registered accounts (users), and the orders shops sent.
 */
import type { Queryable } from "./db";

const MEMBERS_AT = "SELECT count(*)::text AS n FROM users WHERE created_at <= to_timestamp($1)";

/** The accounts registered at or before `time` (unix seconds). */
export async function membersAt(db: Queryable, time: number): Promise<bigint> {
  const [row] = await db.query<{ n: string }>(MEMBERS_AT, [time]);
  return BigInt(row.n);
}

// A rejected order minted nothing (too small, past the cap, refused by a limit): not counted.
const ORDERS_BETWEEN = `SELECT count(*)::text AS n FROM orders
  WHERE created_at > to_timestamp($1) AND created_at <= to_timestamp($2) AND state <> 'rejected'`;

/** The orders received after `from` and at or before `to` (unix seconds), the rejected ones left out. */
export async function ordersBetween(db: Queryable, from: number, to: number): Promise<bigint> {
  const [row] = await db.query<{ n: string }>(ORDERS_BETWEEN, [from, to]);
  return BigInt(row.n);
}
