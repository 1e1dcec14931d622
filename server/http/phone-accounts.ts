/**
 * Shoppers' own accounts by phone (docs/api.md, "Phone accounts"): codes, sign-up, log-in by
 * password or code, the login and payment passwords reset by code, and a change of number. The
 * public calls answer the same whether or not a number has an account; only a right code, which
 * only the number's owner has, leads to an answer that depends on it.
 */
import type { RequestHandler } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import { z } from "zod";
import { CODE_PURPOSES } from "../adapters/sms/sms";
import { PhoneNumber } from "../domain/phones";
import type { PhoneAccounts } from "../services/phone-accounts";
import type { PhoneCodes } from "../services/phone-codes";
import { SESSION_HOURS } from "../services/users";
import { ReferralCode, referralOf } from "../services/referrals";
import { userIdOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { OperationView, Password, PaymentPassword, Session } from "./schemas";

export interface PhoneRouteDeps {
  codes: PhoneCodes;
  accounts: PhoneAccounts;
  limiters: { login: RequestHandler; smsCodes: RequestHandler };
  /** The deployment's public URL, for absolute referral links; null: links are paths. */
  publicUrl: string | null;
}

const Code = z
  .string()
  .regex(/^\d{6}$/, "must be the 6 digits of the SMS")
  .meta({ description: "The 6-digit code of the SMS.", example: "123456" });

export function phoneAccountRoutes(host: RouteHost, deps: PhoneRouteDeps): void {
  const { codes, accounts } = deps;

  defineRoute(host, {
    method: "post",
    path: "/v1/phone-codes",
    tag: "phone accounts",
    summary: "Send an SMS code",
    description:
      "Sends a 6-digit code, valid 5 minutes, for one purpose (a code for one purpose never works for another; a new code voids " +
      "the number's earlier one for the same purpose). Sent whether or not the number has an account, so the answer tells nothing " +
      "about it. Limits, counted for all relayer processes together: per number one a minute, 5 an hour, 10 a day; per client " +
      "address and for the whole deployment per day as configured (SMS_LIMIT_REACHED with `details.limit` and `retryAfterSeconds`).",
    auth: [],
    limiter: deps.limiters.smsCodes,
    body: z.object({ phone: PhoneNumber, purpose: z.enum(CODE_PURPOSES) }).strict(),
    responses: {
      202: {
        description: "Sent to the provider.",
        schema: z.object({ sent: z.literal(true), expiresInSeconds: z.number().int(), retryAfterSeconds: z.number().int() }),
      },
    },
    errors: ["SMS_LIMIT_REACHED", "SMS_PROVIDER_THROTTLED", "SMS_SEND_FAILED", "SMS_NOT_CONFIGURED"],
    // An IPv6 client is counted by its /56, as the login limiter counts it: one host may hold a whole /64.
    handle: async ({ body, ip }) => ({
      status: 202,
      body: { sent: true, ...(await codes.send(body.phone, body.purpose, ipKeyGenerator(ip))) },
    }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/phone/signup",
    tag: "phone accounts",
    summary: "Sign up by phone",
    description:
      "With a `signup` code. The number's account gets the login password (and the payment password, which can also be set later " +
      "by PUT /v1/me/payment-password); points that shops' orders sent to the number before are already in it. Answers a session " +
      `valid ${SESSION_HOURS} hours and the operation registering the account on the chain. One number, one account: PHONE_TAKEN ` +
      "when it signed up before. With another user's `referralCode`, that user is the referrer (NOT_FOUND for a code nobody has).",
    auth: [],
    body: z
      .object({
        phone: PhoneNumber,
        code: Code,
        password: Password,
        paymentPassword: PaymentPassword.optional(),
        referralCode: ReferralCode.optional(),
      })
      .strict(),
    responses: {
      201: {
        description: "Signed up and logged in.",
        schema: Session.extend({ account: z.string(), phone: z.string(), operation: OperationView }),
      },
    },
    errors: ["CODE_INVALID", "PHONE_TAKEN", "NOT_FOUND"],
    session: "start",
    prepare: ({ body }) => accounts.prepareSignUp(body),
    handle: async ({ body, prepared }) => ({ status: 201, body: await accounts.signUp(body, prepared) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/phone/sessions",
    tag: "phone accounts",
    summary: "Log in by phone",
    description:
      "With the login password, or with a `login` code instead. Ten wrong passwords in a row lock password logins for 15 minutes " +
      "(a code still logs in, and clears the lock); the answer to a wrong password is the same for a number with no account. " +
      "Failed logins are also rate-limited per address and number.",
    auth: [],
    limiter: deps.limiters.login,
    body: z
      .object({ phone: PhoneNumber, password: z.string().min(1).max(256).optional(), code: Code.optional() })
      .strict()
      .superRefine((login, ctx) => {
        if ((login.password === undefined) === (login.code === undefined))
          ctx.addIssue({ code: "custom", path: ["password"], message: "send the password or a login code, one of the two" });
      }),
    responses: { 201: { description: "Logged in.", schema: Session } },
    session: "start",
    errors: ["BAD_CREDENTIALS", "CODE_INVALID", "NOT_FOUND"],
    prepare: async ({ body }) => (body.code !== undefined ? accounts.prepareCodeLogin(body.phone, body.code) : null),
    handle: async ({ body, prepared }) => ({
      status: 201,
      body:
        prepared !== null
          ? await accounts.logInWithCode(body.phone, prepared)
          : await accounts.logInWithPassword(body.phone, body.password!),
    }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/phone/password-reset",
    tag: "phone accounts",
    summary: "Reset the login password by SMS code",
    description: "With a `reset-password` code. Every session of the account ends, and password logins are unlocked.",
    auth: [],
    body: z.object({ phone: PhoneNumber, code: Code, password: Password }).strict(),
    responses: {
      200: {
        description: "The new password is set.",
        schema: z.object({ passwordReset: z.literal(true), sessionsEnded: z.number().int() }),
      },
    },
    errors: ["CODE_INVALID", "NOT_FOUND"],
    prepare: ({ body }) => accounts.prepareReset(body.phone, body.code, body.password),
    handle: async ({ body, prepared }) => ({ status: 200, body: await accounts.resetPassword(body.phone, prepared) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/me/referral",
    tag: "phone accounts",
    summary: "My referral code and link",
    description:
      "Every user has one, made the first time it is asked for. A shopper who signs up by phone with it (`referralCode`, or the " +
      "link's `ref`) gets this user as referrer; what that pays is the deployment's referral mode (docs/rules.md).",
    auth: ["user"],
    responses: {
      200: {
        description: "The code and the link.",
        schema: z.object({ code: z.string(), link: z.string().meta({ example: "http://127.0.0.1:8080/wallet?ref=7KQ2MZ4X" }) }),
      },
    },
    handle: async ({ principal }) => ({ status: 200, body: await referralOf(host.db, userIdOf(principal), deps.publicUrl) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/me/payment-password/reset",
    tag: "phone accounts",
    summary: "Reset the payment password by SMS code",
    description:
      "For a forgotten payment password: a `reset-payment-password` code sent to the account's own number replaces it and clears " +
      "its lock. FORBIDDEN for an account without a phone (registered by a shop or the operator).",
    auth: ["user"],
    body: z.object({ code: Code, paymentPassword: PaymentPassword }).strict(),
    responses: { 200: { description: "Set.", schema: z.object({ paymentPasswordSet: z.literal(true) }) } },
    errors: ["CODE_INVALID", "FORBIDDEN"],
    prepare: ({ body, principal }) => accounts.preparePaymentReset(userIdOf(principal), body.code, body.paymentPassword),
    handle: async ({ principal, prepared }) => ({ status: 200, body: await accounts.resetPaymentPassword(userIdOf(principal), prepared) }),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/me/phone",
    tag: "phone accounts",
    summary: "Change the phone number",
    description:
      "With a `phone-change-old` code sent to the account's number and a `phone-change-new` code sent to the new one. The account, " +
      "its user id and its points stay; the old number is free afterwards. PHONE_TAKEN when the new number has an account or points " +
      "from shops' orders waiting for its owner.",
    auth: ["user"],
    body: z.object({ oldCode: Code, phone: PhoneNumber, newCode: Code }).strict(),
    responses: {
      200: {
        description: "Changed; every other session of the account has ended.",
        schema: z.object({ phone: z.string(), sessionsEnded: z.number().int() }),
      },
    },
    errors: ["CODE_INVALID", "PHONE_TAKEN", "FORBIDDEN"],
    prepare: ({ body, principal }) => accounts.preparePhoneChange(userIdOf(principal), body),
    handle: async ({ body, principal, prepared }) => ({
      status: 200,
      body: await accounts.changePhone(userIdOf(principal), principal.kind === "user" ? principal.sessionHash : "", body.phone, prepared),
    }),
  });
}
