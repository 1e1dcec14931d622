/**
 * The operations that move the value of a user's custodial account. Every one needs the session,
 * the payment password and an Idempotency-Key, and answers 202 with an operation to poll: what
 * the chain would refuse now is refused at once, with its reason (services/custodial.ts).
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import {
  type UserMover,
  planConversion,
  planLink,
  planPayment,
  planPointsWithdrawal,
  planRedemption,
  planSettlementWithdrawal,
  planTransfer,
  planUnlink,
  userMover,
} from "../services/custodial";
import { type PlannedOperation, recordPlanned } from "../services/operations";
import { accepted } from "./operations";
import { userIdOf } from "./callers";
import type { SaleHook } from "../services/sales";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, AssetName, Id, OperationView, RedemptionBody, Signature } from "./schemas";

export function userOperationRoutes(
  host: RouteHost,
  deps: { chain: ChainPort; userSalt: string; limiters: { payment: RequestHandler }; saleHooks: readonly SaleHook[] },
): void {
  const { chain } = deps;
  const opRoute = <B extends z.ZodType<Record<string, unknown>>>(
    path: string,
    summary: string,
    description: string,
    body: B,
    /** Plans the operation before the idempotency transaction opens; it is recorded inside it. */
    plan: (ctx: { body: z.infer<B>; who: UserMover; db: Queryable }) => Promise<PlannedOperation>,
    errors: readonly ("NOT_FOUND" | "INSUFFICIENT_BALANCE" | "CHAIN_REFUSED" | "MERCHANT_SUSPENDED")[] = [
      "INSUFFICIENT_BALANCE",
      "CHAIN_REFUSED",
    ],
  ) =>
    defineRoute(host, {
      method: "post",
      path,
      tag: "users",
      summary,
      description,
      auth: ["user"],
      idempotency: "required",
      paymentPassword: true,
      limiter: deps.limiters.payment,
      body,
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors,
      prepare: ({ body, principal, db }) => plan({ body, who: userMover(deps.userSalt, userIdOf(principal)), db }),
      handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
    });

  opRoute(
    "/v1/me/transfers",
    "Transfer to another user",
    "Moves GP or CP from my custodial account to another registered user's.",
    z
      .object({ toUserId: Id("The receiving user.", "bob"), asset: AssetName, amount: Amount("In whole units of the asset.", "2.5") })
      .strict(),
    ({ body, who, db }) => planTransfer(chain, db, deps.userSalt, who, body),
    ["NOT_FOUND", "INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
  );

  opRoute(
    "/v1/me/payments",
    "Pay a merchant",
    "Pays a merchant in GP or CP from my custodial account. A merchant the operator suspended is refused (MERCHANT_SUSPENDED).",
    z
      .object({
        merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f"),
        asset: AssetName,
        amount: Amount("In whole units of the asset.", "5"),
      })
      .strict(),
    ({ body, who, db }) => planPayment(chain, db, who, body, deps.saleHooks),
    ["NOT_FOUND", "INSUFFICIENT_BALANCE", "CHAIN_REFUSED", "MERCHANT_SUSPENDED"],
  );

  opRoute(
    "/v1/me/redemptions",
    "Redeem GP or CP",
    "Redeems at the pool's price, exit fee deducted, into my account's settlement balance; `minPayout` (settlement units) guards against the price moving.",
    RedemptionBody("3").strict(),
    ({ body, who }) => planRedemption(chain, who, body),
  );

  opRoute(
    "/v1/me/conversions",
    "Convert GP to CP",
    "Converts GP to constant points at the current price (rounded down); the GP are kept as the CP reserve.",
    z.object({ points: Amount("GP to convert.", "10") }).strict(),
    ({ body, who }) => planConversion(chain, who, body),
  );

  opRoute(
    "/v1/me/withdrawals/points",
    "Withdraw GP to my original account",
    "Sends GP to the linked original account; the withdrawal fee is retired at the pool (its value stays there).",
    z.object({ points: Amount("GP to withdraw, fee included.", "10") }).strict(),
    ({ body, who }) => planPointsWithdrawal(chain, who, body),
  );

  opRoute(
    "/v1/me/withdrawals/settlement",
    "Withdraw settlement",
    "Pays out my account's settlement balance (from redemptions) to an address.",
    z.object({ to: Address, amount: Amount("Settlement units.", "12.5") }).strict(),
    ({ body, who }) => planSettlementWithdrawal(chain, who, body),
  );

  opRoute(
    "/v1/me/link",
    "Link an original account",
    "Links an address whose owner signed the EIP-712 `Link` request from GET /v1/me/link-request.",
    z.object({ address: Address, deadline: z.string().regex(/^\d{1,20}$/), signature: Signature }).strict(),
    ({ body, who }) => planLink(chain, who, body),
  );

  opRoute(
    "/v1/me/unlink",
    "Unlink my original account",
    "Withdrawals to an original account stop until another is linked.",
    z.object({}).strict(),
    ({ who }) => planUnlink(chain, who),
  );
}
