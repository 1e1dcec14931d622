/**
 * The page's language and catalogue, as the server put them in the shell's `gp-boot` block
 * (server/http/pages.ts), and Intl for numbers and dates. Amounts arrive as decimal strings and
 * are formatted from the string (Intl.NumberFormat takes exact decimal strings), never through a
 * float.
 */
export interface Boot {
  language: "zh-CN" | "en";
  page: string;
  messages: Record<string, string>;
  /** The server writes SMS codes to its outbox file instead of sending them (npm start). */
  smsOutbox?: boolean;
}

const bootElement = document.getElementById("gp-boot");
export const boot: Boot = JSON.parse(bootElement?.textContent ?? "{}") as Boot;
export const language = boot.language ?? "zh-CN";

/** A message by key with `{name}` placeholders filled; an unknown key is a bug, and says so. */
export function t(key: string, vars: Record<string, string | number> = {}): string {
  const text = boot.messages?.[key];
  if (text === undefined) {
    console.error(`missing message ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name: string) => (name in vars ? String(vars[name]) : `{${name}}`));
}

const numberFormats = new Map<string, Intl.NumberFormat>();
/** A decimal string formatted for the page's language, to at most `digits` places (rounded half-even, as Intl does). */
export function formatAmount(value: string, digits = 2, minimum = 0): string {
  const key = `${digits}:${minimum}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(language, { maximumFractionDigits: digits, minimumFractionDigits: Math.min(minimum, digits) });
    numberFormats.set(key, format);
  }
  // Intl.NumberFormat formats a decimal string exactly (ECMA-402 "Intl.NumberFormat v3").
  return format.format(value as unknown as number);
}

/** A basis-point figure as a percentage: 3000 → "30%". */
export function formatBps(bps: number): string {
  return new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 2 }).format(bps / 10_000);
}

const dateTime = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(language, { month: "short", day: "numeric" });
export const formatDateTime = (iso: string) => dateTime.format(new Date(iso));
export const formatDay = (iso: string) => dateOnly.format(new Date(iso));

/** The same page in another language: `?lang=` (the server keeps the choice in a cookie). */
export function languageHref(target: string): string {
  const url = new URL(window.location.href);
  url.searchParams.set("lang", target);
  return `${url.pathname}${url.search}`;
}
