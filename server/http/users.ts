/**
 * Users: registration (by the operator or a shop, for a user id of the ecosystem), sessions and
 * the payment password. The custodial account is read in user-account.ts, and the operations
 * that move its value are in user-operations.ts.
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { SESSION_HOURS, logIn, logOut, prepareRegistration, registerUser, setPaymentPassword } from "../services/users";
import type { Principal } from "./auth";
import { userIdOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id, OperationView, Password, PaymentPassword, Session } from "./schemas";
import { userAccountRoutes } from "./user-account";
import type { SaleHook } from "../services/sales";
import { userOperationRoutes } from "./user-operations";
import { historyRoutes } from "./history";
import { referralRoutes } from "./referrals";

export interface UserRouteDeps {
  chain: ChainPort;
  userSalt: string;
  limiters: { login: RequestHandler; payment: RequestHandler };
  /** The modules' hooks for a recorded sale (a payment to a merchant). */
  saleHooks: readonly SaleHook[];
}

export function userRoutes(host: RouteHost, deps: UserRouteDeps): void {
  const shopOf = (p: Principal) => (p.kind === "shop" ? p.shopId : null);

  defineRoute(host, {
    method: "post",
    path: "/v1/users",
    tag: "users",
    summary: "Register a user",
    description:
      "Called by the operator or a shop for a user id of the ecosystem (the same id its order webhooks send). Sets the login " +
      "password, and optionally the payment password and the referrer (a registered user). The custodial account is created on " +
      "the chain (or, if orders created it already, given its referrer) by the operation returned. A shop may register only its own " +
      "users: a new user id, or one only its own orders named. A user id that another shop or the operator made, or that another " +
      "shop's orders paid points to, is refused (NOT_YOUR_USER): its points are not the registering shop's to hand out; the operator " +
      "registers it.",
    auth: ["admin", "shop"],
    idempotency: "optional",
    body: z
      .object({
        userId: Id("The ecosystem's user id.", "alice"),
        password: Password,
        paymentPassword: PaymentPassword.optional(),
        referrerId: Id("The user who referred this one; must be registered.", "bob").optional(),
      })
      .strict(),
    responses: {
      201: {
        description: "Registered.",
        schema: z.object({
          userId: z.string(),
          account: z.string().meta({ description: "The opaque custodial account id." }),
          operation: OperationView,
        }),
      },
    },
    errors: ["NAME_TAKEN", "NOT_FOUND", "NOT_YOUR_USER"],
    // argon2id takes tens of milliseconds: hashed before the transaction opens.
    prepare: ({ body, principal, db }) => prepareRegistration(db, shopOf(principal), body),
    handle: async ({ body, principal, db, prepared }) => ({
      status: 201,
      body: await registerUser(db, deps.userSalt, shopOf(principal), body, prepared),
    }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/sessions",
    tag: "users",
    summary: "Log in",
    description: `Returns a session token (\`gps_…\`) valid ${SESSION_HOURS} hours. Failed logins are rate-limited per address and user id.`,
    auth: [],
    limiter: deps.limiters.login,
    body: z.object({ userId: Id("The user id.", "alice"), password: z.string().min(1).max(256) }).strict(),
    responses: { 201: { description: "Logged in.", schema: Session } },
    session: "start",
    errors: ["BAD_CREDENTIALS"],
    handle: async ({ body, db }) => ({ status: 201, body: await logIn(db, body.userId, body.password) }),
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/sessions/current",
    tag: "users",
    summary: "Log out",
    auth: ["user"],
    session: "end",
    responses: { 200: { description: "The session no longer works.", schema: z.object({ loggedOut: z.literal(true) }) } },
    handle: async ({ principal, db }) => {
      if (principal.kind === "user") await logOut(db, principal.sessionHash);
      return { status: 200, body: { loggedOut: true } };
    },
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/me/payment-password",
    tag: "users",
    summary: "Set or change the payment password",
    description: "Changing it needs the current one in X-GP-Payment-Password (failures count towards the lock).",
    auth: ["user"],
    paymentPassword: "when-set",
    limiter: deps.limiters.payment,
    body: z.object({ paymentPassword: PaymentPassword }).strict(),
    responses: { 200: { description: "Set.", schema: z.object({ paymentPasswordSet: z.literal(true) }) } },
    handle: async ({ body, principal, db }) => {
      await setPaymentPassword(db, userIdOf(principal), body.paymentPassword);
      return { status: 200, body: { paymentPasswordSet: true } };
    },
  });

  userAccountRoutes(host, deps);
  userOperationRoutes(host, deps);
  historyRoutes(host, deps);
  referralRoutes(host, deps);
}
