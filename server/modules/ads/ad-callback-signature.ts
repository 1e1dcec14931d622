/**
 * Ad networks' server-to-server callbacks, verified as a pure function of (raw body, headers, the
 * network's key, now). Each network signs `timestamp + "." + raw body` with the scheme it was
 * registered with:
 * - `hmac-sha256`: `X-GP-Signature: v1=<hex HMAC-SHA256(secret, message)>` (as shop webhooks);
 * - `ed25519`: `X-GP-Signature: ed25519=<base64 signature>` checked with the network's public key,
 *   so the relayer holds no secret that could forge a callback.
 * A timestamp more than 300 s from now is refused (late or replayed); the transaction id makes
 * each callback count once (checked against the database by the caller).
 */
import { createPublicKey, sign, verify } from "node:crypto";
import { AppError } from "../../errors";
import { type SignedRequest, checkTimestamp, verifyInboundSignature } from "../../domain/inbound-signature";

export const AD_SCHEMES = ["hmac-sha256", "ed25519"] as const;
export type AdScheme = (typeof AD_SCHEMES)[number];

export interface AdNetworkKey {
  scheme: AdScheme;
  /** The shared secret of an `hmac-sha256` network. */
  secret: string | null;
  /** The PEM (SPKI) public key of an `ed25519` network. */
  publicKey: string | null;
}

export function verifyAdCallback(request: SignedRequest, key: AdNetworkKey, nowSeconds: number): void {
  if (key.scheme === "hmac-sha256") return verifyInboundSignature(request, key.secret!, nowSeconds);
  const timestamp = checkTimestamp(request.timestamp, nowSeconds);
  const match = /^ed25519=([A-Za-z0-9+/]{86}==)$/.exec(request.signature ?? "");
  if (!match) throw new AppError("BAD_SIGNATURE", "X-GP-Signature must be ed25519= and a base64 signature of 64 bytes");
  const message = Buffer.concat([Buffer.from(`${timestamp}.`), request.rawBody]);
  if (!verify(null, message, createPublicKey(key.publicKey!), Buffer.from(match[1], "base64"))) {
    throw new AppError("BAD_SIGNATURE", "X-GP-Signature does not match the body and timestamp");
  }
}

/** What a network does to sign a callback with its Ed25519 private key (PEM): for tests and the bench. */
export function signEd25519(privateKeyPem: string, timestamp: number | string, rawBody: Buffer | string): string {
  const message = Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(rawBody)]);
  return `ed25519=${sign(null, message, privateKeyPem).toString("base64")}`;
}

/** Whether `pem` is an Ed25519 public key (checked when a network is registered). */
export function isEd25519PublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).asymmetricKeyType === "ed25519";
  } catch {
    return false;
  }
}
