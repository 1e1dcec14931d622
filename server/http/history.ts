/**
 * A user's history (services/history.ts): who may call it is the user of the session, for its own
 * account only (no user id is taken from the request). The worst such caller pages in a loop:
 * each request reads the database and a bounded number of log requests from the chain node, and
 * changes nothing.
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import {
  DETAIL_KEYS,
  HISTORY_ASSETS,
  HISTORY_KINDS,
  HISTORY_STATES,
  PRICE_BASES,
  historyCsv,
  ofKindAndAsset,
  pageOf,
  type HistoryDeps,
  readHistory,
  withinPeriod,
} from "../services/history";
import type { Queryable } from "../adapters/db/db";
import { userIdOf } from "./callers";
import { type Reply, type RouteHost, defineRoute } from "./route";

const Signed = (what: string) => z.string().meta({ description: `${what}, signed, in whole units: what it did to the balance.` });

const HistoryEntry = z
  .object({
    id: z
      .string()
      .meta({
        description: "Stable and unique: `order:<shopId>:<orderId>`, an operation id, a conversion id, or `chain:<txHash>:<logIndex>`.",
      }),
    time: z.string().meta({ description: "When it was asked (recorded by the relayer), or its block's time when only the chain has it." }),
    kind: z.enum(HISTORY_KINDS),
    state: z.enum(HISTORY_STATES),
    points: Signed("GP"),
    constantPoints: Signed("CP"),
    settlement: Signed("Settlement"),
    price: z
      .string()
      .nullable()
      .meta({ description: "Settlement units per GP at the time, 18 places; null when the pool took no part in the transaction." }),
    priceBasis: z
      .enum(PRICE_BASES)
      .nullable()
      .meta({
        description:
          "`pool-after`: the pool's assets / supply after the transaction (OrdersSettled or PointsRetired); `redemption`: gross / points of " +
          "the pool's Redeemed event; `conversion`: CP per GP of the conversion's own event.",
      }),
    details: z
      .partialRecord(z.enum(DETAIL_KEYS), z.string())
      .meta({
        description:
          "What applies to the kind: `shopId`, `orderId`, `amount` and `asset` (what was asked or moved), `counterparty` (a user id, merchant " +
          "id, account id or address), `level` (referrals), `gross`, `fee`, `payout` (settlement of a redemption; `fee` in GP for a GP " +
          "withdrawal), `vouchers`, `backing`, `merchantId`, `note` (the operator's reason for a grant or removal).",
      }),
    operationId: z.string().nullable(),
    txHash: z.string().nullable(),
    blockNumber: z.number().int().nullable(),
    reason: z.string().nullable().meta({ description: "Why it was rejected." }),
  })
  .meta({ id: "HistoryEntry" });

const Totals = z.object({
  earned: z.object({ points: z.string() }).meta({ description: "GP credited by orders, referrals, ad conversions and grants." }),
  redeemed: z
    .object({ points: z.string(), constantPoints: z.string(), payout: z.string() })
    .meta({ description: "GP and CP redeemed (forced exits included) and the settlement they paid in." }),
  held: z
    .object({ points: z.string(), constantPoints: z.string(), settlement: z.string() })
    .meta({ description: "The balances on the chain at `asOfBlock`: the entries' amounts add up to them." }),
});

/** What `GET /v1/me/history` takes; the operator's view of a member's history takes the same. */
export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(1024).optional().meta({ description: "The `nextCursor` of the page before." }),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  kind: z.enum(HISTORY_KINDS).optional(),
  asset: z
    .enum(HISTORY_ASSETS)
    .optional()
    .meta({ description: "Only the entries that moved this asset, or asked to move it (`details.asset`)." }),
  format: z.enum(["json", "csv"]).default("json"),
});

/** A page of a user's history, or the period's CSV: the 200 answer of both history endpoints. */
export const HistoryAnswer = (whose: string) => ({
  description: `A page of ${whose} history.`,
  schema: z.object({
    userId: z.string(),
    entries: z.array(HistoryEntry),
    nextCursor: z.string().nullable(),
    totals: Totals,
    asOfBlock: z.number().int(),
    fromBlock: z.number().int().meta({ description: "The first block read: the user's first relayer transaction, or the deployment's." }),
  }),
  also: { "text/csv": z.string().meta({ description: "With `format=csv`: a header line, then one line per entry of the period." }) },
});

/** The answer to a history request for `userId` (services/history.ts), paged or as CSV. */
export async function historyReply(deps: HistoryDeps, db: Queryable, userId: string, query: z.infer<typeof HistoryQuery>): Promise<Reply> {
  const history = await readHistory(deps, db, userId);
  const period = ofKindAndAsset(
    withinPeriod(history.entries, { from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined }),
    { kind: query.kind, asset: query.asset },
  );
  if (query.format === "csv") {
    return {
      status: 200,
      body: historyCsv(period),
      contentType: "text/csv; charset=utf-8",
      headers: { "Content-Disposition": `attachment; filename="green-points-history.csv"` },
    };
  }
  const page = pageOf(period, query.limit, query.cursor);
  return { status: 200, body: { userId, ...page, totals: history.totals, asOfBlock: history.asOfBlock, fromBlock: history.fromBlock } };
}

export function historyRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/me/history",
    tag: "users",
    summary: "My history",
    description:
      "Every movement of my GP, CP and settlement, newest first: orders, referral credits, ad conversions, transfers, payments, " +
      "redemptions, conversions, withdrawals, deposits, grants and removals, with the price at the time and the lifetime totals. " +
      "Amounts come from the chain's events up to `asOfBlock` (pending and rejected entries moved nothing and show 0); states from " +
      "the relayer's records. Pages follow `nextCursor` (stable while new entries arrive); `kind` and `asset` narrow the entries as `from`/`to` do; `format=csv` answers every entry of the " +
      "period (`from` included, `to` excluded) as text/csv. At most 10,000 orders, operations and conversions are read each.",
    auth: ["user"],
    query: HistoryQuery,
    responses: { 200: HistoryAnswer("my") },
    handle: async ({ query, principal, db }) => historyReply(deps, db, userIdOf(principal), query),
  });
}
