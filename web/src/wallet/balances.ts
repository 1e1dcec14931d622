/**
 * The wallet's overview tab: the account's GP with what they are worth at the pool's price now
 * and what redeeming them all would pay after the exit fee (GET /v1/me's `redeemableNow`, read by
 * the server at one block), its CP (1 CP = 1 settlement unit) and its settlement, links to the
 * actions, and a chart of what its GP were worth over time: the GP balance rebuilt from the
 * history's entries (by block) times the pool's price at that block (GET /v1/pool/history).
 */
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { api } from "../lib/api";
import { Chart } from "../lib/chart";
import { forChart, fromUnits, multiply, toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { formatAmount, formatBps, formatDateTime, t } from "../lib/i18n";
import { Figure } from "../lib/layout";
import type { HistoryEntry, HistoryPage } from "./history";
import { type Me, type PoolSummary, pool } from "./state";

/** GET /v1/pool/history's answer, the part the chart reads. */
interface PoolHistory {
  points: { time: string; block: number; assets: string; supply: string; price: string | null }[];
}

/** A price at a block: the pool's assets / supply after it, 18 places. */
interface PriceAt {
  time: string;
  block: number;
  price: string;
}

/** The chart's points: when, and the GP held then valued at the price then (a decimal string). */
export interface ValuePoint {
  time: number;
  points: string;
  value: string;
}

const series = signal<ValuePoint[] | null>(null);
const chartFailed = signal<string | null>(null);
/** Whether the pool's own history could not be read, so the chart has the entries' prices only. */
const entriesOnly = signal(false);

/** Every entry of the account's history, oldest first (the API pages newest first). */
async function allEntries(): Promise<HistoryEntry[]> {
  const all: HistoryEntry[] = [];
  let cursor: string | null = null;
  // At most 50 pages of 200: the API itself reads at most 10,000 of each source.
  for (let i = 0; i < 50; i++) {
    const q = new URLSearchParams({ limit: "200" });
    if (cursor) q.set("cursor", cursor);
    const page: HistoryPage = await api<HistoryPage>("GET", `/v1/me/history?${q}`);
    all.push(...page.entries);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return all.reverse();
}

const GP_PLACES = 18;

/**
 * The value of the GP held over time. The balance at a block is the sum of the GP the entries
 * mined up to it moved (exact: the entries add up to the chain's balance); it is valued at the
 * last price known at or before that block, rounded down to the settlement's places. Points: each
 * priced block from the account's first movement of GP on, each movement at a block with no
 * price of its own (a transfer), and now (the balance and price the page shows). One sweep in
 * block order, so a long history costs its length, not its square.
 */
export function valueOverTime(
  entries: readonly HistoryEntry[],
  prices: readonly PriceAt[],
  now: { points: string; price: string },
  places: number,
): ValuePoint[] {
  const moves = entries
    .filter((e) => e.points !== "0" && e.blockNumber !== null)
    .map((e) => ({ block: e.blockNumber!, time: Date.parse(e.time) / 1000, units: toUnits(e.points, GP_PLACES) }))
    .sort((x, y) => x.block - y.block);
  if (moves.length === 0) return [];
  // One price a block (the first given: the pool's own, at its block's time).
  const byBlock = new Map<number, PriceAt>();
  for (const p of prices) if (!byBlock.has(p.block)) byBlock.set(p.block, p);
  const priced = [...byBlock.values()].sort((x, y) => x.block - y.block);
  // The blocks to draw: the priced ones from the first movement on, and the movements' unpriced ones.
  const marks: { block: number; time: number }[] = [];
  for (const p of priced) if (p.block >= moves[0].block) marks.push({ block: p.block, time: Date.parse(p.time) / 1000 });
  for (const m of moves) if (!byBlock.has(m.block)) marks.push({ block: m.block, time: m.time });
  marks.sort((x, y) => x.block - y.block);
  const out: ValuePoint[] = [];
  let held = 0n;
  let price: string | null = null;
  let [nextMove, nextPrice] = [0, 0];
  for (const mark of marks) {
    while (nextMove < moves.length && moves[nextMove].block <= mark.block) held += moves[nextMove++].units;
    while (nextPrice < priced.length && priced[nextPrice].block <= mark.block) price = priced[nextPrice++].price;
    if (price === null) continue;
    const points = fromUnits(held, GP_PLACES);
    out.push({ time: mark.time, points, value: multiply(points, price, places) });
  }
  out.push({ time: Date.now() / 1000, points: now.points, value: multiply(now.points, now.price, places) });
  return out.sort((x, y) => x.time - y.time);
}

/** The pool's price after each of the account's own transactions the pool took part in (the entries' `pool-after` prices). */
export function pricesOfEntries(entries: readonly HistoryEntry[]): PriceAt[] {
  return entries
    .filter((e) => e.priceBasis === "pool-after" && e.price !== null && e.blockNumber !== null)
    .map((e) => ({ time: e.time, block: e.blockNumber!, price: e.price! }));
}

/**
 * The prices the chart values the GP at: the pool's history (at most 500 points over its whole
 * life, so a busy pool's may skip a block) and the account's own entries' pool-after prices (exact
 * at the blocks where its balance moved). At one block both give the same price.
 */
export function pricesOf(pool: PoolHistory | null, entries: readonly HistoryEntry[]): PriceAt[] {
  const fromPool = (pool?.points ?? []).filter((p) => p.price !== null).map((p) => ({ time: p.time, block: p.block, price: p.price! }));
  return [...fromPool, ...pricesOfEntries(entries)];
}

async function loadChart(me: Me, p: PoolSummary) {
  try {
    const [entries, history] = await Promise.all([allEntries(), api<PoolHistory>("GET", "/v1/pool/history?range=all").catch(() => null)]);
    entriesOnly.value = history === null;
    series.value = valueOverTime(entries, pricesOf(history, entries), { points: me.points, price: p.price }, p.settlement.decimals);
    chartFailed.value = null;
  } catch (error) {
    chartFailed.value = t("common.loadFailed", { reason: (error as Error).message });
  }
}

function add(places: number, ...values: string[]): string {
  return fromUnits(
    values.reduce((sum, v) => sum + toUnits(v, places), 0n),
    places,
  );
}

function ValueChart({ symbol }: { symbol: string }) {
  const s = series.value;
  if (chartFailed.value) return html`<p class="error" role="alert">${chartFailed.value}</p>`;
  if (!s) return html`<p aria-busy="true" class="fine">${t("common.loading")}</p>`;
  if (s.length === 0) return html`<p class="empty" data-testid="chart-empty">${t("wallet-balances.chart.empty")}</p>`;
  // The values drawn, exact, for whoever checks them (the chart itself draws floats).
  return html`<div data-testid="value-chart" data-values=${s.map((x) => x.value).join(" ")}>
    <${Chart}
      label=${t("wallet-balances.chart.label", { symbol })}
      height=${200}
      data=${[s.map((x) => x.time), s.map((x) => forChart(x.value)), s.map((x) => forChart(x.points))]}
      series=${[
        { label: t("wallet-balances.chart.value", { symbol }), stroke: "#1b7f4b", digits: 2 },
        { label: t("wallet-balances.chart.points"), stroke: "#b35900", scale: "gp", digits: 4 },
      ]}
    />
  </div>`;
}

/**
 * Orders held for their shop's pending window: nothing is minted yet; at the release date the GP
 * are minted at the price of that moment, so the estimate (today's price) may change.
 */
function PendingOrders(props: { orders: Me["pendingOrders"] }) {
  return html`<section class="card pending-orders" aria-labelledby="pending-title" data-testid="pending-orders">
    <h2 id="pending-title">${t("wallet-balances.pending.title")}</h2>
    <p class="fine">${t("wallet-balances.pending.how")}</p>
    <ul>
      ${props.orders.map(
        (o) =>
          html`<li data-testid=${`pending-${o.orderId}`}>
            <strong data-testid="pending-estimate" data-value=${o.estimate}
              >${t("wallet-balances.pending.estimate", { gp: formatAmount(o.estimate, 6) })}</strong
            >
            <span>${t("wallet-balances.pending.release", { date: formatDateTime(o.releaseAt) })}</span>
            <span class="fine">${t("wallet-balances.pending.order", { orderId: o.orderId, amount: o.amount })}</span>
          </li>`,
      )}
    </ul>
  </section>`;
}

export function Balances({ me }: { me?: Me }) {
  const p = pool.value;
  useEffect(() => {
    if (me && p) void loadChart(me, p);
  }, [me?.points, p?.price]);
  if (!me || !p) return html`<p aria-busy="true">${t("common.loading")}</p>`;
  const symbol = p.settlement.symbol;
  const places = p.settlement.decimals;
  const gpValue = multiply(me.points, p.price, places);
  // 1 CP is 1 settlement unit: the CP are worth their own number.
  const total = add(places, gpValue, me.constantPoints, me.settlement);
  return html`<section class="card balances" aria-labelledby="balances-title">
      <h2 id="balances-title">${t("wallet-balances.title")}</h2>
      <p class="balances-total">
        <span>${t("wallet-balances.total")}</span>
        <strong data-testid="total" data-value=${total}>${formatAmount(total, places)} <span class="unit">${symbol}</span></strong>
      </p>
      <dl class="figures">
        <${Figure}
          label=${t("wallet-balances.gp")}
          value=${formatAmount(me.points, 6)}
          unit="GP"
          testId="gp"
          hint=${t("wallet-balances.gp.hint")}
        />
        <${Figure}
          label=${t("wallet-balances.gpValue")}
          value=${formatAmount(gpValue, 6)}
          unit=${symbol}
          testId="gp-value"
          hint=${t("wallet-balances.gpValue.hint", { price: formatAmount(p.price, 6), symbol })}
        />
        <${Figure}
          label=${t("wallet-balances.redeemable")}
          value=${formatAmount(me.redeemableNow, 6)}
          unit=${symbol}
          testId="redeemable"
          hint=${t("wallet-balances.redeemable.hint", { fee: formatBps(p.params.exitFeeBps) })}
        />
        <${Figure}
          label=${t("wallet-balances.cp")}
          value=${formatAmount(me.constantPoints, 6)}
          unit="CP"
          testId="cp"
          hint=${t("wallet-balances.cp.hint", { value: formatAmount(me.constantPoints, 6), symbol })}
        />
        <${Figure}
          label=${t("wallet-balances.settlement", { symbol })}
          value=${formatAmount(me.settlement, 6)}
          unit=${symbol}
          testId="settlement"
        />
      </dl>
      <nav class="actions balances-actions" aria-label=${t("wallet-balances.actions")}>
        <a class="button primary-link" href="/wallet?tab=actions" data-testid="to-actions">${t("wallet-balances.useActions")}</a>
        <a class="button" href="/wallet?tab=history" data-testid="to-history">${t("wallet-balances.history")}</a>
      </nav>
      ${p.paused ? html`<p class="check bad" role="status">${t("wallet-balances.paused")}</p>` : null}
    </section>
    ${me.pendingOrders.length > 0 ? html`<${PendingOrders} orders=${me.pendingOrders} />` : null}
    <section class="card" aria-labelledby="value-title">
      <h2 id="value-title">${t("wallet-balances.chart.title")}</h2>
      <${ValueChart} symbol=${symbol} />
      <p class="fine">${t("wallet-balances.chart.how")}</p>
      ${entriesOnly.value ? html`<p class="fine" data-testid="chart-entries-only">${t("wallet-balances.chart.entriesOnly")}</p>` : null}
    </section>`;
}
