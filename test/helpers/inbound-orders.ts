/** Signs inbound shop orders the way a shop does, with the server's own HMAC code. */
import { signPayload } from "../../server/domain/inbound-signature";

export function signedInboundOrder(shopId: string, secret: string, body: unknown, nowSeconds: number) {
  const rawBody = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const timestamp = String(nowSeconds);
  return { shopId, timestamp, signature: signPayload(secret, timestamp, rawBody), rawBody };
}
