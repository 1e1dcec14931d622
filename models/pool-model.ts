/**
 * The reference model of contracts/pool/Pool.sol and contracts/token/GreenPoints.sol: the same
 * state in bigints and maps, the same checks in the same order, the same rounding (through
 * points-math.ts). A refused operation throws a {@link PoolRevert} named after the contract's
 * custom error and changes nothing. The tests and the demo drive it beside the contracts.
 */
import {
  BPS,
  ONE_POINT,
  Rounding,
  contribution as contributionOf,
  exitFee as exitFeeOf,
  mintValue,
  toAssets,
  toPoints,
} from "../server/domain/points-math";
import type { PoolParameters } from "../server/adapters/chain/deploy";

/** Same ordinals as `IPool.Parameter`. */
export enum Parameter {
  PoolShare = 0,
  MintShare = 1,
  ExitFee = 2,
  InitialPrice = 3,
  ReferralShare1 = 4,
  ReferralShare2 = 5,
}

/** One order; `key` is the contract's `orderKey(shop, orderId)`, computed by the caller. */
export interface ModelOrder {
  key: string;
  buyer: string;
  amount: bigint;
}

export interface ModelShopOrders {
  shop: string;
  orders: readonly ModelOrder[];
}

export interface OrderQuote {
  contribution: bigint;
  points: bigint;
}

/** What a pooled order mints: to the buyer and to each referral level (see `IPool.PooledMint`). */
export interface PooledMint {
  contribution: bigint;
  buyer: bigint;
  referrer1: bigint;
  referrer2: bigint;
}

export interface ModelPooledOrder {
  key: string;
  amount: bigint;
  referralLevels: number;
}

export interface ModelPooledShopOrders {
  shop: string;
  orders: readonly ModelPooledOrder[];
}

export interface RecordedOrder extends OrderQuote {
  key: string;
  shop: string;
  buyer: string;
  amount: bigint;
}

export interface RedemptionQuote {
  gross: bigint;
  fee: bigint;
  payout: bigint;
}

/** A refusal, named and with the arguments of the contract's custom error. */
export class PoolRevert extends Error {
  constructor(
    readonly errorName: string,
    readonly args: readonly (bigint | string)[],
  ) {
    super(`${errorName}(${args.map(String).join(", ")})`);
    this.name = "PoolRevert";
  }
}

/** Contract constants, mirrored. */
export const MAX_EXIT_FEE = 5_000n;
export const MAX_ORDER_UNITS = 10n ** 12n;
export const MAX_INITIAL_PRICE_UNITS = 10n ** 6n;
export const MAX_REFERRAL_LEVELS = 2;
export const MAX_UINT256 = 2n ** 256n - 1n;
/** `Pool.LOCKED_POINTS`: GP the first mint locks in the pool for ever, out of the first buyer's GP. */
export const LOCKED_POINTS = 10n ** 12n;

export interface PoolModelConfig {
  settlementDecimals: number;
  maxIssuance: bigint;
  parameters: PoolParameters;
}

/** The observable state; `balances` holds every GP holder's balance. */
export interface PoolState {
  assets: bigint;
  supply: bigint;
  minted: bigint;
  /** Settlement held by the pool contract: assets plus surplus. */
  held: bigint;
  /** GP the pool holds itself: `LOCKED_POINTS` once anything was minted, redeemable by nobody. */
  locked: bigint;
  parameters: PoolParameters;
  recorded: Set<string>;
  balances: Map<string, bigint>;
  /** GP allowances, keyed `owner/spender`. */
  allowances: Map<string, bigint>;
}

export class PoolModel {
  readonly unit: bigint;
  readonly maxIssuance: bigint;
  private state: PoolState;

  constructor(config: PoolModelConfig) {
    if (config.settlementDecimals > 18) {
      throw new PoolRevert("PoolUnsupportedDecimals", [BigInt(config.settlementDecimals)]);
    }
    this.unit = 10n ** BigInt(config.settlementDecimals);
    this.maxIssuance = config.maxIssuance;
    this.state = {
      assets: 0n,
      supply: 0n,
      minted: 0n,
      held: 0n,
      locked: 0n,
      parameters: { poolShare: 0n, mintShare: 0n, exitFee: 0n, initialPrice: 0n, referralShare1: 0n, referralShare2: 0n },
      recorded: new Set(),
      balances: new Map(),
      allowances: new Map(),
    };
    const p = config.parameters;
    this.setParameter(Parameter.PoolShare, p.poolShare);
    this.setParameter(Parameter.MintShare, p.mintShare);
    this.setParameter(Parameter.ExitFee, p.exitFee);
    this.setParameter(Parameter.InitialPrice, p.initialPrice);
    this.setParameter(Parameter.ReferralShare1, p.referralShare1);
    this.setParameter(Parameter.ReferralShare2, p.referralShare2);
  }

  /** Saves the state; the returned function puts it back (a reverted call changes nothing). */
  checkpoint(): () => void {
    const saved = cloneState(this.state);
    return () => {
      this.state = saved;
    };
  }

  get assets(): bigint {
    return this.state.assets;
  }
  get supply(): bigint {
    return this.state.supply;
  }
  get minted(): bigint {
    return this.state.minted;
  }
  get held(): bigint {
    return this.state.held;
  }
  /** The GP locked in the pool (its own balance), part of the supply but nobody's to redeem. */
  get locked(): bigint {
    return this.state.locked;
  }
  get surplus(): bigint {
    return this.state.held > this.state.assets ? this.state.held - this.state.assets : 0n;
  }
  get parameters(): PoolParameters {
    return { ...this.state.parameters };
  }
  get maxOrderAmount(): bigint {
    return MAX_ORDER_UNITS * this.unit;
  }
  balanceOf(holder: string): bigint {
    return this.state.balances.get(holder.toLowerCase()) ?? 0n;
  }
  holders(): string[] {
    return [...this.state.balances.entries()].filter(([, b]) => b > 0n).map(([h]) => h);
  }
  isOrderRecorded(key: string): boolean {
    return this.state.recorded.has(key.toLowerCase());
  }

  /** The price of the next order, as `[priceAssets, priceSupply]` (see `IPool.priceRatio`). */
  priceRatio(): [bigint, bigint] {
    return this.priceRatioAt(this.state, this.state.assets, this.state.supply);
  }

  parameterBounds(parameter: Parameter): [bigint, bigint] {
    if (parameter === Parameter.PoolShare || parameter === Parameter.MintShare) return [1n, BPS];
    if (parameter === Parameter.ExitFee) return [0n, MAX_EXIT_FEE];
    if (parameter === Parameter.InitialPrice) return [1n, MAX_INITIAL_PRICE_UNITS * this.unit];
    return [0n, BPS];
  }

  setParameter(parameter: Parameter, value: bigint): void {
    const [min, max] = this.parameterBounds(parameter);
    if (value < min || value > max) {
      throw new PoolRevert("PoolParameterOutOfRange", [BigInt(parameter), value, min, max]);
    }
    const p = { ...this.state.parameters };
    if (parameter === Parameter.PoolShare) p.poolShare = value;
    else if (parameter === Parameter.MintShare) p.mintShare = value;
    else if (parameter === Parameter.ExitFee) p.exitFee = value;
    else if (parameter === Parameter.InitialPrice) p.initialPrice = value;
    else if (parameter === Parameter.ReferralShare1) p.referralShare1 = value;
    else p.referralShare2 = value;
    const shares = p.mintShare + p.referralShare1 + p.referralShare2;
    if (shares > BPS) throw new PoolRevert("PoolSharesExceedWhole", [shares]);
    this.state.parameters = p;
  }

  /** What `previewOrder(amount)` returns, or the error it reverts with. */
  previewOrder(amount: bigint): OrderQuote {
    const s = this.state;
    const quote = this.quoteOrder(s, "0x" + "00".repeat(32), amount, s.assets, s.supply);
    const mintedAfter = s.minted + lockedAt(s.supply) + quote.points;
    if (mintedAfter > this.maxIssuance) {
      throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    }
    return quote;
  }

  /** What `previewRedeem(points)` returns, or the error it reverts with. */
  previewRedeem(points: bigint): RedemptionQuote {
    if (points === 0n) return { gross: 0n, fee: 0n, payout: 0n };
    const s = this.state;
    if (points > s.supply) throw new PoolRevert("PoolRedemptionExceedsSupply", [points, s.supply]);
    return this.quoteRedeem(points, s.parameters.exitFee, s.assets, s.supply);
  }

  /**
   * `recordOrders(batch)`: all or nothing, with the contract's order of checks: per shop, every
   * order's key and quote, then the settlement pull, then the mints (where the cap is checked):
   * the locked GP first when the group holds the pool's first order.
   */
  recordOrders(batch: readonly ModelShopOrders[]): RecordedOrder[] {
    const next = cloneState(this.state);
    const recorded: RecordedOrder[] = [];
    for (const group of batch) {
      const quotes: RecordedOrder[] = [];
      const supplyBefore = next.supply;
      for (const order of group.orders) {
        const key = order.key.toLowerCase();
        if (next.recorded.has(key)) throw new PoolRevert("PoolOrderAlreadyRecorded", [order.key]);
        next.recorded.add(key);
        const quote = this.quoteOrder(next, order.key, order.amount, next.assets, next.supply);
        next.assets += quote.contribution;
        next.supply += lockedAt(next.supply) + quote.points;
        next.held += quote.contribution;
        quotes.push({ ...quote, key: order.key, shop: group.shop, buyer: order.buyer, amount: order.amount });
      }
      if (quotes.length > 0) this.lockIfFirst(next, supplyBefore);
      for (const q of quotes) {
        const mintedAfter = next.minted + q.points;
        if (mintedAfter > this.maxIssuance) {
          throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
        }
        next.minted = mintedAfter;
        credit(next, q.buyer, q.points);
      }
      recorded.push(...quotes);
    }
    this.state = next;
    return recorded;
  }

  /** `recordOrder(shop, order)`: a batch of one. */
  recordOrder(shop: string, order: ModelOrder): RecordedOrder {
    return this.recordOrders([{ shop, orders: [order] }])[0];
  }

  /** `redeem(points, receiver, minPayout)` by `holder`. */
  redeem(holder: string, points: bigint, minPayout = 0n): RedemptionQuote {
    const s = this.state;
    if (points === 0n) throw new PoolRevert("PoolZeroRedemption", []);
    const balance = this.balanceOf(holder);
    if (balance < points) throw new PoolRevert("ERC20InsufficientBalance", [holder, balance, points]);
    const quote = this.quoteRedeem(points, s.parameters.exitFee, s.assets, s.supply);
    if (quote.payout < minPayout) throw new PoolRevert("PoolPayoutBelowMinimum", [quote.payout, minPayout]);
    s.assets -= quote.payout;
    s.held -= quote.payout;
    s.supply -= points;
    credit(s, holder, -points);
    return quote;
  }

  /** An ERC-20 transfer of GP between holders. */
  transfer(from: string, to: string, points: bigint): void {
    const balance = this.balanceOf(from);
    if (balance < points) throw new PoolRevert("ERC20InsufficientBalance", [from, balance, points]);
    credit(this.state, from, -points);
    credit(this.state, to, points);
  }

  allowance(owner: string, spender: string): bigint {
    return this.state.allowances.get(`${owner.toLowerCase()}/${spender.toLowerCase()}`) ?? 0n;
  }

  /** A GP `approve` or `permit`: the allowance is set, not added to. */
  approve(owner: string, spender: string, value: bigint): void {
    this.state.allowances.set(`${owner.toLowerCase()}/${spender.toLowerCase()}`, value);
  }

  /**
   * A GP `transferFrom` by `spender`, as OpenZeppelin's ERC-20 does it: the allowance is checked
   * and spent first (the largest uint256 is never spent), then the balance moves.
   */
  transferFrom(spender: string, from: string, to: string, points: bigint): void {
    const restore = this.checkpoint();
    try {
      const allowed = this.allowance(from, spender);
      if (allowed !== MAX_UINT256) {
        if (allowed < points) throw new PoolRevert("ERC20InsufficientAllowance", [spender, allowed, points]);
        this.approve(from, spender, allowed - points);
      }
      this.transfer(from, to, points);
    } catch (error) {
      restore();
      throw error;
    }
  }

  /** Settlement sent straight to the pool contract, outside any order. */
  donate(amount: bigint): void {
    this.state.held += amount;
  }

  sweepSurplus(amount: bigint): void {
    this.checkSurplus(amount);
    this.state.held -= amount;
  }

  absorbSurplus(amount: bigint): void {
    this.checkSurplus(amount);
    this.state.assets += amount;
  }

  /** Mints the locked GP (cap checked) when the supply was zero before the first mint. */
  private lockIfFirst(s: PoolState, supplyBefore: bigint): void {
    const locked = lockedAt(supplyBefore);
    if (locked === 0n) return;
    const mintedAfter = s.minted + locked;
    if (mintedAfter > this.maxIssuance) throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    s.minted = mintedAfter;
    s.locked += locked;
  }

  private checkSurplus(amount: bigint): void {
    const available = this.surplus;
    if (amount > available) throw new PoolRevert("PoolSurplusExceeded", [amount, available]);
  }

  private quoteOrder(s: PoolState, key: string, amount: bigint, assets: bigint, supply: bigint): OrderQuote {
    const m = this.quotePooled(s, key, amount, 0, assets, supply);
    return { contribution: m.contribution, points: m.buyer };
  }

  private quotePooled(s: PoolState, key: string, amount: bigint, levels: number, assets: bigint, supply: bigint): PooledMint {
    const maxAmount = this.maxOrderAmount;
    if (amount > maxAmount) throw new PoolRevert("PoolOrderTooLarge", [key, amount, maxAmount]);
    if (levels > MAX_REFERRAL_LEVELS) throw new PoolRevert("PoolTooManyReferralLevels", [key, BigInt(levels)]);
    const p = s.parameters;
    const contribution = contributionOf(amount, p.poolShare);
    const [priceAssets, priceSupply] = this.priceRatioAt(s, assets, supply);
    const pointsFor = (share: bigint) => toPoints(mintValue(contribution, share), priceAssets, priceSupply, Rounding.Floor);
    const buyerPoints = pointsFor(p.mintShare);
    const locked = lockedAt(supply);
    if (buyerPoints <= locked) throw new PoolRevert("PoolOrderTooSmall", [key, amount]);
    return {
      contribution,
      buyer: buyerPoints - locked,
      referrer1: levels > 0 ? pointsFor(p.referralShare1) : 0n,
      referrer2: levels > 1 ? pointsFor(p.referralShare2) : 0n,
    };
  }

  /** What `previewPooledOrder(amount, levels)` returns, or the error it reverts with. */
  previewPooledOrder(amount: bigint, levels: number): PooledMint {
    const s = this.state;
    const m = this.quotePooled(s, "0x" + "00".repeat(32), amount, levels, s.assets, s.supply);
    const mintedAfter = s.minted + lockedAt(s.supply) + m.buyer + m.referrer1 + m.referrer2;
    if (mintedAfter > this.maxIssuance) throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    return m;
  }

  /**
   * `recordPooledOrders(batch)` called by `recipient`: every GP of the batch is minted to the
   * recipient at once, after all groups are priced and pulled; returns the per-order splits.
   */
  recordPooledOrders(recipient: string, batch: readonly ModelPooledShopOrders[]): PooledMint[][] {
    const next = cloneState(this.state);
    const supplyBefore = next.supply;
    const minted = batch.map((group) =>
      group.orders.map((order) => {
        const key = order.key.toLowerCase();
        if (next.recorded.has(key)) throw new PoolRevert("PoolOrderAlreadyRecorded", [order.key]);
        next.recorded.add(key);
        const m = this.quotePooled(next, order.key, order.amount, order.referralLevels, next.assets, next.supply);
        next.assets += m.contribution;
        next.held += m.contribution;
        next.supply += lockedAt(next.supply) + m.buyer + m.referrer1 + m.referrer2;
        return m;
      }),
    );
    if (next.supply !== supplyBefore) this.lockIfFirst(next, supplyBefore);
    const total = next.supply - supplyBefore - lockedAt(supplyBefore);
    const mintedAfter = next.minted + total;
    if (mintedAfter > this.maxIssuance) throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    next.minted = mintedAfter;
    credit(next, recipient, total);
    this.state = next;
    return minted;
  }

  /** What `previewContribution(contribution)` returns, or the error it reverts with. */
  previewContribution(contributionAmount: bigint): bigint {
    const s = this.state;
    const points = this.quoteContribution(s, contributionAmount, s.assets, s.supply);
    if (points === 0n) return points;
    const mintedAfter = s.minted + lockedAt(s.supply) + points;
    if (mintedAfter > this.maxIssuance) throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    return points;
  }

  /**
   * `recordContributions(batch)` called by `payer`: each contribution is priced after the ones
   * before it and mints `mintShare` of it, as an order whose contribution it is; the total is
   * pulled from the payer once and all the GP minted to it.
   */
  recordContributions(payer: string, batch: readonly { key: string; contribution: bigint }[]): bigint[] {
    const next = cloneState(this.state);
    const supplyBefore = next.supply;
    let collected = 0n;
    const minted = batch.map(({ key, contribution }) => {
      const k = key.toLowerCase();
      if (next.recorded.has(k)) throw new PoolRevert("PoolOrderAlreadyRecorded", [key]);
      next.recorded.add(k);
      const points = this.quoteContribution(next, contribution, next.assets, next.supply);
      next.assets += contribution;
      if (points !== 0n) next.supply += lockedAt(next.supply) + points;
      collected += contribution;
      return points;
    });
    if (batch.length > 0 && next.supply !== supplyBefore) this.lockIfFirst(next, supplyBefore);
    const total = next.supply - supplyBefore - (next.supply !== supplyBefore ? lockedAt(supplyBefore) : 0n);
    const mintedAfter = next.minted + total;
    if (mintedAfter > this.maxIssuance) throw new PoolRevert("GreenPointsCapExceeded", [mintedAfter, this.maxIssuance]);
    next.minted = mintedAfter;
    next.held += collected;
    credit(next, payer, total);
    this.state = next;
    return minted;
  }

  /** May be zero: a dust contribution stays in the pool and mints nothing (the first mint locks). */
  private quoteContribution(s: PoolState, contributionAmount: bigint, assets: bigint, supply: bigint): bigint {
    const [priceAssets, priceSupply] = this.priceRatioAt(s, assets, supply);
    const points = toPoints(mintValue(contributionAmount, s.parameters.mintShare), priceAssets, priceSupply, Rounding.Floor);
    const locked = lockedAt(supply);
    return points > locked ? points - locked : 0n;
  }

  /** `retire(points)` by `holder`: burned without payout, the value stays in the pool. */
  retire(holder: string, points: bigint): void {
    const s = this.state;
    if (points === 0n) throw new PoolRevert("PoolZeroRedemption", []);
    const balance = this.balanceOf(holder);
    if (balance < points) throw new PoolRevert("ERC20InsufficientBalance", [holder, balance, points]);
    s.supply -= points;
    credit(s, holder, -points);
  }

  private quoteRedeem(points: bigint, feeBps: bigint, assets: bigint, supply: bigint): RedemptionQuote {
    const gross = toAssets(points, assets, supply, Rounding.Floor);
    const fee = exitFeeOf(gross, feeBps);
    return { gross, fee, payout: gross - fee };
  }

  /** The pool's price once GP exist (the locked GP keep the supply above zero), else the initial price. */
  private priceRatioAt(s: PoolState, assets: bigint, supply: bigint): [bigint, bigint] {
    if (supply !== 0n) return [assets, supply];
    return [s.parameters.initialPrice, ONE_POINT];
  }
}

/** The GP the next mint locks: `LOCKED_POINTS` while none exist, else none. */
function lockedAt(supply: bigint): bigint {
  return supply === 0n ? LOCKED_POINTS : 0n;
}

function credit(s: PoolState, holder: string, delta: bigint): void {
  const h = holder.toLowerCase();
  s.balances.set(h, (s.balances.get(h) ?? 0n) + delta);
}

function cloneState(s: PoolState): PoolState {
  return {
    ...s,
    parameters: { ...s.parameters },
    recorded: new Set(s.recorded),
    balances: new Map(s.balances),
    allowances: new Map(s.allowances),
  };
}
