/**
 * A schema of its own in the PostgreSQL of DATABASE_URL, so a relayer under test sees only its
 * own orders and transactions; dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Db } from "../../server/adapters/db/db";
import { openPostgres } from "../../server/adapters/db/postgres";

export async function freshSchema(databaseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `gp_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** A database of its own in the PostgreSQL of `databaseUrl` (a fresh schema), and how to close and drop it. */
export async function freshPostgresDb(databaseUrl: string): Promise<{ db: Db; close(): Promise<void> }> {
  const schema = await freshSchema(databaseUrl);
  const db = await openPostgres(schema.url);
  return {
    db,
    close: async () => {
      await db.close();
      await schema.drop();
    },
  };
}
