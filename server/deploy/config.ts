/**
 * `npm run deploy`'s configuration: the JSON file it is given (addresses, cap, parameters) and the
 * environment (the chain and the deployer's key, never in the file). Each parameter is checked
 * against the bounds the contracts enforce, so that a bad value is refused naming its field before
 * any transaction is sent, instead of as a reverted constructor after some were.
 */
import * as fs from "node:fs";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { type CustodyParameters, type PoolParameters, REFERRAL_MODES } from "../adapters/chain/deploy";
import type { AdCreditParameters } from "../modules/ads/deploy";
import { ConfigError } from "../config";
import { AppError } from "../errors";
import { parseAmount } from "../domain/amounts";

const BPS = 10_000;

/**
 * The inclusive bounds of each constructor parameter, as the contracts have them: Pool's
 * `parameterBounds` (MAX_EXIT_FEE; the initial price's upper bound is MAX_INITIAL_PRICE_UNITS whole
 * settlement units, so it is known once the token's decimals are), Custody's MAX_WITHDRAWAL_FEE and
 * MIN/MAX_EXIT_MULTIPLE (or 0, the exit off), AdCredit's `parameterBounds`. The check list reads the
 * contracts' own bounds back and compares them with these.
 */
export const PARAMETER_BOUNDS = {
  pool: {
    poolShare: { min: 1, max: BPS },
    mintShare: { min: 1, max: BPS },
    exitFee: { min: 0, max: 5_000 },
    referralShare1: { min: 0, max: BPS },
    referralShare2: { min: 0, max: BPS },
  },
  custody: {
    withdrawalFee: { min: 0, max: 2_000 },
    /** Or 0: the exit turned off. */
    exitMultiple: { min: 10_000, max: 100_000 },
  },
  adCredit: { adShare: { min: 100, max: 5_000 }, noticePeriod: { min: 24 * 3600, max: 90 * 24 * 3600 } },
} as const;
/** Pool's MAX_INITIAL_PRICE_UNITS: the initial price is at most this many whole settlement units per GP. */
export const MAX_INITIAL_PRICE_UNITS = 1_000_000n;
/** GreenPoints' MAX_ISSUANCE_LIMIT, in GP base units. */
export const MAX_ISSUANCE_LIMIT = 2n ** 128n - 1n;
/** Pool's: mintShare + referralShare1 + referralShare2 is at most the whole. */
export const MAX_SHARES = BigInt(BPS);
/** Pool's refusal of settlement tokens with more decimals. */
export const MAX_SETTLEMENT_DECIMALS = 18;
const POINTS_DECIMALS = 18;

const bounded = ({ min, max }: { min: number; max: number }) =>
  z
    .number({ message: "must be a whole number" })
    .int("must be a whole number")
    .refine((v) => v >= min && v <= max, { message: `must be from ${min} to ${max}` });

const address = z
  .string({ message: "must be an address" })
  .refine((v) => isAddress(v) && !/^0x0{40}$/i.test(v), { message: "must be a non-zero 0x address (its checksum right, if mixed-case)" })
  .transform((v) => getAddress(v));

const decimal = z.string({ message: 'must be a decimal string like "100000000"' });

const FileSchema = z
  .object({
    settlement: address,
    admin: address,
    relayer: address,
    treasury: address.optional(),
    cap: decimal,
    pointsName: z.string().min(1).max(64).default("Green Points"),
    pointsSymbol: z.string().min(1).max(16).default("GP"),
    pool: z
      .object({
        poolShare: bounded(PARAMETER_BOUNDS.pool.poolShare),
        mintShare: bounded(PARAMETER_BOUNDS.pool.mintShare),
        exitFee: bounded(PARAMETER_BOUNDS.pool.exitFee),
        initialPrice: decimal,
        referralShare1: bounded(PARAMETER_BOUNDS.pool.referralShare1),
        referralShare2: bounded(PARAMETER_BOUNDS.pool.referralShare2),
      })
      .strict(),
    custody: z
      .object({
        withdrawalFee: bounded(PARAMETER_BOUNDS.custody.withdrawalFee),
        exitMultiple: z
          .number({ message: "must be a whole number" })
          .int("must be a whole number")
          .refine((v) => v === 0 || (v >= PARAMETER_BOUNDS.custody.exitMultiple.min && v <= PARAMETER_BOUNDS.custody.exitMultiple.max), {
            message: `must be 0 (no exit) or from ${PARAMETER_BOUNDS.custody.exitMultiple.min} to ${PARAMETER_BOUNDS.custody.exitMultiple.max}`,
          }),
        /** Which orders credit the referrers: every order of a referee, or its first only (docs/rules.md). */
        referralMode: z.enum(REFERRAL_MODES, { message: `must be one of ${REFERRAL_MODES.map((m) => `"${m}"`).join(", ")}` }),
      })
      .strict(),
    adCredit: z
      .object({ adShare: bounded(PARAMETER_BOUNDS.adCredit.adShare), noticePeriod: bounded(PARAMETER_BOUNDS.adCredit.noticePeriod) })
      .strict(),
    /** Blocks on top of each transaction's before the next is sent. */
    confirmations: z.number().int().min(1).max(64).default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.relayer === c.admin)
      ctx.addIssue({
        code: "custom",
        path: ["relayer"],
        message: "must differ from admin: the relayer's key would hold DEFAULT_ADMIN_ROLE",
      });
    if (BigInt(c.pool.mintShare + c.pool.referralShare1 + c.pool.referralShare2) > MAX_SHARES)
      ctx.addIssue({
        code: "custom",
        path: ["pool", "mintShare"],
        message: `mintShare + referralShare1 + referralShare2 must be at most ${MAX_SHARES}`,
      });
  });

/** The file as read: amounts still decimal strings (the initial price's decimals are the token's). */
export type DeployFile = z.infer<typeof FileSchema>;

/** A configuration checked against the chain's settlement token: amounts in base units. */
export interface DeployConfig {
  settlement: string;
  settlementDecimals: number;
  settlementSymbol: string;
  admin: string;
  relayer: string;
  treasury: string | null;
  /** GP base units that can ever be minted. */
  cap: bigint;
  pointsName: string;
  pointsSymbol: string;
  pool: PoolParameters;
  custody: CustodyParameters;
  adCredit: AdCreditParameters;
  confirmations: number;
}

/** JSON has no comments: keys starting with `//` are notes (deploy.example.json has them) and are dropped. */
function withoutNotes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNotes);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith("//"))
      .map(([key, v]) => [key, withoutNotes(v)]),
  );
}

/** Reads and checks the file; the first problem throws, naming its field. */
export function readDeployFile(file: string): DeployFile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError("--config", `${file} is not readable JSON: ${(error as Error).message}`);
  }
  const parsed = FileSchema.safeParse(withoutNotes(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]] : issue.path;
    throw new ConfigError(
      path.join(".") || "config",
      issue.code === "unrecognized_keys" ? "is not a field of the configuration" : issue.message,
    );
  }
  return parsed.data;
}

/** A decimal string in base units, the problem named by `field`. */
function amount(text: string, decimals: number, field: string): bigint {
  try {
    return parseAmount(text, decimals, field);
  } catch (error) {
    if (error instanceof AppError) throw new ConfigError(field, error.message.replace(`${field} `, ""));
    throw error;
  }
}

/** The file's amounts against the settlement token's decimals (read on the chain). */
export function resolveDeployConfig(file: DeployFile, settlement: { decimals: number; symbol: string }): DeployConfig {
  if (!Number.isInteger(settlement.decimals) || settlement.decimals > MAX_SETTLEMENT_DECIMALS)
    throw new ConfigError(
      "settlement",
      `the token at ${file.settlement} has ${settlement.decimals} decimals; the pool supports at most ${MAX_SETTLEMENT_DECIMALS}`,
    );
  const cap = amount(file.cap, POINTS_DECIMALS, "cap");
  if (cap === 0n || cap > MAX_ISSUANCE_LIMIT)
    throw new ConfigError("cap", `must be above 0 and at most ${MAX_ISSUANCE_LIMIT} GP base units, got ${cap}`);
  const unit = 10n ** BigInt(settlement.decimals);
  const initialPrice = amount(file.pool.initialPrice, settlement.decimals, "pool.initialPrice");
  if (initialPrice < 1n || initialPrice > MAX_INITIAL_PRICE_UNITS * unit)
    throw new ConfigError(
      "pool.initialPrice",
      `must be above 0 and at most ${MAX_INITIAL_PRICE_UNITS} ${settlement.symbol} per GP, got "${file.pool.initialPrice}"`,
    );
  const big = <T extends Record<string, number>>(o: T) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, BigInt(v)])) as { [K in keyof T]: bigint };
  return {
    settlement: file.settlement,
    settlementDecimals: settlement.decimals,
    settlementSymbol: settlement.symbol,
    admin: file.admin,
    relayer: file.relayer,
    treasury: file.treasury ?? null,
    cap,
    pointsName: file.pointsName,
    pointsSymbol: file.pointsSymbol,
    pool: { ...big({ ...file.pool, initialPrice: 0 }), initialPrice },
    custody: {
      withdrawalFee: BigInt(file.custody.withdrawalFee),
      exitMultiple: BigInt(file.custody.exitMultiple),
      referralMode: BigInt(REFERRAL_MODES.indexOf(file.custody.referralMode)),
    },
    adCredit: big(file.adCredit),
    confirmations: file.confirmations,
  };
}

/** The deploy's environment: the chain, the deployer's key, and the crash tests' fault. */
export interface DeployEnv {
  rpcUrl: string;
  deployerKey: string;
  /** GP_DEPLOY_REPLACE_AFTER (seconds, 180): a transaction pending this long is replaced with higher fees. */
  replaceAfterMs: number;
  /** Test-only (GP_DEPLOY_FAULT): `after:<step>` or `sent:<step>` kills the process there (SIGKILL). */
  fault: { at: "after" | "sent"; step: string } | null;
}

const EnvSchema = z.object({
  RPC_URL: z.url({ message: "must be the chain's JSON-RPC URL" }),
  DEPLOYER_PRIVATE_KEY: z
    .string({ message: "must be set (0x and 64 hex digits)" })
    .regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x and 64 hex digits"),
  GP_DEPLOY_REPLACE_AFTER: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, "must be a whole number of seconds, at least 1")
    .optional(),
  GP_DEPLOY_FAULT: z
    .string()
    .regex(/^(after|sent):[\w:.-]+$/, "must be after:<step> or sent:<step> (test-only)")
    .optional(),
});

/** Read from the environment it is given (the script passes process.env). */
export function loadDeployEnv(env: NodeJS.ProcessEnv): DeployEnv {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  const e = parsed.data;
  const fault = e.GP_DEPLOY_FAULT ? e.GP_DEPLOY_FAULT.split(/:(.*)/s) : null;
  return {
    rpcUrl: e.RPC_URL,
    deployerKey: e.DEPLOYER_PRIVATE_KEY,
    replaceAfterMs: Number(e.GP_DEPLOY_REPLACE_AFTER ?? 180) * 1000,
    fault: fault ? { at: fault[0] as "after" | "sent", step: fault[1] } : null,
  };
}
