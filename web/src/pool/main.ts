/**
 * The public pool page: the pool's figures read live from the chain (GET /v1/pool, every figure
 * at one block), the backing check, the history the relayer indexed from the pool's own events
 * (GET /v1/pool/history), the recent orders and redemptions (GET /v1/pool/activity), and what
 * makes the price move, in words, with the live parameters.
 */
import { render } from "preact";
import { signal } from "@preact/signals";
import { api } from "../lib/api";
import { Chart } from "../lib/chart";
import { forChart, fromUnits, multiply } from "../lib/decimal";
import { html } from "../lib/html";
import { formatAmount, formatBps, formatDateTime, t } from "../lib/i18n";
import { Figure, Hex, Layout } from "../lib/layout";

interface Pool {
  assets: string;
  supply: string;
  price: string;
  maxIssuance: string;
  minted: string;
  paused: boolean;
  held: string;
  backed: boolean;
  block: number;
  chainId: string;
  contracts: { pool: string; points: string; custody: string; settlement: string };
  settlement: { decimals: number; symbol: string };
  params: { poolShareBps: number; mintShareBps: number; exitFeeBps: number; initialPrice: string };
}

interface History {
  range: string;
  indexedBlock: number;
  headBlock: number;
  check: { block: number; agrees: boolean | null };
  points: { time: string; block: number; assets: string; supply: string; price: string | null }[];
  daily: { day: string; contributions: string; exitFees: string; orders: number; redemptions: number }[];
}

interface Activity {
  items: {
    kind: "order" | "contribution" | "redemption";
    time: string;
    block: number;
    txHash: string;
    orderKey?: string | null;
    amount?: string | null;
    contribution?: string | null;
    points: string;
    fee?: string | null;
    payout?: string | null;
  }[];
}

const RANGES = ["day", "week", "month", "all"] as const;
type Range = (typeof RANGES)[number];

const pool = signal<Pool | null>(null);
const history = signal<History | null>(null);
const activity = signal<Activity | null>(null);
const range = signal<Range>("week");
const failed = signal<string | null>(null);

async function load() {
  try {
    const [p, h, a] = await Promise.all([
      api<Pool>("GET", "/v1/pool"),
      api<History>("GET", `/v1/pool/history?range=${range.value}`),
      api<Activity>("GET", "/v1/pool/activity?limit=10"),
    ]);
    pool.value = p;
    history.value = h;
    activity.value = a;
    failed.value = null;
  } catch (error) {
    failed.value = (error as Error).message;
  }
}

function Figures({ p }: { p: Pool }) {
  // The meter is a drawing, so a float is fine here.
  const percent = p.maxIssuance === "0" ? 0 : (forChart(p.minted) / forChart(p.maxIssuance)) * 100;
  return html`<section class="card" aria-labelledby="figures">
    <h2 id="figures">${t("pool.figures")}</h2>
    <dl class="figures">
      <${Figure}
        label=${t("pool.price")}
        value=${formatAmount(p.price, 6)}
        unit=${t("pool.perGp", { symbol: p.settlement.symbol })}
        testId="price"
      />
      <${Figure} label=${t("pool.assets")} value=${formatAmount(p.assets, 2)} unit=${p.settlement.symbol} testId="assets" />
      <${Figure} label=${t("pool.supply")} value=${formatAmount(p.supply, 4)} unit="GP" testId="supply" />
      <${Figure}
        label=${t("pool.minted")}
        value=${formatAmount(p.minted, 4)}
        unit=${t("pool.ofCap", { cap: formatAmount(p.maxIssuance, 0) })}
        testId="minted"
      />
    </dl>
    <div
      class="meter"
      role="meter"
      aria-label=${t("pool.capUsed")}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${percent.toFixed(4)}
    >
      <div class="meter-bar" style=${{ width: `${Math.min(100, percent)}%` }}></div>
    </div>
    <p class=${p.backed ? "check ok" : "check bad"} data-testid="backing">
      ${p.backed ? "✓ " : "✗ "}${t(p.backed ? "pool.backed" : "pool.notBacked", { held: formatAmount(p.held, 6), assets: formatAmount(p.assets, 6) })}
    </p>
    ${p.paused ? html`<p class="check bad" role="status">${t("pool.paused")}</p>` : null}
    <p class="fine">${t("pool.readAt", { block: p.block, chain: p.chainId })}</p>
  </section>`;
}

function RangePicker() {
  return html`<div class="segmented" role="group" aria-label=${t("pool.range")}>
    ${RANGES.map(
      (r) =>
        html`<button
          type="button"
          aria-pressed=${range.value === r}
          data-range=${r}
          onClick=${() => {
            range.value = r;
            void load();
          }}
        >
          ${t(`pool.range.${r}`)}
        </button>`,
    )}
  </div>`;
}

function Charts({ h }: { h: History }) {
  const times = h.points.map((x) => Date.parse(x.time) / 1000);
  const days = h.daily.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
  return html`<section class="card" aria-labelledby="history">
    <div class="row">
      <h2 id="history">${t("pool.history")}</h2>
      <${RangePicker} />
    </div>
    ${
      h.points.length === 0
        ? html`<p class="empty">${t("pool.noHistory")}</p>`
        : html` <h3>${t("pool.chart.price")}</h3>
            <${Chart}
              label=${t("pool.chart.price")}
              data=${[times, h.points.map((x) => (x.price === null ? null : forChart(x.price)))]}
              series=${[{ label: t("pool.price"), stroke: "#1b7f4b", digits: 6 }]}
            />
            <h3>${t("pool.chart.assetsSupply")}</h3>
            <${Chart}
              label=${t("pool.chart.assetsSupply")}
              data=${[times, h.points.map((x) => forChart(x.assets)), h.points.map((x) => forChart(x.supply))]}
              series=${[
                { label: t("pool.assets"), stroke: "#1b5e9f", digits: 2 },
                { label: t("pool.supply"), stroke: "#b35900", scale: "gp", digits: 4 },
              ]}
            />`
    }
    <h3>${t("pool.chart.daily")}</h3>
    ${
      h.daily.length === 0
        ? html`<p class="empty">${t("pool.noDaily")}</p>`
        : html`<${Chart}
            label=${t("pool.chart.daily")}
            height=${180}
            data=${[days, h.daily.map((d) => forChart(d.contributions)), h.daily.map((d) => forChart(d.exitFees))]}
            series=${[
              { label: t("pool.contributions"), stroke: "#1b7f4b", bars: true, digits: 2 },
              { label: t("pool.exitFees"), stroke: "#7a3e9d", bars: true, digits: 2 },
            ]}
          />`
    }
    <p class="fine">${t("pool.indexed", { indexed: h.indexedBlock, head: h.headBlock })}</p>
    <p class=${h.check.agrees === false ? "fine bad" : "fine"} data-testid="index-check">
      ${t(h.check.agrees === null ? "pool.checkUnknown" : h.check.agrees ? "pool.checkAgrees" : "pool.checkDisagrees", { block: h.check.block })}
    </p>
  </section>`;
}

function Recent({ a }: { a: Activity }) {
  return html`<section class="card" aria-labelledby="recent">
    <h2 id="recent">${t("pool.recent")}</h2>
    ${
      a.items.length === 0
        ? html`<p class="empty">${t("pool.noActivity")}</p>`
        : html`<div class="scroll">
            <table class="table" data-testid="activity">
              <thead>
                <tr>
                  <th scope="col">${t("pool.when")}</th>
                  <th scope="col">${t("pool.what")}</th>
                  <th scope="col">${t("pool.amounts")}</th>
                  <th scope="col">${t("pool.tx")}</th>
                </tr>
              </thead>
              <tbody>
                ${a.items.map(
                  (x) =>
                    html`<tr data-kind=${x.kind}>
                      <td>${formatDateTime(x.time)}</td>
                      <td>${t(`pool.kind.${x.kind}`)}${x.orderKey ? html`<br /><${Hex} value=${x.orderKey} />` : null}</td>
                      <td>
                        ${
                          x.kind === "order"
                            ? t("pool.orderLine", {
                                amount: formatAmount(x.amount ?? "0", 2),
                                contribution: formatAmount(x.contribution ?? "0", 2),
                                points: formatAmount(x.points, 4),
                              })
                            : x.kind === "contribution"
                              ? t("pool.contributionLine", {
                                  contribution: formatAmount(x.contribution ?? "0", 2),
                                  points: formatAmount(x.points, 4),
                                })
                              : t("pool.redemptionLine", {
                                  points: formatAmount(x.points, 4),
                                  payout: formatAmount(x.payout ?? "0", 2),
                                  fee: formatAmount(x.fee ?? "0", 2),
                                })
                        }
                      </td>
                      <td><${Hex} value=${x.txHash} /></td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

function Explainer({ p }: { p: Pool }) {
  // An order of 100 at today's price, worked through with the live parameters (docs/rules.md).
  const contribution = multiply("100", fromUnits(BigInt(p.params.poolShareBps), 4), 6);
  const minted = multiply(contribution, fromUnits(BigInt(p.params.mintShareBps), 4), 6);
  return html`<section class="card" aria-labelledby="why">
    <h2 id="why">${t("pool.why")}</h2>
    <p>
      ${t("pool.why.order", { poolShare: formatBps(p.params.poolShareBps), contribution: formatAmount(contribution, 2), mintShare: formatBps(p.params.mintShareBps), minted: formatAmount(minted, 2) })}
    </p>
    <p>${t("pool.why.redeem", { exitFee: formatBps(p.params.exitFeeBps) })}</p>
    <p>${t("pool.why.stops")}</p>
    <p class="fine">${t("pool.why.noPromise")}</p>
  </section>`;
}

function Contracts({ p }: { p: Pool }) {
  const rows = [
    ["pool", p.contracts.pool],
    ["points", p.contracts.points],
    ["custody", p.contracts.custody],
    ["settlement", p.contracts.settlement],
  ] as const;
  return html`<section class="card" aria-labelledby="contracts">
    <h2 id="contracts">${t("pool.contracts")}</h2>
    <dl class="addresses">
      ${rows.map(
        ([name, address]) =>
          html`<div>
            <dt>${t(`pool.contract.${name}`)}</dt>
            <dd><code data-testid=${`contract-${name}`}>${address}</code></dd>
          </div>`,
      )}
    </dl>
  </section>`;
}

function Page() {
  const p = pool.value;
  return html`<${Layout} page="pool">
    <h1>${t("pool.heading")}</h1>
    <p class="lead">${t("pool.lead")}</p>
    ${failed.value ? html`<p class="error" role="alert">${t("common.loadFailed", { reason: failed.value })}</p>` : null}
    ${p ? html`<${Figures} p=${p} />` : html`<p aria-busy="true">${t("common.loading")}</p>`}
    ${history.value ? html`<${Charts} h=${history.value} />` : null} ${activity.value ? html`<${Recent} a=${activity.value} />` : null}
    ${p ? html`<${Explainer} p=${p} /><${Contracts} p=${p} />` : null}
  <//>`;
}

render(html`<${Page} />`, document.getElementById("app")!);
void load();
// The figures are live: read again every 15 seconds while the page is open.
setInterval(() => void load(), 15_000);
