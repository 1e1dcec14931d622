/**
 * The operator's shops: a new shop (its webhook secret shown once), every shop with its orders by
 * state and what it used of its limits today, and per shop a new secret (shown once; the old one
 * stops at once), its limits (GET/PUT /v1/admin/shops/{id}/limits; empty: the deployment's
 * default) and the ad merchants its orders may name. The server's audit log names the operator
 * for each change.
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";
import { ShownOnce, errorText, field } from "./console-parts";

const P = "admin-shops";

type OrderCounts = { pending: number; received: number; submitted: number; confirmed: number; rejected: number; cancelled: number };
interface Shop {
  shopId: string;
  name: string;
  createdAt: string;
  limits: { perOrder: string; perDay: string; outstanding: string };
  today: string;
  outstanding: string;
  orders: OrderCounts;
}
interface Usage {
  shopId: string;
  limits: { perOrder: string; perDay: string; outstanding: string; own: { perOrder: boolean; perDay: boolean; outstanding: boolean } };
  today: string;
  outstanding: string;
}
interface Credentials {
  shopId: string;
  webhookSecret: string;
}
interface AdMerchants {
  shopId: string;
  adMerchants: { merchantId: string; allowedBy: string; createdAt: string }[];
}
interface MerchantName {
  merchantId: string;
  name: string;
  suspended: boolean;
}

const shops = signal<Shop[] | null>(null);
const loadError = signal<string | null>(null);

async function load(): Promise<void> {
  try {
    shops.value = (await api<{ shops: Shop[] }>("GET", "/v1/admin/shops")).shops;
    loadError.value = null;
  } catch (error) {
    loadError.value = errorText(error);
  }
}

function NewShop() {
  const made = useSignal<(Credentials & { name: string }) | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = field(form, "name").trim();
    busy.value = true;
    error.value = null;
    try {
      const credentials = await api<Credentials>("POST", "/v1/admin/shops", { body: { name }, idempotencyKey: newIdempotencyKey() });
      made.value = { ...credentials, name };
      form.reset();
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  return html`<section class="card" aria-labelledby="shops-new-heading">
    <h2 id="shops-new-heading">${t(`${P}.newHeading`)}</h2>
    <p class="fine">${t(`${P}.newHelp`)}</p>
    <form onSubmit=${submit} aria-describedby="shops-new-error" data-testid="shop-create-form">
      <label>
        ${t(`${P}.name`)}
        <input name="name" required maxlength="200" autocomplete="off" data-testid="shop-name" />
      </label>
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy.value} data-testid="shop-create">${t(`${P}.create`)}</button>
      </div>
    </form>
    <p id="shops-new-error" class=${error.value ? "error" : ""} role="alert" data-testid="shop-create-error">${error.value ?? ""}</p>
    ${
      made.value &&
      html`<${ShownOnce}
        heading=${t(`${P}.madeHeading`, { name: made.value.name })}
        items=${[
          { label: t(`${P}.shopId`), value: made.value.shopId, testid: "shop-made-id" },
          { label: t(`${P}.secret`), value: made.value.webhookSecret, testid: "shop-made-secret", secret: true },
        ]}
        onDone=${() => (made.value = null)}
      >
        <p class="fine">${t(`${P}.secretHelp`)}</p>
      <//>`
    }
  </section>`;
}

/**
 * The shop's statement for a period (GET /v1/shops/{shopId}/statement): what it owes the platform
 * or has prepaid, read here, and the same period's CSV by a plain link (a GET takes the session's
 * cookie, no CSRF header).
 */
function Statement(props: { shopId: string }) {
  const days = useSignal(30);
  const figures = useSignal<{ owesPlatform: string; prepaid: string; outstanding: string } | null>(null);
  const error = useSignal<string | null>(null);
  const period = () => {
    const to = new Date();
    const from = new Date(to.getTime() - days.value * 24 * 3600 * 1000);
    return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
  };
  const base = `/v1/shops/${encodeURIComponent(props.shopId)}/statement`;
  const read = async () => {
    error.value = null;
    try {
      figures.value = await api<{ owesPlatform: string; prepaid: string; outstanding: string }>("GET", `${base}?${period()}`);
    } catch (e) {
      error.value = errorText(e);
    }
  };
  return html`<div class="console-part shop-statement" data-testid="shop-statement">
    <h3>${t(`${P}.statementHeading`)}</h3>
    <label for=${`statement-days-${props.shopId}`}>${t(`${P}.statementDays`)}</label>
    <select
      id=${`statement-days-${props.shopId}`}
      value=${String(days.value)}
      onChange=${(e: Event) => {
        days.value = Number((e.currentTarget as HTMLSelectElement).value);
        figures.value = null;
      }}
      data-testid="shop-statement-days"
    >
      ${[7, 30, 90, 366].map((n) => html`<option value=${String(n)}>${t(`${P}.statementLast`, { days: n })}</option>`)}
    </select>
    <button type="button" class="secondary" onClick=${() => void read()} data-testid="shop-statement-read">
      ${t(`${P}.statementRead`)}
    </button>
    ${
      figures.value &&
      html`<dl class="figures">
        <div class="figure">
          <dt>${t(`${P}.owesPlatform`)}</dt>
          <dd data-testid="shop-statement-owes" data-value=${figures.value.owesPlatform}>${formatAmount(figures.value.owesPlatform, 6)}</dd>
        </div>
        <div class="figure">
          <dt>${t(`${P}.prepaid`)}</dt>
          <dd data-testid="shop-statement-prepaid" data-value=${figures.value.prepaid}>${formatAmount(figures.value.prepaid, 6)}</dd>
        </div>
      </dl>`
    }
    <a class="button" href=${`${base}?${period()}&format=csv`} download=${`statement-${props.shopId}.csv`} data-testid="shop-statement-csv">
      ${t(`${P}.statementCsv`)}
    </a>
    <p class=${error.value ? "error" : ""} role="alert">${error.value ?? ""}</p>
  </div>`;
}

/** A new webhook secret, asked for twice (the old one stops at once). */
function Rotate(props: { shop: Shop }) {
  const step = useSignal<"idle" | "confirm">("idle");
  const secret = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const rotate = async () => {
    busy.value = true;
    error.value = null;
    try {
      const rotated = await api<Credentials>("POST", `/v1/admin/shops/${encodeURIComponent(props.shop.shopId)}/rotate-secret`, {
        idempotencyKey: newIdempotencyKey(),
      });
      secret.value = rotated.webhookSecret;
      step.value = "idle";
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  return html`<div class="shop-part">
    <h3>${t(`${P}.rotateHeading`)}</h3>
    <p class="fine">${t(`${P}.rotateHelp`)}</p>
    ${
      step.value === "idle" &&
      !secret.value &&
      html`<button type="button" class="secondary" onClick=${() => (step.value = "confirm")} data-testid="shop-rotate">
        ${t(`${P}.rotate`)}
      </button>`
    }
    ${
      step.value === "confirm" &&
      html`<div class="confirm" data-testid="shop-rotate-confirm">
        <p>${t(`${P}.rotateConfirm`, { name: props.shop.name })}</p>
        <div class="actions">
          <button type="button" class="primary" disabled=${busy.value} onClick=${() => void rotate()} data-testid="shop-rotate-send">
            ${t(`${P}.rotate`)}
          </button>
          <button type="button" class="secondary" disabled=${busy.value} onClick=${() => (step.value = "idle")}>${t(`${P}.back`)}</button>
        </div>
      </div>`
    }
    <p class=${error.value ? "error" : ""} role="alert" data-testid="shop-rotate-error">${error.value ?? ""}</p>
    ${
      secret.value &&
      html`<${ShownOnce}
        heading=${t(`${P}.rotatedHeading`, { name: props.shop.name })}
        items=${[{ label: t(`${P}.secret`), value: secret.value, testid: "shop-rotated-secret", secret: true }]}
        onDone=${() => (secret.value = null)}
      />`
    }
  </div>`;
}

function Limits(props: { shopId: string }) {
  const usage = useSignal<Usage | null>(null);
  const error = useSignal<string | null>(null);
  const saved = useSignal(false);
  const busy = useSignal(false);
  const path = `/v1/admin/shops/${encodeURIComponent(props.shopId)}/limits`;
  useEffect(() => {
    api<Usage>("GET", path).then(
      (u) => (usage.value = u),
      (e: unknown) => (error.value = errorText(e)),
    );
  }, [props.shopId]);
  const names = ["perOrder", "perDay", "outstanding"] as const;
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    // An empty field returns that limit to the deployment's default.
    const body = Object.fromEntries(names.map((n) => [n, field(form, n).trim() || null]));
    busy.value = true;
    error.value = null;
    saved.value = false;
    try {
      usage.value = await api<Usage>("PUT", path, { body, idempotencyKey: newIdempotencyKey() });
      saved.value = true;
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const u = usage.value;
  return html`<div class="shop-part" data-testid="shop-limits">
    <h3>${t(`${P}.limitsHeading`)}</h3>
    <p class="fine">${t(`${P}.limitsHelp`)}</p>
    ${
      u
        ? html`<form onSubmit=${submit} aria-describedby=${`limits-error-${props.shopId}`}>
            <div class="params-fields">
              ${names.map(
                (n) =>
                  html`<label key=${n}>
                    ${t(`${P}.limit.${n}`)}
                    <input
                      name=${n}
                      inputmode="decimal"
                      autocomplete="off"
                      value=${u.limits.own[n] ? u.limits[n] : ""}
                      placeholder=${t(`${P}.default`, { value: formatAmount(u.limits[n], 6) })}
                      data-testid=${`shop-limit-${n}`}
                    />
                  </label>`,
              )}
            </div>
            <div class="actions">
              <button type="submit" class="primary" disabled=${busy.value} data-testid="shop-limits-save">${t(`${P}.saveLimits`)}</button>
            </div>
          </form>`
        : !error.value && html`<p aria-busy="true">${t("common.loading")}</p>`
    }
    <p id=${`limits-error-${props.shopId}`} class=${error.value ? "error" : ""} role="alert" data-testid="shop-limits-error">
      ${error.value ?? ""}
    </p>
    ${saved.value && html`<p class="check ok" role="status" data-testid="shop-limits-saved">${t(`${P}.limitsSaved`)}</p>`}
  </div>`;
}

function AdMerchantsOf(props: { shopId: string }) {
  const allowed = useSignal<AdMerchants | null>(null);
  const merchants = useSignal<MerchantName[]>([]);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const base = `/v1/admin/shops/${encodeURIComponent(props.shopId)}/ad-merchants`;
  useEffect(() => {
    Promise.all([api<AdMerchants>("GET", base), api<{ merchants: MerchantName[] }>("GET", "/v1/admin/merchants")]).then(
      ([a, m]) => {
        allowed.value = a;
        merchants.value = m.merchants;
      },
      (e: unknown) => (error.value = errorText(e)),
    );
  }, [props.shopId]);
  const change = async (method: "PUT" | "DELETE", merchantId: string) => {
    busy.value = true;
    error.value = null;
    try {
      allowed.value = await api<AdMerchants>(method, `${base}/${encodeURIComponent(merchantId)}`, { idempotencyKey: newIdempotencyKey() });
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const nameOf = (id: string) => merchants.value.find((m) => m.merchantId === id)?.name ?? id;
  const list = allowed.value?.adMerchants ?? [];
  const others = merchants.value.filter((m) => !list.some((a) => a.merchantId === m.merchantId));
  const submit = (event: Event) => {
    event.preventDefault();
    const id = field(event.currentTarget as HTMLFormElement, "merchantId");
    if (id) void change("PUT", id);
  };
  return html`<div class="shop-part" data-testid="shop-ad-merchants">
    <h3>${t(`${P}.adHeading`)}</h3>
    <p class="fine">${t(`${P}.adHelp`)}</p>
    ${allowed.value && list.length === 0 && html`<p class="empty" data-testid="shop-ad-none">${t(`${P}.adNone`)}</p>`}
    <ul class="plain">
      ${list.map(
        (a) =>
          html`<li key=${a.merchantId} data-testid=${`shop-ad-${a.merchantId}`}>
            ${nameOf(a.merchantId)}
            <span class="fine">${t(a.allowedBy === "admin" ? `${P}.byOperator` : `${P}.byMerchant`)}</span>
            <button
              type="button"
              class="link"
              disabled=${busy.value}
              aria-label=${t(`${P}.adRevokeNamed`, { name: nameOf(a.merchantId) })}
              onClick=${() => void change("DELETE", a.merchantId)}
              data-testid=${`shop-ad-revoke-${a.merchantId}`}
            >
              ${t(`${P}.adRevoke`)}
            </button>
          </li>`,
      )}
    </ul>
    ${
      others.length > 0 &&
      html`<form onSubmit=${submit} class="inline-form">
        <label>
          ${t(`${P}.adMerchant`)}
          <select name="merchantId" data-testid="shop-ad-select">
            ${others.map((m) => html`<option key=${m.merchantId} value=${m.merchantId}>${m.name}</option>`)}
          </select>
        </label>
        <div class="actions">
          <button type="submit" class="secondary" disabled=${busy.value} data-testid="shop-ad-allow">${t(`${P}.adAllow`)}</button>
        </div>
      </form>`
    }
    <p class=${error.value ? "error" : ""} role="alert">${error.value ?? ""}</p>
  </div>`;
}

function ShopCard(props: { shop: Shop; open: boolean; onToggle: () => void }) {
  const s = props.shop;
  // Held for the shop's window, received or on their way: not minted yet.
  const waiting = s.orders.pending + s.orders.received + s.orders.submitted;
  return html`<li class="card shop" data-testid=${`shop-${s.shopId}`}>
    <div class="shop-head">
      <h3>${s.name}</h3>
      <code class="hex" data-testid="shop-id">${s.shopId}</code>
    </div>
    <dl class="figures">
      <div class="figure">
        <dt>${t(`${P}.confirmed`)}</dt>
        <dd data-testid="shop-orders-confirmed" data-value=${s.orders.confirmed}>${s.orders.confirmed}</dd>
      </div>
      <div class="figure">
        <dt>${t(`${P}.waiting`)}</dt>
        <dd data-testid="shop-orders-waiting" data-value=${waiting}>${waiting}</dd>
      </div>
      <div class="figure">
        <dt>${t(`${P}.rejected`)}</dt>
        <dd data-testid="shop-orders-rejected" data-value=${s.orders.rejected}>${s.orders.rejected}</dd>
      </div>
      <div class="figure">
        <dt>${t(`${P}.today`)}</dt>
        <dd data-testid="shop-today">${formatAmount(s.today, 6)} <span class="unit">/ ${formatAmount(s.limits.perDay, 6)}</span></dd>
      </div>
      <div class="figure">
        <dt>${t(`${P}.outstanding`)}</dt>
        <dd data-testid="shop-outstanding">
          ${formatAmount(s.outstanding, 6)} <span class="unit">/ ${formatAmount(s.limits.outstanding, 6)}</span>
        </dd>
      </div>
    </dl>
    <p class="fine">${t(`${P}.since`, { date: formatDateTime(s.createdAt), perOrder: formatAmount(s.limits.perOrder, 6) })}</p>
    <button
      type="button"
      class="secondary"
      aria-expanded=${String(props.open)}
      aria-label=${t(`${P}.manageNamed`, { name: s.name })}
      onClick=${props.onToggle}
      data-testid="shop-manage"
    >
      ${t(props.open ? `${P}.close` : `${P}.manage`)}
    </button>
    ${
      props.open &&
      html`<div class="shop-manage">
        <${Statement} shopId=${s.shopId} />
        <${Rotate} shop=${s} />
        <${Limits} shopId=${s.shopId} />
        <${AdMerchantsOf} shopId=${s.shopId} />
      </div>`
    }
  </li>`;
}

export function Shops(_props: { me: StaffMe }) {
  const open = useSignal<string | null>(null);
  useEffect(() => {
    void load();
  }, []);
  const list = shops.value;
  return html`<div class="console-part" data-testid="shops">
    <p class="lead">${t(`${P}.lead`)}</p>
    <${NewShop} />
    <section aria-labelledby="shops-list-heading">
      <div class="part-head">
        <h2 id="shops-list-heading">${t(`${P}.listHeading`)}</h2>
        <button type="button" class="secondary" onClick=${() => void load()} data-testid="shops-refresh">${t(`${P}.refresh`)}</button>
      </div>
      ${loadError.value && html`<p class="error" role="alert">${loadError.value}</p>`}
      ${!list && !loadError.value && html`<p aria-busy="true">${t("common.loading")}</p>`}
      ${list && list.length === 0 && html`<p class="empty">${t(`${P}.none`)}</p>`}
      <ul class="plain cards">
        ${(list ?? []).map(
          (s) =>
            html`<${ShopCard}
              key=${s.shopId}
              shop=${s}
              open=${open.value === s.shopId}
              onToggle=${() => (open.value = open.value === s.shopId ? null : s.shopId)}
            />`,
        )}
      </ul>
    </section>
  </div>`;
}
