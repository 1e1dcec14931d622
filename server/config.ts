/**
 * The only reader of process.env. Settings are parsed once, checked, frozen and passed in; a
 * missing or bad setting stops the start with a message naming it.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { z } from "zod";
import { DEFAULT_LIMIT_UNITS, type LimitUnits } from "./domain/shop-limits";
import { int } from "./env";
import { DEFAULT_LIMITS } from "./http/limits";
import { DEFAULT_MIN_GAS_BALANCE } from "./services/gas-watch";
import { MODULES } from "./modules";
import { SMS_PROVIDERS, type SmsSettings } from "./adapters/sms/senders";
import { DEFAULT_SMS_LIMITS, type SmsLimits } from "./services/phone-codes";

export interface DemoConfig {
  /** The folder whose `demo/` gets the chart and the table: GP_DATA_DIR, default `.data/` in the project. */
  readonly dataDir: string;
  /** Seed of the demo's random orders and redemptions: GP_DEMO_SEED, default 20261123. */
  readonly seed: number;
  /** Random operations after the worked example: GP_DEMO_OPERATIONS, default 160. */
  readonly operations: number;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = "ConfigError";
  }
}

/** The points where GP_FAULT makes the relayer kill itself, for the crash tests. */
export const FAULTS = ["crash-before-broadcast", "crash-after-broadcast", "crash-before-delivery"] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * Express's `trust proxy`: off (false), how many proxy hops to trust, or the proxies' addresses
 * (comma-separated addresses, subnets, or loopback / linklocal / uniquelocal).
 */
export type TrustProxy = false | number | string;

export interface RelayerConfig {
  /** HTTP port: PORT, default 8080. */
  readonly port: number;
  /** Interface the HTTP server binds: GP_HOST, default 127.0.0.1. */
  readonly host: string;
  /** Chain state, database, deployments and admin token: GP_DATA_DIR, default `.data/`. */
  readonly dataDir: string;
  /** The embedded chain's port: GP_CHAIN_PORT, default 8545. */
  readonly chainPort: number;
  /** The admin bearer token: GP_ADMIN_TOKEN; made and kept in the data folder when absent. */
  readonly adminToken: string | null;
  /** A real chain: RPC_URL with RELAYER_PRIVATE_KEY and DEPLOYMENTS_FILE; absent, anvil is started. */
  readonly chain:
    | { readonly kind: "embedded" }
    | { readonly kind: "external"; readonly rpcUrl: string; readonly privateKey: string; readonly deploymentsFile: string };
  /** A real PostgreSQL: DATABASE_URL; absent, PGlite in the data folder. */
  readonly databaseUrl: string | null;
  /** Orders per transaction: GP_BATCH_SIZE, default 100. */
  readonly batchSize: number;
  /** How long the sender waits for more orders before sending: GP_BATCH_WAIT_MS, default 200. */
  readonly batchWaitMs: number;
  /** Blocks on top of a batch's block before its orders are confirmed: GP_CONFIRMATIONS, default 1. */
  readonly confirmations: number;
  /** A transaction not mined after this long is replaced with a higher fee: GP_REPLACE_AFTER_MS, default 30000. */
  readonly replaceAfterMs: number;
  /** pino level: LOG_LEVEL, default info. */
  readonly logLevel: string;
  /**
   * Fault injection for the crash tests: GP_FAULT=crash-before-broadcast or crash-after-broadcast
   * makes the process kill itself (SIGKILL) at that point of its first batch. Never set in service.
   */
  readonly fault: Fault | null;
  /** The modules' own settings (each module's `env`), checked with the others; each module reads its own. */
  readonly moduleEnv: Readonly<Record<string, unknown>>;
  /**
   * Order limits in whole settlement units: a new shop's per order, per UTC day and outstanding
   * (GP_SHOP_LIMIT_PER_ORDER 10000, GP_SHOP_LIMIT_PER_DAY 100000, GP_SHOP_LIMIT_OUTSTANDING 1000000),
   * and all shops together per UTC day (GP_DAILY_LIMIT 1000000).
   */
  readonly orderLimits: LimitUnits;
  /**
   * The proxies in front of the relayer, whose X-Forwarded-For names the client: GP_TRUST_PROXY,
   * a hop count or the proxies' addresses; default none (the socket's address is the client).
   */
  readonly trustProxy: TrustProxy;
  /** Relayed signatures per user per minute: GP_RELAYS_PER_USER, default 10. */
  readonly relaysPerUser: number;
  /** Relayed signatures per owner address per minute: GP_RELAYS_PER_OWNER, default 5. */
  readonly relaysPerOwner: number;
  /** Gas spent on one user's relayed signatures per UTC day: GP_RELAY_DAILY_GAS, default 1000000. */
  readonly relayDailyGas: number;
  /**
   * The relayer's settlement float, in settlement units (a decimal string): GP_SETTLEMENT_FLOAT,
   * default 100000. It is refilled from the deployment's treasury to this, and its allowances are this.
   */
  readonly settlementFloat: string;
  /**
   * The least native balance (gas money) of the relayer's wallet, in ether (a decimal string):
   * GP_MIN_GAS_BALANCE, default 0.05; "0" turns the watch off. Below it new chain work waits (orders
   * are still accepted), the log says so once with alert `relayer-gas-low`, and /readyz answers 503.
   */
  readonly minGasBalance: string;
  /**
   * The most the relayer pays per gas, in gwei (a decimal string): GP_MAX_FEE_GWEI, default none.
   * No transaction (nor a replacement of a stuck one) is signed with a max fee per gas above it;
   * new chain work waits meanwhile (alert `relayer-fee-above-cap`).
   */
  readonly maxFeeGwei: string | null;
  /** A bearer token that reads GET /metrics and nothing else: GP_METRICS_TOKEN; absent, only the admin token reads it. */
  readonly metricsToken: string | null;
  /**
   * Where SMS codes go: GP_SMS_PROVIDER=outbox (the default with the embedded chain: logged and
   * appended to sms-outbox.log in the data folder), aliyun (with the GP_SMS_ALIYUN_* settings), or
   * none (the default with RPC_URL: phone sign-up answers SMS_NOT_CONFIGURED).
   */
  readonly sms: SmsSettings;
  /** Codes per client address an hour and a day, and to everyone a UTC day: GP_SMS_PER_IP_HOUR 20, GP_SMS_PER_IP_DAY 50, GP_SMS_DAILY_BUDGET 2000. */
  readonly smsLimits: SmsLimits;
  /** Where people reach the deployment, for the links it hands out (referral links): GP_PUBLIC_URL, default http://<GP_HOST>:<PORT>. */
  readonly publicUrl: string;
  /**
   * Signed notifications (services/notification-delivery.ts): GP_WEBHOOK_ALLOW_PRIVATE=none (the
   * default), loopback or all lets endpoints on loopback or on every private range; GP_WEBHOOK_TIMEOUT_MS
   * each attempt's timeout (15000); GP_WEBHOOK_RETRY_SCALE multiplies the retry schedule's delays
   * (1; tests only shrink it).
   */
  readonly webhooks: { allowPrivate: "none" | "loopback" | "all"; timeoutMs: number; retryScale: number };
}

/** Whole settlement units, above zero (their decimals are the settlement token's, checked when the chain is known). */
const units = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return fallback;
      if (!/^\d{1,30}(\.\d{1,18})?$/.test(raw) || /^[0.]+$/.test(raw)) {
        ctx.addIssue({ code: "custom", message: `must be an amount of settlement units above 0, like "10000", got "${raw}"` });
        return z.NEVER;
      }
      return raw;
    });
const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);
const isProxyAddress = (entry: string) => {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
};

const trustProxy = z
  .string()
  .optional()
  .transform((raw, ctx): TrustProxy => {
    if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
    if (/^\d{1,2}$/.test(raw)) return Number(raw);
    const entries = raw.split(",").map((e) => e.trim());
    if (entries.every(isProxyAddress)) return entries.join(",");
    ctx.addIssue({
      code: "custom",
      message:
        `must be a number of proxy hops or the proxies' addresses (IPs, subnets, loopback, linklocal, uniquelocal), got "${raw}"; ` +
        "trusting every hop would let any client choose its address",
    });
    return z.NEVER;
  });

const MODULE_ENV: z.ZodRawShape = Object.assign({}, ...MODULES.map((m) => m.env ?? {}));

const RelayerEnv = z
  .object({
    PORT: int(8080, 0, 65535),
    GP_HOST: z.string().optional(),
    GP_DATA_DIR: z.string().optional(),
    GP_CHAIN_PORT: int(8545, 1, 65535),
    GP_ADMIN_TOKEN: z
      .string()
      .min(16, "GP_ADMIN_TOKEN must have at least 16 characters")
      .regex(/^[\x21-\x7e]{1,512}$/, "GP_ADMIN_TOKEN must be at most 512 visible ASCII characters (a bearer token; no spaces)")
      .optional(),
    RPC_URL: z.url({ message: "RPC_URL must be a URL" }).optional(),
    RELAYER_PRIVATE_KEY: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "RELAYER_PRIVATE_KEY must be 0x and 64 hex digits")
      .optional(),
    DEPLOYMENTS_FILE: z.string().optional(),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must start with postgres://")
      .optional(),
    GP_BATCH_SIZE: int(100, 1, 500),
    GP_BATCH_WAIT_MS: int(200, 0, 60_000),
    GP_CONFIRMATIONS: int(1, 0, 64),
    GP_REPLACE_AFTER_MS: int(30_000, 100, 3_600_000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
    GP_FAULT: z.enum(FAULTS).optional(),
    GP_WEBHOOK_ALLOW_PRIVATE: z.enum(["none", "loopback", "all"]).default("none"),
    GP_WEBHOOK_TIMEOUT_MS: int(15_000, 100, 60_000),
    GP_WEBHOOK_RETRY_SCALE: z.coerce.number().positive().max(1).default(1),
    GP_SHOP_LIMIT_PER_ORDER: units(DEFAULT_LIMIT_UNITS.perOrder),
    GP_SHOP_LIMIT_PER_DAY: units(DEFAULT_LIMIT_UNITS.perDay),
    GP_SHOP_LIMIT_OUTSTANDING: units(DEFAULT_LIMIT_UNITS.outstanding),
    GP_DAILY_LIMIT: units(DEFAULT_LIMIT_UNITS.deploymentPerDay),
    GP_TRUST_PROXY: trustProxy,
    GP_RELAYS_PER_USER: int(DEFAULT_LIMITS.relaysPerUser, 1, 10_000),
    GP_RELAYS_PER_OWNER: int(DEFAULT_LIMITS.relaysPerOwner, 1, 10_000),
    GP_RELAY_DAILY_GAS: int(DEFAULT_LIMITS.relayDailyGas, 0, 1_000_000_000),
    GP_SETTLEMENT_FLOAT: z
      .string()
      .regex(/^\d{1,15}(\.\d{1,18})?$/, "GP_SETTLEMENT_FLOAT must be a decimal amount of settlement, e.g. 100000")
      .refine((v) => /[1-9]/.test(v), "GP_SETTLEMENT_FLOAT must be above zero")
      .optional(),
    GP_MIN_GAS_BALANCE: z
      .string()
      .regex(/^\d{1,9}(\.\d{1,18})?$/, "GP_MIN_GAS_BALANCE must be an amount in ether, like 0.05 (0 turns the watch off)")
      .optional(),
    GP_MAX_FEE_GWEI: z
      .string()
      .regex(/^\d{1,9}(\.\d{1,9})?$/, "GP_MAX_FEE_GWEI must be a fee in gwei per gas, like 50")
      .refine((v) => /[1-9]/.test(v), "GP_MAX_FEE_GWEI must be above zero (leave it unset for no cap)")
      .optional(),
    GP_METRICS_TOKEN: z
      .string()
      .regex(/^[\x21-\x7e]{16,512}$/, "GP_METRICS_TOKEN must be 16 to 512 visible ASCII characters")
      .optional(),
    GP_PUBLIC_URL: z.url({ message: "GP_PUBLIC_URL must be a URL, like https://points.example.com" }).optional(),
    GP_SMS_PROVIDER: z.enum(SMS_PROVIDERS, { message: `GP_SMS_PROVIDER must be one of ${SMS_PROVIDERS.join(", ")}` }).optional(),
    GP_SMS_ALIYUN_ACCESS_KEY_ID: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, "GP_SMS_ALIYUN_ACCESS_KEY_ID must be an AccessKey id")
      .optional(),
    GP_SMS_ALIYUN_ACCESS_KEY_SECRET: z
      .string()
      .regex(/^[\x21-\x7e]{1,256}$/, "GP_SMS_ALIYUN_ACCESS_KEY_SECRET must be an AccessKey secret")
      .optional(),
    GP_SMS_ALIYUN_SIGN_NAME: z.string().min(1).max(64).optional(),
    GP_SMS_ALIYUN_TEMPLATE_CODE: z
      .string()
      .regex(/^SMS_\d{1,20}$/, "GP_SMS_ALIYUN_TEMPLATE_CODE must be SMS_ and digits")
      .optional(),
    GP_SMS_ALIYUN_ENDPOINT: z.url({ message: "GP_SMS_ALIYUN_ENDPOINT must be a URL" }).optional(),
    GP_SMS_PER_IP_HOUR: int(DEFAULT_SMS_LIMITS.perIpHour, 1, 1_000_000),
    GP_SMS_PER_IP_DAY: int(DEFAULT_SMS_LIMITS.perIpDay, 1, 1_000_000),
    GP_SMS_DAILY_BUDGET: int(DEFAULT_SMS_LIMITS.dailyBudget, 1, 100_000_000),
    ...MODULE_ENV,
  })
  .superRefine((env, ctx) => {
    if (env.GP_SMS_PROVIDER === "aliyun")
      for (const name of [
        "GP_SMS_ALIYUN_ACCESS_KEY_ID",
        "GP_SMS_ALIYUN_ACCESS_KEY_SECRET",
        "GP_SMS_ALIYUN_SIGN_NAME",
        "GP_SMS_ALIYUN_TEMPLATE_CODE",
      ] as const)
        if (!env[name]) ctx.addIssue({ code: "custom", path: [name], message: `GP_SMS_PROVIDER=aliyun needs ${name}` });
    if (env.RPC_URL && (!env.RELAYER_PRIVATE_KEY || !env.DEPLOYMENTS_FILE)) {
      ctx.addIssue({ code: "custom", path: ["RELAYER_PRIVATE_KEY"], message: "RPC_URL needs RELAYER_PRIVATE_KEY and DEPLOYMENTS_FILE" });
    }
  });

/** The environment through `schema`; the first problem stops the start, naming its setting. */
function parseEnv<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0] ?? "environment"), issue.message);
  }
  return parsed.data;
}

const DemoEnv = z.object({
  GP_DATA_DIR: z.string().optional(),
  GP_DEMO_SEED: int(20261123, 0, 2 ** 31 - 1),
  GP_DEMO_OPERATIONS: int(160, 0, 100_000),
});

export function loadDemoConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): DemoConfig {
  const e = parseEnv(DemoEnv, env);
  return Object.freeze({
    dataDir: path.resolve(projectRoot, e.GP_DATA_DIR || ".data"),
    seed: e.GP_DEMO_SEED,
    operations: e.GP_DEMO_OPERATIONS,
  });
}

function smsSettings(e: z.infer<typeof RelayerEnv>): SmsSettings {
  const provider = e.GP_SMS_PROVIDER ?? (e.RPC_URL ? "none" : "outbox");
  if (provider !== "aliyun") return { provider };
  return {
    provider,
    aliyun: {
      accessKeyId: e.GP_SMS_ALIYUN_ACCESS_KEY_ID!,
      accessKeySecret: e.GP_SMS_ALIYUN_ACCESS_KEY_SECRET!,
      signName: e.GP_SMS_ALIYUN_SIGN_NAME!,
      templateCode: e.GP_SMS_ALIYUN_TEMPLATE_CODE!,
      endpoint: e.GP_SMS_ALIYUN_ENDPOINT ?? "https://dysmsapi.aliyuncs.com",
    },
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): RelayerConfig {
  const e = parseEnv(RelayerEnv, env);
  const dataDir = path.resolve(projectRoot, e.GP_DATA_DIR || ".data");
  return Object.freeze({
    port: e.PORT,
    host: e.GP_HOST || "127.0.0.1",
    dataDir,
    chainPort: e.GP_CHAIN_PORT,
    adminToken: e.GP_ADMIN_TOKEN ?? null,
    chain: e.RPC_URL
      ? Object.freeze({
          kind: "external" as const,
          rpcUrl: e.RPC_URL,
          privateKey: e.RELAYER_PRIVATE_KEY!,
          deploymentsFile: path.resolve(projectRoot, e.DEPLOYMENTS_FILE!),
        })
      : Object.freeze({ kind: "embedded" as const }),
    databaseUrl: e.DATABASE_URL ?? null,
    batchSize: e.GP_BATCH_SIZE,
    batchWaitMs: e.GP_BATCH_WAIT_MS,
    confirmations: e.GP_CONFIRMATIONS,
    replaceAfterMs: e.GP_REPLACE_AFTER_MS,
    logLevel: e.LOG_LEVEL ?? "info",
    fault: e.GP_FAULT ?? null,
    moduleEnv: Object.freeze(Object.fromEntries(Object.keys(MODULE_ENV).map((name) => [name, (e as Record<string, unknown>)[name]]))),
    orderLimits: Object.freeze({
      perOrder: e.GP_SHOP_LIMIT_PER_ORDER,
      perDay: e.GP_SHOP_LIMIT_PER_DAY,
      outstanding: e.GP_SHOP_LIMIT_OUTSTANDING,
      deploymentPerDay: e.GP_DAILY_LIMIT,
    }),
    trustProxy: e.GP_TRUST_PROXY,
    relaysPerUser: e.GP_RELAYS_PER_USER,
    relaysPerOwner: e.GP_RELAYS_PER_OWNER,
    relayDailyGas: e.GP_RELAY_DAILY_GAS,
    settlementFloat: e.GP_SETTLEMENT_FLOAT ?? "100000",
    minGasBalance: e.GP_MIN_GAS_BALANCE ?? DEFAULT_MIN_GAS_BALANCE,
    maxFeeGwei: e.GP_MAX_FEE_GWEI ?? null,
    metricsToken: e.GP_METRICS_TOKEN ?? null,
    sms: Object.freeze(smsSettings(e)),
    publicUrl: e.GP_PUBLIC_URL ?? `http://${e.GP_HOST || "127.0.0.1"}:${e.PORT}`,
    webhooks: Object.freeze({
      allowPrivate: e.GP_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: e.GP_WEBHOOK_TIMEOUT_MS,
      retryScale: e.GP_WEBHOOK_RETRY_SCALE,
    }),
    smsLimits: Object.freeze({ perIpHour: e.GP_SMS_PER_IP_HOUR, perIpDay: e.GP_SMS_PER_IP_DAY, dailyBudget: e.GP_SMS_DAILY_BUDGET }),
  });
}
