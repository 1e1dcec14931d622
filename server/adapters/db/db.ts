/**
 * The database port. One SQL dialect (PostgreSQL's) serves PGlite, embedded in the data folder,
 * and a real PostgreSQL through `pg`. PGlite has one connection, so its transactions run one at
 * a time; on PostgreSQL, row locks and `FOR UPDATE SKIP LOCKED` let several relayers share it.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
