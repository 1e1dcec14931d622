/**
 * The relayer on a chain and a database already open: the batcher's loop and the HTTP API,
 * listening. `npm start` (main.ts) and the tests assemble it the same way through here.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { ChainPort } from "./adapters/chain/chain";
import type { Db } from "./adapters/db/db";
import { createApp } from "./app";
import type { TrustProxy } from "./config";
import { type AdsConfig, createAds, defaultAdsConfig } from "./modules/ads/service";
import type { RateLimits } from "./http/limits";
import type { LimitUnits } from "./domain/shop-limits";
import { type BatcherOptions, createBatcher } from "./services/batcher";
import { checkRelayerKey } from "./services/relayer-key";
import { createRelayerLoop } from "./services/relayer-loop";

/** The least time between two ads steps of the relayer's rounds. */
const ADS_ROUND_MS = 250;

export interface RelayerDeps {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  adminToken: string;
  log: Logger;
  batcher: BatcherOptions;
  batchWaitMs: number;
  listen: { port: number; host: string };
  nowSeconds?: () => number;
  limits?: RateLimits;
  /** Rewarded ads: the release policy and the daily task cap; the deployment's defaults when absent. */
  ads?: AdsConfig;
  /** Order limits per shop and for the deployment (whole settlement units); a small shop's when absent. */
  orderLimits?: LimitUnits;
  /** The proxies whose X-Forwarded-For names the client (none by default). */
  trustProxy?: TrustProxy;
}

export async function startRelayer(deps: RelayerDeps) {
  await checkRelayerKey(deps.chain, deps.log);
  const batcher = createBatcher({
    db: deps.db,
    chain: deps.chain,
    userSalt: deps.userSalt,
    log: deps.log.child({ component: "batcher" }),
    options: deps.batcher,
  });
  const ads = createAds({
    db: deps.db,
    chain: deps.chain,
    userSalt: deps.userSalt,
    config: deps.ads ?? defaultAdsConfig(deps.chain.deployments.settlementDecimals),
    nowSeconds: deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
    log: deps.log.child({ component: "ads" }),
  });
  // Each round first turns confirmed ad sales and released vouchers into queued operations. A
  // failure there is logged and does not hold up orders; the next round tries again.
  // It runs at most every ADS_ROUND_MS: order rounds come every few milliseconds under load, and
  // its queries would take turns with the webhooks' on PGlite's one connection.
  const adsLog = deps.log.child({ component: "ads" });
  let adsRanAt = 0;
  const round = {
    tick: async () => {
      if (Date.now() - adsRanAt >= ADS_ROUND_MS) {
        adsRanAt = Date.now();
        await ads.tick().catch((err: unknown) => adsLog.warn({ err }, "ads round failed; retrying next round"));
      }
      return batcher.tick();
    },
  };
  const loop = createRelayerLoop({ batcher: round, log: deps.log, batchSize: deps.batcher.batchSize, waitMs: deps.batchWaitMs });
  const app = await createApp({
    db: deps.db,
    chain: deps.chain,
    adminToken: deps.adminToken,
    userSalt: deps.userSalt,
    log: deps.log,
    limits: deps.limits,
    nowSeconds: deps.nowSeconds,
    ads,
    orderLimits: deps.orderLimits,
    trustProxy: deps.trustProxy,
    settlement: deps.batcher.settlement,
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
    /** Stops taking requests and lets the batcher finish its round; the chain and database stay open. */
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await loop.stop();
    },
  };
}
