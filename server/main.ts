/**
 * The composition root of `npm start`: configuration -> chain and database -> services -> HTTP.
 * With no settings it runs everything embedded in the data folder (anvil with its state file,
 * PGlite, the deployment addresses, the admin token); RPC_URL and DATABASE_URL switch to a real
 * chain and a real PostgreSQL. Ctrl-C stops the HTTP server, lets the relayer finish its round,
 * then closes the database and the chain, which write their state.
 */
import { type DataFolderLock, DataFolderInUseError, lockDataFolder } from "./adapters/data-folder-lock";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseEther, parseUnits } from "ethers";
import pino from "pino";
import { withoutUrls } from "./redact";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "./adapters/chain/anvil";
import { connectChain, readDeployments } from "./adapters/chain/chain";
import { LOCAL_SETTLEMENT_DECIMALS, ensureLocalDeployment } from "./adapters/chain/local-deployment";
import type { Db } from "./adapters/db/db";
import { migrate } from "./adapters/db/migrations";
import { openPglite } from "./adapters/db/pglite";
import { openPostgres } from "./adapters/db/postgres";
import { settingOrCreate } from "./adapters/db/settings";
import { ConfigError, type RelayerConfig, loadConfig } from "./config";
import { DEFAULT_LIMITS } from "./http/limits";
import { startRelayer } from "./relayer";
import { MODULES, MODULE_DEPLOYMENTS } from "./modules";
import { createSmsSender } from "./adapters/sms/senders";
import { buildPages } from "./web/build";
import { ensureFirstOperator } from "./services/staff";

/**
 * The admin token: from GP_ADMIN_TOKEN, else the one kept in the data folder, else a new one kept
 * there. `made` says this start wrote it: only then is it printed (later starts name its file).
 */
function adminToken(config: RelayerConfig): { token: string; file: string | null; made: boolean } {
  if (config.adminToken) return { token: config.adminToken, file: null, made: false };
  const file = path.join(config.dataDir, "admin-token");
  let made = false;
  try {
    fs.writeFileSync(file, `gpa_${randomBytes(24).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
    made = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return { token: fs.readFileSync(file, "utf8").trim(), file, made };
}

/** The start's line about the admin token: the token itself only the time it was made. */
function adminTokenLine(admin: ReturnType<typeof adminToken>): string {
  if (!admin.file) return "from GP_ADMIN_TOKEN";
  return admin.made ? `${admin.token}  (made now, kept in ${admin.file})` : `in ${admin.file}`;
}

/** The start's line about where SMS codes go. */
function smsLine(config: RelayerConfig): string {
  switch (config.sms.provider) {
    case "outbox":
      return `not sent: printed here and appended to ${path.join(config.dataDir, "sms-outbox.log")} (GP_SMS_PROVIDER=outbox)`;
    case "aliyun":
      return "Alibaba Cloud SMS (GP_SMS_PROVIDER=aliyun)";
    case "none":
      return "none: phone sign-up is off (set GP_SMS_PROVIDER)";
  }
}

/** What a failed start must not leave running, or holding the data folder. */
let embedded: EmbeddedChain | null = null;
let folderLock: DataFolderLock | null = null;
/** The node's URL, whose path and query are kept out of what a failed start prints. */
let rpcForErrors: string | undefined;

async function main() {
  const config = loadConfig();
  // An error logged as `err` (a failed relayer step, say) is kept without URL paths or queries: the
  // node's URL may carry an API key, and ethers quotes it in its messages.
  const rpc = (rpcForErrors = config.chain.kind === "external" ? config.chain.rpcUrl : undefined);
  const log = pino({
    level: config.logLevel,
    serializers: {
      err: (error: Error) => {
        const e = pino.stdSerializers.err(error);
        return { type: e.type, message: withoutUrls(e.message, rpc), stack: withoutUrls(e.stack, rpc) };
      },
    },
  });
  fs.mkdirSync(config.dataDir, { recursive: true });
  folderLock = lockDataFolder(config.dataDir);
  if (folderLock.tookOverFrom !== null)
    log.warn({ pid: folderLock.tookOverFrom }, "took over the data folder's lock from a process that is gone");

  let anvil: EmbeddedChain | null = null;
  let rpcUrl: string;
  let privateKey: string;
  let deploymentsFile: string;
  if (config.chain.kind === "embedded") {
    anvil = embedded = await startAnvil({ port: config.chainPort, stateFile: path.join(config.dataDir, "chain", "state.json") });
    rpcUrl = anvil.url;
    privateKey = ANVIL_DEV_KEY;
    deploymentsFile = path.join(config.dataDir, "deployments.json");
    const { fresh } = await ensureLocalDeployment(rpcUrl, privateKey, deploymentsFile, {
      modules: MODULE_DEPLOYMENTS,
      settlementFloat: parseUnits(config.settlementFloat, LOCAL_SETTLEMENT_DECIMALS),
    });
    // Then a block each second, as a real chain makes them: confirmations come without traffic,
    // and many transactions from one key are mined in order instead of racing automine.
    await anvil.setBlockTime(1);
    log.info({ chain: rpcUrl, fresh }, fresh ? "deployed the contracts to the embedded chain" : "the embedded chain resumed");
  } else {
    ({ rpcUrl, privateKey, deploymentsFile } = config.chain);
  }
  const deployments = readDeployments(deploymentsFile);
  if (!deployments) throw new ConfigError("DEPLOYMENTS_FILE", `${deploymentsFile} does not exist`);

  const db: Db = config.databaseUrl ? await openPostgres(config.databaseUrl) : await openPglite(path.join(config.dataDir, "db"));
  await migrate(db);
  const userSalt = await settingOrCreate(db, "user_salt", () => randomBytes(32).toString("hex"));
  const admin = adminToken(config);
  // The console's first login, when the deployment has no operator yet: printed this once, kept only as a hash.
  const firstOperator = await ensureFirstOperator(db);
  const chain = connectChain(rpcUrl, privateKey, deployments, {
    feeCap: config.maxFeeGwei === null ? null : parseUnits(config.maxFeeGwei, "gwei"),
  });

  const smsSender = await createSmsSender(config.sms, { dataDir: config.dataDir, log: log.child({ component: "sms" }) });
  const relayer = await startRelayer({
    db,
    chain,
    userSalt,
    adminToken: admin.token,
    log,
    sender: {
      batchSize: config.batchSize,
      confirmations: config.confirmations,
      replaceAfterMs: config.replaceAfterMs,
      fault: config.fault,
      // Refilled from the treasury when the deployment names one (a data folder from before has none).
      settlement: deployments.treasury
        ? { float: parseUnits(config.settlementFloat, deployments.settlementDecimals), treasury: deployments.treasury }
        : null,
    },
    batchWaitMs: config.batchWaitMs,
    listen: { port: config.port, host: config.host },
    ...Object.assign({}, ...MODULES.map((m) => m.settings?.(config.moduleEnv, deployments.settlementDecimals))),
    orderLimits: config.orderLimits,
    trustProxy: config.trustProxy,
    minGasBalance: parseEther(config.minGasBalance),
    metricsToken: config.metricsToken,
    limits: {
      ...DEFAULT_LIMITS,
      relaysPerUser: config.relaysPerUser,
      relaysPerOwner: config.relaysPerOwner,
      relayDailyGas: config.relayDailyGas,
    },
    sms: { sender: smsSender, limits: config.smsLimits },
    publicUrl: config.publicUrl,
    pages: await buildPages(),
    notifications: {
      allowance: config.webhooks.allowPrivate,
      timeoutMs: config.webhooks.timeoutMs,
      retryScale: config.webhooks.retryScale,
    },
  });
  const url = relayer.url;
  process.stdout.write(
    [
      "",
      `Green Points is serving ${url}  (API docs: ${url}/v1/docs)`,
      `  pages:       ${url}/ (the pool), ${url}/wallet (shoppers)`,
      `  admin token: ${adminTokenLine(admin)}`,
      ...(firstOperator
        ? [`  operator login: ${firstOperator.login} / ${firstOperator.password} (made now; change it in the console)`]
        : []),
      `  data:        ${config.dataDir}`,
      `  chain:       ${rpcUrl}${anvil ? " (embedded anvil)" : ""}, pool ${deployments.pool}`,
      `  SMS codes:   ${smsLine(config)}`,
      `  database:    ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `PGlite in ${path.join(config.dataDir, "db")}`}`,
      "Ctrl-C stops it; the next start resumes from the data folder.",
      "",
    ].join("\n") + "\n",
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    await relayer.stop();
    chain.close();
    await db.close();
    await anvil?.stop();
    folderLock?.release();
    log.info("stopped; chain state and database written");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch(async (error) => {
  await embedded?.stop();
  folderLock?.release();
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
  } else if (error instanceof DataFolderInUseError) {
    process.stderr.write(`Green Points could not start: ${error.message}\n`);
  } else {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`Green Points could not start: ${withoutUrls(text, rpcForErrors)}\n`);
  }
  process.exit(1);
});
