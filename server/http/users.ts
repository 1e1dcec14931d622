/**
 * Users: registration (by the operator or a shop, for a user id of the ecosystem), sessions, the
 * payment password, the custodial account and the operations that move its value. Every
 * value-moving call needs the session, the payment password and an Idempotency-Key, and answers
 * 202 with an operation to poll: what the chain would refuse now is refused at once, with reason.
 */
import { ZeroAddress, ZeroHash, getAddress } from "ethers";
import type { RequestHandler } from "express";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import { DOMAIN_NAMES, LINK_TYPES } from "../adapters/chain/typed-data";
import type { Queryable } from "../adapters/db/db";
import { findMerchant } from "../adapters/db/merchants";
import { type OperationRecord, operationsOfAccount } from "../adapters/db/operations";
import {
  claimUserOrigin,
  findUser,
  findUserByAccount,
  insertSession,
  insertUser,
  otherShopsWithOrders,
  revokeSession,
  setPaymentHash,
  userOrigin,
} from "../adapters/db/users";
import { parsePositiveAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { recordAdSale } from "../modules/ads/service";
import { hashPassword, newSessionToken, tokenHash, verifyPassword } from "../services/credentials";
import {
  Asset,
  type AssetCode,
  decimalsOf,
  type PlannedOperation,
  operationView,
  planCall,
  queueRegistration,
  recordPlanned,
  redemption,
} from "../services/operations";
import type { Principal } from "./auth";
import { accepted } from "./operations";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, AssetName, Id, OperationView, RedemptionBody, Signature } from "./schemas";

export interface UserRouteDeps {
  chain: ChainPort;
  userSalt: string;
  limiters: { login: RequestHandler; payment: RequestHandler };
}

const SESSION_HOURS = 12;
const Password = z.string().min(8, "must be at least 8 characters").max(256);
const PaymentPassword = z.string().min(6, "must be at least 6 characters").max(256);
// Compared against when the user id is unknown, so a wrong id costs the same time as a wrong password.
const DUMMY_HASH = hashPassword("not a password of anyone");

/**
 * A shop registers only users it made: a user id nobody named yet, or one only its own orders named.
 * Another shop's or the operator's user, or one whose points other shops' orders paid for, would
 * hand value the shop does not own to whoever it sets the passwords for. In the registration's
 * transaction the origin is claimed first: a first order of another shop at the same moment then
 * either made the id already (and is seen here) or waits on this claim and lands after it.
 */
async function claimOwnUser(db: Queryable, shopId: string, userId: string): Promise<void> {
  await claimUserOrigin(db, userId, shopId);
  await refuseOthersUser(db, shopId, userId);
}

/** NOT_YOUR_USER when another shop or the operator made the id, or other shops' orders paid points to it. */
async function refuseOthersUser(db: Queryable, shopId: string, userId: string): Promise<void> {
  const origin = await userOrigin(db, userId);
  if (origin && origin.shopId !== shopId)
    throw new AppError("NOT_YOUR_USER", `user ${userId} was made by ${origin.shopId ? "another shop" : "the operator"}; the operator registers it`, {
      userId,
    });
  const others = await otherShopsWithOrders(db, userId, shopId);
  if (others.length > 0)
    throw new AppError("NOT_YOUR_USER", `other shops' orders paid points to user ${userId}; the operator registers it`, { userId });
}

export function userRoutes(host: RouteHost, deps: UserRouteDeps): void {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const accountOfUser = (userId: string) => custodialUserId(deps.userSalt, userId);
  const userOf = (p: Principal) => {
    if (p.kind !== "user") throw new AppError("FORBIDDEN", "this endpoint is for users");
    return { userId: p.userId, account: accountOfUser(p.userId), actor: `user:${p.userId}` };
  };
  /** A custodial move of the session's user, with a request id: encoded and run on the pending state. */
  const custodial = (
    who: ReturnType<typeof userOf>,
    r: { kind: string; fn: string; args: (requestId: string) => readonly unknown[]; counterparty?: string },
    details: Record<string, string>,
  ) => planCall(chain, { ...r, actor: who.actor, account: who.account, target: "custody", details });

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
    prepare: async ({ body, principal, db }) => {
      // A shop refused now costs no hashing; the transaction checks again.
      if (principal.kind === "shop") await refuseOthersUser(db, principal.shopId, body.userId);
      return {
        passwordHash: await hashPassword(body.password),
        paymentHash: body.paymentPassword ? await hashPassword(body.paymentPassword) : null,
      };
    },
    handle: async ({ body, principal, db, prepared }) => {
      if (body.referrerId === body.userId)
        throw new AppError("VALIDATION_FAILED", "a user cannot refer themselves", { field: "referrerId" });
      if (body.referrerId && !(await findUser(db, body.referrerId)))
        throw new AppError("NOT_FOUND", `no registered user ${body.referrerId}`);
      const shopId = principal.kind === "shop" ? principal.shopId : null;
      if (shopId) await claimOwnUser(db, shopId, body.userId);
      else await claimUserOrigin(db, body.userId, null);
      const account = accountOfUser(body.userId);
      const inserted = await insertUser(db, { userId: body.userId, account, ...prepared });
      if (!inserted) throw new AppError("NAME_TAKEN", `user ${body.userId} is registered already`);
      const op = await queueRegistration(db, {
        actor: shopId ? `shop:${shopId}` : "admin",
        userId: body.userId,
        account,
        referrerId: body.referrerId,
        referrer: body.referrerId ? accountOfUser(body.referrerId) : undefined,
      });
      return { status: 201, body: { userId: body.userId, account, operation: operationView(op) } };
    },
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
    responses: { 201: { description: "Logged in.", schema: z.object({ token: z.string(), userId: z.string(), expiresAt: z.string() }) } },
    errors: ["BAD_CREDENTIALS"],
    handle: async ({ body, db }) => {
      const user = await findUser(db, body.userId);
      const ok = await verifyPassword(user?.passwordHash ?? (await DUMMY_HASH), body.password);
      if (!user || !ok) throw new AppError("BAD_CREDENTIALS", "wrong user id or password");
      const token = newSessionToken();
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
      await insertSession(db, tokenHash(token), user.userId, expiresAt);
      return { status: 201, body: { token, userId: user.userId, expiresAt: expiresAt.toISOString() } };
    },
  });

  defineRoute(host, {
    method: "delete",
    path: "/v1/sessions/current",
    tag: "users",
    summary: "Log out",
    auth: ["user"],
    responses: { 200: { description: "The session no longer works.", schema: z.object({ loggedOut: z.literal(true) }) } },
    handle: async ({ principal, db }) => {
      if (principal.kind === "user") await revokeSession(db, principal.sessionHash);
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
      const { userId } = userOf(principal);
      await setPaymentHash(db, userId, await hashPassword(body.paymentPassword));
      return { status: 200, body: { paymentPasswordSet: true } };
    },
  });

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
        }),
      },
    },
    handle: async ({ principal, db }) => {
      const { userId, account } = userOf(principal);
      const [a, user] = await Promise.all([chain.custody.accountOf(account), findUser(db, userId)]);
      const payout = a.points > 0n ? (await chain.pool.previewRedeem(a.points)).payout : 0n;
      const referrer = a.referrer === ZeroHash ? null : await findUserByAccount(db, a.referrer);
      return {
        status: 200,
        body: {
          userId,
          account,
          points: formatAmount(a.points, 18),
          constantPoints: formatAmount(a.constantPoints, d),
          settlement: formatAmount(a.settlement, d),
          redeemableNow: formatAmount(payout, d),
          original: a.original === ZeroAddress ? null : a.original,
          referrerId: referrer?.userId ?? null,
          registeredOnChain: a.index !== 0n,
          paymentPasswordSet: Boolean(user?.paymentHash),
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
    plan: (ctx: { body: Record<string, string>; who: ReturnType<typeof userOf>; db: Queryable }) => Promise<PlannedOperation>,
    errors: readonly ("NOT_FOUND" | "INSUFFICIENT_BALANCE" | "CHAIN_REFUSED")[] = ["INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
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
      body: body.strict(),
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors,
      prepare: ({ body, principal, db }) => plan({ body: body as Record<string, string>, who: userOf(principal), db }),
      handle: async ({ db, prepared }) => accepted(await recordPlanned(db, prepared)),
    });

  opRoute(
    "/v1/me/transfers",
    "Transfer to another user",
    "Moves GP or CP from my custodial account to another registered user's.",
    z.object({ toUserId: Id("The receiving user.", "bob"), asset: AssetName, amount: Amount("In whole units of the asset.", "2.5") }),
    async ({ body, who, db }) => {
      if (!(await findUser(db, body.toUserId))) throw new AppError("NOT_FOUND", `no registered user ${body.toUserId}`);
      if (body.toUserId === who.userId) throw new AppError("VALIDATION_FAILED", "a transfer needs another user", { field: "toUserId" });
      const asset = body.asset as AssetCode;
      const amount = parsePositiveAmount(body.amount, decimalsOf(asset, d), "amount");
      const to = accountOfUser(body.toUserId);
      const args = (r: string) => [r, who.account, to, Asset[asset], amount];
      return custodial(who, { kind: "transfer", fn: "transfer", args, counterparty: to }, { ...body });
    },
    ["NOT_FOUND", "INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
  );

  opRoute(
    "/v1/me/payments",
    "Pay a merchant",
    "Pays a merchant in GP or CP from my custodial account.",
    z.object({
      merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f"),
      asset: AssetName,
      amount: Amount("In whole units of the asset.", "5"),
    }),
    async ({ body, who, db }) => {
      const merchant = await findMerchant(db, body.merchantId);
      if (!merchant) throw new AppError("NOT_FOUND", `no merchant ${body.merchantId}`);
      const asset = body.asset as AssetCode;
      const amount = parsePositiveAmount(body.amount, decimalsOf(asset, d), "amount");
      const args = (r: string) => [r, who.account, merchant.account, Asset[asset], amount];
      const planned = await custodial(who, { kind: "pay-merchant", fn: "payMerchant", args, counterparty: merchant.account }, { ...body });
      // A payment to a merchant is an ad sale: it earns vouchers once confirmed, if the merchant has ad credit.
      const sale = { userId: who.userId, merchantId: merchant.id, asset, paid: amount };
      return { ...planned, also: (tx, op) => recordAdSale(tx, { ...sale, source: { paymentId: op.id } }) };
    },
    ["NOT_FOUND", "INSUFFICIENT_BALANCE", "CHAIN_REFUSED"],
  );

  opRoute(
    "/v1/me/redemptions",
    "Redeem GP or CP",
    "Redeems at the pool's price, exit fee deducted, into my account's settlement balance; `minPayout` (settlement units) guards against the price moving.",
    RedemptionBody("3"),
    async ({ body, who }) => custodial(who, redemption(who.account, body, d), { ...body }),
  );

  opRoute(
    "/v1/me/conversions",
    "Convert GP to CP",
    "Converts GP to constant points at the current price (rounded down); the GP are kept as the CP reserve.",
    z.object({ points: Amount("GP to convert.", "10") }),
    async ({ body, who }) => {
      const points = parsePositiveAmount(body.points, 18, "points");
      return custodial(who, { kind: "convert", fn: "convertToConstant", args: (r) => [r, who.account, points] }, { ...body });
    },
  );

  opRoute(
    "/v1/me/withdrawals/points",
    "Withdraw GP to my original account",
    "Sends GP to the linked original account; the withdrawal fee is retired at the pool (its value stays there).",
    z.object({ points: Amount("GP to withdraw, fee included.", "10") }),
    async ({ body, who }) => {
      const points = parsePositiveAmount(body.points, 18, "points");
      return custodial(who, { kind: "withdraw-points", fn: "withdrawToOriginal", args: (r) => [r, who.account, points] }, { ...body });
    },
  );

  opRoute(
    "/v1/me/withdrawals/settlement",
    "Withdraw settlement",
    "Pays out my account's settlement balance (from redemptions) to an address.",
    z.object({ to: Address, amount: Amount("Settlement units.", "12.5") }),
    async ({ body, who }) => {
      const args = (r: string) => [r, who.account, getAddress(body.to), parsePositiveAmount(body.amount, d, "amount")];
      return custodial(who, { kind: "withdraw-settlement", fn: "withdrawSettlement", args }, { ...body });
    },
  );

  opRoute(
    "/v1/me/link",
    "Link an original account",
    "Links an address whose owner signed the EIP-712 `Link` request from GET /v1/me/link-request.",
    z.object({ address: Address, deadline: z.string().regex(/^\d{1,20}$/), signature: Signature }),
    async ({ body, who }) => {
      const address = getAddress(body.address);
      const args = [who.account, address, BigInt(body.deadline), body.signature];
      const details = { address, deadline: body.deadline };
      return planCall(chain, { kind: "link", actor: who.actor, account: who.account, target: "custody", fn: "link", args, details });
    },
  );

  opRoute(
    "/v1/me/unlink",
    "Unlink my original account",
    "Withdrawals to an original account stop until another is linked.",
    z.object({}),
    async ({ who }) =>
      planCall(chain, {
        kind: "unlink",
        actor: who.actor,
        account: who.account,
        target: "custody",
        fn: "unlink",
        args: [who.account],
        details: {},
      }),
  );

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
    handle: async ({ query, principal }) => {
      const { account } = userOf(principal);
      const address = getAddress(query.address);
      const deadline = query.deadline ?? String(Math.floor(Date.now() / 1000) + 3600);
      const nonce = await chain.custody.nonces(address);
      return {
        status: 200,
        body: {
          domain: {
            name: DOMAIN_NAMES.custody,
            version: "1",
            chainId: chain.deployments.chainId,
            verifyingContract: chain.deployments.custody,
          },
          types: LINK_TYPES,
          primaryType: "Link",
          message: { user: account, account: address, nonce: nonce.toString(), deadline },
        },
      };
    },
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
      body: { operations: (await operationsOfAccount(db, userOf(principal).account, { limit: query.limit })).map(operationView) },
    }),
  });
}
