/**
 * Secrets people and systems present. Passwords (login and payment) are kept only as argon2id
 * hashes (@node-rs/argon2, OWASP's parameters: 19 MiB, 2 passes); sessions and merchant API keys
 * are random tokens kept as SHA-256 hashes (they carry 192 bits, so a fast hash is enough).
 */
import { createHash, randomBytes } from "node:crypto";
import { Algorithm, hash, verify } from "@node-rs/argon2";
import type { Queryable } from "../adapters/db/db";
import { clearPaymentFailures, findUser, reservePaymentAttempt } from "../adapters/db/users";
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
 * wrong ones in a row lock it for fifteen minutes. Each attempt is counted as a failure before
 * its password is verified, in one statement that refuses while locked, so concurrent guesses get
 * at most five verifications per lock window; a right password clears the count. Counts are
 * committed at once (outside the request's own transaction, which a refusal rolls back).
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
  const locked = (lockedUntil: Date | null, message: string) =>
    new AppError("PASSWORD_LOCKED", message, lockedUntil ? { lockedUntil: lockedUntil.toISOString() } : undefined);
  if (user.paymentLockedUntil && user.paymentLockedUntil > new Date()) {
    throw locked(user.paymentLockedUntil, "the payment password is locked after repeated failures");
  }
  if (!password) throw new AppError("BAD_CREDENTIALS", "this operation needs the payment password in X-GP-Payment-Password");
  const attempt = await reservePaymentAttempt(db, userId, PAYMENT_PASSWORD_ATTEMPTS, PAYMENT_LOCK_SECONDS);
  if (!attempt) {
    throw locked((await findUser(db, userId))?.paymentLockedUntil ?? null, "the payment password is locked after repeated failures");
  }
  if (await verifyPassword(user.paymentHash, password)) {
    await clearPaymentFailures(db, userId);
    return;
  }
  if (attempt.lockedUntil) {
    throw new AppError("PASSWORD_LOCKED", `wrong payment password; locked after ${PAYMENT_PASSWORD_ATTEMPTS} failures`, {
      lockedUntil: attempt.lockedUntil.toISOString(),
      attemptsLeft: 0,
    });
  }
  throw new AppError("BAD_CREDENTIALS", "wrong payment password", { attemptsLeft: PAYMENT_PASSWORD_ATTEMPTS - attempt.failures });
}
