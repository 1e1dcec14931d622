/**
 * Inbound shop orders (the order webhook) are signed like Stripe's webhooks: `X-GP-Signature: v1=<hex HMAC-SHA256(secret,
 * timestamp + "." + raw body)>`, with `X-GP-Timestamp` in unix seconds. Verification is a pure
 * function of (raw body, headers, secret, now), compares in constant time, and refuses a
 * timestamp more than `toleranceSeconds` from now in either direction (replays).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors";

export const SIGNATURE_TOLERANCE_SECONDS = 300;

export function signPayload(secret: string, timestamp: number | string, rawBody: Buffer | string): string {
  const mac = createHmac("sha256", secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `v1=${mac.digest("hex")}`;
}

export interface SignedRequest {
  rawBody: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
}

export function verifyInboundSignature(
  request: SignedRequest,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): void {
  const { signature } = request;
  const timestamp = checkTimestamp(request.timestamp, nowSeconds, toleranceSeconds);
  if (!signature || !/^v1=[0-9a-f]{64}$/.test(signature)) {
    throw new AppError("BAD_SIGNATURE", "X-GP-Signature must be v1= and 64 hex digits");
  }
  const expected = Buffer.from(signPayload(secret, timestamp, request.rawBody));
  if (!timingSafeEqual(expected, Buffer.from(signature))) {
    throw new AppError("BAD_SIGNATURE", "X-GP-Signature does not match the body and timestamp");
  }
}

/** The timestamp header as unix seconds, refused when malformed or more than `toleranceSeconds` from now (late or replayed). */
export function checkTimestamp(timestamp: string | undefined, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): string {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) {
    throw new AppError("STALE_TIMESTAMP", "X-GP-Timestamp must be unix seconds");
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    throw new AppError("STALE_TIMESTAMP", `X-GP-Timestamp is more than ${toleranceSeconds} s from the server's clock`, {
      timestamp: Number(timestamp),
      now: nowSeconds,
    });
  }
  return timestamp;
}
