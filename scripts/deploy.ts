/**
 * `npm run deploy -- --config deploy.json [--out deployments.json] [--yes] [--fresh]`: deploys Green
 * Points to the chain at RPC_URL with DEPLOYER_PRIVATE_KEY (see docs/deploy.md). Exits 0 only when
 * the check list is all ok; 2 when the configuration is refused (nothing sent).
 */
import * as readline from "node:readline/promises";
import { ConfigError } from "../server/config";
import { loadDeployEnv } from "../server/deploy/config";
import { DeployDeclined, runDeploy } from "../server/deploy/deploy";
import { withoutUrls } from "../server/redact";

function argument(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (!value || value.startsWith("--")) throw new ConfigError(name, "needs a value");
  return value;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const known = new Set(["--config", "--out", "--yes", "--fresh"]);
  const unknown = args.find((a, i) => a.startsWith("--") && !known.has(a) && !(i > 0 && ["--config", "--out"].includes(args[i - 1])));
  if (unknown) throw new ConfigError(unknown, "is not an option (--config <file>, --out <file>, --yes, --fresh)");
  const configFile = argument(args, "--config");
  if (!configFile) throw new ConfigError("--config", "is required: the deploy's JSON configuration (see deploy.example.json)");
  const env = loadDeployEnv(process.env);
  const confirm = process.stdin.isTTY
    ? async (question: string) => {
        const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
        try {
          return /^y(es)?$/i.test((await rl.question(question)).trim());
        } finally {
          rl.close();
        }
      }
    : null;
  const result = await runDeploy({
    env,
    configFile,
    out: argument(args, "--out") ?? "deployments.json",
    yes: args.includes("--yes"),
    fresh: args.includes("--fresh"),
    confirm,
    print: (text) => process.stdout.write(text + "\n"),
  });
  return result.ok ? 0 : 1;
}

// The message only, never the stack or an error's fields: ethers' carry the RPC URL, whose path or
// query often holds the provider's API key.
// Signed transactions and call data quoted in it are cut to their start.
const say = (text: string) =>
  process.stderr.write(withoutUrls(text, process.env.RPC_URL).replace(/(0x[0-9a-fA-F]{16})[0-9a-fA-F]{184,}/g, "$1…") + "\n");

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) {
      say(`Deploy refused: ${error.message}`);
      process.exit(2);
    }
    if (error instanceof DeployDeclined) {
      say(`Deploy ${error.message}`);
      process.exit(1);
    }
    say(`Deploy failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
