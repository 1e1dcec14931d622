/**
 * Rate limits (express-rate-limit, in memory: each relayer process counts its own callers).
 * Logins count failures per client address and user id (or staff login) (the address is `req.ip`: the client's,
 * from X-Forwarded-For, when GP_TRUST_PROXY names the proxies in front), so a client that guesses
 * is stopped without locking out the user elsewhere; payment-password checks count every call per
 * session; relayed signatures count every call per user and per owner address. A refusal is the
 * API's usual error body with code RATE_LIMITED. (The relays' daily gas, which is money, is
 * counted in the database instead: see services/relay-guard.ts.)
 */
import { createHash } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { MemoryStore, type Options, ipKeyGenerator, rateLimit } from "express-rate-limit";
import { AppError } from "../errors";
import { parsePhone } from "../domain/phones";

export interface RateLimits {
  /** Failed logins per address and user id in 15 minutes. */
  loginFailures: number;
  /** Calls that check a payment password, per session, per minute. */
  paymentChecks: number;
  /** Relayed signatures asked for by one user, per minute. */
  relaysPerUser: number;
  /** Relayed signatures of one owner address, whoever asks, per minute. */
  relaysPerOwner: number;
  /** Gas the relayer spends on one user's relayed signatures per UTC day. */
  relayDailyGas: number;
}

export const DEFAULT_LIMITS: RateLimits = {
  loginFailures: 10,
  paymentChecks: 30,
  relaysPerUser: 10,
  relaysPerOwner: 5,
  relayDailyGas: 1_000_000,
};

/**
 * Counts relayed signatures, RATE_LIMITED past a limit: every call of a user, and per owner
 * address only the requests its owner really signed (counted once the chain accepted the
 * signature), so that nobody can use up another owner's limit with requests it never signed.
 */
export interface RelayLimiter {
  user(userId: string): Promise<void>;
  owner(owner: string): Promise<void>;
}

export function createRelayLimiter(limits: RateLimits): RelayLimiter {
  const store = new MemoryStore();
  store.init({ windowMs: 60_000 } as Options);
  return {
    async user(userId) {
      if ((await store.increment(`user:${userId}`)).totalHits > limits.relaysPerUser)
        throw new AppError("RATE_LIMITED", "too many relayed signatures from this user; try again later", { limit: limits.relaysPerUser });
    },
    async owner(owner) {
      if ((await store.increment(`owner:${owner.toLowerCase()}`)).totalHits > limits.relaysPerOwner)
        throw new AppError("RATE_LIMITED", "too many relayed signatures of this owner; try again later", { limit: limits.relaysPerOwner });
    },
  };
}

const refuse =
  (what: string): RequestHandler =>
  (_req, _res, next) =>
    next(new AppError("RATE_LIMITED", `too many ${what}; try again later`));

const ip = (req: Request) => ipKeyGenerator(req.ip ?? "unknown");

/** The account a login names: a user id, a staff login, or a phone number in E.164 however it was written. */
function namedAccount(body: { userId?: unknown; login?: unknown; phone?: unknown } | undefined): string {
  if (typeof body?.userId === "string") return body.userId.slice(0, 128);
  if (typeof body?.login === "string") return `staff:${body.login.slice(0, 128)}`;
  if (typeof body?.phone !== "string") return "";
  const parsed = parsePhone(body.phone.slice(0, 32));
  return "phone" in parsed ? parsed.phone : body.phone.slice(0, 32);
}

/** Code requests per client address a minute, before the database counts them (a flood then costs it nothing). */
export const SMS_REQUESTS_PER_MINUTE = 10;

export function createLimiters(limits: RateLimits): { login: RequestHandler; payment: RequestHandler; smsCodes: RequestHandler } {
  return {
    smsCodes: rateLimit({
      windowMs: 60_000,
      limit: SMS_REQUESTS_PER_MINUTE,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      keyGenerator: ip,
      handler: refuse("code requests from this address"),
    }),
    login: rateLimit({
      windowMs: 15 * 60_000,
      limit: limits.loginFailures,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      skipSuccessfulRequests: true,
      // A login by SMS code is held by the code's own 5 tries; it is the way in that a locked
      // password leaves, so failed passwords must not block it.
      skip: (req) => typeof req.body?.code === "string",
      // Per address and account named, so spelling a number another way is no new key.
      keyGenerator: (req) => `${ip(req)}|${namedAccount(req.body)}`,
      handler: refuse("failed logins"),
    }),
    payment: rateLimit({
      windowMs: 60_000,
      limit: limits.paymentChecks,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      keyGenerator: (req) =>
        createHash("sha256")
          .update(req.headers.authorization ?? ip(req))
          .digest("hex"),
      handler: refuse("payment requests"),
    }),
  };
}
