/**
 * The one error class. Every refusal carries a stable `code` that integrators can rely on and a
 * message for people; the HTTP status is decided from the code in http/status.ts only.
 */
import type { z } from "zod";

export const ERROR_CODES = [
  "VALIDATION_FAILED",
  "INVALID_JSON",
  "UNAUTHORIZED",
  "BAD_SIGNATURE",
  "STALE_TIMESTAMP",
  "UNKNOWN_SHOP",
  "NOT_FOUND",
  "ORDER_CONFLICT",
  "IDEMPOTENCY_CONFLICT",
  "NAME_TAKEN",
  "FORBIDDEN",
  "RATE_LIMITED",
  "PASSWORD_LOCKED",
  "BAD_CREDENTIALS",
  "INSUFFICIENT_BALANCE",
  "CHAIN_REFUSED",
  "AMOUNT_OUT_OF_RANGE",
  "UNKNOWN_NETWORK",
  "UNKNOWN_USER",
  "CALLBACK_REPLAYED",
  "SIGNATURE_IN_USE",
  "DAILY_TASK_CAP",
  "NOTHING_TO_RELAY",
  "RELAY_LIMIT",
  "ADS_UNAVAILABLE",
  "NOT_YOUR_USER",
  "AD_MERCHANT_NOT_ALLOWED",
  "SHOP_LIMIT_EXCEEDED",
  "DEPLOYMENT_LIMIT_REACHED",
  "UNAVAILABLE",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}

/** A failed zod parse as VALIDATION_FAILED, naming the first wrong field under `where`. */
export function validationError(error: z.ZodError, where: string): AppError {
  const path = (issue: z.core.$ZodIssue) => [where, ...issue.path.map(String)].join(".");
  return new AppError("VALIDATION_FAILED", `${path(error.issues[0])}: ${error.issues[0].message}`, {
    issues: error.issues.map((i) => ({ path: path(i), message: i.message })),
  });
}

/** A signed request's raw body as JSON, through `schema`: INVALID_JSON or VALIDATION_FAILED (naming the field) otherwise. */
export function parseJsonBody<T extends z.ZodType>(rawBody: Buffer, schema: T): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString("utf8"));
  } catch (error) {
    throw new AppError("INVALID_JSON", "the body is not JSON", undefined, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validationError(parsed.error, "body");
  return parsed.data;
}
