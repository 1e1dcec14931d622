/**
 * The custody's parameters read as raw words, so that a custody deployed by an earlier version (a
 * data folder made before an upgrade) still reads: it answers a shorter struct than today's ABI
 * can decode. The withdrawal fee has always come first and the exit multiple second; the referral
 * mode (third) came later, and a custody without it paid referrals on every order (mode 0).
 */
import type { ChainPort } from "./chain";

export interface CustodyParameters {
  withdrawalFee: bigint;
  /** 0 when the custody predates the exit multiple. */
  exitMultiple: bigint;
  /** 0 (per order) when the custody predates the referral mode. */
  referralMode: bigint;
}

export async function readCustodyParameters(chain: ChainPort, block?: number): Promise<CustodyParameters> {
  const provider = chain.custody.runner?.provider;
  if (!provider) throw new Error("the custody contract has no provider");
  const data = await provider.call({
    to: chain.deployments.custody,
    data: chain.custody.interface.encodeFunctionData("parameters"),
    blockTag: block,
  });
  const words: bigint[] = [];
  for (let i = 2; i + 64 <= data.length; i += 64) words.push(BigInt(`0x${data.slice(i, i + 64)}`));
  if (words.length === 0) throw new Error("the custody answered no parameters");
  return { withdrawalFee: words[0], exitMultiple: words[1] ?? 0n, referralMode: words[2] ?? 0n };
}
