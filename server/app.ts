/**
 * createApp(deps): the HTTP application, wired from its services and adapters; no listen, so
 * tests and main.ts both mount it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import express from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import type { ChainPort } from "./adapters/chain/chain";
import type { Db } from "./adapters/db/db";
import type { TrustProxy } from "./config";
import { findShop } from "./adapters/db/shops";
import { adminRoutes, relayerStatusRoute } from "./http/admin";
import { findMerchantKey } from "./adapters/db/merchants";
import { sessionUser } from "./adapters/db/users";
import { sessionStaff } from "./adapters/db/staff";
import { staffRoutes } from "./http/staff";
import { AppError } from "./errors";
import { type Principal, createAuthenticator } from "./http/auth";
import { securityHeaders } from "./http/headers";
import { DEFAULT_LIMITS, type RateLimits, createLimiters, createRelayLimiter } from "./http/limits";
import { merchantRoutes } from "./http/merchants";
import { metricsRouter } from "./http/metrics";
import { operationRoutes } from "./http/operations";
import { parameterRoutes } from "./http/parameters";
import { parameterPreviewRoutes } from "./http/parameter-preview";
import { relayRoutes } from "./http/relay";
import { grantRoutes } from "./http/grants";
import { memberRoutes } from "./http/members";
import { dashboardRoutes } from "./http/dashboard";
import type { SettlementFloat } from "./services/operations";
import { shopControlRoutes } from "./http/shop-controls";
import { DEFAULT_LIMIT_UNITS, type LimitUnits, orderLimits } from "./domain/shop-limits";
import { userRoutes } from "./http/users";
import { checkPaymentPassword } from "./services/credentials";
import { errorHandler, notFound } from "./http/error-handler";
import { orderRoutes } from "./http/orders";
import { poolRoutes } from "./http/pool";
import { systemRouter } from "./http/system";
import { inboundOrderRoutes } from "./http/inbound-orders";
import { refundRoutes } from "./http/refunds";
import { createRefunds } from "./services/refunds";
import { createShopFunding } from "./services/shop-funding";
import type { RunningModule } from "./modules/module";
import type { GasWatch } from "./services/gas-watch";
import type { Metrics } from "./services/metrics";
import { createOrderIntake } from "./services/order-intake";
import { settingOrCreate } from "./adapters/db/settings";
import type { SmsSender } from "./adapters/sms/sms";
import { phoneAccountRoutes } from "./http/phone-accounts";
import { notificationRoutes } from "./http/notification-endpoints";
import type { PrivateAllowance } from "./domain/endpoint-addresses";
import { type Resolve, createNotifications } from "./services/notifications";
import { pageRoutes } from "./http/pages";
import type { BuiltPages } from "./web/build";
import { phoneAccounts } from "./services/phone-accounts";
import { DEFAULT_SMS_LIMITS, type SmsLimits, createPhoneCodes } from "./services/phone-codes";

export interface AppDeps {
  db: Db;
  chain: ChainPort;
  adminToken: string;
  /** Salts the custodial account ids of users and merchants. */
  userSalt: string;
  log: Logger;
  /** Rate limits; the defaults suit production. */
  limits?: RateLimits;
  /** Seconds since the epoch; tests move it. */
  nowSeconds?: () => number;
  /** The relayer's started modules, whose routes it mounts. */
  modules: readonly RunningModule[];
  /** Order limits per shop and for the deployment, in whole settlement units; a small shop's when absent. */
  orderLimits?: LimitUnits;
  /** The proxies whose X-Forwarded-For names the client, so limits count clients, not the proxy. */
  trustProxy?: TrustProxy;
  /** The relayer's figures (/metrics, the admin status) and its gas watch (/readyz). */
  metrics: Metrics;
  gas: GasWatch;
  /** A bearer token that reads /metrics and nothing else; the admin token reads it too. */
  metricsToken?: string | null;
  /** The relayer's settlement float and treasury (grants are paid from it); null when the deployment names no treasury. */
  settlement?: SettlementFloat | null;
  /** Where SMS codes go (null: phone sign-up answers SMS_NOT_CONFIGURED) and their sending limits; none when absent. */
  sms?: AppSms;
  /** Where people reach the deployment (GP_PUBLIC_URL), for the links it hands out; null: links are paths. */
  publicUrl?: string | null;
  /** The built pages (server/web/build.ts) served at `/` and `/wallet`; none when absent. */
  pages?: BuiltPages | null;
  /** Which private addresses notification endpoints may be on (none by default), and the resolver that says where a host is. */
  notifications?: { allowance: PrivateAllowance; resolve?: Resolve };
}

export interface AppSms {
  sender: SmsSender | null;
  limits?: SmsLimits;
}

export async function createApp(deps: AppDeps): Promise<express.Express> {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.set("trust proxy", deps.trustProxy ?? false);
  const registry = new OpenAPIRegistry();
  const settlementDecimals = deps.chain.deployments.settlementDecimals;
  const maxOrderAmount = await deps.chain.pool.maxOrderAmount();
  // The pages' CSRF key is the deployment's, in the database, so every relayer process checks every token.
  const csrfKey = await settingOrCreate(deps.db, "csrf_key", () => randomBytes(32).toString("hex"));
  const authenticate = createAuthenticator({
    csrfKey,
    adminToken: deps.adminToken,
    shopSecret: async (shopId) => (await findShop(deps.db, shopId))?.webhookSecret ?? null,
    sessionUser: (hash) => sessionUser(deps.db, hash),
    merchantKey: (keyId) => findMerchantKey(deps.db, keyId),
    sessionStaff: (hash) => sessionStaff(deps.db, hash),
  });
  const router = express.Router();
  const checkPayment = async (principal: Principal, password: string | undefined, options: { required: boolean }) => {
    if (principal.kind !== "user") throw new AppError("FORBIDDEN", "only users have a payment password");
    await checkPaymentPassword(deps.db, principal.userId, password, options);
  };
  const host = { router, registry, db: deps.db, authenticate, csrfKey, checkPaymentPassword: checkPayment };
  const rateLimits = deps.limits ?? DEFAULT_LIMITS;
  const limiters = createLimiters(rateLimits);

  app.use(securityHeaders);
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
  const nowSeconds = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const limits = orderLimits(deps.orderLimits ?? DEFAULT_LIMIT_UNITS, settlementDecimals);
  const saleHooks = deps.modules.flatMap((m) => (m.saleRecorded ? [m.saleRecorded] : []));
  const intake = createOrderIntake({
    db: deps.db,
    settlementDecimals,
    maxOrderAmount,
    userSalt: deps.userSalt,
    nowSeconds,
    limits,
    log: deps.log.child({ component: "intake" }),
    extensions: deps.modules.flatMap((m) => (m.order ? [m.order] : [])),
  });
  // Each route parses its own body (JSON, or a signed request's raw bytes), so this order is free.
  app.use("/v1/webhooks", (_req, res, next) => {
    const done = deps.metrics.webhookStarted();
    res.once("finish", () => done(res.statusCode));
    next();
  });
  app.use(systemRouter({ db: deps.db, chain: deps.chain, registry, gas: deps.gas }));
  app.use(metricsRouter({ metrics: deps.metrics, adminToken: deps.adminToken, metricsToken: deps.metricsToken ?? null, registry }));
  relayerStatusRoute(host, { metrics: deps.metrics });
  inboundOrderRoutes(host, { intake });
  refundRoutes(host, {
    intake,
    refunds: createRefunds({ db: deps.db, chain: deps.chain, userSalt: deps.userSalt, settlementDecimals }),
    funding: createShopFunding({ chain: deps.chain, treasury: deps.settlement?.treasury ?? null, settlementDecimals }),
    settlementDecimals,
  });
  poolRoutes(host, { chain: deps.chain });
  orderRoutes(host, { settlementDecimals, chain: deps.chain });
  adminRoutes(host, { settlementDecimals, limits, nowSeconds });
  shopControlRoutes(host, { settlementDecimals, limits, nowSeconds });
  parameterRoutes(host, { chain: deps.chain });
  parameterPreviewRoutes(host, { chain: deps.chain });
  userRoutes(host, { chain: deps.chain, userSalt: deps.userSalt, limiters, saleHooks });
  merchantRoutes(host, { chain: deps.chain, userSalt: deps.userSalt });
  staffRoutes(host, { limiters });
  operationRoutes(host, { userSalt: deps.userSalt });
  relayRoutes(host, {
    chain: deps.chain,
    userSalt: deps.userSalt,
    limiter: createRelayLimiter(rateLimits),
    dailyGas: BigInt(rateLimits.relayDailyGas),
  });
  grantRoutes(host, { chain: deps.chain, userSalt: deps.userSalt, settlement: deps.settlement ?? null });
  memberRoutes(host, { chain: deps.chain, userSalt: deps.userSalt, settlement: deps.settlement ?? null });
  dashboardRoutes(host, { chain: deps.chain, nowSeconds });
  // The codes' HMAC key is the deployment's, in the database, so every relayer process checks every code.
  const codeKey = await settingOrCreate(deps.db, "sms_code_key", () => randomBytes(32).toString("hex"));
  const codes = createPhoneCodes({
    db: deps.db,
    sender: deps.sms?.sender ?? null,
    codeKey,
    limits: deps.sms?.limits ?? DEFAULT_SMS_LIMITS,
    log: deps.log.child({ component: "sms" }),
    onResult: deps.metrics.smsCode,
  });
  phoneAccountRoutes(host, {
    codes,
    accounts: phoneAccounts({ db: deps.db, codes, userSalt: deps.userSalt }),
    limiters,
    publicUrl: deps.publicUrl ?? null,
  });
  notificationRoutes(host, { notifications: createNotifications(deps.notifications ?? { allowance: "none" }) });
  for (const module of deps.modules) module.routes?.(host);
  app.use(router);
  if (deps.pages) app.use(pageRoutes(deps.pages, { smsOutbox: deps.sms?.sender?.name === "outbox" }));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
