/**
 * Staff accounts over HTTP: logging in and out, the session's own account and password, the
 * operator's management of operators and of every merchant's staff, and a merchant owner's of
 * its own merchant's. Who may call each: docs/api.md, "Staff accounts".
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { hashPassword } from "../services/credentials";
import {
  STAFF_SESSION_HOURS,
  changeStaffPassword,
  createStaff,
  disableStaffAccount,
  merchantStaffList,
  operatorList,
  staffLogIn,
  staffMe,
} from "../services/staff";
import { revokeStaffSession } from "../adapters/db/staff";
import { actorOf, merchantOf, staffSessionOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Id, Password } from "./schemas";

const StaffRole = z.enum(["operator", "owner", "staff"]).meta({ id: "StaffRole" });
const MerchantStaffRole = z
  .enum(["owner", "staff"])
  .meta({ description: "`owner` may do all the merchant's API does; `staff` all but withdrawals and managing keys and staff." });

export const Login = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{2,63}$/, "must be 3 to 64 of a-z 0-9 . _ @ -, starting with a letter or digit")
  .meta({ description: "The login id; one namespace for operators and every merchant's staff.", example: "corner-cafe.till1" });

export const StaffAccount = z
  .object({
    staffId: z.string().meta({ example: "stf_0a1b2c3d4e5f" }),
    login: z.string(),
    role: StaffRole,
    merchantId: z.string().nullable().meta({ description: "The merchant of an owner or staff; null for an operator." }),
    createdAt: z.string(),
    disabledAt: z.string().nullable(),
  })
  .meta({ id: "StaffAccount" });

const StaffSession = z
  .object({
    kind: z.enum(["operator", "merchant"]),
    staffId: z.string(),
    login: z.string(),
    role: StaffRole,
    merchantId: z.string().nullable(),
    expiresAt: z.string(),
    token: z
      .string()
      .optional()
      .meta({
        description:
          "The session token (`gpo_…` an operator's, `gpm_…` a merchant staff's), a bearer token; absent when the request asked for " +
          "cookies (`X-GP-Session: cookie`).",
      }),
  })
  .meta({ id: "StaffSession" });

const NewStaff = z.object({ login: Login, password: Password, role: MerchantStaffRole }).strict();
const StaffList = z.object({ staff: z.array(StaffAccount).meta({ description: "Oldest first, disabled ones included." }) });
const StaffParams = z.object({ staffId: Id("The staff account.", "stf_0a1b2c3d4e5f") });
const MerchantParams = z.object({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") });

export function staffRoutes(host: RouteHost, deps: { limiters: { login: RequestHandler } }): void {
  defineRoute(host, {
    method: "post",
    path: "/v1/staff/sessions",
    tag: "staff",
    summary: "Log in as an operator or a merchant's owner or staff",
    description:
      `Returns a session valid ${STAFF_SESSION_HOURS} hours: \`gpo_…\` (an operator: it acts as the admin token does) or \`gpm_…\` ` +
      "(a merchant's owner or staff: it acts as the merchant's API key does, staff without withdrawals and key and staff management). " +
      "With `X-GP-Session: cookie` the token goes only into the pages' cookies. Failed logins are rate-limited per address and login, " +
      "and ten wrong passwords in a row lock the account for fifteen minutes (PASSWORD_LOCKED).",
    auth: [],
    limiter: deps.limiters.login,
    body: z.object({ login: z.string().min(1).max(256), password: z.string().min(1).max(256) }).strict(),
    responses: { 201: { description: "Logged in.", schema: StaffSession } },
    session: "start",
    errors: ["BAD_CREDENTIALS", "PASSWORD_LOCKED"],
    handle: async ({ body, db }) => ({ status: 201, body: await staffLogIn(db, body.login, body.password) }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/staff/me",
    tag: "staff",
    summary: "My staff account and session",
    auth: ["admin", "merchant"],
    responses: { 200: { description: "The session's account.", schema: StaffSession.omit({ token: true }) } },
    errors: ["FORBIDDEN"],
    handle: async ({ principal, db }) => {
      const { staffId, sessionHash } = staffSessionOf(principal);
      return { status: 200, body: await staffMe(db, staffId, sessionHash) };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/staff/sessions/current",
    tag: "staff",
    summary: "Log out",
    description: "The session stops working; a cookie session's cookies are cleared.",
    auth: ["admin", "merchant"],
    session: "end",
    responses: { 204: { description: "Logged out." } },
    errors: ["FORBIDDEN"],
    handle: async ({ principal, db }) => {
      await revokeStaffSession(db, staffSessionOf(principal).sessionHash);
      return { status: 204, body: undefined };
    },
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/staff/me/password",
    tag: "staff",
    summary: "Change my password",
    description:
      "Needs the current password (wrong ones count towards the account's lock). Every other session of the account ends; this one stays.",
    auth: ["admin", "merchant"],
    body: z.object({ currentPassword: z.string().min(1).max(256), newPassword: Password }).strict(),
    responses: { 204: { description: "Changed." } },
    errors: ["FORBIDDEN", "BAD_CREDENTIALS", "PASSWORD_LOCKED"],
    // Not in a transaction: a wrong password's count must be committed although the request fails.
    handle: async ({ principal, body }) => {
      const { staffId, sessionHash } = staffSessionOf(principal);
      await changeStaffPassword(host.db, staffId, sessionHash, body);
      return { status: 204, body: undefined };
    },
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/operators",
    tag: "staff",
    summary: "Make an operator",
    description: "An operator's session acts as the admin token does. Recorded in the audit log with who made it.",
    auth: ["admin"],
    idempotency: "optional",
    body: z.object({ login: Login, password: Password }).strict(),
    responses: { 201: { description: "Made.", schema: StaffAccount } },
    errors: ["NAME_TAKEN"],
    // argon2id takes tens of milliseconds: hashed before the transaction opens.
    prepare: ({ body }) => hashPassword(body.password),
    handle: async ({ body, principal, db, prepared }) => ({
      status: 201,
      body: await createStaff(db, actorOf(principal), { login: body.login, role: "operator", merchantId: null }, prepared),
    }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/operators",
    tag: "staff",
    summary: "List operators",
    auth: ["admin"],
    responses: { 200: { description: "Every operator.", schema: StaffList } },
    handle: async ({ db }) => ({ status: 200, body: await operatorList(db) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/merchants/{merchantId}/staff",
    tag: "staff",
    summary: "Make a merchant's owner or staff",
    description: "Recorded in the audit log with who made it.",
    auth: ["admin"],
    idempotency: "optional",
    params: MerchantParams,
    body: NewStaff,
    responses: { 201: { description: "Made.", schema: StaffAccount } },
    errors: ["NAME_TAKEN", "NOT_FOUND"],
    prepare: ({ body }) => hashPassword(body.password),
    handle: async ({ params, body, principal, db, prepared }) => ({
      status: 201,
      body: await createStaff(db, actorOf(principal), { login: body.login, role: body.role, merchantId: params.merchantId }, prepared),
    }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/merchants/{merchantId}/staff",
    tag: "staff",
    summary: "List a merchant's owners and staff",
    auth: ["admin"],
    params: MerchantParams,
    responses: { 200: { description: "The merchant's accounts.", schema: StaffList } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, db }) => ({ status: 200, body: await merchantStaffList(db, params.merchantId) }),
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/admin/staff/{staffId}",
    tag: "staff",
    summary: "Disable an operator or a merchant's owner or staff",
    description: "Its sessions end at once and it cannot log in; its login stays taken. Disabling it again answers the same.",
    auth: ["admin"],
    idempotency: "optional",
    params: StaffParams,
    responses: { 200: { description: "Disabled.", schema: StaffAccount } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => ({ status: 200, body: await disableStaffAccount(db, actorOf(principal), params.staffId) }),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/merchant/staff",
    tag: "staff",
    summary: "Make an owner or staff of my merchant",
    auth: ["merchant"],
    ownerOnly: true,
    idempotency: "optional",
    body: NewStaff,
    responses: { 201: { description: "Made.", schema: StaffAccount } },
    errors: ["NAME_TAKEN"],
    prepare: ({ body }) => hashPassword(body.password),
    handle: async ({ body, principal, db, prepared }) => {
      const m = await merchantOf(db, principal);
      return {
        status: 201,
        body: await createStaff(db, actorOf(principal), { login: body.login, role: body.role, merchantId: m.id }, prepared),
      };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/merchant/staff",
    tag: "staff",
    summary: "List my merchant's owners and staff",
    auth: ["merchant"],
    ownerOnly: true,
    responses: { 200: { description: "The merchant's accounts.", schema: StaffList } },
    handle: async ({ principal, db }) => ({ status: 200, body: await merchantStaffList(db, (await merchantOf(db, principal)).id) }),
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/merchant/staff/{staffId}",
    tag: "staff",
    summary: "Disable an owner or staff of my merchant",
    description: "Another merchant's account, or an operator, answers NOT_FOUND as an unknown one does.",
    auth: ["merchant"],
    ownerOnly: true,
    idempotency: "optional",
    params: StaffParams,
    responses: { 200: { description: "Disabled.", schema: StaffAccount } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => {
      const m = await merchantOf(db, principal);
      return { status: 200, body: await disableStaffAccount(db, actorOf(principal), params.staffId, m.id) };
    },
  });
}
