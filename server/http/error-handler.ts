/**
 * Every error leaves as `{ "error": { "code", "message", "details"? } }` with the status its
 * code maps to. Unknown errors are logged with their stack and answered as INTERNAL without it.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import { AppError } from "../errors";
import { STATUS_OF } from "./status";

const OUTAGE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "NETWORK_ERROR", "SERVER_ERROR", "TIMEOUT"]);

/**
 * A chain node that does not answer (as opposed to a call it refuses), seen through ethers' error
 * codes or the socket error they wrap: retrying later can succeed. (The database adapters raise
 * UNAVAILABLE themselves.)
 */
function isOutage(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && OUTAGE_CODES.has(e.code)) return true;
  }
  return false;
}

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as { type?: string; status?: number; message?: string };
  if (e?.type === "entity.parse.failed") return new AppError("INVALID_JSON", "the body is not valid JSON", undefined, { cause: error });
  if (e?.type === "entity.too.large") return new AppError("VALIDATION_FAILED", "the body is too large", undefined, { cause: error });
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    return new AppError("VALIDATION_FAILED", "the body's encoding is not supported", undefined, { cause: error });
  }
  if (isOutage(error)) {
    return new AppError("UNAVAILABLE", "the chain or the database is not answering; nothing was changed, try again", undefined, {
      cause: error,
    });
  }
  return new AppError("INTERNAL", "the server failed; the request changed nothing it could not finish", undefined, { cause: error });
}

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const appError = toAppError(error);
  const status = STATUS_OF[appError.code];
  if (status >= 500) req.log?.error({ err: error }, "request failed");
  else req.log?.info({ code: appError.code, reason: appError.message }, "request refused");
  if (res.headersSent) return;
  // A refusal that says when to try again (SMS limits, a throttling provider) says it in Retry-After too.
  const retryAfter = appError.details?.retryAfterSeconds;
  if (status === 429 && typeof retryAfter === "number") res.setHeader("Retry-After", String(retryAfter));
  res
    .status(status)
    .json({ error: { code: appError.code, message: appError.message, ...(appError.details ? { details: appError.details } : {}) } });
};

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError("NOT_FOUND", `no endpoint ${req.method} ${req.path}`));
};
