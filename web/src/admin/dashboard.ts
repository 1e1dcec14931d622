/**
 * The operator's dashboard: the deployment's figures now against 30 days ago (GET
 * /v1/admin/dashboard), a chart of the GP outstanding and minted per day, and the daily ledger of a
 * chosen period (GET /v1/admin/ledger): GP minted by orders, ads and grants, redeemed, retired and
 * outstanding, the settlement in and out and the assets, with the same period as the API's own CSV
 * (a plain download link: a GET needs no CSRF header, and the session cookie goes with it).
 */
import { useEffect } from "preact/hooks";
import { signal } from "@preact/signals";
import { ApiError, api } from "../lib/api";
import { Chart } from "../lib/chart";
import { forChart } from "../lib/decimal";
import { html } from "../lib/html";
import { boot, formatAmount, formatDateTime, language, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";

type Unit = "count" | "points" | "settlement" | "price" | "ratio";
interface Kpi {
  name: string;
  unit: Unit;
  now: string | null;
  before: string | null;
  change: string | null;
  relativeChange: string | null;
}
interface DashboardView {
  asOf: string;
  comparedWith: string;
  indexedBlock: number;
  headBlock: number;
  check: { block: number; agrees: boolean | null };
  settlement: { symbol: string; decimals: number };
  kpis: Kpi[];
}
interface LedgerRow {
  day: string;
  mintedByOrders: string;
  mintedByAds: string;
  mintedByGrants: string;
  redeemed: string;
  retired: string;
  outstanding: string;
  assetsIn: string;
  assetsOut: string;
  assets: string;
  exitFees: string;
  orders: number;
}
interface LedgerView {
  from: string;
  to: string;
  indexedBlock: number;
  opening: { outstanding: string; assets: string };
  days: LedgerRow[];
  totals: Omit<LedgerRow, "day">;
}

const D = "admin-dashboard";
/** The longest period the ledger answers (server/services/dashboard.ts). */
const MAX_DAYS = 366;
const has = (key: string) => boot.messages?.[key] !== undefined;
/** The ledger's columns as the table shows them (the CSV has them all). */
const COLUMNS = [
  ["mintedByOrders", "points"],
  ["mintedByAds", "points"],
  ["mintedByGrants", "points"],
  ["redeemed", "points"],
  ["retired", "points"],
  ["outstanding", "points"],
  ["assetsIn", "settlement"],
  ["assetsOut", "settlement"],
  ["assets", "settlement"],
] as const;

const dashboard = signal<DashboardView | null>(null);
const ledger = signal<LedgerView | null>(null);
const period = signal<{ from: string; to: string } | null>(null);
const failed = signal<string | null>(null);
const ledgerFailed = signal<string | null>(null);
const loadingLedger = signal(false);

function errorText(error: unknown): string {
  if (error instanceof ApiError && has(`${D}.error.${error.code}`)) return t(`${D}.error.${error.code}`, { message: error.message });
  return error instanceof Error ? error.message : String(error);
}

async function loadDashboard() {
  try {
    dashboard.value = await api<DashboardView>("GET", "/v1/admin/dashboard");
    failed.value = null;
  } catch (error) {
    failed.value = errorText(error);
  }
}

async function loadLedger(chosen?: { from: string; to: string }) {
  loadingLedger.value = true;
  try {
    const q = new URLSearchParams(chosen ?? {});
    const read = await api<LedgerView>("GET", `/v1/admin/ledger${chosen ? `?${q}` : ""}`);
    ledger.value = read;
    period.value = { from: read.from, to: read.to };
    ledgerFailed.value = null;
  } catch (error) {
    ledgerFailed.value = errorText(error);
  } finally {
    loadingLedger.value = false;
  }
}

const signed = new Map<string, Intl.NumberFormat>();
/** A change with its sign (+, − or none for zero), exact from the decimal string. */
function formatSigned(value: string, digits: number, style: "decimal" | "percent" = "decimal"): string {
  const key = `${digits}:${style}`;
  let format = signed.get(key);
  if (!format) {
    format = new Intl.NumberFormat(language, { maximumFractionDigits: digits, signDisplay: "exceptZero", style });
    signed.set(key, format);
  }
  return format.format(value as unknown as number);
}

const DIGITS: Record<Unit, number> = { count: 0, points: 4, settlement: 2, price: 6, ratio: 2 };
const percent = new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 2 });

/** A figure of the unit in the page's language, with its unit. */
function shown(unit: Unit, value: string, symbol: string): string {
  if (unit === "ratio") return percent.format(value as unknown as number);
  const text = formatAmount(value, DIGITS[unit]);
  if (unit === "points") return `${text} GP`;
  if (unit === "settlement") return `${text} ${symbol}`;
  if (unit === "price") return t(`${D}.perPoint`, { value: text, symbol });
  return text;
}

function changeText(k: Kpi): string {
  if (k.change === null) return t(`${D}.noChange`);
  const change = k.unit === "ratio" ? formatSigned(k.change, 2, "percent") : formatSigned(k.change, DIGITS[k.unit]);
  // A rate's change is in percentage points; a change from zero has no relative size.
  if (k.unit === "ratio" || k.relativeChange === null) return t(`${D}.changeOnly`, { change });
  return t(`${D}.change`, { change, relative: formatSigned(k.relativeChange, 2, "percent") });
}

function Kpis({ view }: { view: DashboardView }) {
  const symbol = view.settlement.symbol;
  return html`<section class="card" aria-labelledby="dash-kpis">
    <h2 id="dash-kpis">${t(`${D}.kpis`)}</h2>
    <dl class="figures kpis">
      ${view.kpis.map((k) => {
        const direction = k.change === null || /^0(\.0+)?$/.test(k.change) ? "flat" : k.change.startsWith("-") ? "down" : "up";
        return html`<div class="figure kpi" key=${k.name} data-testid=${`kpi-${k.name}`}>
          <dt>${t(`${D}.kpi.${k.name}`)}</dt>
          <dd data-testid=${`kpi-${k.name}-now`} data-value=${k.now ?? ""}>
            ${k.now === null ? t(`${D}.none`) : shown(k.unit, k.now, symbol)}
          </dd>
          <dd
            class=${`kpi-change ${direction}`}
            data-testid=${`kpi-${k.name}-change`}
            data-value=${k.change ?? ""}
            data-before=${k.before ?? ""}
            title=${k.before === null ? "" : t(`${D}.before`, { value: shown(k.unit, k.before, symbol) })}
          >
            ${changeText(k)}
          </dd>
          <dd class="hint">${t(`${D}.hint.${k.name}`)}</dd>
        </div>`;
      })}
    </dl>
    <p class="fine" data-testid="dash-as-of">
      ${t(`${D}.asOf`, { now: formatDateTime(view.asOf), then: formatDateTime(view.comparedWith), block: view.indexedBlock })}
    </p>
    <p class=${view.check.agrees === false ? "check bad" : "fine"} data-testid="dash-check" data-agrees=${String(view.check.agrees)}>
      ${t(`${D}.check.${String(view.check.agrees)}`, { block: view.check.block, head: view.headBlock })}
    </p>
  </section>`;
}

function LedgerChart({ l }: { l: LedgerView }) {
  const days = l.days.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
  const minted = l.days.map((d) => forChart(d.mintedByOrders) + forChart(d.mintedByAds) + forChart(d.mintedByGrants));
  return html`<${Chart}
    label=${t(`${D}.chart`, { from: l.from, to: l.to })}
    data=${[days, l.days.map((d) => forChart(d.outstanding)), minted]}
    series=${[
      { label: t(`${D}.col.outstanding`), stroke: "#1b5e9f", digits: 4 },
      { label: t(`${D}.chartMinted`), stroke: "#1b7f4b", scale: "day", bars: true, digits: 4 },
    ]}
  />`;
}

function PeriodForm() {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const from = (form.elements.namedItem("from") as HTMLInputElement).value;
    const to = (form.elements.namedItem("to") as HTMLInputElement).value;
    // Refused here as the server would refuse it, so the page never sends a period it knows is wrong.
    const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
    if (!(days >= 1)) ledgerFailed.value = t(`${D}.periodOrder`);
    else if (days > MAX_DAYS) ledgerFailed.value = t(`${D}.periodLong`, { days: MAX_DAYS });
    else void loadLedger({ from, to });
  };
  const p = period.value;
  return html`<form class="dash-period" onSubmit=${submit} aria-describedby="dash-ledger-error">
    <label>${t(`${D}.from`)} <input type="date" name="from" required value=${p?.from ?? ""} data-testid="dash-from" /></label>
    <label>${t(`${D}.to`)} <input type="date" name="to" required value=${p?.to ?? ""} data-testid="dash-to" /></label>
    <button type="submit" class="secondary" disabled=${loadingLedger.value} data-testid="dash-show">${t(`${D}.show`)}</button>
  </form>`;
}

function LedgerTable({ l, symbol }: { l: LedgerView; symbol: string }) {
  const cell = (unit: "points" | "settlement", value: string) => formatAmount(value, unit === "points" ? 4 : 2);
  // Newest first: the days an operator looks at most are the latest.
  const rows = [...l.days].reverse();
  return html`<div class="scroll" tabindex="0" role="region" aria-labelledby="dash-ledger">
    <table class="table ledger" data-testid="dash-ledger">
      <caption class="fine">
        ${t(`${D}.caption`, { symbol })}
      </caption>
      <thead>
        <tr>
          <th scope="col">${t(`${D}.col.day`)}</th>
          ${COLUMNS.map(([c]) => html`<th scope="col" key=${c}>${t(`${D}.col.${c}`)}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (d) =>
            html`<tr key=${d.day} data-testid=${`dash-day-${d.day}`}>
              <th scope="row">${d.day}</th>
              ${COLUMNS.map(([c, unit]) => html`<td key=${c} data-col=${c} data-value=${d[c]}>${cell(unit, d[c])}</td>`)}
            </tr>`,
        )}
      </tbody>
      <tfoot>
        <tr data-testid="dash-totals">
          <th scope="row">${t(`${D}.total`)}</th>
          ${COLUMNS.map(([c, unit]) => html`<td key=${c} data-col=${c} data-value=${l.totals[c]}>${cell(unit, l.totals[c])}</td>`)}
        </tr>
      </tfoot>
    </table>
  </div>`;
}

function Ledger({ symbol }: { symbol: string }) {
  const l = ledger.value;
  const csv = l ? `/v1/admin/ledger?${new URLSearchParams({ from: l.from, to: l.to, format: "csv" })}` : null;
  return html`<section class="card" aria-labelledby="dash-ledger">
    <div class="row">
      <h2 id="dash-ledger">${t(`${D}.ledger`)}</h2>
      ${
        csv &&
        html`<a class="button" href=${csv} download=${`green-points-ledger-${l!.from}-${l!.to}.csv`} data-testid="dash-csv">
          ${t(`${D}.csv`)}
        </a>`
      }
    </div>
    <p class="fine">${t(`${D}.ledgerLead`)}</p>
    <${PeriodForm} />
    <p id="dash-ledger-error" class=${ledgerFailed.value ? "error" : ""} role="alert" data-testid="dash-ledger-error">
      ${ledgerFailed.value ?? ""}
    </p>
    <p class="fine" aria-live="polite" data-testid="dash-ledger-status">
      ${loadingLedger.value ? t("common.loading") : l ? t(l.days.length === 1 ? `${D}.shownOne` : `${D}.shown`, { from: l.from, to: l.to, days: l.days.length }) : ""}
    </p>
    ${
      l &&
      html`${
          // One day draws no line: the table says it all.
          l.days.length > 1 &&
          html`<h3>${t(`${D}.chartHeading`)}</h3>
            <${LedgerChart} l=${l} />`
        }
        <p class="fine" data-testid="dash-opening">
          ${t(`${D}.opening`, { outstanding: formatAmount(l.opening.outstanding, 4), assets: formatAmount(l.opening.assets, 2), symbol })}
        </p>
        <${LedgerTable} l=${l} symbol=${symbol} />`
    }
  </section>`;
}

export function Dashboard(_props: { me: StaffMe }) {
  useEffect(() => {
    void loadDashboard();
    void loadLedger(period.value ?? undefined);
  }, []);
  const view = dashboard.value;
  return html`<div class="dash" data-testid="dashboard">
    <p class="lead">${t(`${D}.lead`)}</p>
    ${failed.value ? html`<p class="error" role="alert" data-testid="dash-error">${failed.value}</p>` : null}
    ${view ? html`<${Kpis} view=${view} />` : !failed.value ? html`<p aria-busy="true">${t("common.loading")}</p>` : null}
    <${Ledger} symbol=${view?.settlement.symbol ?? ""} />
  </div>`;
}
