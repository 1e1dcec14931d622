/**
 * The relayer on a chain and a database already open: its modules registered and started, the
 * loop of their steps and the sender's, and the HTTP API, listening. `npm start` (main.ts) and the
 * tests assemble it the same way through here.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { ChainPort } from "./adapters/chain/chain";
import type { Db } from "./adapters/db/db";
import { type AppSms, createApp } from "./app";
import type { TrustProxy } from "./config";
import type { RateLimits } from "./http/limits";
import type { LimitUnits } from "./domain/shop-limits";
import { parseEther } from "ethers";
import { DEFAULT_MIN_GAS_BALANCE, createGasWatch } from "./services/gas-watch";
import { createMetrics } from "./services/metrics";
import { type SenderOptions, createSender } from "./services/sender";
import { checkRelayerKey } from "./services/relayer-key";
import { createRelayerLoop } from "./services/relayer-loop";
import { createPoolIndexer } from "./services/pool-indexer";
import { type DeliveryOptions, createNotificationDelivery } from "./services/notification-delivery";
import { createFundingSteps } from "./services/shop-funding";
import { MODULES } from "./modules";
import type { BuiltPages } from "./web/build";
import type { ModuleSettings } from "./modules/module";

/** With each module's settings (modules/module.ts), under its name. */
export interface RelayerDeps extends ModuleSettings {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  adminToken: string;
  log: Logger;
  sender: SenderOptions;
  batchWaitMs: number;
  /** How often the pool's events are indexed (POOL_INDEX_MS when absent). */
  poolIndexEveryMs?: number;
  listen: { port: number; host: string };
  nowSeconds?: () => number;
  limits?: RateLimits;
  /** Order limits per shop and for the deployment (whole settlement units); a small shop's when absent. */
  orderLimits?: LimitUnits;
  /** The proxies whose X-Forwarded-For names the client (none by default). */
  trustProxy?: TrustProxy;
  /** Below this native balance (wei) of the relayer's wallet, new chain work waits; 0 turns it off; default DEFAULT_MIN_GAS_BALANCE. */
  minGasBalance?: bigint;
  /** A bearer token that reads /metrics only (the admin token reads it too). */
  metricsToken?: string | null;
  /** The SMS sender and its limits (phone accounts); without it, phone sign-up answers SMS_NOT_CONFIGURED. */
  sms?: AppSms;
  /** Where people reach the deployment, for referral links. */
  publicUrl?: string | null;
  /** The built pages, served at `/` and `/wallet`; none when absent. */
  pages?: BuiltPages | null;
  /** Signed notifications' delivery: which private addresses are allowed, the timeout, the retry scale; none allowed by default. */
  notifications?: DeliveryOptions;
}

/** How often the gas watch reads the wallet's balance and the fees. */
const GAS_CHECK_MS = 1_000;
const POOL_INDEX_MS = 1_000;
const RELEASE_MS = 500;
const DEPOSITS_MS = 1_000;

export async function startRelayer(deps: RelayerDeps) {
  for (const module of MODULES) for (const contract of module.contracts) deps.chain.register(contract);
  await checkRelayerKey(deps.chain, deps.log);
  const gas = createGasWatch({
    chain: deps.chain,
    log: deps.log.child({ component: "gas-watch" }),
    minBalance: deps.minGasBalance ?? parseEther(DEFAULT_MIN_GAS_BALANCE),
  });
  const metrics = createMetrics({ db: deps.db, chain: deps.chain, gas });
  const sender = createSender({
    gate: gas,
    metrics: metrics.sender,
    db: deps.db,
    chain: deps.chain,
    userSalt: deps.userSalt,
    log: deps.log.child({ component: "sender" }),
    options: deps.sender,
  });
  const modules = MODULES.map((module) =>
    module.start({
      db: deps.db,
      chain: deps.chain,
      userSalt: deps.userSalt,
      log: deps.log.child({ component: module.name }),
      nowSeconds: deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
      settlement: deps.sender.settlement ?? null,
      settings: deps,
    }),
  );
  // The modules' steps first each round (they queue operations), then the sender, which sends them.
  // The gas watch before both: the sender asks it whether new chain work waits.
  const indexer = createPoolIndexer({ db: deps.db, chain: deps.chain, log: deps.log.child({ component: "pool-index" }) });
  const notifications: DeliveryOptions = deps.notifications ?? { allowance: "none" };
  const delivery = createNotificationDelivery({
    db: deps.db,
    log: deps.log.child({ component: "notifications" }),
    options: { fault: deps.sender.fault, ...notifications },
    metrics: metrics.notifications,
  });
  const funding = createFundingSteps({
    db: deps.db,
    chain: deps.chain,
    treasury: deps.sender.settlement?.treasury ?? null,
    nowSeconds: deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
    log: deps.log.child({ component: "funding" }),
  });
  const steps = [
    { name: "gas-watch", everyMs: GAS_CHECK_MS, tick: () => gas.check() },
    // Pending orders whose window ended, and prefunded shops' deposits, before the sender's round.
    { name: "release", everyMs: RELEASE_MS, tick: () => funding.release() },
    { name: "shop-deposits", everyMs: DEPOSITS_MS, tick: () => funding.deposits() },
    ...modules.flatMap((m) => m.steps),
    { name: "sender", tick: () => sender.tick() },
    // The public page's history: the pool's events into the database, a few times a block.
    { name: "pool-index", everyMs: deps.poolIndexEveryMs ?? POOL_INDEX_MS, tick: async () => void (await indexer.step()) },
    // The outbox's notifications, signed, to the shops' and merchants' endpoints (claimed with a lease).
    { name: "notifications", tick: async () => void (await delivery.tick()) },
  ];
  const loop = createRelayerLoop({
    steps,
    log: deps.log,
    batchSize: deps.sender.batchSize,
    waitMs: deps.batchWaitMs,
    onFailure: metrics.stepFailed,
    onSuccess: metrics.stepSucceeded,
  });
  const app = await createApp({
    db: deps.db,
    chain: deps.chain,
    adminToken: deps.adminToken,
    userSalt: deps.userSalt,
    log: deps.log,
    limits: deps.limits,
    nowSeconds: deps.nowSeconds,
    modules,
    orderLimits: deps.orderLimits,
    trustProxy: deps.trustProxy,
    metrics,
    gas,
    metricsToken: deps.metricsToken,
    settlement: deps.sender.settlement ?? null,
    sms: deps.sms,
    publicUrl: deps.publicUrl,
    pages: deps.pages,
    notifications: { allowance: notifications.allowance, resolve: notifications.resolve },
  });
  const server: Server = app.listen(deps.listen.port, deps.listen.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  loop.start();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${deps.listen.host}:${port}`,
    app,
    metrics,
    gas,
    /** Stops taking requests and lets the sender finish its round; the chain and database stay open. */
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await loop.stop();
      // The notifications' sends run beside the rounds: cut and recorded before the database closes.
      await delivery.stop();
    },
  };
}
