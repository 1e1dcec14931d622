/**
 * The statement for a chosen period (GET /v1/merchant/statement): its totals and confirmed entries
 * (payments received, redemptions with payout and exit fee, exchanges, withdrawals), and a plain
 * link that downloads the same period as CSV (a GET with the session cookie: no script holds the file).
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Figure, Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { dayEnd, dayStart, dayValue, errorText, settlement } from "./state";

const P = "merchant-statement";

export interface StatementEntry {
  time: string;
  operationId: string;
  type: "payment-received" | "redemption" | "exchange" | "withdrawal";
  asset: string;
  amount: string;
  payout: string;
  fee: string;
  counterparty: string;
  txHash: string;
}

interface Statement {
  from: string | null;
  to: string | null;
  entries: StatementEntry[];
  totals: Record<"receivedGP" | "receivedCP" | "redeemedGP" | "redeemedCP" | "payout" | "fees" | "withdrawn", string>;
}

const TOTALS = [
  ["receivedGP", "GP"],
  ["receivedCP", "CP"],
  ["redeemedGP", "GP"],
  ["redeemedCP", "CP"],
  ["payout", "settlement"],
  ["fees", "settlement"],
  ["withdrawn", "settlement"],
] as const;

function periodQuery(fromDay: string, toDay: string, format?: "csv"): string {
  const q = new URLSearchParams();
  const from = dayStart(fromDay);
  const to = dayEnd(toDay);
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  if (format) q.set("format", format);
  return q.toString();
}

export function StatementTab(_props: { me: StaffMe }) {
  const now = new Date();
  const fromDay = useSignal(dayValue(new Date(now.getFullYear(), now.getMonth(), 1)));
  const toDay = useSignal(dayValue(now));
  const statement = useSignal<Statement | null>(null);
  const shown = useSignal<{ from: string; to: string } | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const load = async () => {
    busy.value = true;
    try {
      statement.value = await api<Statement>("GET", `/v1/merchant/statement?${periodQuery(fromDay.value, toDay.value)}`);
      shown.value = { from: fromDay.value, to: toDay.value };
      error.value = null;
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const symbol = settlement.value?.symbol ?? "";
  const s = statement.value;

  return html`<div data-testid="statement">
    <section class="card" aria-labelledby="statement-heading">
      <h2 id="statement-heading">${t(`${P}.heading`)}</h2>
      <form
        class="filters"
        onSubmit=${(e: Event) => {
          e.preventDefault();
          void load();
        }}
      >
        <label for="statement-from">
          ${t(`${P}.from`)}
          <input
            id="statement-from"
            type="date"
            data-testid="statement-from"
            value=${fromDay.value}
            onInput=${(e: Event) => (fromDay.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        <label for="statement-to">
          ${t(`${P}.to`)}
          <input
            id="statement-to"
            type="date"
            data-testid="statement-to"
            value=${toDay.value}
            onInput=${(e: Event) => (toDay.value = (e.target as HTMLInputElement).value)}
          />
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled=${busy.value} data-testid="statement-show">${t(`${P}.show`)}</button>
          ${
            shown.value &&
            html`<a
              class="button"
              href=${`/v1/merchant/statement?${periodQuery(shown.value.from, shown.value.to, "csv")}`}
              download
              data-testid="statement-download"
              >${t(`${P}.download`)}</a
            >`
          }
        </div>
      </form>
      ${error.value ? html`<p class="error" role="alert" data-testid="statement-error">${error.value}</p>` : null}
      ${
        s &&
        shown.value &&
        html`<p class="fine" data-testid="statement-period">${t(`${P}.period`, { from: shown.value.from, to: shown.value.to })}</p>
          <dl class="figures" data-testid="statement-totals">
            ${TOTALS.map(
              ([k, unit]) =>
                html`<${Figure}
                  key=${k}
                  label=${t(`${P}.total.${k}`)}
                  value=${formatAmount(s.totals[k], 6)}
                  unit=${unit === "settlement" ? symbol : unit}
                  testId=${`total-${k}`}
                />`,
            )}
          </dl>`
      }
    </section>
    ${
      s &&
      html`<section class="card" aria-labelledby="entries-heading">
        <h2 id="entries-heading">${t(`${P}.entries`, { count: s.entries.length })}</h2>
        ${
          s.entries.length === 0
            ? html`<p class="empty" data-testid="statement-empty">${t(`${P}.none`)}</p>`
            : html`<div class="scroll">
                <table class="table" data-testid="statement-table">
                  <thead>
                    <tr>
                      <th scope="col">${t(`${P}.col.time`)}</th>
                      <th scope="col" class="nowrap">${t(`${P}.col.type`)}</th>
                      <th scope="col">${t(`${P}.col.amount`)}</th>
                      <th scope="col">${t(`${P}.col.payout`)}</th>
                      <th scope="col">${t(`${P}.col.counterparty`)}</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${[...s.entries].reverse().map(
                      (e) =>
                        html`<tr key=${e.operationId} data-testid="statement-row" data-type=${e.type}>
                          <td>${formatDateTime(e.time)}</td>
                          <td class="nowrap">${t(`${P}.type.${e.type}`)}</td>
                          <td data-value=${e.amount}>
                            ${formatAmount(e.amount, 6)} <span class="unit">${e.asset === "settlement" ? symbol : e.asset}</span>
                          </td>
                          <td>
                            ${e.payout ? html`${formatAmount(e.payout, 6)} <span class="unit">${symbol}</span>` : ""}
                            ${e.fee ? html`<br /><span class="fine">${t(`${P}.fee`, { fee: formatAmount(e.fee, 6) })}</span>` : ""}
                          </td>
                          <td>${/^0x/.test(e.counterparty) ? html`<${Hex} value=${e.counterparty} />` : e.counterparty}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>`
    }
  </div>`;
}
