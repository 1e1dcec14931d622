/**
 * Secrets people and systems present. Passwords (login and payment) are kept only as argon2id
 * hashes (@node-rs/argon2, OWASP's parameters: 19 MiB, 2 passes); sessions and merchant API keys
 * are random tokens kept as SHA-256 hashes (they carry 192 bits, so a fast hash is enough).
 */
import { createHash, randomBytes } from "node:crypto";
import { Algorithm, hash, verify } from "@node-rs/argon2";
import type { Queryable } from "../adapters/db/db";
import { clearPaymentFailures, findUser, recordPaymentFailure } from "../adapters/db/users";
import { AppError } from "../errors";

const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => hash(password, ARGON2);
export const verifyPassword = (stored: string, password: string) => verify(stored, password);

export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");
export const newSessionToken = () => `gps_${randomBytes(24).toString("hex")}`;

/** A merchant API key `gpk_<keyId>_<secret>`: the key id finds it, the secret proves it. */
export function newApiKey(): { keyId: string; key: string } {
  const keyId = `key_${randomBytes(6).toString("hex")}`;
  return { keyId, key: `gpk_${keyId}_${randomBytes(24).toString("hex")}` };
}
export const apiKeyId = (key: string) => /^gpk_(key_[0-9a-f]{12})_[0-9a-f]{48}$/.exec(key)?.[1] ?? null;

export const PAYMENT_PASSWORD_ATTEMPTS = 5;
export const PAYMENT_LOCK_SECONDS = 15 * 60;

/**
 * Checks a user's payment password (or, when not `required`, only if the user has set one). Five
 * wrong ones in a row lock it for fifteen minutes; every failure is committed at once (outside the
 * request's own transaction, which a refusal rolls back).
 */
export async function checkPaymentPassword(
  db: Queryable,
  userId: string,
  password: string | undefined,
  options: { required: boolean },
): Promise<void> {
  const user = await findUser(db, userId);
  if (!user) throw new AppError("UNAUTHORIZED", "the session's user no longer exists");
  if (!user.paymentHash && !options.required) return;
  if (!user.paymentHash) throw new AppError("FORBIDDEN", "set a payment password first (PUT /v1/me/payment-password)");
  if (user.paymentLockedUntil && user.paymentLockedUntil > new Date()) {
    throw new AppError("PASSWORD_LOCKED", "the payment password is locked after repeated failures", {
      lockedUntil: user.paymentLockedUntil.toISOString(),
    });
  }
  if (!password) throw new AppError("BAD_CREDENTIALS", "this operation needs the payment password in X-GP-Payment-Password");
  if (await verifyPassword(user.paymentHash, password)) {
    if (user.paymentFailures > 0) await clearPaymentFailures(db, userId);
    return;
  }
  const after = await recordPaymentFailure(db, userId, PAYMENT_PASSWORD_ATTEMPTS, PAYMENT_LOCK_SECONDS);
  if (after.lockedUntil && after.lockedUntil > new Date()) {
    throw new AppError("PASSWORD_LOCKED", `wrong payment password; locked after ${PAYMENT_PASSWORD_ATTEMPTS} failures`, {
      lockedUntil: after.lockedUntil.toISOString(),
    });
  }
  throw new AppError("BAD_CREDENTIALS", "wrong payment password", { attemptsLeft: PAYMENT_PASSWORD_ATTEMPTS - after.failures });
}
