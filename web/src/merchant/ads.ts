/**
 * The merchant's ad credit (GET /v1/merchant/ad-credit): the credit left, the vouchers issued and
 * converted against it, the sales refused for want of credit, how to top it up, and withdrawing
 * unused credit after the notice period: request, cancel, carry out (the owner's alone).
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { ApiError, api } from "../lib/api";
import { toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Figure, Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { Flow, Invalid, type Review } from "./flow";
import { errorText, settlement } from "./state";

const P = "merchant-ads";
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

interface AdCredit {
  credit: string;
  vouchersIssued: string;
  vouchersConverted: string;
  vouchersOutstanding: string;
  backingOutstanding: string;
  adShare: string;
  noticePeriodSeconds: number;
  topUp: { contract: string; merchant: string; settlement: string };
  withdrawal: { amount: string; to: string; availableAt: string } | null;
  sales: Record<string, { sales: number; vouchers: string }>;
}

const OUTCOMES = ["issued", "refused", "queued", "rejected"] as const;

function Request(props: { view: AdCredit; onDone: () => void }) {
  const amount = useSignal("");
  const to = useSignal("");
  const d = settlement.value?.decimals ?? 6;
  const symbol = settlement.value?.symbol ?? "";
  const prepare = async (): Promise<Review> => {
    const value = amount.value.trim();
    if (!/^\d+(\.\d+)?$/.test(value) || (value.split(".")[1] ?? "").length > d || toUnits(value, d) === 0n)
      throw new Invalid(t(`${P}.invalid.amount`));
    if (toUnits(value, d) > toUnits(props.view.credit, d))
      throw new Invalid(t(`${P}.invalid.credit`, { credit: formatAmount(props.view.credit, 6) }));
    if (!ADDRESS.test(to.value.trim())) throw new Invalid(t(`${P}.invalid.address`));
    const availableAt = new Date(Date.now() + props.view.noticePeriodSeconds * 1000).toISOString();
    return {
      path: "/v1/merchant/ad-credit/withdrawals",
      body: { amount: value, to: to.value.trim() },
      figures: [
        { id: "amount", label: t(`${P}.fig.amount`), value, unit: symbol },
        { id: "to", label: t(`${P}.fig.to`), value: to.value.trim() },
      ],
      note: t(`${P}.requestNote`, { at: formatDateTime(availableAt) }),
    };
  };
  return html`<${Flow} testid="ad-request" sendLabel=${t(`${P}.send.request`)} prepare=${prepare} onDone=${props.onDone}>
    <label for="ad-amount">
      ${t(`${P}.field.amount`, { symbol })}
      <input
        id="ad-amount"
        data-testid="ad-amount"
        inputmode="decimal"
        autocomplete="off"
        value=${amount.value}
        onInput=${(e: Event) => (amount.value = (e.target as HTMLInputElement).value)}
      />
    </label>
    <label for="ad-to">
      ${t(`${P}.field.to`)}
      <input
        id="ad-to"
        data-testid="ad-to"
        autocomplete="off"
        value=${to.value}
        onInput=${(e: Event) => (to.value = (e.target as HTMLInputElement).value)}
      />
    </label>
  <//>`;
}

function Pending(props: { view: AdCredit; owner: boolean; onDone: () => void }) {
  const w = props.view.withdrawal!;
  const symbol = settlement.value?.symbol ?? "";
  const due = new Date(w.availableAt).getTime() <= Date.now();
  const figures = [
    { id: "amount", label: t(`${P}.fig.amount`), value: w.amount, unit: symbol },
    { id: "to", label: t(`${P}.fig.to`), value: w.to },
  ];
  return html`<div data-testid="ad-pending">
    <p data-testid="ad-pending-text">
      ${t(due ? `${P}.pendingDue` : `${P}.pending`, { amount: formatAmount(w.amount, 6), symbol, at: formatDateTime(w.availableAt) })}
    </p>
    ${
      props.owner &&
      html`<div class="ad-pending-actions">
        <${Flow}
          testid="ad-execute"
          reviewLabel=${t(`${P}.execute`)}
          sendLabel=${t(`${P}.send.execute`)}
          prepare=${async () => ({ path: "/v1/merchant/ad-credit/withdrawals/execute", figures, note: t(`${P}.executeNote`) })}
          onDone=${props.onDone}
        />
        <${Flow}
          testid="ad-cancel"
          reviewLabel=${t(`${P}.cancel`)}
          sendLabel=${t(`${P}.send.cancel`)}
          prepare=${async () => ({ path: "/v1/merchant/ad-credit/withdrawals/cancel", figures, note: t(`${P}.cancelNote`) })}
          onDone=${props.onDone}
        />
      </div>`
    }
  </div>`;
}

export function Ads(props: { me: StaffMe }) {
  const view = useSignal<AdCredit | null>(null);
  const error = useSignal<string | null>(null);
  const unavailable = useSignal(false);
  const load = async () => {
    try {
      view.value = await api<AdCredit>("GET", "/v1/merchant/ad-credit");
      error.value = null;
    } catch (e) {
      if (e instanceof ApiError && e.code === "ADS_UNAVAILABLE") unavailable.value = true;
      else error.value = errorText(e);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  if (unavailable.value) return html`<p class="card" data-testid="ads-unavailable">${t(`${P}.unavailable`)}</p>`;
  if (error.value) return html`<p class="error" role="alert">${error.value}</p>`;
  const v = view.value;
  if (!v) return html`<p aria-busy="true">${t("common.loading")}</p>`;
  const symbol = settlement.value?.symbol ?? "";
  const owner = props.me.role === "owner";
  const days = formatAmount(String(v.noticePeriodSeconds / 86_400), 2);
  const refused = v.sales.refused ?? { sales: 0, vouchers: "0" };
  return html`<div data-testid="ads">
    <section class="card" aria-labelledby="ads-heading">
      <h2 id="ads-heading">${t(`${P}.heading`)}</h2>
      <dl class="figures">
        <${Figure} label=${t(`${P}.credit`)} value=${formatAmount(v.credit, 6)} unit=${symbol} testId="ad-credit" />
        <${Figure} label=${t(`${P}.issued`)} value=${formatAmount(v.vouchersIssued, 6)} testId="ad-issued" />
        <${Figure} label=${t(`${P}.converted`)} value=${formatAmount(v.vouchersConverted, 6)} testId="ad-converted" />
        <${Figure} label=${t(`${P}.backing`)} value=${formatAmount(v.backingOutstanding, 6)} unit=${symbol} testId="ad-backing" />
      </dl>
      <p class="fine">${t(`${P}.share`, { share: v.adShare })}</p>
      <p class=${refused.sales > 0 ? "check bad" : "fine"} data-testid="ad-refused" data-sales=${refused.sales}>
        ${t(`${P}.refused`, { sales: refused.sales, vouchers: formatAmount(refused.vouchers, 6) })}
      </p>
      <div class="scroll">
        <table class="table">
          <thead>
            <tr>
              <th scope="col">${t(`${P}.outcome`)}</th>
              <th scope="col">${t(`${P}.sales`)}</th>
              <th scope="col">${t(`${P}.vouchers`)}</th>
            </tr>
          </thead>
          <tbody>
            ${OUTCOMES.map(
              (o) =>
                html`<tr key=${o} data-testid=${`ad-sales-${o}`}>
                  <th scope="row">${t(`${P}.outcome.${o}`)}</th>
                  <td>${v.sales[o]?.sales ?? 0}</td>
                  <td>${formatAmount(v.sales[o]?.vouchers ?? "0", 6)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
    <section class="card" aria-labelledby="topup-heading" data-testid="ad-topup">
      <h2 id="topup-heading">${t(`${P}.topUp`)}</h2>
      <p>${t(`${P}.topUpOperator`)}</p>
      <p>${t(`${P}.topUpWallet`, { symbol })}</p>
      <dl class="addresses">
        <div>
          <dt>${t(`${P}.contract`)}</dt>
          <dd><${Hex} value=${v.topUp.contract} testId="ad-contract" /></dd>
        </div>
        <div>
          <dt>${t(`${P}.token`, { symbol })}</dt>
          <dd><${Hex} value=${v.topUp.settlement} /></dd>
        </div>
        <div>
          <dt>${t(`${P}.merchantId`)}</dt>
          <dd><code class="hex" data-testid="ad-merchant">${v.topUp.merchant}</code></dd>
        </div>
      </dl>
    </section>
    <section class="card" aria-labelledby="withdraw-heading">
      <h2 id="withdraw-heading">${t(`${P}.withdrawHeading`)}</h2>
      <p class="fine" data-testid="ad-notice">${t(`${P}.notice`, { days })}</p>
      ${v.withdrawal ? html`<${Pending} view=${v} owner=${owner} onDone=${() => void load()} />` : null}
      ${!v.withdrawal && owner ? html`<${Request} view=${v} onDone=${() => void load()} />` : null}
      ${!owner ? html`<p class="check bad" data-testid="ad-owner-only">${t(`${P}.ownerOnly`)}</p>` : null}
    </section>
  </div>`;
}
