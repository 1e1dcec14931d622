/**
 * EIP-712 signing as an original account's wallet does it, with knobs to produce the bad
 * signatures the contracts must refuse (another chain, another nonce). The types come from
 * server/adapters/chain/typed-data.ts, the same ones the relayer uses.
 */
import type { Signer, TypedDataField } from "ethers";
import { ethers } from "hardhat";
import {
  DEPOSIT_TYPES,
  DOMAIN_NAMES,
  LINK_TYPES,
  PERMIT_TYPES,
  REDEEM_TYPES,
  TRANSFER_TYPES,
} from "../../server/adapters/chain/typed-data";

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
  const domain = { name, version: "1", chainId, verifyingContract: await contract.getAddress() };
  const nonce = options.nonce ?? (await contract.nonces(await signer.getAddress()));
  return signer.signTypedData(domain, types, { ...message, nonce });
}

export async function signLink(signer: Signer, custody: Verifying, user: string, deadline: bigint, options: SignOptions = {}) {
  const account = await signer.getAddress();
  return sign(signer, DOMAIN_NAMES.custody, custody, LINK_TYPES, { user, account, deadline }, options);
}

export async function signDeposit(
  signer: Signer,
  custody: Verifying,
  user: string,
  points: bigint,
  deadline: bigint,
  options: SignOptions = {},
) {
  const owner = await signer.getAddress();
  return sign(signer, DOMAIN_NAMES.custody, custody, DEPOSIT_TYPES, { owner, user, points, deadline }, options);
}

export async function signRedeem(
  signer: Signer,
  pool: Verifying,
  request: { points: bigint; receiver: string; minPayout: bigint; deadline: bigint },
  options: SignOptions = {},
) {
  const owner = await signer.getAddress();
  return sign(signer, DOMAIN_NAMES.pool, pool, REDEEM_TYPES, { owner, ...request }, options);
}

export async function signTransfer(
  signer: Signer,
  points: Verifying,
  request: { to: string; value: bigint; deadline: bigint },
  options: SignOptions = {},
) {
  const owner = await signer.getAddress();
  return sign(signer, DOMAIN_NAMES.points, points, TRANSFER_TYPES, { owner, ...request }, options);
}

/** An EIP-2612 permit's (v, r, s) for `spender`. */
export async function signPermit(signer: Signer, token: Verifying, spender: string, value: bigint, deadline: bigint) {
  const owner = await signer.getAddress();
  return ethers.Signature.from(await sign(signer, DOMAIN_NAMES.points, token, PERMIT_TYPES, { owner, spender, value, deadline }, {}));
}
