/**
 * A block explorer's source verification input for each deployed contract: the solc standard
 * JSON input (the compiled build's, cut to the sources the contract imports), the compiler's long
 * version, the fully qualified contract name and its ABI-encoded constructor arguments. Written
 * as one file per contract beside the deployments file.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

export interface VerifiedContract {
  /** As the deployments file names it. */
  name: string;
  address: string;
  /** The source file, as the compiler names it: `contracts/pool/Pool.sol`. */
  source: string;
  contract: string;
  /** Hex, without 0x. */
  constructorArguments: string;
}

interface BuildInfo {
  solcLongVersion: string;
  input: { language: string; sources: Record<string, unknown>; settings: unknown };
  output: { sources: Record<string, { ast: { nodes: { nodeType: string; absolutePath?: string }[] } }> };
}

/** The build a contract was compiled in, found through its artifact's debug file. */
function buildInfoOf(source: string, contract: string): BuildInfo {
  const dbg = path.join(ROOT, "artifacts", source, `${contract}.dbg.json`);
  const { buildInfo } = JSON.parse(fs.readFileSync(dbg, "utf8")) as { buildInfo: string };
  return JSON.parse(fs.readFileSync(path.resolve(path.dirname(dbg), buildInfo), "utf8")) as BuildInfo;
}

/** `source` and every file it imports, directly or not. */
function importClosure(build: BuildInfo, source: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const node of build.output.sources[file]?.ast.nodes ?? [])
      if (node.nodeType === "ImportDirective" && node.absolutePath) visit(node.absolutePath);
  };
  visit(source);
  return [...seen].sort();
}

/** Writes `<dir>/<name>.json` for each contract; answers the files. */
export function writeVerificationInput(dir: string, contracts: readonly VerifiedContract[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return contracts.map((c) => {
    const build = buildInfoOf(c.source, c.contract);
    const sources = Object.fromEntries(importClosure(build, c.source).map((f) => [f, build.input.sources[f]]));
    const file = path.join(dir, `${c.name}.json`);
    const body = {
      address: c.address,
      compilerVersion: `v${build.solcLongVersion}`,
      contractName: `${c.source}:${c.contract}`,
      constructorArguments: c.constructorArguments,
      standardJsonInput: { language: build.input.language, sources, settings: build.input.settings },
    };
    fs.writeFileSync(file, JSON.stringify(body, null, 2) + "\n");
    return file;
  });
}
