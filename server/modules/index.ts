/** The relayer's modules, started in this order; a new module is one folder and one line here. */
import { adsModule } from "./ads/module";
import type { Module } from "./module";

export const MODULES: readonly Module[] = [adsModule];
