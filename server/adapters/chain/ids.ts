/**
 * The ids the relayer puts on-chain. Neither reveals the shop's order id or the user id: the
 * order id is hashed with its shop, the user id with a secret salt kept in the database.
 */
import { concat, keccak256, toUtf8Bytes } from "ethers";

/** The 32-byte order id sent to the pool for the shop's `orderId`. */
export function chainOrderId(shopId: string, orderId: string): string {
  return keccak256(toUtf8Bytes(`${shopId}\u0000${orderId}`));
}

/** The opaque custodial user id: `keccak256(salt || userId)`. */
export function custodialUserId(salt: string, userId: string): string {
  return keccak256(concat([toUtf8Bytes(salt), toUtf8Bytes("\u0000"), toUtf8Bytes(userId)]));
}

/** A merchant's custodial account id; no user id can make it (user ids hold no NUL). */
export function merchantAccountId(salt: string, merchantId: string): string {
  return custodialUserId(salt, `\u0000merchant:${merchantId}`);
}
