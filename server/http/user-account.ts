/** A user's custodial account: its balances, the request to sign to link an original account, its operations. */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { linkRequest, operationsOf, readUserAccount } from "../services/users";
import { userIdOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Address, OperationView } from "./schemas";

export function userAccountRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;
  const accountOf = (userId: string) => custodialUserId(deps.userSalt, userId);

  defineRoute(host, {
    method: "get",
    path: "/v1/me",
    tag: "users",
    summary: "My custodial account",
    description: "Balances read from the chain; `redeemableNow` is what redeeming every GP would pay at this block, after the exit fee.",
    auth: ["user"],
    responses: {
      200: {
        description: "The account.",
        schema: z.object({
          userId: z.string(),
          account: z.string(),
          points: z.string(),
          constantPoints: z.string(),
          settlement: z.string(),
          redeemableNow: z.string(),
          original: z.string().nullable(),
          referrerId: z.string().nullable(),
          registeredOnChain: z.boolean(),
          paymentPasswordSet: z.boolean(),
          phone: z.string().nullable().meta({ description: "The account's phone number (E.164) when it signed up by phone." }),
          pendingOrders: z
            .array(z.object({ shopId: z.string(), orderId: z.string(), amount: z.string(), releaseAt: z.string(), estimate: z.string() }))
            .meta({
              description:
                "Orders held for their shop's pending window (at most 100): `releaseAt` when GP are minted, at the price of that " +
                "moment; `estimate` the GP at today's price.",
            }),
        }),
      },
    },
    handle: async ({ principal, db }) => {
      const userId = userIdOf(principal);
      return { status: 200, body: await readUserAccount(chain, db, userId, accountOf(userId)) };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/me/link-request",
    tag: "users",
    summary: "The EIP-712 request to sign to link an address",
    auth: ["user"],
    query: z.object({
      address: Address,
      deadline: z
        .string()
        .regex(/^\d{1,20}$/)
        .optional(),
    }),
    responses: {
      200: {
        description: "Sign `message` with `domain` and `types` (eth_signTypedData_v4), then POST it to /v1/me/link.",
        schema: z.object({
          domain: z.record(z.string(), z.unknown()),
          types: z.record(z.string(), z.unknown()),
          primaryType: z.string(),
          message: z.record(z.string(), z.string()),
        }),
      },
    },
    handle: async ({ query, principal }) => ({
      status: 200,
      body: await linkRequest(chain, accountOf(userIdOf(principal)), query.address, query.deadline),
    }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/me/operations",
    tag: "users",
    summary: "My operations",
    description: "Operations that debit or credit my account, oldest first.",
    auth: ["user"],
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
    responses: { 200: { description: "Oldest first.", schema: z.object({ operations: z.array(OperationView) }) } },
    handle: async ({ query, principal, db }) => ({
      status: 200,
      body: await operationsOf(db, accountOf(userIdOf(principal)), query.limit),
    }),
  });
}
