/**
 * What a module of the relayer registers (rewarded ads now; accounts, pages, a dividend pool
 * later): its contracts in the chain port's registry, the steps it adds to the relayer's rounds,
 * and its routes. The relayer starts each module of `modules/index.ts` the same way.
 */
import type { z } from "zod";
import type { Logger } from "pino";
import type { ChainPort, ContractEntry } from "../adapters/chain/chain";
import type { ModuleDeployment } from "../adapters/chain/local-deployment";
import type { Db } from "../adapters/db/db";
import type { RouteHost } from "../http/route";
import type { SettlementFloat } from "../services/operations";
import type { OrderExtension } from "../services/order-intake";
import type { RelayerStep } from "../services/relayer-loop";
import type { SaleHook } from "../services/sales";

/**
 * The relayer's settings for its modules, by module; a module adds its own with `declare module`
 * (absent: the deployment's defaults).
 */
export interface ModuleSettings {}

/** What a module is started with: the relayer's open chain and database and its settings. */
export interface ModuleContext {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  log: Logger;
  nowSeconds: () => number;
  /** The relayer's settlement float and its treasury; null when it is never refilled. */
  settlement: SettlementFloat | null;
  settings: ModuleSettings;
}

/** A started module: what the relayer's rounds and the HTTP application take from it. */
export interface RunningModule {
  /** Run in each round, before the sender of orders and operations. */
  steps: readonly RelayerStep[];
  /** Its routes, declared on the host like every other. */
  routes?(host: RouteHost): void;
  /** Told of each custodial payment to a merchant, in the transaction that queues it. */
  saleRecorded?: SaleHook;
  /** Its fields of the inbound order, and what it does with an order that is accepted. */
  order?: OrderExtension;
}

export interface Module {
  name: string;
  /** Registered in the chain port before the relayer's key is checked. */
  contracts: readonly ContractEntry[];
  /** Its settings in the environment, by variable: config.ts checks them with the others. */
  env?: z.ZodRawShape;
  /** Its settings from those checked values, once the deployment's settlement decimals are known. */
  settings?(env: Readonly<Record<string, unknown>>, settlementDecimals: number): ModuleSettings;
  /** How the embedded chain's first start deploys its contracts; without it, they are deployed elsewhere. */
  deployment?: ModuleDeployment;
  start(context: ModuleContext): RunningModule;
}
