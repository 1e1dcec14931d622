/**
 * The EIP-712 requests an original account signs, exactly as the contracts hash them. The
 * relayer, the tests and the benchmark sign and check with these; a change here must match the
 * TYPEHASH constants in GreenPoints.sol, Pool.sol and Custody.sol.
 */
import type { TypedDataField } from "ethers";

/** The EIP-712 domain names (version "1") of the three verifying contracts. */
export const DOMAIN_NAMES = { points: "Green Points", pool: "Green Points Pool", custody: "Green Points Custody" } as const;

export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const TRANSFER_TYPES: Record<string, TypedDataField[]> = {
  Transfer: [
    { name: "owner", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const REDEEM_TYPES: Record<string, TypedDataField[]> = {
  Redeem: [
    { name: "owner", type: "address" },
    { name: "points", type: "uint256" },
    { name: "receiver", type: "address" },
    { name: "minPayout", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const DEPOSIT_TYPES: Record<string, TypedDataField[]> = {
  Deposit: [
    { name: "owner", type: "address" },
    { name: "user", type: "bytes32" },
    { name: "points", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const LINK_TYPES: Record<string, TypedDataField[]> = {
  Link: [
    { name: "user", type: "bytes32" },
    { name: "account", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
