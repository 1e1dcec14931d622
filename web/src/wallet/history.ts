/**
 * The wallet's history tab: every movement of the account's GP, CP and settlement as GET
 * /v1/me/history gives it (newest first, with the state and the transaction), narrowed by the
 * filters the API takes (kind, asset, a period of days), paged by its cursor ("more"), and the
 * same filtered history as the API's own CSV (a plain download link: a GET needs no CSRF header,
 * and the session cookie goes with it).
 */
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import { type Me, pool } from "./state";

export const HISTORY_KINDS = [
  "order",
  "referral",
  "ad-conversion",
  "transfer-in",
  "transfer-out",
  "payment",
  "redemption",
  "conversion",
  "exchange",
  "withdrawal-points",
  "withdrawal-settlement",
  "deposit",
  "exit",
  "grant",
  "removal",
] as const;
const ASSETS = ["GP", "CP", "settlement"] as const;

/** One entry as server/http/history.ts answers it. */
export interface HistoryEntry {
  id: string;
  time: string;
  kind: (typeof HISTORY_KINDS)[number];
  state: "pending" | "confirmed" | "rejected";
  points: string;
  constantPoints: string;
  settlement: string;
  price: string | null;
  priceBasis: "pool-after" | "redemption" | "conversion" | null;
  details: Partial<Record<string, string>>;
  operationId: string | null;
  txHash: string | null;
  blockNumber: number | null;
  reason: string | null;
}

export interface HistoryPage {
  userId: string;
  entries: HistoryEntry[];
  nextCursor: string | null;
  totals: {
    earned: { points: string };
    redeemed: { points: string; constantPoints: string; payout: string };
    held: { points: string; constantPoints: string; settlement: string };
  };
  asOfBlock: number;
  fromBlock: number;
}

interface Filters {
  kind: string;
  asset: string;
  /** Days as the date inputs give them (YYYY-MM-DD, the browser's own time zone); both included. */
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { kind: "", asset: "", from: "", to: "" };
const filters = signal<Filters>(NO_FILTERS);
const entries = signal<HistoryEntry[]>([]);
const nextCursor = signal<string | null>(null);
const loading = signal(false);
const failed = signal<string | null>(null);
/** Which account the entries shown belong to: another sign-in reads again. */
const loadedFor = signal<string | null>(null);

/** A day's start in the browser's time zone, as an ISO instant; `after` gives the next day's (the period's end is excluded). */
function dayStart(day: string, after = false): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + (after ? 1 : 0)).toISOString();
}

/** The query the filters make, without the paging: the same for the list and the CSV. */
export function filterQuery(f: Filters): URLSearchParams {
  const q = new URLSearchParams();
  if (f.kind) q.set("kind", f.kind);
  if (f.asset) q.set("asset", f.asset);
  if (f.from) q.set("from", dayStart(f.from));
  if (f.to) q.set("to", dayStart(f.to, true));
  return q;
}

function message(error: unknown): string {
  if (error instanceof ApiError) {
    const key = `wallet-history.error.${error.code}`;
    return t("common.loadFailed", { reason: KNOWN_ERRORS.has(error.code) ? t(key) : error.message });
  }
  return t("common.loadFailed", { reason: (error as Error).message });
}
const KNOWN_ERRORS = new Set(["NETWORK", "VALIDATION_FAILED", "UNAUTHORIZED"]);

async function load(more = false) {
  const q = filterQuery(filters.value);
  q.set("limit", "20");
  if (more && nextCursor.value) q.set("cursor", nextCursor.value);
  loading.value = true;
  try {
    const page = await api<HistoryPage>("GET", `/v1/me/history?${q}`);
    entries.value = more ? [...entries.value, ...page.entries] : page.entries;
    nextCursor.value = page.nextCursor;
    failed.value = null;
  } catch (error) {
    failed.value = message(error);
  } finally {
    loading.value = false;
  }
}

/** A signed amount with its sign always shown: "+21", "-2". */
const signed = (value: string, digits: number) => (value.startsWith("-") ? "" : "+") + formatAmount(value, digits);

function Amounts({ e, symbol }: { e: HistoryEntry; symbol: string }) {
  const moved = [
    { value: e.points, unit: "GP", digits: 6, asset: "GP" },
    { value: e.constantPoints, unit: "CP", digits: 6, asset: "CP" },
    { value: e.settlement, unit: symbol, digits: 6, asset: "settlement" },
  ].filter((x) => x.value !== "0");
  if (moved.length === 0) {
    // Pending or rejected: it moved nothing; what it asked for is in its details.
    const asked = e.details.amount;
    return asked
      ? html`<span class="asked"
          >${t("wallet-history.asked", { amount: formatAmount(asked, 6), asset: e.details.asset === "settlement" ? symbol : (e.details.asset ?? "") })}</span
        >`
      : html`<span class="asked">—</span>`;
  }
  return html`${moved.map(
    (x) =>
      html`<span class=${x.value.startsWith("-") ? "amount out" : "amount in"} data-testid=${`amount-${x.asset}`} data-value=${x.value}
        >${signed(x.value, x.digits)} <span class="unit">${x.unit}</span></span
      >`,
  )}`;
}

function Entry({ e, symbol }: { e: HistoryEntry; symbol: string }) {
  return html`<li class="entry" data-testid="entry" data-id=${e.id} data-kind=${e.kind} data-state=${e.state}>
    <div class="entry-head">
      <span class="entry-kind">${t(`wallet-history.kind.${e.kind}`)}</span>
      <span class=${`badge ${e.state}`} data-testid="state">${t(`wallet-history.state.${e.state}`)}</span>
    </div>
    <div class="entry-amounts"><${Amounts} e=${e} symbol=${symbol} /></div>
    <div class="entry-meta">
      <time datetime=${e.time}>${formatDateTime(e.time)}</time>
      ${e.details.orderId ? html`<span>${t("wallet-history.order", { id: e.details.orderId })}</span>` : null}
      ${e.details.counterparty ? html`<span>${t("wallet-history.counterparty", { who: e.details.counterparty })}</span>` : null}
      ${
        e.price
          ? html`<span data-basis=${e.priceBasis}
              >${t(`wallet-history.price.${e.priceBasis ?? "pool-after"}`, { price: formatAmount(e.price, 6), symbol })}</span
            >`
          : null
      }
    </div>
    ${e.txHash ? html`<div class="entry-tx"><span>${t("wallet-history.tx")}</span> <${Hex} value=${e.txHash} testId="tx" /></div>` : null}
    ${e.reason ? html`<p class="entry-reason">${t("wallet-history.reason", { reason: e.reason })}</p>` : null}
  </li>`;
}

function FilterForm() {
  const f = filters.value;
  const set = (key: keyof Filters) => (event: Event) => {
    filters.value = { ...filters.value, [key]: (event.target as HTMLInputElement | HTMLSelectElement).value };
  };
  return html`<form
    class="history-filters"
    aria-label=${t("wallet-history.filters")}
    onSubmit=${(event: Event) => {
      event.preventDefault();
      void load();
    }}
  >
    <label
      >${t("wallet-history.filter.kind")}
      <select data-testid="filter-kind" value=${f.kind} onChange=${set("kind")}>
        <option value="">${t("wallet-history.filter.all")}</option>
        ${HISTORY_KINDS.map((k) => html`<option value=${k}>${t(`wallet-history.kind.${k}`)}</option>`)}
      </select>
    </label>
    <label
      >${t("wallet-history.filter.asset")}
      <select data-testid="filter-asset" value=${f.asset} onChange=${set("asset")}>
        <option value="">${t("wallet-history.filter.all")}</option>
        ${ASSETS.map((a) => html`<option value=${a}>${a === "settlement" ? (pool.value?.settlement.symbol ?? a) : a}</option>`)}
      </select>
    </label>
    <label
      >${t("wallet-history.filter.from")}
      <input type="date" data-testid="filter-from" value=${f.from} max=${f.to || undefined} onInput=${set("from")} />
    </label>
    <label
      >${t("wallet-history.filter.to")}
      <input type="date" data-testid="filter-to" value=${f.to} min=${f.from || undefined} onInput=${set("to")} />
    </label>
    <div class="actions">
      <button type="submit" class="primary" data-testid="filter-apply" disabled=${loading.value}>
        ${t("wallet-history.filter.apply")}
      </button>
      <button
        type="button"
        class="secondary"
        data-testid="filter-clear"
        onClick=${() => {
          filters.value = NO_FILTERS;
          void load();
        }}
      >
        ${t("wallet-history.filter.clear")}
      </button>
    </div>
  </form>`;
}

export function History({ me }: { me?: Me }) {
  useEffect(() => {
    // Read again each time the tab is opened (an action may have added entries); the filters stay
    // while the same account is signed in.
    if (!me) return;
    if (loadedFor.value !== me.userId) {
      loadedFor.value = me.userId;
      filters.value = NO_FILTERS;
    }
    void load();
  }, [me?.userId]);
  const symbol = pool.value?.settlement.symbol ?? "";
  const csv = filterQuery(filters.value);
  csv.set("format", "csv");
  const list = entries.value;
  return html`<section class="card history" aria-labelledby="history-title">
    <div class="row">
      <h2 id="history-title">${t("wallet-history.title")}</h2>
      <a class="button" href=${`/v1/me/history?${csv}`} download="green-points-history.csv" data-testid="csv">${t("wallet-history.csv")}</a>
    </div>
    <${FilterForm} />
    <p class="fine" aria-live="polite" data-testid="history-status">
      ${loading.value ? t("common.loading") : t("wallet-history.shown", { count: list.length })}
    </p>
    ${failed.value ? html`<p class="error" role="alert" data-testid="history-error">${failed.value}</p>` : null}
    ${
      list.length === 0 && !loading.value && !failed.value
        ? html`<p class="empty" data-testid="history-empty">${t("wallet-history.empty")}</p>`
        : html`<ol class="entries" data-testid="history-list">
            ${list.map((e) => html`<${Entry} key=${e.id} e=${e} symbol=${symbol} />`)}
          </ol>`
    }
    ${
      nextCursor.value
        ? html`<button type="button" class="secondary more" data-testid="more" disabled=${loading.value} onClick=${() => void load(true)}>
            ${t("wallet-history.more")}
          </button>`
        : null
    }
  </section>`;
}
