/**
 * The merchant's API keys, which stay for its machines (a till, a shop's server): listed, issued
 * (the secret shown this once, never again: only its hash is kept) and revoked after a
 * confirmation. The owner's alone; the server refuses staff (403), and this tab says so.
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatDateTime, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";
import { errorText } from "./state";

const P = "merchant-keys";

interface Key {
  keyId: string;
  createdAt: string;
  revokedAt: string | null;
}

export function Keys(props: { me: StaffMe }) {
  const keys = useSignal<Key[] | null>(null);
  const error = useSignal<string | null>(null);
  const secret = useSignal<{ keyId: string; apiKey: string } | null>(null);
  const confirming = useSignal<string | null>(null);
  const busy = useSignal(false);
  const owner = props.me.role === "owner";
  const load = async () => {
    try {
      keys.value = (await api<{ keys: Key[] }>("GET", "/v1/merchant/keys")).keys;
    } catch (e) {
      error.value = errorText(e);
    }
  };
  useEffect(() => {
    if (owner) void load();
  }, []);
  if (!owner) return html`<p class="check bad" data-testid="keys-owner-only">${t(`${P}.ownerOnly`)}</p>`;

  const create = async () => {
    busy.value = true;
    error.value = null;
    try {
      // No Idempotency-Key: a replayable answer would keep the secret in the server's idempotency table.
      // Without one the server still issues it in one transaction; a double click makes two keys, both listed and revocable.
      secret.value = await api<{ keyId: string; apiKey: string }>("POST", "/v1/merchant/keys");
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const revoke = async (keyId: string) => {
    busy.value = true;
    error.value = null;
    try {
      await api("DELETE", `/v1/merchant/keys/${encodeURIComponent(keyId)}`, { idempotencyKey: newIdempotencyKey() });
      confirming.value = null;
      if (secret.value?.keyId === keyId) secret.value = null;
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };

  return html`<div data-testid="keys">
    <section class="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">${t(`${P}.heading`)}</h2>
      <p class="fine">${t(`${P}.lead`)}</p>
      <div class="actions">
        <button type="button" class="primary" disabled=${busy.value} onClick=${() => void create()} data-testid="key-create">
          ${t(`${P}.create`)}
        </button>
      </div>
      ${
        secret.value &&
        html`<div class="confirm key-new" data-testid="key-new" data-key=${secret.value.keyId} role="status">
          <p><strong>${t(`${P}.once`)}</strong></p>
          <label for="key-secret">
            ${t(`${P}.secret`, { keyId: secret.value.keyId })}
            <input
              id="key-secret"
              readonly
              value=${secret.value.apiKey}
              data-testid="key-secret"
              onFocus=${(e: Event) => (e.target as HTMLInputElement).select()}
            />
          </label>
          <button type="button" class="secondary" onClick=${() => (secret.value = null)} data-testid="key-hide">${t(`${P}.copied`)}</button>
        </div>`
      }
      <p class=${error.value ? "error" : ""} role="alert" data-testid="keys-error">${error.value ?? ""}</p>
      ${
        keys.value &&
        html`<div class="scroll">
          <table class="table" data-testid="keys-table">
            <thead>
              <tr>
                <th scope="col">${t(`${P}.col.key`)}</th>
                <th scope="col">${t(`${P}.col.created`)}</th>
                <th scope="col">${t(`${P}.col.state`)}</th>
              </tr>
            </thead>
            <tbody>
              ${keys.value.map(
                (k) =>
                  html`<tr key=${k.keyId} data-testid="key-row" data-key=${k.keyId} data-revoked=${String(k.revokedAt !== null)}>
                    <td><code class="hex">${k.keyId}</code></td>
                    <td>${formatDateTime(k.createdAt)}</td>
                    <td>
                      ${
                        k.revokedAt
                          ? t(`${P}.revokedAt`, { at: formatDateTime(k.revokedAt) })
                          : confirming.value === k.keyId
                            ? html`<span class="actions">
                                <button
                                  type="button"
                                  class="primary"
                                  disabled=${busy.value}
                                  onClick=${() => void revoke(k.keyId)}
                                  data-testid="key-revoke-send"
                                >
                                  ${t(`${P}.revokeConfirm`)}
                                </button>
                                <button type="button" class="secondary" onClick=${() => (confirming.value = null)}>
                                  ${t("merchant.back")}
                                </button>
                              </span>`
                            : html`<span class="key-state"
                                >${t(`${P}.live`)}
                                <button
                                  type="button"
                                  class="secondary"
                                  aria-label=${t(`${P}.revokeNamed`, { keyId: k.keyId })}
                                  onClick=${() => (confirming.value = k.keyId)}
                                  data-testid="key-revoke"
                                >
                                  ${t(`${P}.revoke`)}
                                </button></span
                              >`
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      }
    </section>
  </div>`;
}
