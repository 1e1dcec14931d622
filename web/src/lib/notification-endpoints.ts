/**
 * Notification endpoints of one owner (a shop or a merchant), for the merchant portal and the
 * operator console: listed, registered (the secret shown this once), rotated (the old secret
 * signs beside the new for a day), disabled and enabled again, with each endpoint's delivery log
 * (every attempt's time, status, duration and error) and a redeliver button. `canWrite` false (a
 * merchant's staff) shows the same without the buttons; the server refuses staff whatever shows.
 * Calls that answer a secret carry no Idempotency-Key: a stored replayable answer would keep it.
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "./api";
import { html } from "./html";
import { formatDateTime, t } from "./i18n";

export interface EndpointView {
  endpointId: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  disabledReason?: string;
  previousSecretValidUntil?: string;
  createdAt: string;
}

interface Attempt {
  attempt: number;
  at: string;
  status: number | null;
  durationMs: number;
  outcome: string;
  error?: string;
}

interface DeliveryView {
  deliveryId: string;
  webhookId: string;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: Attempt[];
  nextAttemptAt?: string;
  createdAt: string;
}

export function NotificationEndpoints(props: {
  /** The API path of the owner's endpoints. */
  base: string;
  canWrite: boolean;
  /** The catalogue of the page's messages (`merchant-notifications`, `admin-notifications`). */
  catalogue: string;
  /** The event types this owner can take. */
  eventTypes: readonly string[];
  errorText(error: unknown): string;
}) {
  const P = props.catalogue;
  const endpoints = useSignal<EndpointView[] | null>(null);
  const error = useSignal<string | null>(null);
  const secret = useSignal<{ endpointId: string; secret: string; rotated: boolean } | null>(null);
  const logOf = useSignal<string | null>(null);
  const deliveries = useSignal<DeliveryView[] | null>(null);
  const busy = useSignal(false);
  const notice = useSignal<string | null>(null);

  const load = async () => {
    try {
      endpoints.value = (await api<{ endpoints: EndpointView[] }>("GET", props.base)).endpoints;
    } catch (e) {
      error.value = props.errorText(e);
    }
  };
  const loadLog = async (endpointId: string) => {
    logOf.value = endpointId;
    deliveries.value = null;
    try {
      const path = `${props.base}/${encodeURIComponent(endpointId)}/deliveries?limit=50`;
      deliveries.value = (await api<{ deliveries: DeliveryView[] }>("GET", path)).deliveries;
    } catch (e) {
      error.value = props.errorText(e);
    }
  };
  useEffect(() => {
    endpoints.value = null;
    logOf.value = null;
    secret.value = null;
    void load();
  }, [props.base]);

  const run = async (work: () => Promise<void>) => {
    busy.value = true;
    error.value = null;
    notice.value = null;
    try {
      await work();
    } catch (e) {
      error.value = props.errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const url = (form.elements.namedItem("url") as HTMLInputElement).value.trim();
    const eventTypes = props.eventTypes.filter((type) => (form.elements.namedItem(`type-${type}`) as HTMLInputElement).checked);
    void run(async () => {
      const made = await api<EndpointView & { secret: string }>("POST", props.base, { body: { url, eventTypes } });
      secret.value = { endpointId: made.endpointId, secret: made.secret, rotated: false };
      form.reset();
      await load();
    });
  };
  const rotate = (endpointId: string) =>
    run(async () => {
      const path = `${props.base}/${encodeURIComponent(endpointId)}/secret-rotations`;
      const made = await api<EndpointView & { secret: string }>("POST", path, { body: {} });
      secret.value = { endpointId, secret: made.secret, rotated: true };
      await load();
    });
  const setEnabled = (endpointId: string, enabled: boolean) =>
    run(async () => {
      await api("PUT", `${props.base}/${encodeURIComponent(endpointId)}`, { body: { enabled }, idempotencyKey: newIdempotencyKey() });
      await load();
    });
  const redeliver = (endpointId: string, deliveryId: string) =>
    run(async () => {
      const path = `${props.base}/${encodeURIComponent(endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`;
      await api("POST", path, { idempotencyKey: newIdempotencyKey() });
      notice.value = t(`${P}.redelivered`, { id: deliveryId });
      await loadLog(endpointId);
    });

  const lastStatus = (d: DeliveryView) => {
    const last = d.attempts[d.attempts.length - 1];
    return last ? (last.status === null ? t(`${P}.noStatus`) : String(last.status)) : "—";
  };

  return html`<div data-testid="notifications">
    <section class="card" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">${t(`${P}.heading`)}</h2>
      <p class="fine">${t(`${P}.lead`)}</p>
      ${!props.canWrite ? html`<p class="check bad" data-testid="notifications-read-only">${t(`${P}.readOnly`)}</p>` : null}
      ${
        props.canWrite &&
        html`<form class="stack" onSubmit=${create} data-testid="endpoint-form">
          <label for="endpoint-url"
            >${t(`${P}.url`)}
            <input
              id="endpoint-url"
              name="url"
              type="url"
              required
              inputmode="url"
              placeholder="https://"
              autocomplete="off"
              data-testid="endpoint-url"
          /></label>
          <fieldset>
            <legend>${t(`${P}.types`)}</legend>
            ${props.eventTypes.map(
              (type) =>
                html`<label key=${type} class="check-line"
                  ><input type="checkbox" name=${`type-${type}`} checked data-testid=${`endpoint-type-${type}`} />
                  <code>${type}</code></label
                >`,
            )}
          </fieldset>
          <div class="actions">
            <button type="submit" class="primary" disabled=${busy.value} data-testid="endpoint-create">${t(`${P}.create`)}</button>
          </div>
        </form>`
      }
      ${
        secret.value &&
        html`<div class="confirm key-new" role="status" data-testid="endpoint-secret-box" data-endpoint=${secret.value.endpointId}>
          <p><strong>${t(secret.value.rotated ? `${P}.rotatedOnce` : `${P}.once`)}</strong></p>
          <label for="endpoint-secret"
            >${t(`${P}.secret`, { id: secret.value.endpointId })}
            <input
              id="endpoint-secret"
              readonly
              value=${secret.value.secret}
              data-testid="endpoint-secret"
              onFocus=${(e: Event) => (e.target as HTMLInputElement).select()}
          /></label>
          <button type="button" class="secondary" onClick=${() => (secret.value = null)} data-testid="endpoint-secret-hide">
            ${t(`${P}.copied`)}
          </button>
        </div>`
      }
      <p class=${error.value ? "error" : ""} role="alert" data-testid="notifications-error">${error.value ?? ""}</p>
      <p role="status" data-testid="notifications-notice">${notice.value ?? ""}</p>
      ${endpoints.value === null ? html`<p aria-busy="true">${t("common.loading")}</p>` : null}
      ${endpoints.value && endpoints.value.length === 0 ? html`<p data-testid="endpoints-none">${t(`${P}.none`)}</p>` : null}
      ${
        endpoints.value &&
        endpoints.value.length > 0 &&
        html`<ul class="endpoint-list" data-testid="endpoints-list">
          ${endpoints.value.map(
            (e) =>
              html`<li key=${e.endpointId} data-testid="endpoint-row" data-endpoint=${e.endpointId} data-enabled=${String(e.enabled)}>
                <dl>
                  <div>
                    <dt>${t(`${P}.col.url`)}</dt>
                    <dd><code class="hex">${e.url}</code></dd>
                  </div>
                  <div>
                    <dt>${t(`${P}.col.types`)}</dt>
                    <dd>${e.eventTypes.map((type) => html`<code key=${type} class="event-type">${type}</code> `)}</dd>
                  </div>
                  <div>
                    <dt>${t(`${P}.col.state`)}</dt>
                    <dd>
                      ${e.enabled ? t(`${P}.enabled`) : t(`${P}.disabled`, { reason: e.disabledReason ?? "" })}
                      ${
                        e.previousSecretValidUntil
                          ? html`<br /><span class="fine">${t(`${P}.overlap`, { at: formatDateTime(e.previousSecretValidUntil) })}</span>`
                          : null
                      }
                    </dd>
                  </div>
                </dl>
                <div class="actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label=${t(`${P}.logNamed`, { url: e.url })}
                    onClick=${() => void loadLog(e.endpointId)}
                    data-testid="endpoint-log"
                  >
                    ${t(`${P}.log`)}
                  </button>
                  ${
                    props.canWrite &&
                    html`<button
                        type="button"
                        class="secondary"
                        disabled=${busy.value}
                        aria-label=${t(`${P}.rotateNamed`, { url: e.url })}
                        onClick=${() => void rotate(e.endpointId)}
                        data-testid="endpoint-rotate"
                      >
                        ${t(`${P}.rotate`)}
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        disabled=${busy.value}
                        onClick=${() => void setEnabled(e.endpointId, !e.enabled)}
                        data-testid="endpoint-toggle"
                      >
                        ${e.enabled ? t(`${P}.disable`) : t(`${P}.enable`)}
                      </button>`
                  }
                </div>
              </li>`,
          )}
        </ul>`
      }
    </section>
    ${
      logOf.value &&
      html`<section class="card" aria-labelledby="deliveries-heading" data-testid="deliveries" data-endpoint=${logOf.value}>
        <h2 id="deliveries-heading">${t(`${P}.logHeading`)}</h2>
        <p class="fine">${t(`${P}.logLead`)}</p>
        ${deliveries.value === null ? html`<p aria-busy="true">${t("common.loading")}</p>` : null}
        ${deliveries.value && deliveries.value.length === 0 ? html`<p data-testid="deliveries-none">${t(`${P}.logNone`)}</p>` : null}
        ${
          deliveries.value &&
          deliveries.value.length > 0 &&
          html`<ul class="delivery-list" data-testid="deliveries-list">
            ${deliveries.value.map(
              (d) =>
                html`<li key=${d.deliveryId} data-testid="delivery-row" data-delivery=${d.deliveryId} data-state=${d.state}>
                  <p class="delivery-head">
                    <code class="event-type">${d.type}</code>
                    <span class=${`status ${d.state === "delivered" ? "confirmed" : d.state === "failed" ? "rejected" : "queued"}`}
                      >${t(`${P}.state.${d.state}`)} · ${lastStatus(d)}</span
                    >
                  </p>
                  <p class="fine">
                    ${formatDateTime(d.createdAt)}
                    ${d.nextAttemptAt ? html` · ${t(`${P}.next`, { at: formatDateTime(d.nextAttemptAt) })}` : null}
                  </p>
                  <details data-testid="delivery-attempts">
                    <summary>${t(`${P}.attempts`, { n: d.attempts.length })}</summary>
                    <ol>
                      ${d.attempts.map(
                        (a) =>
                          html`<li key=${a.attempt}>
                            ${formatDateTime(a.at)} · ${a.status ?? t(`${P}.noStatus`)} · ${t(`${P}.ms`, { ms: a.durationMs })}
                            ${a.error ? html` · <span class="fine">${a.error}</span>` : null}
                          </li>`,
                      )}
                    </ol>
                    <p class="fine">webhook-id <code class="hex">${d.webhookId}</code></p>
                  </details>
                  ${
                    props.canWrite
                      ? html`<div class="actions">
                          <button
                            type="button"
                            class="secondary"
                            disabled=${busy.value}
                            onClick=${() => void redeliver(logOf.value!, d.deliveryId)}
                            data-testid="delivery-redeliver"
                          >
                            ${t(`${P}.redeliver`)}
                          </button>
                        </div>`
                      : null
                  }
                </li>`,
            )}
          </ul>`
        }
        <div class="actions">
          <button type="button" class="secondary" onClick=${() => void loadLog(logOf.value!)} data-testid="deliveries-refresh">
            ${t(`${P}.refresh`)}
          </button>
        </div>
      </section>`
    }
  </div>`;
}
