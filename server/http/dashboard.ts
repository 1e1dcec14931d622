/**
 * The operator's dashboard and daily ledger (services/dashboard.ts).
 *
 * Who may call: the admin token or an operator's session. A merchant's key or staff session, a
 * shopper's session, a shop's secret and no credentials are refused (401). Both only read: the
 * worst such a caller learns the deployment's totals (no user, phone or address is in them).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { AppError } from "../errors";
import {
  type Dashboard,
  KPI_NAMES,
  type Ledger,
  MAX_LEDGER_DAYS,
  dayOf,
  ledgerCsv,
  readDashboard,
  readLedger,
} from "../services/dashboard";
import { type RouteHost, defineRoute } from "./route";

const Figure = (description: string) => z.string().nullable().meta({ description });
const Check = z
  .object({ block: z.number().int(), agrees: z.boolean().nullable() })
  .meta({
    description:
      "The indexed assets and supply against the chain's at `block` (null: before the first run, or the node keeps no such old state).",
  });

const DashboardBody: z.ZodType<Dashboard> = z
  .object({
    asOf: z.string().meta({ description: "Now (ISO 8601)." }),
    comparedWith: z.string().meta({ description: "30 days before `asOf`: when `before` was." }),
    indexedBlock: z.number().int().meta({ description: "The last block of the pool's index the chain's figures come from." }),
    headBlock: z.number().int(),
    check: Check,
    settlement: z.object({ symbol: z.string().meta({ example: "USDT" }), decimals: z.number().int() }),
    kpis: z.array(
      z.object({
        name: z
          .enum(KPI_NAMES)
          .meta({
            description:
              "`members`: registered accounts; `ordersPerDay`: orders received in the 24 hours to then (rejected ones left out); " +
              "`minted`, `redeemed`: GP ever minted and redeemed; `outstanding`: GP in circulation; `assets`: the pool's settlement; " +
              "`price`: assets / outstanding; `redemptionRate`: redeemed / minted.",
          }),
        unit: z.enum(["count", "points", "settlement", "price", "ratio"]),
        now: Figure("The value now (decimal string; null when there is none: no price without GP, no rate before the first mint)."),
        before: Figure("The value 30 days ago."),
        change: Figure("now − before (negative when it fell)."),
        relativeChange: Figure("change / before, 4 places; null when before is zero or missing."),
      }),
    ),
  })
  .meta({ id: "Dashboard" });

const Points = (description: string) => z.string().meta({ description, example: "21" });
const Money = (description: string) => z.string().meta({ description, example: "30" });
const LedgerFigures = {
  mintedByOrders: Points("GP minted by shops' orders (buyers' and referrers')."),
  mintedByAds: Points("GP minted by ad-voucher conversions."),
  mintedByGrants: Points("GP minted by the operator's backed grants."),
  redeemed: Points("GP redeemed for settlement (burned)."),
  retired: Points("GP burned without payout: removals, withdrawal fees, reserve releases, holders' own."),
  outstanding: Points("GP in circulation at the end of the day."),
  assetsIn: Money("Settlement paid into the pool (orders, conversions, grants) and surplus absorbed."),
  assetsOut: Money("Settlement paid out to redeemers."),
  assets: Money("The pool's assets at the end of the day."),
  exitFees: Money("Exit fees redemptions left in the pool."),
  orders: z.number().int().meta({ description: "Orders recorded on the chain." }),
};
const LedgerBody: z.ZodType<Ledger> = z
  .object({
    from: z.string().meta({ description: "The first day (UTC), YYYY-MM-DD.", example: "2025-01-01" }),
    to: z.string().meta({ description: "The last day (UTC), today at the latest." }),
    indexedBlock: z.number().int(),
    headBlock: z.number().int(),
    check: Check,
    opening: z
      .object({ outstanding: Points("GP in circulation before the first day."), assets: Money("The assets before the first day.") })
      .meta({ description: "The state before `from`: opening + each day's minted − redeemed − retired is the day's outstanding." }),
    days: z
      .array(z.object({ day: z.string().meta({ example: "2025-01-01" }), ...LedgerFigures }))
      .meta({ description: "Every day from `from` to `to`, oldest first, days without events included." }),
    totals: z.object(LedgerFigures).meta({ description: "The days' sums; `outstanding` and `assets` are the last day's." }),
  })
  .meta({ id: "Ledger" });

export function dashboardRoutes(host: RouteHost, deps: { chain: ChainPort; nowSeconds: () => number }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/admin/dashboard",
    tag: "admin",
    summary: "The operator's figures now and 30 days ago",
    description:
      "Members, orders a day, GP minted, redeemed and outstanding, the pool's assets, the price and the redemption rate, each now " +
      "and 30 days ago with the change. The chain's figures come from the pool's indexed events (now: up to `indexedBlock`), " +
      "members and orders from the relayer's records.",
    auth: ["admin"],
    responses: { 200: { description: "The figures.", schema: DashboardBody } },
    handle: async ({ db }) => ({ status: 200, body: await readDashboard(db, deps.chain, deps.nowSeconds()) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/ledger",
    tag: "admin",
    summary: "The daily ledger of GP and the pool's assets",
    description:
      "Per UTC day from `from` to `to` (both included; by default the 30 days to today; `to` after today is read as today; at most " +
      `${MAX_LEDGER_DAYS} days): GP minted by orders, ads and grants, redeemed, retired, outstanding at the end of the day, ` +
      "settlement in and out and the assets at the end of the day, from the pool's indexed events. `format=csv`, or " +
      "`Accept: text/csv` without `format`, answers the days as text/csv.",
    auth: ["admin"],
    query: z.object({
      from: z.iso.date().optional().meta({ description: "The first day, YYYY-MM-DD (UTC).", example: "2025-01-01" }),
      to: z.iso.date().optional().meta({ description: "The last day, YYYY-MM-DD (UTC).", example: "2025-01-30" }),
      format: z
        .enum(["json", "csv"])
        .optional()
        .meta({ description: "Without it, the Accept header chooses (JSON unless it prefers text/csv)." }),
    }),
    responses: {
      200: {
        description: "The ledger.",
        schema: LedgerBody,
        also: { "text/csv": z.string().meta({ description: "A header line, then one line per day." }) },
      },
    },
    handle: async ({ query, db, accepts }) => {
      const today = dayOf(deps.nowSeconds());
      const toDay = Math.min(today, query.to ? dayOf(Date.parse(query.to) / 1000) : today);
      const fromDay = query.from ? dayOf(Date.parse(query.from) / 1000) : toDay - 29;
      if (fromDay > toDay) throw new AppError("VALIDATION_FAILED", "from is after to (or after today)", { from: query.from, to: query.to });
      if (toDay - fromDay + 1 > MAX_LEDGER_DAYS)
        throw new AppError("VALIDATION_FAILED", `at most ${MAX_LEDGER_DAYS} days a request`, { from: query.from, to: query.to });
      const ledger = await readLedger(db, deps.chain, fromDay, toDay);
      const csv = query.format ? query.format === "csv" : accepts(["application/json", "text/csv"]) === "text/csv";
      // The same address answers JSON or CSV by the Accept header: caches must tell them apart.
      const headers = { Vary: "Accept" };
      if (csv)
        return {
          status: 200,
          body: ledgerCsv(ledger.days),
          contentType: "text/csv; charset=utf-8",
          headers: { ...headers, "Content-Disposition": `attachment; filename="green-points-ledger-${ledger.from}-${ledger.to}.csv"` },
        };
      return { status: 200, body: ledger, headers };
    },
  });
}
