/**
 * Hardhat's JSON-RPC node (EDR) as a process on a free 127.0.0.1 port: a second EVM implementation
 * beside anvil. It mines a block each second (as well as on each transaction), so that
 * confirmations come without traffic. Its funded accounts' keys are read from its own listing.
 */
import { jsonRpc } from "../../server/adapters/chain/anvil";
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { freePort } from "./net";

const ROOT = path.resolve(__dirname, "..", "..");

export interface HardhatNode {
  url: string;
  /** The node's funded accounts' private keys, in its order. */
  keys: string[];
  output(): string;
  stop(): Promise<void>;
}

/** One JSON-RPC call to the node. */
export const rpc = jsonRpc;

export async function startHardhatNode(): Promise<HardhatNode> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    path.join(ROOT, "node_modules", ".bin", "hardhat"),
    ["node", "--hostname", "127.0.0.1", "--port", String(port)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  const deadline = Date.now() + 60_000;
  // The accounts are listed after the "Started HTTP" line; the listing ends with the warning.
  while (!/Started HTTP[\s\S]*Account #19[^\n]*\n[^\n]*Private Key/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`hardhat node exited before starting:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `http://127.0.0.1:${port}`;
  await rpc(url, "evm_setIntervalMining", [1000]);
  const keys = [...output.matchAll(/Private Key: (0x[0-9a-fA-F]{64})/g)].map((m) => m[1]);
  return { url, keys, output: () => output, stop };
}
