/**
 * The signature of outbound notifications, as the Standard Webhooks specification makes it
 * (https://www.standardwebhooks.com): `webhook-signature` is space-separated `v1,<base64>`
 * entries, each the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` keyed by the
 * base64-decoded part of a `whsec_` secret. An endpoint whose secret was rotated is signed with
 * the new and the old secret during the overlap, so a receiver holding either verifies. Pure:
 * the same inputs give the same headers.
 */
import { createHmac, randomBytes } from "node:crypto";

export const SECRET_PREFIX = "whsec_";

/** A new endpoint secret: `whsec_` and 32 random bytes in base64 (the specification's 24 to 64 bytes). */
export function newEndpointSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

/** One `v1,` signature of the message with `secret`. */
export function signatureOf(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The three headers of a delivery of message `id` at `timestampSeconds`, signed with each of `secrets`. */
export function signedHeaders(id: string, timestampSeconds: number, body: string, secrets: readonly string[]): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => signatureOf(s, id, timestampSeconds, body)).join(" "),
  };
}
