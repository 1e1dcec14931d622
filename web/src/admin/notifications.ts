/**
 * The operator's view of notification endpoints: a shop's (order events) or a merchant's
 * (payments, redemptions, ad credit), chosen from the deployment's shops and merchants, with the
 * same list, delivery log, rotation and redeliver as the owners have. Each change is in the audit
 * log under the operator's name (the server records it).
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api } from "../lib/api";
import { html } from "../lib/html";
import { t } from "../lib/i18n";
import { NotificationEndpoints } from "../lib/notification-endpoints";
import { errorText } from "./console-parts";

const P = "admin-notifications";
const SHOP_EVENTS = ["order.pending", "order.confirmed", "order.rejected", "order.refunded"] as const;
const MERCHANT_EVENTS = ["payment.received", "redemption.paid", "ad_credit.low"] as const;

interface Owner {
  kind: "shop" | "merchant";
  id: string;
  name: string;
}

export function Notifications() {
  const owners = useSignal<Owner[] | null>(null);
  const chosen = useSignal<string>("");
  const error = useSignal<string | null>(null);
  useEffect(() => {
    void (async () => {
      try {
        const [shops, merchants] = await Promise.all([
          api<{ shops: { shopId: string; name: string }[] }>("GET", "/v1/admin/shops"),
          api<{ merchants: { merchantId: string; name: string }[] }>("GET", "/v1/admin/merchants"),
        ]);
        owners.value = [
          ...shops.shops.map((s) => ({ kind: "shop" as const, id: s.shopId, name: s.name })),
          ...merchants.merchants.map((m) => ({ kind: "merchant" as const, id: m.merchantId, name: m.name })),
        ];
      } catch (e) {
        error.value = errorText(e);
      }
    })();
  }, []);
  const owner = owners.value?.find((o) => `${o.kind}:${o.id}` === chosen.value) ?? null;
  const base = owner
    ? owner.kind === "shop"
      ? `/v1/shops/${encodeURIComponent(owner.id)}/notification-endpoints`
      : `/v1/admin/merchants/${encodeURIComponent(owner.id)}/notification-endpoints`
    : null;
  return html`<div class="notifications-owner" data-testid="admin-notifications">
    <section class="card" aria-labelledby="notifications-owner-heading">
      <h2 id="notifications-owner-heading">${t(`${P}.owner`)}</h2>
      <p class=${error.value ? "error" : ""} role="alert">${error.value ?? ""}</p>
      <label for="notifications-owner"
        >${t(`${P}.ownerLabel`)}
        <select
          id="notifications-owner"
          data-testid="notifications-owner"
          value=${chosen.value}
          onChange=${(e: Event) => (chosen.value = (e.target as HTMLSelectElement).value)}
        >
          <option value="">${t(`${P}.pick`)}</option>
          <optgroup label=${t(`${P}.ownerShop`)}>
            ${(owners.value ?? [])
              .filter((o) => o.kind === "shop")
              .map((o) => html`<option key=${o.id} value=${`shop:${o.id}`}>${o.name} (${o.id})</option>`)}
          </optgroup>
          <optgroup label=${t(`${P}.ownerMerchant`)}>
            ${(owners.value ?? [])
              .filter((o) => o.kind === "merchant")
              .map((o) => html`<option key=${o.id} value=${`merchant:${o.id}`}>${o.name} (${o.id})</option>`)}
          </optgroup>
        </select></label
      >
    </section>
    ${
      owner &&
      base &&
      html`<${NotificationEndpoints}
        base=${base}
        canWrite=${true}
        catalogue=${P}
        eventTypes=${owner.kind === "shop" ? SHOP_EVENTS : MERCHANT_EVENTS}
        errorText=${errorText}
      />`
    }
  </div>`;
}
