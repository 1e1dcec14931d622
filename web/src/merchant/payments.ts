/**
 * The payments users made the merchant (GET /v1/merchant/payments): who paid, when, GP or CP, and
 * the operation's state (a rejected one with the chain's reason), narrowed by asset, state and
 * period; and a chart of what was received and redeemed per day over that period, from the
 * statement's confirmed entries (summed exactly in bigint, turned into numbers only to draw).
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api } from "../lib/api";
import { Chart } from "../lib/chart";
import { forChart, fromUnits, toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { dayEnd, dayStart, dayValue, errorText, rejectionText, settlement } from "./state";
import type { StatementEntry } from "./statement";

const P = "merchant-payments";
const STATES = ["queued", "submitted", "confirmed", "rejected"] as const;

interface Payment {
  operationId: string;
  time: string;
  from: string;
  asset: "GP" | "CP";
  amount: string;
  state: (typeof STATES)[number];
  txHash?: string;
  reason?: string;
}

/** Per day of the period: what was received and redeemed of `asset`, as [day starts (unix s), received, redeemed]. */
function perDay(entries: StatementEntry[], asset: "GP" | "CP", fromDay: string, toDay: string): [number[], number[], number[]] {
  const places = asset === "GP" ? 18 : (settlement.value?.decimals ?? 6);
  const days: string[] = [];
  const cursor = new Date(`${fromDay}T00:00:00`);
  const last = new Date(`${toDay}T00:00:00`);
  while (cursor <= last && days.length < 400) {
    days.push(dayValue(cursor));
    cursor.setDate(cursor.getDate() + 1);
  }
  const received = new Map<string, bigint>();
  const redeemed = new Map<string, bigint>();
  for (const e of entries) {
    if (e.asset !== asset) continue;
    const day = dayValue(new Date(e.time));
    const into = e.type === "payment-received" ? received : e.type === "redemption" ? redeemed : null;
    if (into) into.set(day, (into.get(day) ?? 0n) + toUnits(e.amount, places));
  }
  const number = (m: Map<string, bigint>, d: string) => forChart(fromUnits(m.get(d) ?? 0n, places));
  return [
    days.map((d) => new Date(`${d}T00:00:00`).getTime() / 1000),
    days.map((d) => number(received, d)),
    days.map((d) => number(redeemed, d)),
  ];
}

function DailyChart(props: { fromDay: string; toDay: string }) {
  const asset = useSignal<"GP" | "CP">("GP");
  const entries = useSignal<StatementEntry[] | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    const q = new URLSearchParams();
    const from = dayStart(props.fromDay);
    const to = dayEnd(props.toDay);
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    api<{ entries: StatementEntry[] }>("GET", `/v1/merchant/statement?${q.toString()}`)
      .then((s) => {
        entries.value = s.entries;
        error.value = null;
      })
      .catch((e) => (error.value = errorText(e)));
  }, [props.fromDay, props.toDay]);
  const data = entries.value ? perDay(entries.value, asset.value, props.fromDay, props.toDay) : null;
  return html`<section class="card" aria-labelledby="daily-heading" data-testid="daily-chart">
    <div class="row">
      <h2 id="daily-heading">${t(`${P}.chart`)}</h2>
      <div class="segmented" role="group" aria-label=${t(`${P}.chartAsset`)}>
        ${(["GP", "CP"] as const).map(
          (a) =>
            html`<button
              type="button"
              aria-pressed=${asset.value === a}
              data-testid=${`chart-asset-${a}`}
              onClick=${() => (asset.value = a)}
            >
              ${a}
            </button>`,
        )}
      </div>
    </div>
    ${error.value ? html`<p class="error" role="alert">${error.value}</p>` : null}
    ${
      data
        ? html`<${Chart}
            key=${asset.value}
            data=${data}
            label=${t(`${P}.chartLabel`, { asset: asset.value })}
            series=${[
              { label: t(`${P}.series.received`, { asset: asset.value }), stroke: "#1b7f4b", bars: true, digits: 6 },
              { label: t(`${P}.series.redeemed`, { asset: asset.value }), stroke: "#b35c00", smooth: true, digits: 6 },
            ]}
          />`
        : html`<p aria-busy="true">${t("common.loading")}</p>`
    }
    <p class="fine">${t(`${P}.chartHint`)}</p>
  </section>`;
}

export function Payments(_props: { me: StaffMe }) {
  const today = dayValue(new Date());
  const monthAgo = new Date();
  monthAgo.setDate(monthAgo.getDate() - 29);
  const asset = useSignal("");
  const state = useSignal("");
  const fromDay = useSignal(dayValue(monthAgo));
  const toDay = useSignal(today);
  const shown = useSignal({ from: dayValue(monthAgo), to: today });
  const payments = useSignal<Payment[] | null>(null);
  const error = useSignal<string | null>(null);

  const load = async () => {
    const q = new URLSearchParams();
    if (asset.value) q.set("asset", asset.value);
    if (state.value) q.set("state", state.value);
    const from = dayStart(fromDay.value);
    const to = dayEnd(toDay.value);
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    try {
      payments.value = (await api<{ payments: Payment[] }>("GET", `/v1/merchant/payments?${q.toString()}`)).payments;
      error.value = null;
      if (from && to) shown.value = { from: fromDay.value, to: toDay.value };
    } catch (e) {
      error.value = errorText(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const select = (id: string, label: string, value: typeof asset, options: [string, string][]) =>
    html`<label for=${id}>
      ${label}
      <select
        id=${id}
        data-testid=${id}
        value=${value.value}
        onChange=${(e: Event) => (value.value = (e.target as HTMLSelectElement).value)}
      >
        ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
      </select>
    </label>`;
  const date = (id: string, label: string, value: typeof fromDay) =>
    html`<label for=${id}>
      ${label}
      <input
        id=${id}
        type="date"
        data-testid=${id}
        value=${value.value}
        onInput=${(e: Event) => (value.value = (e.target as HTMLInputElement).value)}
      />
    </label>`;

  return html`<div data-testid="payments">
    <section class="card" aria-labelledby="payments-heading">
      <h2 id="payments-heading">${t(`${P}.heading`)}</h2>
      <form
        class="filters"
        onSubmit=${(e: Event) => {
          e.preventDefault();
          void load();
        }}
      >
        ${select("payments-asset", t(`${P}.asset`), asset, [
          ["", t(`${P}.all`)],
          ["GP", "GP"],
          ["CP", "CP"],
        ])}
        ${select("payments-state", t(`${P}.state`), state, [["", t(`${P}.all`)], ...STATES.map((s) => [s, t(`merchant.stateName.${s}`)] as [string, string])])}
        ${date("payments-from", t(`${P}.from`), fromDay)} ${date("payments-to", t(`${P}.to`), toDay)}
        <div class="actions"><button type="submit" class="primary" data-testid="payments-apply">${t(`${P}.apply`)}</button></div>
      </form>
      ${error.value ? html`<p class="error" role="alert" data-testid="payments-error">${error.value}</p>` : null}
      ${
        payments.value === null
          ? html`<p aria-busy="true">${t("common.loading")}</p>`
          : payments.value.length === 0
            ? html`<p class="empty" data-testid="payments-empty">${t(`${P}.none`)}</p>`
            : html`<div class="scroll">
                <table class="table" data-testid="payments-table">
                  <thead>
                    <tr>
                      <th scope="col">${t(`${P}.col.time`)}</th>
                      <th scope="col">${t(`${P}.col.from`)}</th>
                      <th scope="col">${t(`${P}.col.amount`)}</th>
                      <th scope="col">${t(`${P}.col.state`)}</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${payments.value.map(
                      (p) =>
                        html`<tr key=${p.operationId} data-testid="payment-row" data-operation=${p.operationId} data-state=${p.state}>
                          <td>${formatDateTime(p.time)}</td>
                          <td data-testid="payment-from">${p.from}</td>
                          <td data-testid="payment-amount" data-value=${p.amount} data-asset=${p.asset}>
                            ${formatAmount(p.amount, 6)} <span class="unit">${p.asset}</span>
                          </td>
                          <td>
                            <span class=${`status ${p.state}`}>${t(`merchant.stateName.${p.state}`)}</span>
                            ${p.reason ? html`<br /><span class="fine" data-testid="payment-reason">${rejectionText(p.reason)}</span>` : null}
                            ${p.txHash ? html`<br /><${Hex} value=${p.txHash} />` : null}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
      }
    </section>
    <${DailyChart} fromDay=${shown.value.from} toDay=${shown.value.to} />
  </div>`;
}
