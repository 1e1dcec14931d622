/**
 * A merchant's own API (its API key): its account, its keys, redeeming and withdrawing what users
 * paid it, and statements of what it received, redeemed and paid in fees (JSON or CSV).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import type { MerchantRecord } from "../adapters/db/merchants";
import { planExchange, planRedemption, planSettlementWithdrawal } from "../services/custodial";
import { readMerchantAccount, revokeKey } from "../services/merchants";
import { type PlannedOperation, recordPlanned } from "../services/operations";
import { STATEMENT_TYPES, merchantStatement, statementCsv } from "../services/statements";
import { recordAction } from "../services/audit";
import { actorOf, merchantOf } from "./callers";
import { accepted } from "./operations";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, KeyParams, OperationView, RedemptionBody, Revoked } from "./schemas";

const StatementEntry = z
  .object({
    time: z.string(),
    operationId: z.string(),
    type: z.enum(STATEMENT_TYPES),
    asset: z.string(),
    amount: z.string().meta({ description: "In the asset's whole units (settlement for withdrawals)." }),
    payout: z.string().meta({ description: "Settlement credited (redemptions), else empty." }),
    fee: z.string().meta({ description: "Settlement kept by the pool as exit fee (redemptions), else empty." }),
    counterparty: z.string().meta({ description: "The paying user, or the address paid out to." }),
    txHash: z.string(),
  })
  .meta({ id: "StatementEntry" });

/** The merchant's custodial account as the mover of its operations. */
const moverOf = (m: MerchantRecord) => ({ actor: `merchant:${m.id}`, account: m.account });

export function merchantAccountRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  const { chain } = deps;

  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/keys/{keyId}",
    tag: "merchants",
    summary: "Revoke one of my API keys",
    auth: ["merchant"],
    ownerOnly: true,
    params: KeyParams,
    responses: { 200: { description: "Revoked.", schema: Revoked } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => {
      const merchantId = (await merchantOf(db, principal)).id;
      const revoked = await revokeKey(db, merchantId, params.keyId);
      await recordAction(db, actorOf(principal), "merchant-key-revoked", `merchant:${merchantId}`, { keyId: params.keyId });
      return { status: 200, body: revoked };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant",
    tag: "merchants",
    summary: "My merchant account",
    auth: ["merchant"],
    responses: {
      200: {
        description: "Balances read from the chain.",
        schema: z.object({
          merchantId: z.string(),
          name: z.string(),
          account: z.string(),
          merchantOnChain: z.boolean(),
          points: z.string(),
          constantPoints: z.string(),
          settlement: z.string(),
        }),
      },
    },
    handle: async ({ principal, db }) => ({ status: 200, body: await readMerchantAccount(chain, await merchantOf(db, principal)) }),
  });

  const opRoute = <B extends z.ZodType<Record<string, unknown>>>(
    path: string,
    summary: string,
    description: string,
    body: B,
    /** Plans the operation before the idempotency transaction opens; it is recorded inside it. */
    plan: (b: z.infer<B>, m: MerchantRecord) => Promise<PlannedOperation>,
    /** Money leaving the merchant's account: its owner's alone. */
    ownerOnly?: true,
  ) =>
    defineRoute(host, {
      method: "post",
      path,
      tag: "merchants",
      summary,
      description,
      auth: ["merchant"],
      ownerOnly,
      idempotency: "required",
      body,
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
      prepare: async ({ body, principal, db }) => plan(body, await merchantOf(db, principal)),
      handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
    });

  opRoute(
    "/v1/merchant/redemptions",
    "Redeem GP or CP",
    "At the pool's price, exit fee deducted, into my settlement balance; `minPayout` guards against the price moving.",
    RedemptionBody("5").strict(),
    (b, m) => planRedemption(chain, moverOf(m), b),
  );
  opRoute(
    "/v1/merchant/exchanges",
    "Exchange CP for GP",
    "Takes GP of equal value at the current price out of the CP reserve.",
    z.object({ constantPoints: Amount("CP to exchange.", "5") }).strict(),
    (b, m) => planExchange(chain, moverOf(m), b),
  );
  opRoute(
    "/v1/merchant/withdrawals",
    "Withdraw settlement",
    "Pays my settlement balance out to an address.",
    z.object({ to: Address, amount: Amount("Settlement units.", "12.5") }).strict(),
    (b, m) => planSettlementWithdrawal(chain, moverOf(m), b),
    true,
  );

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/statement",
    tag: "merchants",
    summary: "My statement",
    description:
      "Confirmed payments received, redemptions (payout and exit fee), exchanges and withdrawals between `from` and `to`, with totals. " +
      "`format=csv` answers the entries as text/csv. At most 10,000 operations are read per request: narrow `from`/`to` for longer periods.",
    auth: ["merchant"],
    query: z.object({
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      format: z.enum(["json", "csv"]).default("json"),
    }),
    responses: {
      200: {
        description: "The statement.",
        schema: z.object({
          merchantId: z.string(),
          from: z.string().nullable(),
          to: z.string().nullable(),
          entries: z.array(StatementEntry),
          totals: z.object({
            receivedGP: z.string(),
            receivedCP: z.string(),
            redeemedGP: z.string(),
            redeemedCP: z.string(),
            payout: z.string(),
            fees: z.string(),
            withdrawn: z.string(),
          }),
        }),
        also: { "text/csv": z.string().meta({ description: "With `format=csv`: a header line, then one line per entry." }) },
      },
    },
    handle: async ({ query, principal, db }) => {
      const m = await merchantOf(db, principal);
      const range = { from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined };
      const statement = await merchantStatement(db, m.account, range, chain.deployments.settlementDecimals);
      if (query.format === "csv") {
        return {
          status: 200,
          body: statementCsv(statement.entries),
          contentType: "text/csv; charset=utf-8",
          headers: { "Content-Disposition": `attachment; filename="statement-${m.id}.csv"` },
        };
      }
      return { status: 200, body: { merchantId: m.id, from: query.from ?? null, to: query.to ?? null, ...statement } };
    },
  });
}
