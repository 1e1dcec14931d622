/**
 * A relayer on a fresh PostgreSQL schema reached through a TCP proxy the test can cut and restore:
 * the database going away under a running relayer, and coming back. Needs DATABASE_URL.
 */
import { openPostgres } from "../../server/adapters/db/postgres";
import { freshSchema } from "./postgres";
import { type TestRelayer, startTestRelayer } from "./relayer";
import { startTcpProxy } from "./tcp-proxy";

export interface RelayerBehindCuttableDatabase {
  relayer: TestRelayer;
  proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  /** Stops the relayer, closes its database, the proxy, and drops the schema. */
  close(): Promise<void>;
}

export async function relayerBehindCuttableDatabase(databaseUrl: string): Promise<RelayerBehindCuttableDatabase> {
  const schema = await freshSchema(databaseUrl);
  const target = new URL(schema.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(schema.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  const relayer = await startTestRelayer({ db: await openPostgres(viaProxy.toString()) });
  return {
    relayer,
    proxy,
    async close() {
      await relayer.stop();
      await relayer.db.close();
      await proxy.close();
      await schema.drop();
    },
  };
}
