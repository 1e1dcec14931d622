/** The ids rewarded ads puts on-chain: a sale's and a voucher conversion's, each of which the chain takes once. */
import { keccak256, toUtf8Bytes } from "ethers";

/** The 32-byte id of an ad sale (`order:<shop>:<order id>` or `payment:<operation id>`), refused twice by the ad credit. */
export function saleChainId(saleKey: string): string {
  return keccak256(toUtf8Bytes(`sale:${saleKey}`));
}

/** The 32-byte id of a voucher conversion, which the pool records once. */
export function conversionChainId(conversionId: string): string {
  return keccak256(toUtf8Bytes(`conversion:${conversionId}`));
}
