/**
 * The only reader of process.env. Settings are parsed once, checked, frozen and passed in.
 * (The relayer's settings join these when it exists.)
 */
import * as path from "node:path";

export interface DemoConfig {
  /** Where chain state, charts and tables go: GP_DATA_DIR, default `.data/` in the project. */
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

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min} to ${max}, got ${value}`);
  return value;
}

export function loadDemoConfig(env: NodeJS.ProcessEnv = process.env, projectRoot = process.cwd()): DemoConfig {
  return Object.freeze({
    dataDir: path.resolve(projectRoot, env.GP_DATA_DIR || ".data"),
    seed: wholeNumber(env, "GP_DEMO_SEED", 20261123, 0, 2 ** 31 - 1),
    operations: wholeNumber(env, "GP_DEMO_OPERATIONS", 160, 0, 100_000),
  });
}
