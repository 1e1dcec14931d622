/**
 * The pool's conversions in bigint, mirroring contracts/libraries/PointsMath.sol function by
 * function with the same names and the same rounding (OpenZeppelin `Math.Rounding` ordinals).
 * Every rounding favours the pool: what enters it rounds up, what leaves it rounds down.
 */

/** OpenZeppelin `Math.Rounding`, same ordinals. */
export enum Rounding {
  Floor = 0,
  Ceil = 1,
}

/** Basis points in one whole. */
export const BPS = 10_000n;
/** Base units in one GP (18 decimals). */
export const ONE_POINT = 10n ** 18n;

/** `x * y / denominator` rounded as asked; throws on a zero denominator, as the EVM panics. */
export function mulDiv(x: bigint, y: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator === 0n) throw new RangeError("mulDiv: division by zero");
  if (x < 0n || y < 0n || denominator < 0n) throw new RangeError("mulDiv: negative operand");
  const product = x * y;
  const quotient = product / denominator;
  return rounding === Rounding.Ceil && quotient * denominator !== product ? quotient + 1n : quotient;
}

/** The settlement an order of `amount` pays into the pool. Ceil: the pool gets at least its share. */
export function contribution(amount: bigint, poolShare: bigint): bigint {
  return mulDiv(amount, poolShare, BPS, Rounding.Ceil);
}

/** The value, out of a contribution, minted to the buyer. Floor: never more than the share. */
export function mintValue(contributionAmount: bigint, mintShare: bigint): bigint {
  return mulDiv(contributionAmount, mintShare, BPS, Rounding.Floor);
}

/** The exit fee kept in the pool out of a redemption's gross value. Ceil. */
export function exitFee(gross: bigint, feeBps: bigint): bigint {
  return mulDiv(gross, feeBps, BPS, Rounding.Ceil);
}

/** Settlement `value` in GP at the price `priceAssets / priceSupply`. */
export function toPoints(value: bigint, priceAssets: bigint, priceSupply: bigint, rounding: Rounding): bigint {
  return mulDiv(value, priceSupply, priceAssets, rounding);
}

/** `points` GP in settlement at the price `priceAssets / priceSupply`. */
export function toAssets(points: bigint, priceAssets: bigint, priceSupply: bigint, rounding: Rounding): bigint {
  return mulDiv(points, priceAssets, priceSupply, rounding);
}

/** The credit that backs the vouchers of a sale of `amount`. Ceil: never a unit less than the share. */
export function adBacking(amount: bigint, adShare: bigint): bigint {
  return mulDiv(amount, adShare, BPS, Rounding.Ceil);
}

/** The part of a bucket's `backing` that `vouchers` of its `bucketVouchers` carry into the pool. Ceil. */
export function releasedBacking(backing: bigint, vouchers: bigint, bucketVouchers: bigint): bigint {
  return mulDiv(backing, vouchers, bucketVouchers, Rounding.Ceil);
}
