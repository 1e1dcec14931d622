import { PGlite } from "@electric-sql/pglite";
import type { Db, Queryable } from "./db";

/** PGlite in `dataDir` (or in memory when null): PostgreSQL in-process, kept on disk. */
export async function openPglite(dataDir: string | null): Promise<Db> {
  const pglite = dataDir ? new PGlite(dataDir) : new PGlite();
  await pglite.waitReady;
  const query = async <T>(runner: { query: PGlite["query"] }, sql: string, params?: readonly unknown[]) =>
    (await runner.query<T>(sql, params as unknown[])).rows;
  return {
    kind: "pglite",
    query: (sql, params) => query(pglite, sql, params),
    transaction: (work) => pglite.transaction((tx) => work({ query: (sql, params) => query(tx, sql, params) } as Queryable)),
    close: () => pglite.close(),
  };
}
