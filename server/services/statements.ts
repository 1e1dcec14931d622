/**
 * A merchant's statement: the confirmed payments it received, its redemptions (payout and exit
 * fee), exchanges and withdrawals, with totals, read from the operations of its account; as
 * entries for JSON, or as CSV.
 */
import type { Queryable } from "../adapters/db/db";
import { type OperationRecord, operationsOfAccount } from "../adapters/db/operations";
import { parseAmount } from "../domain/amounts";
import { decimalsOf, storedAsset } from "../domain/assets";
import { formatAmount } from "../domain/display";

export const STATEMENT_TYPES = ["payment-received", "redemption", "exchange", "withdrawal"] as const;

export interface StatementEntry {
  time: string;
  operationId: string;
  type: (typeof STATEMENT_TYPES)[number];
  asset: string;
  /** In the asset's whole units (settlement for withdrawals). */
  amount: string;
  /** Settlement credited (redemptions), else empty. */
  payout: string;
  /** Settlement kept by the pool as exit fee (redemptions), else empty. */
  fee: string;
  /** The paying user, or the address paid out to. */
  counterparty: string;
  txHash: string;
}

export interface Statement {
  entries: StatementEntry[];
  totals: {
    receivedGP: string;
    receivedCP: string;
    redeemedGP: string;
    redeemedCP: string;
    payout: string;
    fees: string;
    withdrawn: string;
  };
}

/** At most this many operations are read per statement: a longer period is asked for in parts. */
export const STATEMENT_LIMIT = 10_000;

/** The statement of the merchant account `account` over its operations between `from` and `to`. */
export async function merchantStatement(
  db: Queryable,
  account: string,
  range: { from?: Date; to?: Date },
  settlementDecimals: number,
): Promise<Statement> {
  const ops = await operationsOfAccount(db, account, { ...range, limit: STATEMENT_LIMIT });
  return statementOf(ops, account, settlementDecimals);
}

/** The statement of `account` from its operations (oldest first): only confirmed ones count. */
export function statementOf(ops: readonly OperationRecord[], account: string, d: number): Statement {
  const entries: StatementEntry[] = [];
  const totals = { receivedGP: 0n, receivedCP: 0n, redeemedGP: 0n, redeemedCP: 0n, payout: 0n, fees: 0n, withdrawn: 0n };
  for (const op of ops) {
    if (op.state !== "confirmed") continue;
    const event = (name: string) => op.result?.find((e) => e.name === name)?.args;
    const base = { time: op.createdAt.toISOString(), operationId: op.id, txHash: op.txHash ?? "", payout: "", fee: "" };
    if (op.kind === "pay-merchant" && op.counterparty === account) {
      const asset = storedAsset(op.details.asset);
      const amount = parseAmount(op.details.amount, decimalsOf(asset, d));
      if (asset === "GP") totals.receivedGP += amount;
      else totals.receivedCP += amount;
      entries.push({ ...base, type: "payment-received", asset, amount: op.details.amount, counterparty: op.actor.replace(/^user:/, "") });
    } else if ((op.kind === "redeem" || op.kind === "redeem-constant") && op.account === account) {
      const asset = storedAsset(op.details.asset);
      const payout = BigInt(event("RedeemedToBalance")?.payout ?? "0");
      const fee = BigInt(event("Redeemed")?.fee ?? "0");
      const amount = parseAmount(op.details.amount, decimalsOf(asset, d));
      if (asset === "GP") totals.redeemedGP += amount;
      else totals.redeemedCP += amount;
      totals.payout += payout;
      totals.fees += fee;
      entries.push({
        ...base,
        type: "redemption",
        asset,
        amount: op.details.amount,
        payout: formatAmount(payout, d),
        fee: formatAmount(fee, d),
        counterparty: "",
      });
    } else if (op.kind === "exchange-constant" && op.account === account) {
      entries.push({ ...base, type: "exchange", asset: "CP", amount: op.details.constantPoints, counterparty: "" });
    } else if (op.kind === "withdraw-settlement" && op.account === account) {
      totals.withdrawn += parseAmount(op.details.amount, d);
      entries.push({ ...base, type: "withdrawal", asset: "settlement", amount: op.details.amount, counterparty: op.details.to });
    }
  }
  return {
    entries,
    totals: {
      receivedGP: formatAmount(totals.receivedGP, 18),
      receivedCP: formatAmount(totals.receivedCP, d),
      redeemedGP: formatAmount(totals.redeemedGP, 18),
      redeemedCP: formatAmount(totals.redeemedCP, d),
      payout: formatAmount(totals.payout, d),
      fees: formatAmount(totals.fees, d),
      withdrawn: formatAmount(totals.withdrawn, d),
    },
  };
}

const CSV_COLUMNS = ["time", "operationId", "type", "asset", "amount", "payout", "fee", "counterparty", "txHash"] as const;

/** The entries as CSV: a header line, then one line per entry, CRLF-terminated. */
export function statementCsv(entries: readonly StatementEntry[]): string {
  return [CSV_COLUMNS.join(","), ...entries.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(","))].join("\r\n") + "\r\n";
}

/** A CSV cell: quoted when it holds a comma, quote or line break; a leading =+-@ is defused for spreadsheets. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
