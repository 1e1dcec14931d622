/**
 * A merchant's own API (its API key, or its owner's or staff's session): its account, the payments
 * users made it, what redeeming pays now, redeeming, exchanging and withdrawing what users paid it,
 * statements of what it received, redeemed and paid in fees (JSON or CSV), and its API keys (the
 * owner's alone: an owner's session or a key lists, issues and revokes the merchant's own keys).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import type { MerchantRecord } from "../adapters/db/merchants";
import { planExchange, planRedemption, planSettlementWithdrawal } from "../services/custodial";
import { issueKey, merchantKeys, paymentsReceived, readMerchantAccount, redemptionQuote, revokeKey } from "../services/merchants";
import { type PlannedOperation, recordPlanned } from "../services/operations";
import { STATEMENT_TYPES, merchantStatement, statementCsv } from "../services/statements";
import { recordAction } from "../services/audit";
import { actorOf, merchantOf } from "./callers";
import { accepted } from "./operations";
import { type RouteHost, defineRoute } from "./route";
import {
  Address,
  Amount,
  AssetName,
  KeyParams,
  MerchantCredentials,
  OperationStateName,
  OperationView,
  RedemptionBody,
  Revoked,
} from "./schemas";

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

const MerchantKey = z
  .object({
    keyId: z.string().meta({ example: "key_0a1b2c3d4e5f" }),
    createdAt: z.string(),
    revokedAt: z.string().nullable().meta({ description: "When it stopped working; null while it works." }),
  })
  .meta({ id: "MerchantKey", description: "An API key as listed: never its secret, which only its issue showed." });

const PaymentReceived = z
  .object({
    operationId: z.string(),
    time: z.string().meta({ description: "When the payment was asked for." }),
    from: z.string().meta({ description: "The paying user's id." }),
    asset: AssetName,
    amount: z.string(),
    state: OperationStateName,
    txHash: z.string().optional(),
    reason: z.string().optional().meta({ description: "Why the chain refused it (a rejected payment moved nothing)." }),
  })
  .meta({ id: "PaymentReceived" });

/** A time range of the query string, as the statement and the payments list take it. */
const Range = {
  from: z.iso.datetime({ offset: true }).optional().meta({ description: "From this time (inclusive)." }),
  to: z.iso.datetime({ offset: true }).optional().meta({ description: "Until this time (exclusive)." }),
};
const dates = (q: { from?: string; to?: string }) => ({
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
});

/** The merchant's custodial account as the mover of its operations. */
const moverOf = (m: MerchantRecord) => ({ actor: `merchant:${m.id}`, account: m.account });

export function merchantAccountRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  const { chain } = deps;

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/keys",
    tag: "merchants",
    summary: "My API keys",
    description: "The merchant's own keys, oldest first, revoked ones included; a key's secret is never shown again.",
    auth: ["merchant"],
    ownerOnly: true,
    responses: { 200: { description: "The keys.", schema: z.object({ keys: z.array(MerchantKey) }) } },
    handle: async ({ principal, db }) => ({ status: 200, body: await merchantKeys(db, (await merchantOf(db, principal)).id) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/merchant/keys",
    tag: "merchants",
    summary: "Issue myself another API key",
    description:
      "For the merchant's machines (a till, a shop's server). The secret is in this answer only; only its hash is kept. " +
      "Recorded in the audit log with who issued it.",
    auth: ["merchant"],
    ownerOnly: true,
    idempotency: "optional",
    responses: { 201: { description: "The key, shown once.", schema: MerchantCredentials } },
    handle: async ({ principal, db }) => {
      const merchantId = (await merchantOf(db, principal)).id;
      const issued = await issueKey(db, merchantId);
      await recordAction(db, actorOf(principal), "merchant-key-issued", `merchant:${merchantId}`, { keyId: issued.keyId });
      return { status: 201, body: issued };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/keys/{keyId}",
    tag: "merchants",
    summary: "Revoke one of my API keys",
    description:
      "The key stops working at once; revoking it again answers the same. Another merchant's key answers NOT_FOUND as an unknown one does.",
    auth: ["merchant"],
    ownerOnly: true,
    idempotency: "optional",
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
          redeemableNow: z
            .object({ points: z.string(), constantPoints: z.string() })
            .meta({ description: "Settlement that redeeming all the GP, or all the CP, would pay now (exit fee deducted)." }),
        }),
      },
    },
    handle: async ({ principal, db }) => ({ status: 200, body: await readMerchantAccount(chain, await merchantOf(db, principal)) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/quote",
    tag: "merchants",
    summary: "What redeeming pays now",
    description:
      "The figures of redeeming `amount` of `asset` at the chain's state now (the pool's own `previewRedeem`): the GP it takes to the pool " +
      "(for CP, the GP of equal value out of the CP reserve, which is also what exchanging them gives), the gross value, the exit fee " +
      "and the payout. The price may move before a redemption is sent: send the payout as its `minPayout`.",
    auth: ["merchant"],
    query: z.object({ asset: AssetName, amount: Amount("In whole units of the asset.", "5") }),
    responses: {
      200: {
        description: "The figures.",
        schema: z.object({
          asset: AssetName,
          amount: z.string(),
          points: z.string().meta({ description: "GP redeemed at the pool (for CP: taken from the reserve)." }),
          gross: z.string(),
          fee: z.string(),
          payout: z.string(),
          block: z.number().int().meta({ description: "The block the figures were read at." }),
        }),
      },
    },
    handle: async ({ query }) => ({ status: 200, body: await redemptionQuote(chain, query) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/payments",
    tag: "merchants",
    summary: "Payments users made me",
    description:
      "Newest first, in every state (queued, submitted, confirmed, or rejected with the chain's reason); narrowed by time, state and asset.",
    auth: ["merchant"],
    query: z.object({
      ...Range,
      state: OperationStateName.optional(),
      asset: AssetName.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    responses: { 200: { description: "The payments.", schema: z.object({ payments: z.array(PaymentReceived) }) } },
    handle: async ({ query, principal, db }) => ({
      status: 200,
      body: await paymentsReceived(db, await merchantOf(db, principal), {
        ...dates(query),
        state: query.state,
        asset: query.asset,
        limit: query.limit,
      }),
    }),
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
    query: z.object({ ...Range, format: z.enum(["json", "csv"]).default("json") }),
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
      const statement = await merchantStatement(db, m.account, dates(query), chain.deployments.settlementDecimals);
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
