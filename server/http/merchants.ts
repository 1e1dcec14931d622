/**
 * Merchants: created by the operator (a custodial account flagged as merchant on the chain, an
 * API key shown once, and its first owner when asked), suspended and resumed, and their keys.
 * What a merchant does with its own API key (its account, redemptions, exchanges, withdrawals and
 * statements) is in merchant-account.ts.
 *
 * Who may call: the operator only (the admin token or an operator's session); a merchant's key or
 * staff session, a shopper's session or a shop's secret is refused (401), and a cookie session
 * without its CSRF token (403 CSRF_REFUSED). Each change is in the audit log naming the operator.
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { hashPassword } from "../services/credentials";
import {
  changeSuspension,
  createMerchant,
  issueAnotherKey,
  merchantKeys,
  merchantList,
  planMerchant,
  planSuspension,
  requireMerchant,
  revokeKey,
} from "../services/merchants";
import { createStaff } from "../services/staff";
import { merchantAccountRoutes } from "./merchant-account";
import { recordAction } from "../services/audit";
import { actorOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id, KeyParams, MerchantCredentials, OperationView, Password, Revoked } from "./schemas";
import { Login, StaffAccount } from "./staff";

export { merchantOf } from "./callers";

const MerchantView = z
  .object({
    merchantId: z.string(),
    name: z.string(),
    account: z.string(),
    createdAt: z.string(),
    suspended: z.boolean().meta({ description: "Suspended by the operator: no payments to it, no ad orders naming it." }),
    suspendedAt: z.string().nullable(),
    suspensionReason: z.string().nullable(),
  })
  .meta({ id: "AdminMerchant" });

const MerchantParams = z.object({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") });

export function merchantRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/merchants",
    tag: "admin",
    summary: "Create a merchant",
    description:
      "Makes the merchant's custodial account, flags it as merchant on the chain (the operation returned), and its first API key. " +
      "With `owner`, also its first owner's account (who logs in to the merchant portal), in the same transaction: a login " +
      "taken refuses the whole (NAME_TAKEN) and makes nothing.",
    auth: ["admin"],
    idempotency: "optional",
    body: z
      .object({
        name: z.string().trim().min(1).max(200).meta({ example: "Corner Café" }),
        owner: z.object({ login: Login, password: Password }).strict().optional(),
      })
      .strict(),
    responses: {
      201: {
        description: "Created.",
        schema: MerchantCredentials.extend({ account: z.string(), operation: OperationView, owner: StaffAccount.optional() }),
      },
    },
    errors: ["NAME_TAKEN"],
    // The flag's simulation and the owner's password hash run before the idempotency transaction opens.
    prepare: async ({ body }) => ({
      merchant: await planMerchant(chain, deps.userSalt),
      ownerHash: body.owner ? await hashPassword(body.owner.password) : null,
    }),
    handle: async ({ body, db, prepared, principal }) => {
      const actor = actorOf(principal);
      const made = await createMerchant(db, body.name, prepared.merchant);
      await recordAction(db, actor, "merchant-created", `merchant:${made.merchantId}`, { name: body.name, keyId: made.keyId });
      const owner =
        body.owner && prepared.ownerHash
          ? await createStaff(db, actor, { login: body.owner.login, role: "owner", merchantId: made.merchantId }, prepared.ownerHash)
          : undefined;
      return { status: 201, body: { ...made, ...(owner ? { owner } : {}) } };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/merchants",
    tag: "admin",
    summary: "List merchants",
    auth: ["admin"],
    responses: { 200: { description: "Oldest first.", schema: z.object({ merchants: z.array(MerchantView) }) } },
    handle: async ({ db }) => ({ status: 200, body: await merchantList(db) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/merchants/{merchantId}/suspension",
    tag: "admin",
    summary: "Suspend or resume a merchant",
    description:
      "`suspended: true` stops the merchant taking payments (users' payments answer MERCHANT_SUSPENDED) and being named by orders " +
      "as their ad merchant (MERCHANT_SUSPENDED, the order is not recorded), at once; and queues the custody's merchant flag off " +
      "(the operation returned), so the chain too refuses a payment to it (CustodyNotMerchant). The merchant keeps what it holds: " +
      "its API and portal still read, redeem and withdraw, and sales recorded before keep their vouchers. `suspended: false` " +
      "resumes it and sets the flag again. Asking for the state it is in changes nothing (no `operation`). The reason is kept " +
      "with the merchant and in the audit log.",
    auth: ["admin"],
    idempotency: "optional",
    params: MerchantParams,
    body: z
      .object({
        suspended: z.boolean(),
        reason: z.string().trim().min(1, "a reason is required").max(500).meta({ example: "chargebacks under review" }),
      })
      .strict(),
    responses: {
      200: {
        description: "The merchant now, and the flag's operation (poll it) when anything changed.",
        schema: z.object({ merchant: MerchantView, operation: OperationView.optional() }),
      },
    },
    errors: ["NOT_FOUND", "CHAIN_REFUSED"],
    prepare: async ({ params, body, db }) => planSuspension(chain, await requireMerchant(db, params.merchantId), body.suspended),
    handle: async ({ params, body, db, prepared, principal }) => {
      const changed = await changeSuspension(db, params.merchantId, body.suspended ? body.reason : null, prepared);
      if (changed.operation)
        await recordAction(
          db,
          actorOf(principal),
          body.suspended ? "merchant-suspended" : "merchant-resumed",
          `merchant:${params.merchantId}`,
          {},
          { operationId: changed.operation.operationId, reason: body.reason },
        );
      return { status: 200, body: changed };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/merchants/{merchantId}/keys",
    tag: "admin",
    summary: "List a merchant's API keys",
    auth: ["admin"],
    params: MerchantParams,
    responses: {
      200: {
        description: "Oldest first, live and revoked; the keys themselves are never shown again.",
        schema: z.object({ keys: z.array(z.object({ keyId: z.string(), createdAt: z.string(), revokedAt: z.string().nullable() })) }),
      },
    },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await merchantKeys(db, (await requireMerchant(db, params.merchantId)).id) }),
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
    handle: async ({ params, db, principal }) => {
      const issued = await issueAnotherKey(db, params.merchantId);
      await recordAction(db, actorOf(principal), "merchant-key-issued", `merchant:${params.merchantId}`, { keyId: issued.keyId });
      return { status: 201, body: issued };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/admin/merchants/{merchantId}/keys/{keyId}",
    tag: "admin",
    summary: "Revoke a merchant's API key",
    description: "The key stops working at once; revoking it again answers the same.",
    auth: ["admin"],
    params: KeyParams.extend({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") }),
    responses: { 200: { description: "Revoked.", schema: Revoked } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db, principal }) => {
      const revoked = await revokeKey(db, params.merchantId, params.keyId);
      await recordAction(db, actorOf(principal), "merchant-key-revoked", `merchant:${params.merchantId}`, { keyId: params.keyId });
      return { status: 200, body: revoked };
    },
  });

  merchantAccountRoutes(host, deps);
}
