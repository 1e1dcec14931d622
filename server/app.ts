/**
 * createApp(deps): the HTTP application, wired from its services and adapters; no listen, so
 * tests and main.ts both mount it.
 */
import { randomUUID } from "node:crypto";
import { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import express from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { ChainPort } from "./adapters/chain/chain";
import type { Db } from "./adapters/db/db";
import { findShop } from "./adapters/db/shops";
import { adminRoutes } from "./http/admin";
import { createAuthenticator } from "./http/auth";
import { errorHandler, notFound } from "./http/error-handler";
import { orderRoutes } from "./http/orders";
import { poolRoutes } from "./http/pool";
import { systemRouter } from "./http/system";
import { webhookRouter } from "./http/webhooks";
import { createOrderIntake } from "./services/order-intake";

export interface AppDeps {
  db: Db;
  chain: ChainPort;
  adminToken: string;
  log: Logger;
  /** Seconds since the epoch; tests move it. */
  nowSeconds?: () => number;
}

export async function createApp(deps: AppDeps): Promise<express.Express> {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  const registry = new OpenAPIRegistry();
  const settlementDecimals = deps.chain.deployments.settlementDecimals;
  const maxOrderAmount = await deps.chain.pool.maxOrderAmount();
  const authenticate = createAuthenticator({
    adminToken: deps.adminToken,
    shopSecret: async (shopId) => (await findShop(deps.db, shopId))?.webhookSecret ?? null,
  });
  const router = express.Router();
  const host = { router, registry, db: deps.db, authenticate };

  app.use(
    pinoHttp({
      logger: deps.log,
      genReqId: (req, res) => {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // Only what is safe to keep: no headers (bearer tokens, signatures), no bodies (passwords).
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  const intake = createOrderIntake({ db: deps.db, settlementDecimals, maxOrderAmount, nowSeconds: deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)) });
  app.use(webhookRouter({ intake, registry }));
  app.use(express.json({ limit: "64kb", strict: true }));
  app.use(systemRouter({ db: deps.db, chain: deps.chain, registry }));
  poolRoutes(host, { chain: deps.chain });
  orderRoutes(host, { settlementDecimals });
  adminRoutes(host, { settlementDecimals });
  app.use(router);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
