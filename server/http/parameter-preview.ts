/**
 * The operator's parameter views (admin): every chain parameter with its bounds and value, and a
 * preview of what a change would do to the next order (or redemption, withdrawal, ad sale).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import {
  PARAMETER_NAMES,
  PREVIEW_FIGURES,
  type ParameterPreview,
  type ParametersView,
  previewParameter,
  readParameters,
} from "../services/parameter-preview";
import { type RouteHost, defineRoute } from "./route";

const Contract = z.enum(["pool", "custody", "adCredit"]);
const Name = z.enum(PARAMETER_NAMES);

const ParametersBody: z.ZodType<ParametersView> = z
  .object({
    block: z.number().int().meta({ description: "The block every value was read at." }),
    paused: z.boolean().meta({ description: "Whether the pool's order mints are paused." }),
    settlementDecimals: z.number().int(),
    parameters: z.array(
      z.object({
        contract: Contract,
        name: Name,
        unit: z.enum(["bps", "settlement", "seconds", "mode"]),
        value: z.string().meta({ description: "As the change endpoint takes it.", example: "2000" }),
        min: z.string(),
        max: z.string(),
        zeroAllowed: z.boolean().meta({ description: "0 is taken below `min` too (the exit multiple: 0 turns the exit off)." }),
        changePath: z.string().nullable().meta({ description: "The endpoint that changes it (PUT); null where the server has none." }),
      }),
    ),
  })
  .meta({ id: "AdminParameters" });

const PreviewBody: z.ZodType<ParameterPreview> = z
  .object({
    block: z.number().int(),
    contract: Contract,
    name: Name,
    basis: z
      .enum(["order", "redemption", "withdrawal", "adSale", "none"])
      .meta({ description: "What `amount` is: an order's or ad sale's settlement, or GP redeemed or withdrawn." }),
    amount: z.string(),
    value: z.string().meta({ description: "The value now." }),
    proposed: z.string(),
    min: z.string(),
    max: z.string(),
    refusal: z.enum(["OUT_OF_RANGE", "SHARES_EXCEED_WHOLE"]).nullable().meta({ description: "Why the contract would refuse it." }),
    figures: z.array(
      z.object({
        figure: z.enum(PREVIEW_FIGURES),
        unit: z.enum(["settlement", "points"]),
        now: z.string().meta({ description: "Now: the contract's own preview (previewOrder, previewRedeem) where it has one." }),
        proposed: z.string().meta({ description: "With the proposed value, on the same block's assets and supply." }),
      }),
    ),
    note: z.enum(["ORDER_TOO_SMALL", "NO_SUPPLY"]).nullable(),
  })
  .meta({ id: "AdminParameterPreview" });

export function parameterPreviewRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  const { chain } = deps;
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/parameters",
    tag: "admin",
    summary: "Every chain parameter with its bounds",
    description:
      "The pool's, the custody's and the ad credit's parameters, their values and the bounds the contracts enforce, at one block.",
    auth: ["admin"],
    responses: { 200: { description: "Read from the chain now.", schema: ParametersBody } },
    errors: ["UNAVAILABLE"],
    handle: async () => ({ status: 200, body: await readParameters(chain) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/parameters/preview",
    tag: "admin",
    summary: "What a parameter change would do to the next order",
    description:
      "The figures of one order of `amount` (settlement; for `exitFee` a redemption and for `withdrawalFee` a withdrawal of `amount` GP; " +
      "for `adShare` an ad sale) now, from the pool's own preview functions, and with `value`, computed the contracts' way on the " +
      "same block. A value the contract would refuse answers `refusal` and no figures.",
    auth: ["admin"],
    query: z.object({
      name: Name,
      value: z.string().min(1).max(64).meta({ example: "2500" }),
      amount: z.string().min(1).max(64).default("100").meta({ example: "100" }),
    }),
    responses: { 200: { description: "The preview.", schema: PreviewBody } },
    errors: ["VALIDATION_FAILED", "NOT_FOUND", "UNAVAILABLE"],
    handle: async ({ query }) => ({ status: 200, body: await previewParameter(chain, query.name, query.value, query.amount) }),
  });
}
