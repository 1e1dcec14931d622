/**
 * `npm run deploy`: checks the configuration against the chain, shows the plan, asks, runs the
 * steps (resuming a journal), writes the deployments file the relayer reads (DEPLOYMENTS_FILE)
 * and the explorer's verification input, then reads everything back into a check list.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, Wallet, formatEther, formatUnits, isError } from "ethers";
import { type DataFolderLock, lockFile } from "../adapters/data-folder-lock";
import type { Deployments } from "../adapters/chain/chain";
import { REFERRAL_MODES } from "../adapters/chain/deploy";
import { MockStablecoin__factory, Pool__factory } from "../../typechain-types";
import { type CheckItem, checkDeployment, formatChecklist } from "./checklist";
import { ConfigError } from "../config";
import { type DeployConfig, type DeployEnv, readDeployFile, resolveDeployConfig } from "./config";
import { legacyDigest, openJournal, planDigest } from "./journal";
import { type DeployStep, deploySteps, pointsConstructorArguments } from "./plan";
import { type DeployContext, type StepState, deployedAddresses, holderAddress, runStep, stepState } from "./runner";
import { writeVerificationInput } from "./verification";

/** The operator answered no: nothing was sent. */
export class DeployDeclined extends Error {
  constructor() {
    super("not confirmed: nothing sent");
    this.name = "DeployDeclined";
  }
}

export interface DeployOptions {
  env: DeployEnv;
  configFile: string;
  /** The deployments file to write; its journal and verification input go beside it. */
  out: string;
  /** Answers the question before sending; null without a terminal (then only --yes sends). */
  confirm: ((question: string) => Promise<boolean>) | null;
  yes: boolean;
  /** Deploy although no journal is found and the deployer has sent transactions on this chain before. */
  fresh: boolean;
  print(text: string): void;
}

export interface DeployResult {
  deployments: Deployments;
  checklist: CheckItem[];
  sent: number;
  ok: boolean;
}

/** The files beside the deployments file. */
export function besideDeployments(out: string) {
  const base = out.replace(/\.json$/, "");
  return { journal: `${base}.journal.json`, lock: `${base}.journal.json.lock`, verification: `${base}.verification` };
}

async function settlementToken(provider: JsonRpcProvider, address: string) {
  if ((await provider.getCode(address)) === "0x") throw new ConfigError("settlement", `there is no contract at ${address} on this chain`);
  const token = MockStablecoin__factory.connect(address, provider);
  // A call the contract refuses is an answer about the token; any other failure (the node's) is not
  // and fails the run, to be run again: it must not change what is deployed.
  let decimals: number;
  try {
    decimals = Number(await token.decimals());
  } catch (error) {
    if (!isError(error, "CALL_EXCEPTION")) throw error;
    throw new ConfigError("settlement", `the contract at ${address} does not answer decimals(): is it an ERC-20?`);
  }
  // symbol() is optional in ERC-20; it is only shown, never deployed.
  const symbol = await token.symbol().catch((error: unknown) => {
    if (isError(error, "CALL_EXCEPTION")) return "units";
    throw error;
  });
  return { decimals, symbol };
}

function describeStep(step: DeployStep): string {
  if (step.kind === "deploy") return `deploy ${step.contract}${step.name === "pool" ? " (it creates the GP token)" : ""}`;
  return `${step.kind} ${step.role} on the ${step.on} ${step.kind === "grant" ? "to" : "by"} the ${step.holder}`;
}

function planText(config: DeployConfig, chainId: string, deployer: string, deployerGas: bigint, rows: [DeployStep, StepState][]): string {
  const units = (v: bigint) => `${formatUnits(v, config.settlementDecimals)} ${config.settlementSymbol}`;
  const lines = [
    `Green Points deploy on chain id ${chainId}`,
    `  deployer:   ${deployer} (${formatEther(deployerGas)} native; holds no role at the end${config.admin === deployer ? ", except the admin's: it is the admin" : ""})`,
    `  settlement: ${config.settlement} (${config.settlementSymbol}, ${config.settlementDecimals} decimals, read on the chain)`,
    `  admin:      ${config.admin} (DEFAULT_ADMIN_ROLE and the parameter and pauser roles)`,
    `  relayer:    ${config.relayer} (the roles it sends with)`,
    `  treasury:   ${config.treasury ?? "none (the relayer's float is never refilled)"}`,
    `  GP:         ${config.pointsName} (${config.pointsSymbol}), cap ${formatUnits(config.cap, 18)} GP`,
    `  pool:       poolShare ${config.pool.poolShare}, mintShare ${config.pool.mintShare}, exitFee ${config.pool.exitFee} bps, ` +
      `initialPrice ${units(config.pool.initialPrice)} per GP, referral ${config.pool.referralShare1}/${config.pool.referralShare2} bps`,
    `  custody:    withdrawalFee ${config.custody.withdrawalFee} bps, exitMultiple ${config.custody.exitMultiple} bps, referralMode ${REFERRAL_MODES[Number(config.custody.referralMode)]}`,
    `  ad credit:  adShare ${config.adCredit.adShare} bps, noticePeriod ${config.adCredit.noticePeriod} s`,
    `Steps (${rows.filter(([, s]) => s !== "done").length} of ${rows.length} to do):`,
    ...rows.map(
      ([step, state]) => `  [${{ done: "done", "in flight": "wait", reverted: "redo", "to send": "    " }[state]}] ${describeStep(step)}`,
    ),
  ];
  return lines.join("\n");
}

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { env, print } = options;
  const file = readDeployFile(options.configFile);
  const provider = new JsonRpcProvider(env.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 250;
  let lock: DataFolderLock | null = null;
  try {
    const chainId = BigInt(await provider.send("eth_chainId", [])).toString();
    const wallet = new Wallet(env.deployerKey, provider);
    const deployer = wallet.address;
    if (file.relayer === deployer)
      throw new ConfigError(
        "relayer",
        `must differ from the deployer ${deployer} (DEPLOYER_PRIVATE_KEY): the deployer ends holding no role, the relayer holds its roles`,
      );
    const config = resolveDeployConfig(file, await settlementToken(provider, file.settlement));
    const gas = await provider.getBalance(deployer);

    const files = besideDeployments(options.out);
    fs.mkdirSync(path.dirname(path.resolve(files.lock)), { recursive: true });
    lock = lockFile(
      files.lock,
      (pid) =>
        new ConfigError(
          "--out",
          `the journal ${files.journal} is in use by the deploy running as process ${pid} (its lock ${files.lock}); let it finish or stop it first`,
        ),
    );
    if (lock.tookOverFrom !== null) print(`Took over the lock ${files.lock} of process ${lock.tookOverFrom}, which is gone.`);
    const journal = openJournal(files.journal, { chainId, deployer, config: planDigest(config) }, [legacyDigest(config)]);
    if (!journal.found && !options.fresh) {
      const sentBefore = await provider.getTransactionCount(deployer, "pending");
      if (sentBefore > 0)
        throw new ConfigError(
          "--fresh",
          `no journal at ${files.journal}, but the deployer ${deployer} has sent ${sentBefore} transactions on chain id ${chainId}: ` +
            "to resume a deploy, give the --out it was run with (its journal is beside it); to deploy another, separate set of contracts, pass --fresh",
        );
    }
    const steps = deploySteps(config, deployer);
    const ctx: DeployContext = { provider, wallet, config, journal, fault: env.fault, replaceAfterMs: env.replaceAfterMs, say: print };
    const rows: [DeployStep, StepState][] = [];
    for (const step of steps) rows.push([step, await stepState(ctx, step, deployedAddresses(journal, steps))]);
    print(planText(config, chainId, deployer, gas, rows));

    const todo = rows.filter(([, s]) => s !== "done").length;
    if (todo > 0) {
      if (gas === 0n) throw new ConfigError("DEPLOYER_PRIVATE_KEY", `the deployer ${deployer} has no native balance to pay gas`);
      if (!options.yes) {
        if (!options.confirm) throw new ConfigError("--yes", "not a terminal: nothing sent; pass --yes to deploy without the question");
        if (!(await options.confirm(`Send ${todo} transactions from ${deployer}? [y/N] `))) throw new DeployDeclined();
      }
    } else print("Nothing to send: every step is on the chain already.");

    let sent = 0;
    for (const step of steps) if (await runStep(ctx, step, steps)) sent++;

    const addresses = deployedAddresses(journal, steps);
    const points = await Pool__factory.connect(addresses.pool, provider).points();
    const entry = (id: string) => journal.data.steps[id];
    const deployments: Deployments & Record<string, unknown> = {
      chainId,
      settlement: config.settlement,
      settlementDecimals: config.settlementDecimals,
      pool: addresses.pool,
      points,
      custody: addresses.custody,
      adCredit: addresses.adCredit,
      ...(config.treasury ? { treasury: config.treasury } : {}),
      deployedAtBlock: entry("deploy:pool").block!,
      deployer,
      admin: config.admin,
      relayer: config.relayer,
      // The GP token is created in the pool's transaction.
      contracts: Object.fromEntries(
        (["pool", "points", "custody", "adCredit"] as const).map((name) => {
          const e = entry(`deploy:${name === "points" ? "pool" : name}`);
          return [name, { address: name === "points" ? points : addresses[name], block: e.block ?? null, transaction: e.hash ?? null }];
        }),
      ),
      transactions: steps.map((s) => ({ step: s.id, transaction: entry(s.id)?.hash ?? null, block: entry(s.id)?.block ?? null })),
    };
    fs.mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
    fs.writeFileSync(options.out, JSON.stringify(deployments, null, 2) + "\n");
    print(`\nWrote ${options.out} (${sent} transactions sent by this run); its journal is ${files.journal}.`);

    const ctorArgs = Object.fromEntries(
      steps.flatMap((s) => (s.kind === "deploy" ? [[s.name, s.deployData(addresses).constructorArguments]] : [])),
    );
    const verification = writeVerificationInput(files.verification, [
      { name: "pool", address: addresses.pool, source: "contracts/pool/Pool.sol", contract: "Pool", constructorArguments: ctorArgs.pool },
      {
        name: "points",
        address: points,
        source: "contracts/token/GreenPoints.sol",
        contract: "GreenPoints",
        constructorArguments: pointsConstructorArguments(config),
      },
      {
        name: "custody",
        address: addresses.custody,
        source: "contracts/accounts/Custody.sol",
        contract: "Custody",
        constructorArguments: ctorArgs.custody,
      },
      {
        name: "adCredit",
        address: addresses.adCredit,
        source: "contracts/ads/AdCredit.sol",
        contract: "AdCredit",
        constructorArguments: ctorArgs.adCredit,
      },
    ]);
    print(`Wrote the source verification input: ${verification.map((f) => path.basename(f)).join(", ")} in ${files.verification}`);

    const checklist = await checkDeployment({
      provider,
      config,
      deployer,
      chainId,
      steps,
      fromBlock: entry("deploy:pool").block!,
      addresses: { pool: addresses.pool, points, custody: addresses.custody, adCredit: addresses.adCredit },
    });
    const failed = checklist.filter((i) => i.status === "FAIL").length;
    print(`\nCheck list (read back from the chain):\n${formatChecklist(checklist)}`);
    print(
      [
        "",
        failed === 0 ? "All checks ok." : `${failed} checks FAILED.`,
        "Before starting the relayer (RPC_URL, RELAYER_PRIVATE_KEY, DEPLOYMENTS_FILE):",
        `  - send the relayer ${holderAddress("relayer", { config, deployer }, addresses)} native currency for its gas;`,
        config.treasury
          ? `  - from the treasury ${config.treasury}, approve the relayer for the settlement it may pull (approve(relayer, amount) on ${config.settlement}) and hold that much; the relayer pulls its float (GP_SETTLEMENT_FLOAT) from it.`
          : "  - send the relayer its settlement float: with no treasury it is never refilled.",
      ].join("\n"),
    );
    return { deployments, checklist, sent, ok: failed === 0 };
  } finally {
    lock?.release();
    provider.destroy();
  }
}
