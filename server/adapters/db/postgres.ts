import pg from "pg";
import { AppError } from "../../errors";
import type { Db, Queryable } from "./db";

/**
 * The database is unavailable rather than refusing when the error did not come from the server
 * (no SQLSTATE severity: the connection failed) or the server says it cannot serve (class 08,
 * connection exceptions; 57P01-57P03, shutting down or starting). Surfaced as UNAVAILABLE: a
 * retry can succeed.
 */
function unavailable(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const e = error as { severity?: string; code?: string };
  const serverCannotServe = typeof e?.code === "string" && (e.code.startsWith("08") || /^57P0[123]$/.test(e.code));
  if (e?.severity && !serverCannotServe) return error;
  return new AppError("UNAVAILABLE", "the database does not answer", undefined, { cause: error });
}

/** A real PostgreSQL through a `pg` pool. */
export async function openPostgres(url: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  // A connection that drops (idle or checked out) is dropped from the pool; the query using it,
  // or the next one, reports the outage. Without these listeners the drop would crash the process.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  const run = async (client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    try {
      return (await client.query(sql, params as unknown[])).rows;
    } catch (error) {
      throw unavailable(error);
    }
  };
  await run(pool, "SELECT 1");
  return {
    kind: "postgres",
    query: (sql, params) => run(pool, sql, params),
    transaction: async (work) => {
      const client = await pool.connect().catch((error) => {
        throw unavailable(error);
      });
      let failed = false;
      try {
        await run(client, "BEGIN");
        const tx: Queryable = { query: (sql, params) => run(client, sql, params) };
        const result = await work(tx);
        await run(client, "COMMIT");
        return result;
      } catch (error) {
        failed = true;
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        // After a failure the connection may be broken: close it rather than hand it out again.
        client.release(failed);
      }
    },
    close: () => pool.end(),
  };
}
