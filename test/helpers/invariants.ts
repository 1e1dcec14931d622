/**
 * The five rules of docs/rules.md, "What always holds", checked on the contracts' own answers and independently of the
 * pricing formula: prices compared by integer cross-products, backing against the token's
 * balance, solvency by the pool's own redemption quotes, the cap against the token's count.
 */
import { expect } from "chai";
import { LOCKED_POINTS } from "../../models/pool-model";
import type { PoolFixture } from "./fixtures";

export interface PoolSnapshot {
  assets: bigint;
  supply: bigint;
  minted: bigint;
  maxIssuance: bigint;
  /** Settlement the pool contract holds. */
  held: bigint;
  /** GP the pool holds itself: the locked minimum, part of the supply, redeemable by nobody. */
  locked: bigint;
  /** `priceRatio()`: the price the next order gets. */
  priceAssets: bigint;
  priceSupply: bigint;
  balances: Map<string, bigint>;
  /** `previewRedeem(balance).payout` of every holder. */
  payouts: Map<string, bigint>;
}

export async function snapshot(f: PoolFixture, holders: readonly string[]): Promise<PoolSnapshot> {
  const poolAddress = await f.pool.getAddress();
  const [assets, supply, minted, maxIssuance, held, locked, [priceAssets, priceSupply]] = await Promise.all([
    f.pool.assets(),
    f.points.totalSupply(),
    f.points.totalMinted(),
    f.points.maxIssuance(),
    f.settlement.balanceOf(poolAddress),
    f.points.balanceOf(poolAddress),
    f.pool.priceRatio(),
  ]);
  const balances = new Map<string, bigint>();
  const payouts = new Map<string, bigint>();
  await Promise.all(
    holders.map(async (h) => {
      const balance = await f.points.balanceOf(h);
      balances.set(h.toLowerCase(), balance);
      payouts.set(h.toLowerCase(), (await f.pool.previewRedeem(balance)).payout);
    }),
  );
  return { assets, supply, minted, maxIssuance, held, locked, priceAssets, priceSupply, balances, payouts };
}

/** Rule 1: the pool holds at least its recorded assets, and prices at assets / supply. */
export function expectBacked(s: PoolSnapshot): void {
  expect(s.held >= s.assets, `backing: held ${s.held} < assets ${s.assets}`).to.equal(true);
  if (s.supply > 0n) {
    expect([s.priceAssets, s.priceSupply], "price is assets / supply").to.deep.equal([s.assets, s.supply]);
  }
}

/** A price as the ratio `priceAssets / priceSupply` of base units. */
export interface PriceRatio {
  priceAssets: bigint;
  priceSupply: bigint;
}

/** Rule 2: the price the next order gets never falls, compared as integers. */
export function expectPriceNotFallen(before: PriceRatio, after: PriceRatio): void {
  const lhs = after.priceAssets * before.priceSupply;
  const rhs = before.priceAssets * after.priceSupply;
  expect(lhs >= rhs, `price fell: ${before.priceAssets}/${before.priceSupply} -> ${after.priceAssets}/${after.priceSupply}`).to.equal(true);
}

/**
 * Rule 3: the listed holders and the locked GP make the whole supply, and all the holders together
 * can be paid. The locked GP are nobody's: once anything was minted they are exactly the pool's
 * `LOCKED_POINTS`, and their share of the assets is not counted as owed to anyone.
 */
export function expectSolvent(s: PoolSnapshot): void {
  const balanceSum = [...s.balances.values()].reduce((a, b) => a + b, 0n);
  expect(balanceSum + s.locked, "holders and the locked GP make the whole supply").to.equal(s.supply);
  expect(s.locked, "the locked GP").to.equal(s.minted > 0n ? LOCKED_POINTS : 0n);
  const payoutSum = [...s.payouts.values()].reduce((a, b) => a + b, 0n);
  expect(payoutSum <= s.assets, `payouts ${payoutSum} exceed assets ${s.assets}`).to.equal(true);
}

/** Rule 4: never more minted than the cap. */
export function expectCapped(s: PoolSnapshot): void {
  expect(s.minted <= s.maxIssuance, `minted ${s.minted} > cap ${s.maxIssuance}`).to.equal(true);
  expect(s.supply <= s.minted, "supply never exceeds what was minted").to.equal(true);
}

/**
 * Rule 5: GP appear only with settlement: new GP, valued at the price before, are worth no more
 * than the assets that arrived, and those assets are held.
 */
export function expectNoFreeMint(before: PoolSnapshot, after: PoolSnapshot): void {
  const newPoints = after.minted - before.minted;
  if (newPoints === 0n) return;
  const newAssets = after.assets - before.assets;
  expect(newAssets > 0n, "GP minted without assets entering").to.equal(true);
  expect(after.held - before.held >= newAssets, "assets recorded without settlement held").to.equal(true);
  expect(
    newPoints * before.priceAssets <= newAssets * before.priceSupply,
    `minted ${newPoints} GP worth more than the ${newAssets} that came in`,
  ).to.equal(true);
}

/** Every rule between two consecutive states. */
export function expectInvariants(before: PoolSnapshot, after: PoolSnapshot): void {
  expectBacked(after);
  expectPriceNotFallen(before, after);
  expectSolvent(after);
  expectCapped(after);
  expectNoFreeMint(before, after);
}
