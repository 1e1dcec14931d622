/**
 * Amounts cross every interface as decimal strings of whole units ("100.00", "21") and are
 * integers in base units inside. No JavaScript number ever holds money.
 */
import { AppError } from "../errors";

/** `text` in base units of a token with `decimals` decimals; refuses more places than it has. */
export function parseAmount(text: string, decimals: number, field = "amount"): bigint {
  const match = /^(\d{1,40})(?:\.(\d+))?$/.exec(text);
  if (!match) {
    throw new AppError("VALIDATION_FAILED", `${field} must be a decimal string like "100.00"`, { field, value: text });
  }
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new AppError("VALIDATION_FAILED", `${field} has more than ${decimals} decimal places`, { field, value: text, decimals });
  }
  return BigInt(match[1]) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** As `parseAmount`, refusing zero: for amounts an operation moves. */
export function parsePositiveAmount(text: string, decimals: number, field: string): bigint {
  const value = parseAmount(text, decimals, field);
  if (value === 0n) throw new AppError("VALIDATION_FAILED", `${field} must be above zero`, { field });
  return value;
}
