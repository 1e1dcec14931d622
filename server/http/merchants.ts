/**
 * Merchants: created by the operator (a custodial account flagged as merchant on the chain, and
 * an API key shown once), paid by users in GP or CP, redeeming and withdrawing through their API
 * key, and reading statements of what they received, redeemed and paid in fees (JSON or CSV).
 */
import { randomBytes } from "node:crypto";
import { getAddress } from "ethers";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import {
  type MerchantRecord,
  findMerchant,
  insertMerchant,
  insertMerchantKey,
  listMerchantKeys,
  listMerchants,
  revokeMerchantKey,
} from "../adapters/db/merchants";
import { merchantAccountId } from "../adapters/chain/ids";
import { type OperationRecord, operationsOfAccount } from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { newApiKey, tokenHash } from "../services/credentials";
import { type PlannedOperation, decimalsOf, operationView, planCall, recordPlanned, redemption } from "../services/operations";
import type { Principal } from "./auth";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, Id, OperationView, RedemptionBody } from "./schemas";
import { accepted } from "./operations";

const MerchantCredentials = z
  .object({
    merchantId: z.string().meta({ example: "mer_8a7b6c5d4e3f" }),
    keyId: z.string().meta({ example: "key_0a1b2c3d4e5f" }),
    apiKey: z.string().meta({ description: "Shown once; stored only as a hash.", example: "gpk_key_0a1b2c3d4e5f_…" }),
  })
  .meta({ id: "MerchantCredentials" });

const StatementEntry = z
  .object({
    time: z.string(),
    operationId: z.string(),
    type: z.enum(["payment-received", "redemption", "exchange", "withdrawal"]),
    asset: z.string(),
    amount: z.string().meta({ description: "In the asset's whole units (settlement for withdrawals)." }),
    payout: z.string().meta({ description: "Settlement credited (redemptions), else empty." }),
    fee: z.string().meta({ description: "Settlement kept by the pool as exit fee (redemptions), else empty." }),
    counterparty: z.string().meta({ description: "The paying user, or the address paid out to." }),
    txHash: z.string(),
  })
  .meta({ id: "StatementEntry" });

/** The merchant whose API key made the request. */
export async function merchantOf(db: Queryable, p: Principal): Promise<MerchantRecord> {
  if (p.kind !== "merchant") throw new AppError("FORBIDDEN", "this endpoint is for merchants");
  const m = await findMerchant(db, p.merchantId);
  if (!m) throw new AppError("UNAUTHORIZED", "the key's merchant no longer exists");
  return m;
}

export function merchantRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;

  const issueKey = async (db: Queryable, merchantId: string) => {
    const { keyId, key } = newApiKey();
    await insertMerchantKey(db, { id: keyId, merchantId, keyHash: tokenHash(key) });
    return { merchantId, keyId, apiKey: key };
  };
  /** A custodial move of the merchant's account, with a request id: encoded and run on the pending state. */
  const custodial = (
    m: MerchantRecord,
    r: { kind: string; fn: string; args: (requestId: string) => readonly unknown[] },
    details: Record<string, string>,
  ) => planCall(chain, { ...r, actor: `merchant:${m.id}`, account: m.account, target: "custody", details });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/merchants",
    tag: "admin",
    summary: "Create a merchant",
    description:
      "Makes the merchant's custodial account, flags it as merchant on the chain (the operation returned), and its first API key.",
    auth: ["admin"],
    idempotency: "optional",
    body: z.object({ name: z.string().trim().min(1).max(200).meta({ example: "Corner Café" }) }).strict(),
    responses: { 201: { description: "Created.", schema: MerchantCredentials.extend({ account: z.string(), operation: OperationView }) } },
    errors: ["NAME_TAKEN"],
    // The flag's simulation runs before the idempotency transaction opens.
    prepare: async () => {
      const id = `mer_${randomBytes(6).toString("hex")}`;
      const account = merchantAccountId(deps.userSalt, id);
      const planned = await planCall(chain, {
        kind: "set-merchant",
        actor: "admin",
        account,
        target: "custody",
        fn: "setMerchant",
        args: [account, true],
        details: { merchantId: id, merchant: "true" },
      });
      return { id, account, planned };
    },
    handle: async ({ body, db, prepared: { id, account, planned } }) => {
      if (!(await insertMerchant(db, { id, name: body.name, account })))
        throw new AppError("NAME_TAKEN", `a merchant is named ${body.name} already`);
      const op = await recordPlanned(db, planned);
      return { status: 201, body: { ...(await issueKey(db, id)), account, operation: operationView(op) } };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/merchants",
    tag: "admin",
    summary: "List merchants",
    auth: ["admin"],
    responses: {
      200: {
        description: "Oldest first.",
        schema: z.object({
          merchants: z.array(z.object({ merchantId: z.string(), name: z.string(), account: z.string(), createdAt: z.string() })),
        }),
      },
    },
    handle: async ({ db }) => ({
      status: 200,
      body: {
        merchants: (await listMerchants(db)).map((m) => ({
          merchantId: m.id,
          name: m.name,
          account: m.account,
          createdAt: m.createdAt.toISOString(),
        })),
      },
    }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/merchants/{merchantId}/keys",
    tag: "admin",
    summary: "Issue another API key for a merchant",
    auth: ["admin"],
    idempotency: "optional",
    params: z.object({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") }),
    responses: { 201: { description: "The key, shown once.", schema: MerchantCredentials } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => {
      if (!(await findMerchant(db, params.merchantId))) throw new AppError("NOT_FOUND", `no merchant ${params.merchantId}`);
      return { status: 201, body: await issueKey(db, params.merchantId) };
    },
  });

  const revoke = async (db: Queryable, merchantId: string, keyId: string) => {
    const known = (await listMerchantKeys(db, merchantId)).some((k) => k.keyId === keyId);
    if (!known) throw new AppError("NOT_FOUND", `no key ${keyId} for merchant ${merchantId}`);
    await revokeMerchantKey(db, merchantId, keyId);
    return { status: 200, body: { keyId, revoked: true } };
  };
  const KeyParams = z.object({ keyId: Id("The key's id (the part after gpk_).", "key_0a1b2c3d4e5f") });
  defineRoute(host, {
    method: "delete",
    path: "/v1/admin/merchants/{merchantId}/keys/{keyId}",
    tag: "admin",
    summary: "Revoke a merchant's API key",
    description: "The key stops working at once; revoking it again answers the same.",
    auth: ["admin"],
    params: KeyParams.extend({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") }),
    responses: { 200: { description: "Revoked.", schema: z.object({ keyId: z.string(), revoked: z.literal(true) }) } },
    errors: ["NOT_FOUND"],
    handle: ({ params, db }) => revoke(db, params.merchantId, params.keyId),
  });
  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/keys/{keyId}",
    tag: "merchants",
    summary: "Revoke one of my API keys",
    auth: ["merchant"],
    params: KeyParams,
    responses: { 200: { description: "Revoked.", schema: z.object({ keyId: z.string(), revoked: z.literal(true) }) } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => revoke(db, (await merchantOf(db, principal)).id, params.keyId),
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
    handle: async ({ principal, db }) => {
      const m = await merchantOf(db, principal);
      const a = await chain.custody.accountOf(m.account);
      return {
        status: 200,
        body: {
          merchantId: m.id,
          name: m.name,
          account: m.account,
          merchantOnChain: a.merchant,
          points: formatAmount(a.points, 18),
          constantPoints: formatAmount(a.constantPoints, d),
          settlement: formatAmount(a.settlement, d),
        },
      };
    },
  });

  const opRoute = (
    path: string,
    summary: string,
    description: string,
    body: z.ZodObject,
    /** Plans the operation before the idempotency transaction opens; it is recorded inside it. */
    plan: (b: Record<string, string>, m: MerchantRecord) => Promise<PlannedOperation>,
  ) =>
    defineRoute(host, {
      method: "post",
      path,
      tag: "merchants",
      summary,
      description,
      auth: ["merchant"],
      idempotency: "required",
      body: body.strict(),
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
      prepare: async ({ body, principal, db }) => plan(body as Record<string, string>, await merchantOf(db, principal)),
      handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
    });

  opRoute(
    "/v1/merchant/redemptions",
    "Redeem GP or CP",
    "At the pool's price, exit fee deducted, into my settlement balance; `minPayout` guards against the price moving.",
    RedemptionBody("5"),
    async (b, m) => custodial(m, redemption(m.account, b, d), { ...b }),
  );
  opRoute(
    "/v1/merchant/exchanges",
    "Exchange CP for GP",
    "Takes GP of equal value at the current price out of the CP reserve.",
    z.object({ constantPoints: Amount("CP to exchange.", "5") }),
    async (b, m) => {
      const constantPoints = parsePositiveAmount(b.constantPoints, d, "constantPoints");
      return custodial(m, { kind: "exchange-constant", fn: "exchangeConstant", args: (r) => [r, m.account, constantPoints] }, { ...b });
    },
  );
  opRoute(
    "/v1/merchant/withdrawals",
    "Withdraw settlement",
    "Pays my settlement balance out to an address.",
    z.object({ to: Address, amount: Amount("Settlement units.", "12.5") }),
    async (b, m) => {
      const args = (r: string) => [r, m.account, getAddress(b.to), parsePositiveAmount(b.amount, d, "amount")];
      return custodial(m, { kind: "withdraw-settlement", fn: "withdrawSettlement", args }, { ...b });
    },
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
      const ops = await operationsOfAccount(db, m.account, {
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit: 10_000,
      });
      const entries: z.infer<typeof StatementEntry>[] = [];
      const totals = { receivedGP: 0n, receivedCP: 0n, redeemedGP: 0n, redeemedCP: 0n, payout: 0n, fees: 0n, withdrawn: 0n };
      for (const op of ops) {
        if (op.state !== "confirmed") continue;
        const event = (name: string) => op.result?.find((e) => e.name === name)?.args;
        const base = { time: op.createdAt.toISOString(), operationId: op.id, txHash: op.txHash ?? "", payout: "", fee: "" };
        if (op.kind === "pay-merchant" && op.counterparty === m.account) {
          const asset = op.details.asset;
          const amount = parseAmount(op.details.amount, decimalsOf(asset, d));
          if (asset === "GP") totals.receivedGP += amount;
          else totals.receivedCP += amount;
          entries.push({
            ...base,
            type: "payment-received",
            asset,
            amount: op.details.amount,
            counterparty: op.actor.replace(/^user:/, ""),
          });
        } else if ((op.kind === "redeem" || op.kind === "redeem-constant") && op.account === m.account) {
          const payout = BigInt(event("RedeemedToBalance")?.payout ?? "0");
          const fee = BigInt(event("Redeemed")?.fee ?? "0");
          const amount = parseAmount(op.details.amount, decimalsOf(op.details.asset, d));
          if (op.details.asset === "GP") totals.redeemedGP += amount;
          else totals.redeemedCP += amount;
          totals.payout += payout;
          totals.fees += fee;
          entries.push({
            ...base,
            type: "redemption",
            asset: op.details.asset,
            amount: op.details.amount,
            payout: formatAmount(payout, d),
            fee: formatAmount(fee, d),
            counterparty: "",
          });
        } else if (op.kind === "exchange-constant" && op.account === m.account) {
          entries.push({ ...base, type: "exchange", asset: "CP", amount: op.details.constantPoints, counterparty: "" });
        } else if (op.kind === "withdraw-settlement" && op.account === m.account) {
          totals.withdrawn += parseAmount(op.details.amount, d);
          entries.push({ ...base, type: "withdrawal", asset: "settlement", amount: op.details.amount, counterparty: op.details.to });
        }
      }
      if (query.format === "csv") {
        const columns = ["time", "operationId", "type", "asset", "amount", "payout", "fee", "counterparty", "txHash"] as const;
        const csv = [columns.join(","), ...entries.map((e) => columns.map((c) => csvCell(e[c])).join(","))].join("\r\n") + "\r\n";
        return {
          status: 200,
          body: csv,
          contentType: "text/csv; charset=utf-8",
          headers: { "Content-Disposition": `attachment; filename="statement-${m.id}.csv"` },
        };
      }
      return {
        status: 200,
        body: {
          merchantId: m.id,
          from: query.from ?? null,
          to: query.to ?? null,
          entries,
          totals: {
            receivedGP: formatAmount(totals.receivedGP, 18),
            receivedCP: formatAmount(totals.receivedCP, d),
            redeemedGP: formatAmount(totals.redeemedGP, 18),
            redeemedCP: formatAmount(totals.redeemedCP, d),
            payout: formatAmount(totals.payout, d),
            fees: formatAmount(totals.fees, d),
            withdrawn: formatAmount(totals.withdrawn, d),
          },
        },
      };
    },
  });
}

/** A CSV cell: quoted when it holds a comma, quote or line break; a leading =+-@ is defused for spreadsheets. */
function csvCell(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
