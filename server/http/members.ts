/**
 * The operator console's member and operation lookups (docs/api.md, "The operator's members and
 * operations").
 *
 * Who may call: the operator alone, by the admin token or an operator's staff session; a merchant's
 * key or staff session, a shop's secret and a shopper's session are refused (401). These read and
 * change nothing; the worst such caller (an operator) reads any member's phone number, balances,
 * history, referrals and orders, which the operator's role needs, and the grants and removals it
 * may then make are audited where they are made (http/grants.ts).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { listOperations } from "../adapters/db/operations";
import { PhoneNumber } from "../domain/phones";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { type GrantDeps, quoteGrant } from "../services/grants";
import { findMember, memberOfPhone, memberProfile } from "../services/members";
import { type SettlementFloat, operationView } from "../services/operations";
import { refusalCode } from "../services/refusals";
import { REFERRAL_MODES } from "../adapters/chain/deploy";
import { AdminOrderView, adminOrderView } from "./admin";
import { HistoryAnswer, HistoryQuery, historyReply } from "./history";
import { type RouteHost, defineRoute } from "./route";
import { Amount, Id, OperationStateName, OperationView } from "./schemas";

const UserParams = z.object({ userId: Id("The member's user id.", "alice") });

const Found = z
  .object({
    userId: z.string(),
    phone: z.string().nullable().meta({ description: "The account's phone number (E.164), when it has one.", example: "+8613800138000" }),
    signedUpAt: z.string().nullable().meta({ description: "When the number's owner signed up; null while only shops' orders named it." }),
  })
  .meta({ id: "MemberFound" });

const Profile = z
  .object({
    userId: z.string(),
    account: z.string().meta({ description: "The custodial account id on the chain." }),
    phone: z.string().nullable(),
    signedUpAt: z.string().nullable(),
    madeByShop: z
      .string()
      .nullable()
      .meta({ description: "The shop whose order or registration made the user id; null: the operator or a phone." }),
    hasPassword: z.boolean().meta({ description: "Whether the user can log in (signed up, or registered with a password)." }),
    registeredOnChain: z.boolean(),
    original: z.string().nullable().meta({ description: "The linked original account's address." }),
    asOfBlock: z.number().int().meta({ description: "The block the balances and the price were read at." }),
    balances: z.object({
      points: z.string().meta({ description: "Custodial GP." }),
      constantPoints: z.string().meta({ description: "CP (1 settlement unit each)." }),
      settlement: z.string().meta({ description: "Settlement held in custody (redemptions, exits)." }),
    }),
    value: z.object({
      price: z.string().meta({ description: "The pool's price at `asOfBlock`, settlement units per GP, 18 places." }),
      points: z.string().meta({ description: "The GP's value at that price (the pool's gross for redeeming them)." }),
      redeemableNow: z.string().meta({ description: "What redeeming every GP would pay, after the exit fee." }),
      total: z.string().meta({ description: "The GP's value plus the CP plus the settlement, in settlement units." }),
    }),
    referrer: z.object({ userId: z.string(), phone: z.string().nullable() }).nullable().meta({ description: "As the chain holds it." }),
    referees: z.object({
      mode: z.enum(REFERRAL_MODES),
      referrals: z.array(
        z.object({
          userId: z.string(),
          phone: z.string().nullable(),
          signedUpAt: z.string(),
          registration: z.enum(["queued", "submitted", "confirmed", "rejected"]),
          earned: z.string().meta({ description: "GP its orders credited this member." }),
        }),
      ),
      earned: z.string(),
    }),
    orders: z.array(AdminOrderView).meta({ description: "The newest 50." }),
  })
  .meta({ id: "MemberProfile" });

const AdminOperationView = OperationView.extend({
  actor: z.string().meta({ description: "Who asked: `user:<id>`, `merchant:<id>`, `admin`, `shop:<id>` or `relay`.", example: "admin" }),
  account: z.string().nullable().meta({ description: "The custodial account it debits or changes." }),
  counterparty: z.string().nullable().meta({ description: "The custodial account it credits." }),
  reasonCode: z
    .string()
    .nullable()
    .meta({
      description: "The contract error (or relayer code) behind `reason`; null without one.",
      example: "CustodyInsufficientBalance",
    }),
}).meta({ id: "AdminOperation" });

/** Exactly one of the two, or VALIDATION_FAILED. */
function oneOf(query: { phone?: string; userId?: string }): { phone: string } | { userId: string } {
  if (query.phone !== undefined && query.userId !== undefined)
    throw new AppError("VALIDATION_FAILED", "query: give phone or userId, not both", { field: "phone" });
  if (query.phone !== undefined) return { phone: query.phone };
  if (query.userId !== undefined) return { userId: query.userId };
  throw new AppError("VALIDATION_FAILED", "query: give phone or userId", { field: "phone" });
}

export function memberRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string; settlement: SettlementFloat | null }): void {
  const d = deps.chain.deployments.settlementDecimals;
  const grants: GrantDeps = deps;

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/members",
    tag: "admin",
    summary: "Find a member by phone or user id",
    description:
      "`phone` in any usual way of writing it (11 digits for the Chinese mainland, or + and the country code), compared in E.164; " +
      "or `userId`. A number no account has is 404 PHONE_NOT_REGISTERED; a user id nobody named is 404 NOT_FOUND.",
    auth: ["admin"],
    query: z.object({ phone: PhoneNumber.optional(), userId: Id("A user id.", "alice").optional() }),
    responses: { 200: { description: "The member.", schema: Found } },
    errors: ["NOT_FOUND", "PHONE_NOT_REGISTERED"],
    handle: async ({ query, db }) => ({ status: 200, body: await findMember(db, oneOf(query)) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/members/{userId}",
    tag: "admin",
    summary: "A member's profile",
    description:
      "Balances and the pool's price read at one block (`asOfBlock`) with their value then, the referrer (as the chain holds it) " +
      "and the referees with what their orders credited, and the newest orders with their states and refusal codes.",
    auth: ["admin"],
    params: UserParams,
    responses: { 200: { description: "The profile.", schema: Profile } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => {
      const p = await memberProfile(deps, db, params.userId);
      return { status: 200, body: { ...p, orders: p.orders.map((o) => adminOrderView(o, d)) } };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/members/{userId}/history",
    tag: "admin",
    summary: "A member's history",
    description: "What `GET /v1/me/history` answers the member, with the same query, for the operator.",
    auth: ["admin"],
    params: UserParams,
    query: HistoryQuery,
    responses: { 200: HistoryAnswer("the member's") },
    errors: ["NOT_FOUND"],
    handle: async ({ params, query, db }) => {
      await findMember(db, { userId: params.userId });
      return historyReply(deps, db, params.userId, query);
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/members/{userId}/grant-preview",
    tag: "admin",
    summary: "What a grant would mint now",
    description:
      "The GP a grant of `contribution` (settlement units) would mint to the member at the pool's price now " +
      "(`previewContribution`), refused as the grant would be; nothing is queued. The grant itself may mint a little less if " +
      "orders land before it.",
    auth: ["admin"],
    params: UserParams,
    query: z.object({ contribution: Amount("Settlement units paid into the pool.", "10.00") }),
    responses: {
      200: { description: "The preview.", schema: z.object({ contribution: z.string(), points: z.string(), price: z.string() }) },
    },
    errors: ["NOT_FOUND", "AMOUNT_OUT_OF_RANGE", "CHAIN_REFUSED"],
    handle: async ({ params, query, db }) => {
      const q = await quoteGrant(db, grants, { userId: params.userId, contribution: query.contribution });
      return { status: 200, body: { contribution: formatAmount(q.contribution, d), points: formatAmount(q.points, 18), price: q.price } };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/operations",
    tag: "admin",
    summary: "Look up operations",
    description:
      "Custodial and admin operations, newest first, narrowed by any of: kind, state, the user on either side (by user id or " +
      "`phone`), the operation id, and when it was queued (`from` included, `to` excluded). A rejected one's `reasonCode` is the " +
      'contract error that refused it (docs/api.md, "Refusal codes").',
    auth: ["admin"],
    query: z.object({
      kind: z
        .string()
        .regex(/^[a-z-]{1,64}$/, "must be an operation kind like grant or pay-merchant")
        .optional()
        .meta({ example: "grant" }),
      state: OperationStateName.optional(),
      userId: Id("Only the operations that debit or credit this user.", "alice").optional(),
      phone: PhoneNumber.optional().meta({ description: "Only those of this phone number's account (instead of `userId`)." }),
      operationId: Id("Only this operation.", "op_3f9a1c0d2b4e6f8a0c1d").optional(),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    responses: { 200: { description: "The newest first.", schema: z.object({ operations: z.array(AdminOperationView) }) } },
    errors: ["PHONE_NOT_REGISTERED"],
    handle: async ({ query, db }) => {
      if (query.phone && query.userId) throw new AppError("VALIDATION_FAILED", "query: give userId or phone, not both", { field: "phone" });
      const userId = query.phone ? await memberOfPhone(db, query.phone) : query.userId;
      const operations = await listOperations(db, {
        kind: query.kind,
        state: query.state,
        account: userId === undefined ? undefined : custodialUserId(deps.userSalt, userId),
        operationId: query.operationId,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit: query.limit,
      });
      return {
        status: 200,
        body: {
          operations: operations.map((op) => ({
            ...operationView(op),
            actor: op.actor,
            account: op.account,
            counterparty: op.counterparty,
            reasonCode: refusalCode(op.reason),
          })),
        },
      };
    },
  });
}
