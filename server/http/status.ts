/** The one place an error code becomes an HTTP status: the core's here, the modules' from their tables. */
import type { CoreErrorCode, ErrorCode } from "../errors";
import { MODULE_ERRORS } from "../modules/errors";

const CORE_STATUS_OF: Record<CoreErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  AMOUNT_OUT_OF_RANGE: 400,
  UNAUTHORIZED: 401,
  BAD_SIGNATURE: 401,
  STALE_TIMESTAMP: 401,
  UNKNOWN_SHOP: 401,
  BAD_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_YOUR_USER: 403,
  NOT_FOUND: 404,
  ORDER_CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  NAME_TAKEN: 409,
  SIGNATURE_IN_USE: 409,
  INSUFFICIENT_BALANCE: 422,
  CHAIN_REFUSED: 422,
  SHOP_LIMIT_EXCEEDED: 422,
  NOTHING_TO_RELAY: 422,
  PASSWORD_LOCKED: 423,
  RATE_LIMITED: 429,
  DEPLOYMENT_LIMIT_REACHED: 429,
  RELAY_LIMIT: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export const STATUS_OF: Readonly<Record<ErrorCode, number>> = { ...CORE_STATUS_OF, ...MODULE_ERRORS };
