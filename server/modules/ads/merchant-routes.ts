/**
 * Rewarded ads for the merchant over HTTP: its ad credit, the vouchers issued against it, and
 * withdrawals of unused credit after the notice period.
 */
import { getAddress } from "ethers";
import { z } from "zod";
import type { ChainPort } from "../../adapters/chain/chain";
import type { Queryable } from "../../adapters/db/db";
import type { MerchantRecord } from "../../adapters/db/merchants";
import { parsePositiveAmount } from "../../domain/amounts";
import type { Principal } from "../../http/auth";
import { merchantOf } from "../../http/merchants";
import { accepted } from "../../http/operations";
import { type RouteHost, defineRoute } from "../../http/route";
import { Address, Amount, OperationView } from "../../http/schemas";
import { type CallRequest, type WriteFunction, planCall, recordPlanned } from "../../services/operations";
import type { AdCredit } from "../../../typechain-types";
import { adsUnavailable } from "./contract";
import type { Ads } from "./service";

export const MerchantAdCredit = z
  .object({
    credit: z.string().meta({ description: "Settlement not yet backing any voucher." }),
    vouchersIssued: z.string(),
    vouchersConverted: z.string(),
    vouchersOutstanding: z.string(),
    backingOutstanding: z.string().meta({ description: "Of the credit used, what still backs vouchers not converted." }),
    adShare: z.string(),
    noticePeriodSeconds: z.number().int().meta({ description: "How long a withdrawal request waits before it can be carried out." }),
    topUp: z
      .object({ contract: z.string(), merchant: z.string(), settlement: z.string() })
      .meta({
        description:
          "How to top up from one's own wallet: approve `settlement` to `contract`, then call `topUp(merchant, amount)` on it; " +
          "or ask the operator (POST /v1/admin/merchants/{merchantId}/ad-credit).",
      }),
    withdrawal: z.object({ amount: z.string(), to: z.string(), availableAt: z.string() }).nullable(),
    sales: z
      .record(z.string(), z.object({ sales: z.number().int(), vouchers: z.string() }))
      .meta({ description: "Sales by outcome: issued, refused (not enough credit), queued, rejected." }),
  })
  .meta({ id: "MerchantAdCredit" });

export function adMerchantRoutes(host: RouteHost, deps: { chain: ChainPort; ads: Ads }): void {
  const { chain, ads } = deps;
  const d = chain.deployments.settlementDecimals;
  /** The calling merchant, on a deployment that has the ad credit. */
  const adMerchant = async (db: Queryable, p: Principal) => {
    const m = await merchantOf(db, p);
    if (!chain.adCredit) throw adsUnavailable();
    return m;
  };
  /** A call of the ad credit for the calling merchant, encoded and run on the pending state. */
  const merchantCall = <F extends WriteFunction<AdCredit>>(
    m: MerchantRecord,
    r: Pick<CallRequest<"ads", F>, "kind" | "fn" | "args" | "details">,
  ) => planCall(chain, { ...r, actor: `merchant:${m.id}`, account: m.account, target: "ads" });

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/ad-credit",
    tag: "merchants",
    summary: "My ad credit, the vouchers issued against it and what was converted",
    auth: ["merchant"],
    responses: { 200: { description: "From the chain; sales from the relayer's records.", schema: MerchantAdCredit } },
    errors: ["ADS_UNAVAILABLE"],
    handle: async ({ principal, db }) => ({ status: 200, body: await ads.merchantView(await adMerchant(db, principal)) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/merchant/ad-credit/withdrawals",
    tag: "merchants",
    summary: "Ask to withdraw unused ad credit (after the notice period)",
    description:
      "Records the request on the chain; it can be carried out once the notice period (default 7 days) has passed. Until then the " +
      "credit still backs vouchers for new sales, and the withdrawal pays what is left of the amount. One request at a time.",
    auth: ["merchant"],
    ownerOnly: true,
    idempotency: "required",
    body: z.object({ amount: Amount("Settlement units.", "100.00"), to: Address }).strict(),
    responses: { 202: { description: "Queued; poll the operation.", schema: OperationView } },
    errors: ["CHAIN_REFUSED", "ADS_UNAVAILABLE"],
    prepare: async ({ body, principal, db }) => {
      const m = await adMerchant(db, principal);
      const amount = parsePositiveAmount(body.amount, d, "amount");
      const to = getAddress(body.to);
      return merchantCall(m, {
        kind: "ad-credit-withdrawal",
        fn: "requestWithdrawal",
        args: (requestId) => [requestId, m.account, amount, to],
        details: { amount: body.amount, to },
      });
    },
    handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
  });

  for (const [path, fn, kind, summary] of [
    [
      "/v1/merchant/ad-credit/withdrawals/execute",
      "executeWithdrawal",
      "ad-credit-withdrawal-execute",
      "Carry out my withdrawal now that its notice is over",
    ],
    ["/v1/merchant/ad-credit/withdrawals/cancel", "cancelWithdrawal", "ad-credit-withdrawal-cancel", "Cancel my pending withdrawal"],
  ] as const) {
    defineRoute(host, {
      method: "post",
      path,
      tag: "merchants",
      summary,
      description: "Refused at once, with the contract's reason, when there is no pending withdrawal (or its notice is not over).",
      auth: ["merchant"],
      ownerOnly: true,
      idempotency: "required",
      responses: { 202: { description: "Queued; poll the operation.", schema: OperationView } },
      errors: ["CHAIN_REFUSED", "ADS_UNAVAILABLE"],
      prepare: async ({ principal, db }) => {
        const m = await adMerchant(db, principal);
        return merchantCall(m, { kind, fn, args: [m.account], details: {} });
      },
      handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
    });
  }
}
