/**
 * `server/main.ts` as its own process, the way `npm start` runs it, for the tests that kill it.
 * Its embedded anvil is a child process whose pid is kept beside the chain state; given RPC_URL
 * (with RELAYER_PRIVATE_KEY and DEPLOYMENTS_FILE) it starts none and uses that chain.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "./net";

const ROOT = path.resolve(__dirname, "..", "..");

export interface RelayerProcess {
  url: string;
  adminToken: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | string>;
  /** The embedded anvil's pid, from the pid file; null on an external chain (RPC_URL). */
  anvilPid(): number | null;
}

/** Settings of the test process that must reach the child only when the test gives them. */
const OWN_SETTINGS = ["DATABASE_URL", "RPC_URL", "RELAYER_PRIVATE_KEY", "DEPLOYMENTS_FILE"];

export async function startRelayerProcess(dataDir: string, env: Record<string, string> = {}): Promise<RelayerProcess> {
  const port = await freePort();
  const external = Boolean(env.RPC_URL);
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of OWN_SETTINGS) delete childEnv[name];
  Object.assign(childEnv, {
    PORT: String(port),
    ...(external ? {} : { GP_CHAIN_PORT: String(await freePort()) }),
    GP_DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    GP_BATCH_WAIT_MS: "50",
    ...env,
  });
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("server", "main.ts")], {
    cwd: ROOT,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  const deadline = Date.now() + 90_000;
  while (!output.includes("Green Points is serving")) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the relayer exited before serving:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the relayer did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pidFile = external ? null : path.join(dataDir, "chain", "state.json.pid");
  return {
    url: `http://127.0.0.1:${port}`,
    adminToken: env.GP_ADMIN_TOKEN ?? fs.readFileSync(path.join(dataDir, "admin-token"), "utf8").trim(),
    child,
    output: () => output,
    exited,
    anvilPid: () => (pidFile && fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8")) : null),
  };
}

/** Kills a process outright, as a power cut would; no error if it is gone already. */
export function killHard(pid: number | null | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export function isAlive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
