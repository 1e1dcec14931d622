/**
 * The one error class. Every refusal carries a stable `code` that integrators can rely on and a
 * message for people; the HTTP status is decided from the code in http/status.ts only. A module
 * brings its own codes (modules/errors.ts).
 */
import type { z } from "zod";
import type { MODULE_ERRORS } from "./modules/errors";

/** The codes of the core, which every module may answer with. */
export const CORE_ERROR_CODES = [
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
  "CSRF_REFUSED",
  "RATE_LIMITED",
  "PASSWORD_LOCKED",
  "BAD_CREDENTIALS",
  "INSUFFICIENT_BALANCE",
  "CHAIN_REFUSED",
  "AMOUNT_OUT_OF_RANGE",
  "SIGNATURE_IN_USE",
  "NOTHING_TO_RELAY",
  "RELAY_LIMIT",
  "NOT_YOUR_USER",
  "SHOP_LIMIT_EXCEEDED",
  "DEPLOYMENT_LIMIT_REACHED",
  "UNAVAILABLE",
  "INTERNAL",
  "INSUFFICIENT_POINTS",
  "CODE_INVALID",
  "PHONE_TAKEN",
  "PHONE_NOT_REGISTERED",
  "SMS_LIMIT_REACHED",
  "SMS_PROVIDER_THROTTLED",
  "SMS_SEND_FAILED",
  "SMS_NOT_CONFIGURED",
  "MERCHANT_SUSPENDED",
  "ENDPOINT_ADDRESS_REFUSED",
  "DELIVERY_IN_FLIGHT",
  "PAYER_REQUIRED",
  "PAYER_IN_USE",
  "ORDER_UNKNOWN",
  "ORDER_REJECTED",
  "ORDER_IN_FLIGHT",
  "REFUND_EXCEEDS_ORDER",
  "REFUND_CONFLICT",
] as const;

export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];
export type ErrorCode = CoreErrorCode | keyof typeof MODULE_ERRORS;

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
