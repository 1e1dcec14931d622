/**
 * How much a shop may send: per order, per UTC day and outstanding (order amounts the platform's
 * wallet paid into the pool for and the shop has not settled yet), and how much all shops
 * together may send in a day. Amounts are order amounts in settlement base units.
 */
import { parseAmount } from "./amounts";

/** A shop's own limits as the operator set them; null means the deployment's default. */
export interface ShopLimitSettings {
  perOrder: bigint | null;
  perDay: bigint | null;
  outstanding: bigint | null;
}

export interface ShopLimits {
  perOrder: bigint;
  perDay: bigint;
  outstanding: bigint;
}

export interface OrderLimits {
  /** What a shop gets when the operator has not set its own. */
  shopDefaults: ShopLimits;
  /** Every shop's orders together, per UTC day. */
  deploymentPerDay: bigint;
}

/** The defaults in whole settlement units: a small shop's, so that forgetting to set limits is safe. */
export const DEFAULT_LIMIT_UNITS = { perOrder: "10000", perDay: "100000", outstanding: "1000000", deploymentPerDay: "1000000" } as const;

export type LimitUnits = { readonly [K in keyof typeof DEFAULT_LIMIT_UNITS]: string };

export function orderLimits(units: LimitUnits, settlementDecimals: number): OrderLimits {
  const amount = (text: string) => parseAmount(text, settlementDecimals);
  return {
    shopDefaults: { perOrder: amount(units.perOrder), perDay: amount(units.perDay), outstanding: amount(units.outstanding) },
    deploymentPerDay: amount(units.deploymentPerDay),
  };
}

/** The shop's limits in force: its own where set, the deployment's defaults elsewhere. */
export const limitsInForce = (own: ShopLimitSettings, defaults: ShopLimits): ShopLimits => ({
  perOrder: own.perOrder ?? defaults.perOrder,
  perDay: own.perDay ?? defaults.perDay,
  outstanding: own.outstanding ?? defaults.outstanding,
});

/** A shop is warned once its use of a limit reaches this share (basis points). */
export const NEAR_LIMIT_BPS = 8_000n;

/** True when adding the order took `used` from below to at or above the warning share of `max`. */
export const crossedNearLimit = (usedAfter: bigint, amount: bigint, max: bigint): boolean =>
  usedAfter * 10_000n >= max * NEAR_LIMIT_BPS && (usedAfter - amount) * 10_000n < max * NEAR_LIMIT_BPS;

/** The UTC day of a unix time, as the daily totals are keyed. */
export const utcDay = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);
