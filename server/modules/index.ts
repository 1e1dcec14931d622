/** The relayer's modules, started in this order; a new module is one folder and one line here. */
import { adsModule } from "./ads/module";
import type { Module } from "./module";

export const MODULES: readonly Module[] = [adsModule];

/** Their deployment hooks, for the embedded chain's first start (main.ts and the tests' relayers). */
export const MODULE_DEPLOYMENTS = MODULES.flatMap((m) => (m.deployment ? [m.deployment] : []));
