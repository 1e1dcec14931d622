/**
 * The wallet's rewarded-ads tab (GET /v1/me/ads): the vouchers held per merchant, today's tasks
 * against the daily cap, what the next completed task converts and the next conversion estimated
 * in GP and their worth, and the recent conversions. Nothing here counts a task: an ad network
 * reports each completion by its signed callback (POST /v1/ads/callbacks/{networkId}), so the page
 * only reads, and reads again on request.
 */
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { html } from "../lib/html";
import { boot, formatAmount, formatDateTime, t } from "../lib/i18n";
import { type Me, pool } from "./state";

interface UserAds {
  vouchers: string;
  byMerchant: { merchantId: string; vouchers: string }[];
  converting: string;
  day: string;
  tasksToday: number;
  dailyTaskCap: number;
  policy: string;
  nextCompletion: { converts: string; tasksUntilRelease: number | null };
  nextRelease: { inTasks: number; vouchers: string; backing: string; points: string; value: string } | null;
  conversions: {
    conversionId: string;
    merchantId: string;
    vouchers: string;
    state: "pending" | "submitted" | "confirmed" | "rejected";
    backing?: string;
    points?: string;
    reason?: string;
    networkId: string;
    transactionId: string;
    createdAt: string;
  }[];
}

const ads = signal<UserAds | null>(null);
const failure = signal<ApiError | null>(null);
const loading = signal(false);
const readAt = signal<string | null>(null);

async function load() {
  loading.value = true;
  try {
    ads.value = await api<UserAds>("GET", "/v1/me/ads");
    readAt.value = new Date().toISOString();
    failure.value = null;
  } catch (error) {
    failure.value = error instanceof ApiError ? error : new ApiError(0, "INTERNAL", String(error));
  } finally {
    loading.value = false;
  }
}

/** A refusal by its stable code, translated when the catalogue has it, else the server's words. */
function errorText(error: ApiError): string {
  const key = `wallet-ads.error.${error.code}`;
  return key in (boot.messages ?? {}) ? t(key) : t("common.loadFailed", { reason: error.message });
}

/** The settlement's decimals and symbol, once the pool is read (6 and no symbol until then). */
const settlement = () => pool.value?.settlement ?? { decimals: 6, symbol: "" };

function Fig(props: { label: string; value: string; shown: string; unit?: string; testId: string; hint?: string }) {
  return html`<div class="figure">
    <dt>${props.label}</dt>
    <dd data-testid=${props.testId} data-value=${props.value}>
      ${props.shown}${props.unit ? html` <span class="unit">${props.unit}</span>` : null}
    </dd>
    ${props.hint ? html`<dd class="hint">${props.hint}</dd>` : null}
  </div>`;
}

function Today({ a }: { a: UserAds }) {
  const { decimals } = settlement();
  const full = a.tasksToday >= a.dailyTaskCap;
  return html`<section class="card" aria-labelledby="ads-today">
    <h2 id="ads-today">${t("wallet-ads.today")}</h2>
    <p class="ads-how" data-testid="ads-how">${t("wallet-ads.how")}</p>
    <dl class="figures">
      <div class="figure">
        <dt>${t("wallet-ads.tasks")}</dt>
        <dd data-testid="ads-tasks" data-value=${`${a.tasksToday}/${a.dailyTaskCap}`}>
          ${t("wallet-ads.tasksOf", { done: formatAmount(String(a.tasksToday), 0), cap: formatAmount(String(a.dailyTaskCap), 0) })}
        </dd>
        <dd class="hint">${t("wallet-ads.day", { day: a.day })}</dd>
      </div>
      <${Fig}
        label=${t("wallet-ads.vouchers")}
        value=${a.vouchers}
        shown=${formatAmount(a.vouchers, decimals)}
        testId="ads-vouchers"
        hint=${t("wallet-ads.vouchersHint")}
      />
      <${Fig}
        label=${t("wallet-ads.converting")}
        value=${a.converting}
        shown=${formatAmount(a.converting, decimals)}
        testId="ads-converting"
        hint=${t("wallet-ads.convertingHint")}
      />
    </dl>
    <div
      class="meter"
      role="meter"
      aria-label=${t("wallet-ads.tasks")}
      aria-valuemin="0"
      aria-valuemax=${a.dailyTaskCap}
      aria-valuenow=${a.tasksToday}
    >
      <div
        class="meter-bar"
        ref=${(el: HTMLElement | null) => el && (el.style.width = `${Math.min(100, (a.tasksToday / a.dailyTaskCap) * 100)}%`)}
      ></div>
    </div>
    ${full ? html`<p class="status ads-capped" data-testid="ads-capped">${t("wallet-ads.capped", { cap: a.dailyTaskCap })}</p>` : null}
  </section>`;
}

function Next({ a }: { a: UserAds }) {
  const { decimals, symbol } = settlement();
  const r = a.nextRelease;
  const why =
    a.tasksToday >= a.dailyTaskCap ? "wallet-ads.noneCapped" : a.vouchers === "0" ? "wallet-ads.noneNoVouchers" : "wallet-ads.noneToday";
  return html`<section class="card" aria-labelledby="ads-next">
    <h2 id="ads-next">${t("wallet-ads.next")}</h2>
    <dl class="figures">
      <${Fig}
        label=${t("wallet-ads.nextTask")}
        value=${a.nextCompletion.converts}
        shown=${formatAmount(a.nextCompletion.converts, decimals)}
        unit=${t("wallet-ads.voucherUnit")}
        testId="ads-next-converts"
      />
      ${
        r
          ? html`<${Fig}
                label=${t("wallet-ads.inTasks")}
                value=${String(r.inTasks)}
                shown=${formatAmount(String(r.inTasks), 0)}
                testId="ads-next-in"
              />
              <${Fig}
                label=${t("wallet-ads.releases")}
                value=${r.vouchers}
                shown=${formatAmount(r.vouchers, decimals)}
                unit=${t("wallet-ads.voucherUnit")}
                testId="ads-next-vouchers"
              />
              <${Fig} label=${t("wallet-ads.gp")} value=${r.points} shown=${formatAmount(r.points, 6)} unit="GP" testId="ads-next-points" />
              <${Fig}
                label=${t("wallet-ads.worth")}
                value=${r.value}
                shown=${formatAmount(r.value, decimals)}
                unit=${symbol}
                testId="ads-next-value"
                hint=${t("wallet-ads.backing", { backing: formatAmount(r.backing, decimals), symbol })}
              />`
          : null
      }
    </dl>
    ${
      r
        ? html`<p data-testid="ads-next-line">
              ${t(r.inTasks === 1 ? "wallet-ads.nextLineOne" : "wallet-ads.nextLine", {
                tasks: r.inTasks,
                vouchers: formatAmount(r.vouchers, decimals),
                points: formatAmount(r.points, 6),
                value: formatAmount(r.value, decimals),
                symbol,
              })}
            </p>
            ${
              a.tasksToday + r.inTasks > a.dailyTaskCap
                ? html`<p class="fine" data-testid="ads-next-later">
                    ${t("wallet-ads.laterDays", { left: a.dailyTaskCap - a.tasksToday })}
                  </p>`
                : null
            }
            <p class="fine">${t("wallet-ads.estimate")}</p>`
        : html`<p class="empty" data-testid="ads-next-none">${t(why, { cap: a.dailyTaskCap })}</p>`
    }
  </section>`;
}

function Merchants({ a }: { a: UserAds }) {
  const { decimals } = settlement();
  return html`<section class="card" aria-labelledby="ads-merchants">
    <h2 id="ads-merchants">${t("wallet-ads.byMerchant")}</h2>
    ${
      a.byMerchant.length === 0
        ? html`<p class="empty" data-testid="ads-no-vouchers">${t("wallet-ads.noVouchers")}</p>`
        : html`<ul class="ads-merchants" data-testid="ads-by-merchant">
            ${a.byMerchant.map(
              (m) =>
                html`<li data-merchant=${m.merchantId}>
                  <code class="hex">${m.merchantId}</code>
                  <span data-testid="ads-merchant-vouchers" data-value=${m.vouchers}
                    >${formatAmount(m.vouchers, decimals)} <span class="unit">${t("wallet-ads.voucherUnit")}</span></span
                  >
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

function Conversions({ a }: { a: UserAds }) {
  const { decimals, symbol } = settlement();
  return html`<section class="card" aria-labelledby="ads-conversions">
    <h2 id="ads-conversions">${t("wallet-ads.conversions")}</h2>
    ${
      a.conversions.length === 0
        ? html`<p class="empty" data-testid="ads-no-conversions">${t("wallet-ads.noConversions")}</p>`
        : html`<ul class="ads-conversions" data-testid="ads-conversion-list">
            ${a.conversions.map(
              (c) =>
                html`<li data-conversion=${c.conversionId} data-state=${c.state}>
                  <div class="row">
                    <span>${formatDateTime(c.createdAt)}</span>
                    <span class=${`status ${c.state}`} data-testid="ads-conversion-state">${t(`wallet-ads.state.${c.state}`)}</span>
                  </div>
                  <p>
                    <span data-testid="ads-conversion-vouchers" data-value=${c.vouchers}
                      >${t("wallet-ads.convVouchers", { vouchers: formatAmount(c.vouchers, decimals) })}</span
                    >
                    ${
                      c.points !== undefined
                        ? html`${" → "}
                            <strong data-testid="ads-conversion-points" data-value=${c.points}>${formatAmount(c.points, 6)} GP</strong>`
                        : null
                    }
                  </p>
                  ${
                    c.backing !== undefined
                      ? html`<p class="fine" data-testid="ads-conversion-backing" data-value=${c.backing}>
                          ${t("wallet-ads.convBacking", { backing: formatAmount(c.backing, decimals), symbol })}
                        </p>`
                      : null
                  }
                  <p class="fine">${t("wallet-ads.convFrom", { merchant: c.merchantId })}</p>
                  ${c.reason ? html`<p class="error" data-testid="ads-conversion-reason">${c.reason}</p>` : null}
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

export function Ads(_props: { me?: Me }) {
  useEffect(() => {
    void load();
  }, []);
  const a = ads.value;
  return html`<div class="ads">
    <div class="row">
      <h2>${t("wallet-ads.title")}</h2>
      <button type="button" class="secondary" data-testid="ads-refresh" onClick=${() => void load()} disabled=${loading.value}>
        ${t("wallet-ads.refresh")}
      </button>
    </div>
    <p class="ads-live" role="status" aria-live="polite" data-testid="ads-status">
      ${loading.value ? t("common.loading") : !failure.value && readAt.value ? t("wallet-ads.updated", { time: formatDateTime(readAt.value) }) : null}
    </p>
    ${failure.value ? html`<p class="error" role="alert" data-testid="ads-error">${errorText(failure.value)}</p>` : null}
    ${
      a
        ? html`<${Today} a=${a} />
            <${Next} a=${a} />
            <${Merchants} a=${a} />
            <${Conversions} a=${a} />`
        : null
    }
  </div>`;
}
