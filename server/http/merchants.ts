/**
 * Merchants: created by the operator (a custodial account flagged as merchant on the chain, and
 * an API key shown once) and their keys. What a merchant does with its own API key (its account,
 * redemptions, exchanges, withdrawals and statements) is in merchant-account.ts.
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { createMerchant, issueAnotherKey, merchantList, planMerchant, revokeKey } from "../services/merchants";
import { merchantAccountRoutes } from "./merchant-account";
import { recordAction } from "../services/audit";
import { actorOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id, KeyParams, MerchantCredentials, OperationView, Revoked } from "./schemas";

export { merchantOf } from "./callers";

export function merchantRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;

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
    prepare: () => planMerchant(chain, deps.userSalt),
    handle: async ({ body, db, prepared, principal }) => {
      const made = await createMerchant(db, body.name, prepared);
      await recordAction(db, actorOf(principal), "merchant-created", `merchant:${made.merchantId}`, { name: body.name, keyId: made.keyId });
      return { status: 201, body: made };
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
    handle: async ({ db }) => ({ status: 200, body: await merchantList(db) }),
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
