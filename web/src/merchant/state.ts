/**
 * What the portal's tabs share: the merchant's account (GET /v1/merchant, read again after each
 * change), operations followed until the chain confirms or refuses them, and refusals in words by
 * their stable code (and, for the chain's, by the contract error's name).
 */
import { signal } from "@preact/signals";
import { ApiError, api } from "../lib/api";
import { boot, t } from "../lib/i18n";
import { type Operation, followOperation } from "../lib/operations";

export type { Operation };

export interface Account {
  merchantId: string;
  name: string;
  account: string;
  merchantOnChain: boolean;
  points: string;
  constantPoints: string;
  settlement: string;
  redeemableNow: { points: string; constantPoints: string };
}

export const account = signal<Account | null>(null);
export const accountError = signal<string | null>(null);

export async function refreshAccount(): Promise<void> {
  try {
    account.value = await api<Account>("GET", "/v1/merchant");
    accountError.value = null;
  } catch (error) {
    accountError.value = errorText(error);
  }
}

/** Follows an operation (lib/operations.ts); the account is read again at the end. */
export async function follow(operationId: string, onChange: (op: Operation) => void): Promise<Operation> {
  const op = await followOperation(operationId, onChange);
  await refreshAccount();
  return op;
}

export const has = (key: string) => boot.messages?.[key] !== undefined;

/** A refusal's words by its stable code (the chain's by the contract error's name), else the server's message. */
export function errorText(error: unknown): string {
  if (!(error instanceof ApiError)) return t("merchant.error.INTERNAL");
  const chainError = typeof error.details.chainError === "string" ? error.details.chainError : undefined;
  if (chainError && has(`merchant.chain.${chainError}`)) return t(`merchant.chain.${chainError}`);
  if (has(`merchant.error.${error.code}`)) return t(`merchant.error.${error.code}`, { message: error.message });
  return error.message;
}

/** A rejected operation's reason: the contract error it names, translated, else as the server wrote it. */
export function rejectionText(reason: string | undefined): string {
  const name = reason && (/\((\w+)\)$/.exec(reason)?.[1] ?? /refused it: (\w+)\(/.exec(reason)?.[1] ?? /\b(\w+)\(/.exec(reason)?.[1]);
  if (name && has(`merchant.chain.${name}`)) return t(`merchant.chain.${name}`);
  return reason ?? t("merchant.error.INTERNAL");
}

/** A calendar day of an <input type="date"> as the instant it starts in the browser's time zone (ISO, for the API). */
export function dayStart(day: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  return new Date(`${day}T00:00:00`).toISOString();
}

/** The instant the day after `day` starts: the exclusive end of a period that includes `day`. */
export function dayEnd(day: string): string | undefined {
  const start = dayStart(day);
  if (!start) return undefined;
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

/** A day as an <input type="date"> value, in the browser's time zone. */
export function dayValue(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The settlement token as GET /v1/pool names it (its symbol and decimals, for units and checks). */
export const settlement = signal<{ decimals: number; symbol: string } | null>(null);

export async function readSettlement(): Promise<void> {
  if (settlement.value) return;
  const pool = await api<{ settlement: { decimals: number; symbol: string } }>("GET", "/v1/pool");
  settlement.value = pool.settlement;
}
