/**
 * The deploy's journal: each step's signed transaction, recorded before it is broadcast, and its
 * outcome, recorded once mined; written (whole, through a rename) after every change. A run that
 * stopped halfway is resumed from it: a run on another chain, from another deployer or with
 * another configuration is refused, since its addresses would not be this deploy's.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { DeployConfig } from "./config";

export interface JournalEntry {
  hash?: string;
  /**
   * Earlier transactions at the same nonce, replaced by `hash` with higher fees while pending: any
   * of them may be the one mined.
   */
  replaced?: string[];
  /** The signed transaction, broadcast again when the node lost it. */
  raw?: string;
  nonce?: number;
  /** A contract's address, known from the deployer's nonce before the transaction is sent. */
  address?: string;
  block?: number;
  /** Mined (or found already done on the chain: `hash` is then absent). */
  done?: boolean;
}

export interface Journal {
  chainId: string;
  deployer: string;
  /** A digest of the configuration the journal's transactions were made from. */
  config: string;
  steps: Record<string, JournalEntry>;
}

/** The digest of a configuration; bigints as decimal strings. */
export function configDigest(config: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(config, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)))
    .digest("hex");
}

/**
 * The digest of what the steps are made from, and nothing else: the treasury, the settlement's
 * symbol and decimals (its amounts are in base units already) and the confirmations awaited may
 * change between runs without changing a transaction.
 */
export function planDigest(config: DeployConfig): string {
  const { settlement, admin, relayer, cap, pointsName, pointsSymbol, pool, custody, adCredit } = config;
  return configDigest({ settlement, admin, relayer, cap, pointsName, pointsSymbol, pool, custody, adCredit });
}

/** The digest journals were written with before planDigest: the whole configuration but its confirmations. */
export function legacyDigest(config: DeployConfig): string {
  return configDigest({ ...config, confirmations: undefined });
}

export interface OpenJournal {
  readonly file: string;
  /** Whether the file was there before this run. */
  readonly found: boolean;
  readonly data: Journal;
  /** Merges `entry` into the step's and writes the journal. */
  record(step: string, entry: JournalEntry): void;
}

/** `accepted`: other configuration digests the journal may have been written with (an earlier version's). */
export function openJournal(file: string, expected: Omit<Journal, "steps">, accepted: readonly string[] = []): OpenJournal {
  let data: Journal = { ...expected, steps: {} };
  const exists = fs.existsSync(file);
  if (exists) {
    const found = JSON.parse(fs.readFileSync(file, "utf8")) as Journal;
    if (accepted.includes(found.config)) found.config = expected.config;
    for (const key of ["chainId", "deployer", "config"] as const) {
      if (found[key] !== expected[key])
        throw new Error(
          `the journal ${file} was written for another ${key === "config" ? "configuration" : key} (${found[key]}, now ${expected[key]}): ` +
            "resume with the same chain, deployer and configuration, or move it (and the deployments file) away to deploy afresh",
        );
    }
    data = found;
  }
  const write = () => {
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + "\n");
    fs.renameSync(tmp, file);
  };
  return {
    file,
    found: exists,
    data,
    record: (step, entry) => {
      data.steps[step] = { ...data.steps[step], ...entry };
      write();
    },
  };
}
