/**
 * Rate limits (express-rate-limit, in memory: each relayer process counts its own callers).
 * Logins count failures per client address and user id (the address is `req.ip`: the client's,
 * from X-Forwarded-For, when GP_TRUST_PROXY names the proxies in front), so a client that guesses
 * is stopped without locking out the user elsewhere; payment-password checks count every call per
 * session. A refusal is the API's usual error body with code RATE_LIMITED.
 */
import { createHash } from "node:crypto";
import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";
import { AppError } from "../errors";

export interface RateLimits {
  /** Failed logins per address and user id in 15 minutes. */
  loginFailures: number;
  /** Calls that check a payment password, per session, per minute. */
  paymentChecks: number;
}

export const DEFAULT_LIMITS: RateLimits = { loginFailures: 10, paymentChecks: 30 };

const refuse =
  (what: string): RequestHandler =>
  (_req, _res, next) =>
    next(new AppError("RATE_LIMITED", `too many ${what}; try again later`));

const ip = (req: Request) => ipKeyGenerator(req.ip ?? "unknown");

export function createLimiters(limits: RateLimits): { login: RequestHandler; payment: RequestHandler } {
  return {
    login: rateLimit({
      windowMs: 15 * 60_000,
      limit: limits.loginFailures,
      standardHeaders: "draft-8",
      legacyHeaders: false,
      skipSuccessfulRequests: true,
      keyGenerator: (req) => `${ip(req)}|${typeof req.body?.userId === "string" ? req.body.userId.slice(0, 128) : ""}`,
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
