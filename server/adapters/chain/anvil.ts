/**
 * The embedded chain: anvil from the `@foundry-rs/anvil-<platform>` npm package (its prebuilt
 * binary), with its state dumped to the data folder every second and on exit, and loaded again
 * on the next start. A hard kill can lose the last second of blocks; the relayer treats that as
 * a reorg.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** anvil's first default account: a well-known key, for the local chain only. */
export const ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export interface EmbeddedChain {
  url: string;
  /** From automine (a block per transaction, the start) to a block every `seconds`. */
  setBlockTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
  process: ChildProcess;
}

/** One JSON-RPC call to a node (anvil, Hardhat's); its error, if it answers one, is thrown naming the method. */
export async function jsonRpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = (await res.json()) as { result?: T; error?: { message: string } };
  if (answer.error) throw new Error(`the node refused ${method}: ${answer.error.message}`);
  return answer.result as T;
}

function anvilBinary(): string {
  const platform = `${process.platform === "win32" ? "win32" : process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  const pkg = path.dirname(require.resolve(`@foundry-rs/anvil-${platform}/package.json`));
  return path.join(pkg, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

/**
 * An anvil left running by a start that was killed outright (its parent gone) still holds the
 * chain: stopped with SIGTERM, it writes its state, which the new one then loads.
 */
async function stopLeftover(pidFile: string): Promise<void> {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  const isAnvil = () => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("anvil");
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 0 && isAnvil()) {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && isAnvil(); i++) await new Promise((r) => setTimeout(r, 50));
    if (isAnvil()) process.kill(pid, "SIGKILL");
  }
  fs.rmSync(pidFile, { force: true });
}

export async function startAnvil(options: { port: number; stateFile: string }): Promise<EmbeddedChain> {
  fs.mkdirSync(path.dirname(options.stateFile), { recursive: true });
  const pidFile = `${options.stateFile}.pid`;
  await stopLeftover(pidFile);
  const child = spawn(
    anvilBinary(),
    ["--host", "127.0.0.1", "--port", String(options.port), "--state", options.stateFile, "--state-interval", "1", "--chain-id", "31337"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  if (child.pid) fs.writeFileSync(pidFile, String(child.pid));
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const url = `http://127.0.0.1:${options.port}`;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const chain: EmbeddedChain = {
    url,
    process: child,
    setBlockTime: async (seconds) => {
      await jsonRpc(url, "evm_setIntervalMining", [seconds]);
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      fs.rmSync(pidFile, { force: true });
    },
  };
  for (let attempt = 0; attempt < 200 && child.exitCode === null; attempt++) {
    try {
      await jsonRpc(url, "eth_chainId");
      return chain;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`anvil did not start on port ${options.port}:\n${output}`);
}
