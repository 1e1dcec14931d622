import { AbiCoder, keccak256 } from "ethers";

/** The pool's `orderKey(shop, orderId)`: `keccak256(abi.encode(shop, orderId))`. */
export function orderKey(shop: string, orderId: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [shop, orderId]));
}
