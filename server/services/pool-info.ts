/** The pool as the public sees it: amounts as decimal strings, the price as an exact ratio printed to 18 places. */
import type { ChainPort } from "../adapters/chain/chain";
import { readCustodyParameters } from "../adapters/chain/custody-parameters";
import { formatAmount, formatPrice } from "../domain/display";

export interface PoolView {
  assets: string;
  supply: string;
  price: string;
  priceRatio: { assets: string; supply: string };
  maxIssuance: string;
  minted: string;
  maxOrderAmount: string;
  paused: boolean;
  settlement: { address: string; decimals: number; symbol: string };
  /** The settlement the pool contract holds, and whether it covers the recorded assets (the backing check). */
  held: string;
  backed: boolean;
  /** The block all these figures were read at, and the deployment's contracts. */
  block: number;
  chainId: string;
  contracts: { pool: string; points: string; custody: string; settlement: string };
  params: {
    poolShareBps: number;
    mintShareBps: number;
    exitFeeBps: number;
    initialPrice: string;
    referralShare1Bps: number;
    referralShare2Bps: number;
    /** The custody's fee on a withdrawal of GP to an original account (basis points of the GP). */
    withdrawalFeeBps: number;
  };
}

const withdrawalFeeAt = async (chain: ChainPort, block: number) => (await readCustodyParameters(chain, block)).withdrawalFee;

/** Every figure is read at one block, so they agree with each other (the price with the assets and supply beside it). */
export async function readPool(chain: ChainPort): Promise<PoolView> {
  const d = chain.deployments.settlementDecimals;
  const block = await chain.blockNumber();
  const at = { blockTag: block };
  const [assets, supply, [priceAssets, priceSupply], maxIssuance, minted, maxOrder, paused, p, custodyParams, held, symbol] =
    await Promise.all([
      chain.pool.assets(at),
      chain.points.totalSupply(at),
      chain.pool.priceRatio(at),
      chain.points.maxIssuance(at),
      chain.points.totalMinted(at),
      chain.pool.maxOrderAmount(at),
      chain.pool.paused(at),
      chain.pool.parameters(at),
      withdrawalFeeAt(chain, block),
      chain.settlement.balanceOf(chain.deployments.pool, at),
      chain.settlement.symbol(),
    ]);
  const { pool, points, custody, settlement } = chain.deployments;
  return {
    assets: formatAmount(assets, d),
    supply: formatAmount(supply, 18),
    price: formatPrice(priceAssets, priceSupply, d, 18),
    priceRatio: { assets: priceAssets.toString(), supply: priceSupply.toString() },
    maxIssuance: formatAmount(maxIssuance, 18),
    minted: formatAmount(minted, 18),
    maxOrderAmount: formatAmount(maxOrder, d),
    paused,
    settlement: { address: chain.deployments.settlement, decimals: d, symbol },
    held: formatAmount(held, d),
    backed: held >= assets,
    block,
    chainId: chain.deployments.chainId,
    contracts: { pool, points, custody, settlement },
    params: {
      poolShareBps: Number(p.poolShare),
      mintShareBps: Number(p.mintShare),
      exitFeeBps: Number(p.exitFee),
      initialPrice: formatAmount(p.initialPrice, d),
      referralShare1Bps: Number(p.referralShare1),
      referralShare2Bps: Number(p.referralShare2),
      withdrawalFeeBps: Number(custodyParams),
    },
  };
}
