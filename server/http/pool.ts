/** The public view of the pool (docs/api.md, "The pool"). */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { type PoolView, readPool } from "../services/pool-info";
import { type ActivityItem, type PoolHistory, RANGES, cachedPoolHistory, readPoolActivity } from "../services/pool-history";
import { type RouteHost, defineRoute } from "./route";

/** Typed against the service's PoolView: the document and the answer cannot drift apart. */
const PoolBody: z.ZodType<PoolView> = z
  .object({
    assets: z.string().meta({ description: "Settlement held for GP holders.", example: "60" }),
    supply: z.string().meta({ description: "GP in circulation.", example: "163.636363636363636363" }),
    price: z.string().meta({ description: "assets / supply in settlement units per GP, 18 places.", example: "0.366666666666666667" }),
    priceRatio: z.object({ assets: z.string(), supply: z.string() }).meta({ description: "The exact price, in base units." }),
    maxIssuance: z.string(),
    minted: z.string(),
    maxOrderAmount: z.string(),
    paused: z.boolean(),
    settlement: z.object({ address: z.string(), decimals: z.number().int(), symbol: z.string().meta({ example: "USDT" }) }),
    held: z.string().meta({ description: "The settlement the pool contract holds (its balance on the settlement token).", example: "60" }),
    backed: z.boolean().meta({ description: "The backing check: `held` ≥ `assets`, so every GP's share of the assets is there." }),
    block: z.number().int().meta({ description: "The block every figure here was read at." }),
    chainId: z.string(),
    contracts: z.object({ pool: z.string(), points: z.string(), custody: z.string(), settlement: z.string() }),
    params: z.object({
      poolShareBps: z.number().int(),
      mintShareBps: z.number().int(),
      exitFeeBps: z.number().int(),
      initialPrice: z.string(),
      referralShare1Bps: z.number().int(),
      referralShare2Bps: z.number().int(),
      withdrawalFeeBps: z.number().int().meta({ description: "The custody's fee on GP withdrawn to an original account." }),
    }),
  })
  .meta({ id: "Pool" });

const Money = (description: string) => z.string().meta({ description, example: "30" });
const HistoryBody: z.ZodType<PoolHistory> = z
  .object({
    range: z.enum(["day", "week", "month", "all"]),
    from: z.string().meta({ description: "The range's start (ISO 8601): now less the range, or the first indexed event for `all`." }),
    to: z.string().meta({ description: "The range's end: now." }),
    indexedBlock: z.number().int().meta({ description: "The last block the relayer indexed." }),
    headBlock: z.number().int().meta({ description: "The chain's head when this was read." }),
    check: z
      .object({ block: z.number().int(), agrees: z.boolean().nullable() })
      .meta({
        description:
          "The indexed assets and supply against the chain's at `indexedBlock`; null when the node no longer keeps that block's state.",
      }),
    points: z
      .array(
        z.object({
          time: z.string(),
          block: z.number().int(),
          assets: Money("Settlement held for GP holders after the block."),
          supply: z.string().meta({ description: "GP in circulation after the block." }),
          price: z.string().nullable().meta({ description: "assets / supply, 18 places; null while no GP circulate." }),
        }),
      )
      .meta({
        description: `The state after each block that changed it (at most ${500} points: a busy range keeps each bucket's last), then now.`,
      }),
    daily: z
      .array(
        z.object({
          day: z.string().meta({ description: "The day, UTC (YYYY-MM-DD).", example: "2026-12-03" }),
          contributions: Money("Settlement the orders of the day paid into the pool."),
          exitFees: Money("Exit fees the day's redemptions left in the pool."),
          orders: z
            .number()
            .int()
            .meta({ description: "Orders recorded that day (a grant or an ad conversion pays in, but is no order)." }),
          redemptions: z.number().int(),
          redeemedPoints: z.string(),
          payouts: Money("Settlement the day's redemptions paid out."),
        }),
      )
      .meta({ description: "Every day of the range, those without orders too." }),
  })
  .meta({ id: "PoolHistory" });

const ActivityBody: z.ZodType<{ indexedBlock: number; items: ActivityItem[] }> = z
  .object({
    indexedBlock: z.number().int(),
    items: z.array(
      z.object({
        kind: z.enum(["order", "contribution", "redemption"]),
        time: z.string(),
        block: z.number().int(),
        txHash: z.string(),
        orderKey: z.string().nullable().meta({ description: "The order's on-chain key (a hash of the shop and its order id)." }),
        amount: z.string().nullable().meta({ description: "An order's amount, settlement units." }),
        contribution: z.string().nullable().meta({ description: "What the order paid into the pool." }),
        points: z.string().meta({ description: "GP minted (an order) or redeemed (a redemption)." }),
        gross: z.string().nullable(),
        fee: z.string().nullable().meta({ description: "The exit fee left in the pool." }),
        payout: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "PoolActivity" });

export function poolRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  const history = cachedPoolHistory(host.db, deps.chain);
  defineRoute(host, {
    method: "get",
    path: "/v1/pool/history",
    tag: "pool",
    summary: "The pool's price, assets and supply over time, and its daily contributions and exit fees",
    description:
      "From the pool's own events, which the relayer indexes into its database (following reorgs). No authentication: the figures are public.",
    auth: [],
    query: z.object({ range: z.enum(Object.keys(RANGES) as [keyof typeof RANGES, ...(keyof typeof RANGES)[]]).default("week") }),
    responses: { 200: { description: "The range's history.", schema: HistoryBody } },
    errors: ["VALIDATION_FAILED", "UNAVAILABLE"],
    handle: async ({ query }) => ({ status: 200, body: await history(query.range) }),
  });
  defineRoute(host, {
    method: "get",
    path: "/v1/pool/activity",
    tag: "pool",
    summary: "The latest orders and redemptions",
    description: "From the indexed pool events, newest first; no personal data: order keys are hashes and holders are not shown.",
    auth: [],
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    responses: { 200: { description: "The latest orders and redemptions.", schema: ActivityBody } },
    errors: ["VALIDATION_FAILED", "UNAVAILABLE"],
    handle: async ({ query, db }) => ({ status: 200, body: await readPoolActivity(db, deps.chain, query.limit) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/pool",
    tag: "pool",
    summary: "The pool: assets, supply, price, issuance, parameters",
    auth: [],
    responses: { 200: { description: "Read from the chain now, all at one block.", schema: PoolBody } },
    errors: ["UNAVAILABLE"],
    handle: async () => ({ status: 200, body: await readPool(deps.chain) }),
  });
}
