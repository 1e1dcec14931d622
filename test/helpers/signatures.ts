/**
 * EIP-712 signing as an original account's wallet does it, with knobs to produce the bad
 * signatures the contracts must refuse (another chain, another nonce).
 */
import type { Signer, TypedDataDomain, TypedDataField } from "ethers";
import { ethers } from "hardhat";

export interface SignOptions {
  /** Sign for another chain id than the one the contract runs on. */
  chainId?: bigint;
  /** Sign over another nonce than the signer's next one. */
  nonce?: bigint;
}

interface Verifying {
  getAddress(): Promise<string>;
  nonces(owner: string): Promise<bigint>;
}

async function sign(
  signer: Signer,
  name: string,
  contract: Verifying,
  types: Record<string, TypedDataField[]>,
  message: Record<string, unknown>,
  options: SignOptions,
): Promise<string> {
  const chainId = options.chainId ?? (await ethers.provider.getNetwork()).chainId;
  const domain: TypedDataDomain = { name, version: "1", chainId, verifyingContract: await contract.getAddress() };
  const owner = await signer.getAddress();
  const nonce = options.nonce ?? (await contract.nonces(owner));
  return signer.signTypedData(domain, types, { ...message, nonce });
}

export function signLink(signer: Signer, custody: Verifying, user: string, deadline: bigint, options: SignOptions = {}) {
  const types = {
    Link: [
      { name: "user", type: "bytes32" },
      { name: "account", type: "address" },
      { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" },
    ],
  };
  return signer.getAddress().then((account) =>
    sign(signer, "Green Points Custody", custody, types, { user, account, deadline }, options),
  );
}

export async function signDeposit(
  signer: Signer,
  custody: Verifying,
  user: string,
  points: bigint,
  deadline: bigint,
  options: SignOptions = {},
) {
  const types = {
    Deposit: [
      { name: "owner", type: "address" },
      { name: "user", type: "bytes32" },
      { name: "points", type: "uint256" },
      { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" },
    ],
  };
  const owner = await signer.getAddress();
  return sign(signer, "Green Points Custody", custody, types, { owner, user, points, deadline }, options);
}

export async function signRedeem(
  signer: Signer,
  pool: Verifying,
  request: { points: bigint; receiver: string; minPayout: bigint; deadline: bigint },
  options: SignOptions = {},
) {
  const types = {
    Redeem: [
      { name: "owner", type: "address" },
      { name: "points", type: "uint256" },
      { name: "receiver", type: "address" },
      { name: "minPayout", type: "uint256" },
      { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" },
    ],
  };
  const owner = await signer.getAddress();
  return sign(signer, "Green Points Pool", pool, types, { owner, ...request }, options);
}

export async function signTransfer(
  signer: Signer,
  points: Verifying,
  request: { to: string; value: bigint; deadline: bigint },
  options: SignOptions = {},
) {
  const types = {
    Transfer: [
      { name: "owner", type: "address" },
      { name: "to", type: "address" },
      { name: "value", type: "uint256" },
      { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" },
    ],
  };
  const owner = await signer.getAddress();
  return sign(signer, "Green Points", points, types, { owner, ...request }, options);
}

/** An EIP-2612 permit's (v, r, s) for `spender`. */
export async function signPermit(
  signer: Signer,
  token: Verifying,
  spender: string,
  value: bigint,
  deadline: bigint,
) {
  const types = {
    Permit: [
      { name: "owner", type: "address" },
      { name: "spender", type: "address" },
      { name: "value", type: "uint256" },
      { name: "nonce", type: "uint256" },
      { name: "deadline", type: "uint256" },
    ],
  };
  const owner = await signer.getAddress();
  return ethers.Signature.from(await sign(signer, "Green Points", token, types, { owner, spender, value, deadline }, {}));
}
