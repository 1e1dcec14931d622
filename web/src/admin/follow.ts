/**
 * What the console's members and orders tabs share: following an operation until the chain
 * confirms or refuses it, a refusal in plain words from its stable code (the contract error's
 * name, GET /v1/admin/orders' and /operations' `reasonCode`; admin-refusals.json), and an API
 * error in words by its code.
 */
import { ApiError, api } from "../lib/api";
import { boot, t } from "../lib/i18n";
import { type Operation, followOperation } from "../lib/operations";

const has = (key: string) => boot.messages?.[key] !== undefined;

export { type Operation, followOperation as follow };

/** Why the chain refused it, in the page's words when its code is known, else as the server recorded it. */
export function refusalText(code: string | null | undefined, reason: string | null | undefined): string {
  if (code && has(`admin-refusals.code.${code}`)) return t(`admin-refusals.code.${code}`);
  return t("admin-refusals.unknown", { reason: reason ?? code ?? "?" });
}

/** The stable code of a refused operation's reason, as the operator's list reads it (GET /v1/operations answers none). */
export async function reasonCodeOf(operationId: string): Promise<string | null> {
  const q = new URLSearchParams({ operationId });
  const { operations } = await api<{ operations: { reasonCode: string | null }[] }>("GET", `/v1/admin/operations?${q}`);
  return operations[0]?.reasonCode ?? null;
}

/** An API error in the words of `catalogue` by its code (`<catalogue>.error.<CODE>`), or the server's message. */
export function errorText(catalogue: string, error: unknown): string {
  if (!(error instanceof ApiError)) return t(`${catalogue}.error.INTERNAL`);
  const vars = { message: error.message, ...Object.fromEntries(Object.entries(error.details).map(([k, v]) => [k, String(v)])) };
  if (has(`${catalogue}.error.${error.code}`)) return t(`${catalogue}.error.${error.code}`, vars);
  return error.message;
}
