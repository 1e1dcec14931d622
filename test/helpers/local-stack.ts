/**
 * A chain and a database for tests that drive services without HTTP: anvil with the embedded
 * deployment (the modules' contracts included) in a fresh temporary folder, and an in-memory PGlite
 * with the schema.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "../../server/adapters/chain/anvil";
import { type ChainPort, connectChain } from "../../server/adapters/chain/chain";
import { ensureLocalDeployment } from "../../server/adapters/chain/local-deployment";
import type { Db } from "../../server/adapters/db/db";
import { migrate } from "../../server/adapters/db/migrations";
import { openPglite } from "../../server/adapters/db/pglite";
import { MODULE_DEPLOYMENTS } from "../../server/modules";
import { freePort } from "./net";

export interface LocalStack {
  dir: string;
  anvil: EmbeddedChain;
  chain: ChainPort;
  db: Db;
}

/** Starts anvil in a new temporary folder named from `prefix`, deploys, and opens a migrated PGlite. */
export async function startLocalStack(prefix: string): Promise<LocalStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const anvil = await startAnvil({ port: await freePort(), stateFile: path.join(dir, "chain", "state.json") });
  const { deployments } = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, path.join(dir, "deployments.json"), {
    modules: MODULE_DEPLOYMENTS,
  });
  const chain = connectChain(anvil.url, ANVIL_DEV_KEY, deployments);
  const db = await openPglite(null);
  await migrate(db);
  return { dir, anvil, chain, db };
}

/** Closes what `startLocalStack` opened (whatever of it was opened) and removes its folder. */
export async function stopLocalStack(stack: Partial<LocalStack>): Promise<void> {
  stack.chain?.close();
  await stack.db?.close();
  await stack.anvil?.stop();
  if (stack.dir) fs.rmSync(stack.dir, { recursive: true, force: true });
}
