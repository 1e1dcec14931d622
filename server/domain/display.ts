/**
 * Decimal strings for people and interfaces. Money stays bigint inside; decimal.js is used only
 * here, to print exact ratios (the price) to a chosen number of places.
 */
import Decimal from "decimal.js";

const Exact = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_UP });

/** `baseUnits` as a decimal string of whole units, exact, without trailing zeros. */
export function formatAmount(baseUnits: bigint, decimals: number): string {
  return new Exact(baseUnits.toString()).div(new Exact(10).pow(decimals)).toFixed();
}

/**
 * The price of one whole GP in whole settlement units, `priceAssets / priceSupply` in base units
 * scaled by the decimals, rounded half-up to `places` (display only: never fed back into math).
 */
export function formatPrice(priceAssets: bigint, priceSupply: bigint, settlementDecimals: number, places: number): string {
  if (priceSupply === 0n) throw new RangeError("formatPrice: zero supply has no price");
  return new Exact(priceAssets.toString())
    .mul(new Exact(10).pow(18 - settlementDecimals))
    .div(new Exact(priceSupply.toString()))
    .toFixed(places);
}
