/**
 * Exact decimal arithmetic for what a page works out itself (a balance times the price): the API's
 * decimal strings read into bigints at a fixed number of places, and back. No float is involved;
 * charts alone turn figures into numbers, to draw them.
 */
export function toUnits(value: string, places: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new Error(`not a decimal: ${value}`);
  const [, sign, whole, fraction = ""] = match;
  const digits = (fraction + "0".repeat(places)).slice(0, places);
  const units = BigInt(whole) * 10n ** BigInt(places) + BigInt(digits || "0");
  return sign ? -units : units;
}

export function fromUnits(units: bigint, places: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const scale = 10n ** BigInt(places);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(places, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** a × b for two decimal strings, rounded down to `places`. */
export function multiply(a: string, b: string, places: number): string {
  const p = 18;
  return fromUnits((toUnits(a, p) * toUnits(b, p)) / 10n ** BigInt(2 * p - places), places);
}

/** A decimal string as a number, for drawing only. */
export const forChart = (value: string) => Number(value);
