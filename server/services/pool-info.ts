/** The pool as the public sees it: amounts as decimal strings, the price as an exact ratio printed to 18 places. */
import type { ChainPort } from "../adapters/chain/chain";
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
  settlement: { address: string; decimals: number };
  params: {
    poolShareBps: number;
    mintShareBps: number;
    exitFeeBps: number;
    initialPrice: string;
    referralShare1Bps: number;
    referralShare2Bps: number;
  };
}

export async function readPool(chain: ChainPort): Promise<PoolView> {
  const d = chain.deployments.settlementDecimals;
  const [assets, supply, [priceAssets, priceSupply], maxIssuance, minted, maxOrder, paused, p] = await Promise.all([
    chain.pool.assets(),
    chain.points.totalSupply(),
    chain.pool.priceRatio(),
    chain.points.maxIssuance(),
    chain.points.totalMinted(),
    chain.pool.maxOrderAmount(),
    chain.pool.paused(),
    chain.pool.parameters(),
  ]);
  return {
    assets: formatAmount(assets, d),
    supply: formatAmount(supply, 18),
    price: formatPrice(priceAssets, priceSupply, d, 18),
    priceRatio: { assets: priceAssets.toString(), supply: priceSupply.toString() },
    maxIssuance: formatAmount(maxIssuance, 18),
    minted: formatAmount(minted, 18),
    maxOrderAmount: formatAmount(maxOrder, d),
    paused,
    settlement: { address: chain.deployments.settlement, decimals: d },
    params: {
      poolShareBps: Number(p.poolShare),
      mintShareBps: Number(p.mintShare),
      exitFeeBps: Number(p.exitFee),
      initialPrice: formatAmount(p.initialPrice, d),
      referralShare1Bps: Number(p.referralShare1),
      referralShare2Bps: Number(p.referralShare2),
    },
  };
}
