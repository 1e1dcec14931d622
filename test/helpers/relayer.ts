/**
 * A relayer assembled in the test process the way server/main.ts assembles it (anvil, the real
 * database code, createApp, the sender loop), listening on a free 127.0.0.1 port; and an HTTP
 * client that signs webhooks as a shop does.
 */
import type { AdsConfig } from "../../server/modules/ads/service";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino, { type Logger } from "pino";
import type { RateLimits } from "../../server/http/limits";
import type { LimitUnits } from "../../server/domain/shop-limits";
import type { TrustProxy } from "../../server/config";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "../../server/adapters/chain/anvil";
import { type ChainPort, connectChain } from "../../server/adapters/chain/chain";
import { DEFAULT_SETTLEMENT_FLOAT, ensureLocalDeployment } from "../../server/adapters/chain/local-deployment";
import type { Db } from "../../server/adapters/db/db";
import { migrate } from "../../server/adapters/db/migrations";
import { openPglite } from "../../server/adapters/db/pglite";
import { MODULE_DEPLOYMENTS } from "../../server/modules";
import { startRelayer } from "../../server/relayer";
import type { AppSms } from "../../server/app";
import { freePort } from "./net";
import { signedInboundOrder } from "./inbound-orders";

export const TEST_ADMIN_TOKEN = "gpa_test_admin_token_0123456789";
/** The salt the test relayer hashes user ids with, to find their custodial accounts. */
export const TEST_USER_SALT = "test-salt";

export interface TestRelayer {
  url: string;
  app: import("express").Express;
  db: Db;
  chain: ChainPort;
  anvil: EmbeddedChain;
  dir: string;
  /** Stops the chain node (it writes its state), as an outage of the node would. */
  stopChain(): Promise<void>;
  /** Starts it again on the same port and state. */
  startChain(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRelayer(
  options: {
    db?: Db;
    nowSeconds?: () => number;
    limits?: RateLimits;
    log?: Logger;
    ads?: AdsConfig;
    orderLimits?: LimitUnits;
    trustProxy?: TrustProxy;
    settlementFloat?: bigint;
    /** The gas watch's minimum (wei), the fee cap (wei per gas) and the metrics token (issue 14). */
    minGasBalance?: bigint;
    feeCap?: bigint;
    metricsToken?: string;
    /** The RPC URL the relayer uses, given anvil's (a proxy in front of it); anvil's own by default. */
    rpcUrl?: (anvilUrl: string) => string;
    /** The SMS sender (a memory sender in tests) and its limits (issue 15); none by default. */
    sms?: AppSms;
    /** Signed notifications' delivery (issue 18): loopback allowed, the timeout and retry scale; none allowed by default. */
    notifications?: import("../../server/services/notification-delivery").DeliveryOptions;
  } = {},
): Promise<TestRelayer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-relayer-"));
  const chainPort = await freePort();
  const stateFile = path.join(dir, "chain", "state.json");
  let anvil = await startAnvil({ port: chainPort, stateFile });
  const { deployments } = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, path.join(dir, "deployments.json"), {
    modules: MODULE_DEPLOYMENTS,
    settlementFloat: options.settlementFloat,
  });
  const chain = connectChain(options.rpcUrl?.(anvil.url) ?? anvil.url, ANVIL_DEV_KEY, deployments, { feeCap: options.feeCap });
  const db = options.db ?? (await openPglite(null));
  await migrate(db);
  const relayer = await startRelayer({
    db,
    chain,
    userSalt: TEST_USER_SALT,
    adminToken: TEST_ADMIN_TOKEN,
    log: options.log ?? pino({ level: "silent" }),
    limits: options.limits,
    sender: {
      batchSize: 100,
      confirmations: 0,
      replaceAfterMs: 60_000,
      settlement: { float: options.settlementFloat ?? DEFAULT_SETTLEMENT_FLOAT, treasury: deployments.treasury! },
    },
    batchWaitMs: 20,
    listen: { port: 0, host: "127.0.0.1" },
    nowSeconds: options.nowSeconds,
    ads: options.ads,
    orderLimits: options.orderLimits,
    trustProxy: options.trustProxy,
    minGasBalance: options.minGasBalance,
    metricsToken: options.metricsToken,
    sms: options.sms,
    notifications: options.notifications,
  });
  return {
    url: relayer.url,
    app: relayer.app,
    db,
    chain,
    get anvil() {
      return anvil;
    },
    dir,
    stopChain: () => anvil.stop(),
    startChain: async () => {
      anvil = await startAnvil({ port: chainPort, stateFile });
    },
    stop: async () => {
      await relayer.stop();
      chain.close();
      if (!options.db) await db.close();
      await anvil.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A JSON call; `token` goes in as a bearer token. */
export async function call<T = any>(
  base: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  const send = () =>
    fetch(base + route, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
    });
  let res: Response;
  try {
    res = await send();
  } catch (error) {
    // A kept-alive connection the server closed as the request went out (its idle timeout): a GET
    // changes nothing, so it is sent once more on a new connection. Anything else is the test's.
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (method !== "GET" || code !== "ECONNRESET") throw error;
    res = await send();
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (the docs page, CSV)
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export async function createShop(
  base: string,
  name = "Shop",
  token = TEST_ADMIN_TOKEN,
): Promise<{ shopId: string; webhookSecret: string }> {
  const res = await call(base, "POST", "/v1/admin/shops", { token, body: { name }, headers: { "idempotency-key": randomUUID() } });
  if (res.status !== 201) throw new Error(`creating a shop: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Posts an order webhook signed with `secret` at `nowSeconds` (now by default). */
export async function postOrder(
  base: string,
  shop: { shopId: string; webhookSecret: string },
  body: unknown,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<Answer> {
  const signed = signedInboundOrder(shop.shopId, shop.webhookSecret, body, nowSeconds);
  return call(base, "POST", "/v1/webhooks/orders", {
    body: signed.rawBody.toString("utf8"),
    headers: {
      "x-gp-shop": signed.shopId,
      "x-gp-timestamp": signed.timestamp,
      "x-gp-signature": signed.signature,
      "content-type": "application/json",
    },
  });
}

/** Polls the order until it leaves received/submitted. */
export async function settledOrder(
  base: string,
  shopId: string,
  orderId: string,
  timeoutMs = 30_000,
  token = TEST_ADMIN_TOKEN,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(base, "GET", `/v1/shops/${shopId}/orders/${encodeURIComponent(orderId)}`, { token });
    if (res.status === 200 && (res.body.state === "confirmed" || res.body.state === "rejected")) return res.body;
    if (Date.now() > deadline) throw new Error(`order ${orderId} not settled: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls the operation until the chain confirmed or refused it. */
export async function settledOperation(base: string, token: string, operationId: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(base, "GET", `/v1/operations/${operationId}`, { token });
    if (res.status === 200 && (res.body.state === "confirmed" || res.body.state === "rejected")) return res.body;
    if (Date.now() > deadline) throw new Error(`operation ${operationId} not settled: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
