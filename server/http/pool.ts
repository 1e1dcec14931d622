/** The public view of the pool (docs/api.md, "The pool"). */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { type PoolView, readPool } from "../services/pool-info";
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
    settlement: z.object({ address: z.string(), decimals: z.number().int() }),
    params: z.object({
      poolShareBps: z.number().int(),
      mintShareBps: z.number().int(),
      exitFeeBps: z.number().int(),
      initialPrice: z.string(),
      referralShare1Bps: z.number().int(),
      referralShare2Bps: z.number().int(),
    }),
  })
  .meta({ id: "Pool" });

export function poolRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/pool",
    tag: "pool",
    summary: "The pool: assets, supply, price, issuance, parameters",
    auth: [],
    responses: { 200: { description: "Read from the chain now.", schema: PoolBody } },
    errors: ["UNAVAILABLE"],
    handle: async () => ({ status: 200, body: await readPool(deps.chain) }),
  });
}
