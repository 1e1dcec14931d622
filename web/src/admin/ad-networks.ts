/**
 * The operator's ad networks: registering one that signs its callbacks with HMAC-SHA256 (its
 * shared secret shown once) or Ed25519 (its public key given, or a key pair made here for trials
 * with the private key shown once), and every network with its callback path. The server's audit
 * log names the operator for each registration.
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatDateTime, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";
import { ShownOnce, errorText, field } from "./console-parts";

const P = "admin-ad-networks";

type Scheme = "hmac-sha256" | "ed25519";
interface Network {
  networkId: string;
  name: string;
  scheme: Scheme;
  publicKey: string | null;
  callbackPath: string;
  createdAt: string;
}
interface Registered {
  networkId: string;
  scheme: Scheme;
  secret?: string;
  privateKey?: string;
  callbackPath: string;
}

const networks = signal<Network[] | null>(null);
const loadError = signal<string | null>(null);

async function load(): Promise<void> {
  try {
    networks.value = (await api<{ networks: Network[] }>("GET", "/v1/admin/ad-networks")).networks;
    loadError.value = null;
  } catch (error) {
    loadError.value = errorText(error);
  }
}

function Register() {
  const scheme = useSignal<Scheme>("hmac-sha256");
  const made = useSignal<(Registered & { name: string }) | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = field(form, "name").trim();
    const publicKey = scheme.value === "ed25519" ? field(form, "publicKey").trim() : "";
    busy.value = true;
    error.value = null;
    try {
      const registered = await api<Registered>("POST", "/v1/admin/ad-networks", {
        body: { name, scheme: scheme.value, ...(publicKey ? { publicKey } : {}) },
        idempotencyKey: newIdempotencyKey(),
      });
      made.value = { ...registered, name };
      form.reset();
      scheme.value = "hmac-sha256";
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const m = made.value;
  return html`<section class="card" aria-labelledby="networks-new-heading">
    <h2 id="networks-new-heading">${t(`${P}.newHeading`)}</h2>
    <p class="fine">${t(`${P}.newHelp`)}</p>
    <form onSubmit=${submit} aria-describedby="networks-new-error" data-testid="network-form">
      <div class="params-fields">
        <label>
          ${t(`${P}.name`)}
          <input name="name" required maxlength="200" autocomplete="off" data-testid="network-name" />
        </label>
        <label>
          ${t(`${P}.scheme`)}
          <select
            name="scheme"
            value=${scheme.value}
            onChange=${(e: Event) => (scheme.value = (e.currentTarget as HTMLSelectElement).value as Scheme)}
            data-testid="network-scheme"
          >
            <option value="hmac-sha256">${t(`${P}.scheme.hmac-sha256`)}</option>
            <option value="ed25519">${t(`${P}.scheme.ed25519`)}</option>
          </select>
        </label>
      </div>
      ${
        scheme.value === "ed25519" &&
        html`<label>
          ${t(`${P}.publicKey`)}
          <textarea
            name="publicKey"
            rows="4"
            spellcheck="false"
            placeholder="-----BEGIN PUBLIC KEY-----"
            aria-describedby="networks-key-help"
            data-testid="network-public-key"
          ></textarea>
          <span id="networks-key-help" class="fine">${t(`${P}.publicKeyHelp`)}</span>
        </label>`
      }
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy.value} data-testid="network-register">${t(`${P}.register`)}</button>
      </div>
    </form>
    <p id="networks-new-error" class=${error.value ? "error" : ""} role="alert" data-testid="network-error">${error.value ?? ""}</p>
    ${
      m &&
      html`<${ShownOnce}
        heading=${t(`${P}.madeHeading`, { name: m.name })}
        items=${[
          { label: t(`${P}.networkId`), value: m.networkId, testid: "network-made-id" },
          { label: t(`${P}.callbackPath`), value: m.callbackPath, testid: "network-made-callback" },
          ...(m.secret ? [{ label: t(`${P}.secret`), value: m.secret, testid: "network-made-secret", secret: true }] : []),
          ...(m.privateKey ? [{ label: t(`${P}.privateKey`), value: m.privateKey, testid: "network-made-private-key", secret: true }] : []),
        ]}
        onDone=${() => (made.value = null)}
      >
        <p class="fine">${t(m.scheme === "hmac-sha256" ? `${P}.hmacHelp` : m.privateKey ? `${P}.trialHelp` : `${P}.edHelp`)}</p>
      <//>`
    }
  </section>`;
}

export function AdNetworks(_props: { me: StaffMe }) {
  useEffect(() => {
    void load();
  }, []);
  const list = networks.value;
  return html`<div class="console-part" data-testid="ad-networks">
    <p class="lead">${t(`${P}.lead`)}</p>
    <${Register} />
    <section class="card" aria-labelledby="networks-list-heading">
      <h2 id="networks-list-heading">${t(`${P}.listHeading`)}</h2>
      ${loadError.value && html`<p class="error" role="alert">${loadError.value}</p>`}
      ${!list && !loadError.value && html`<p aria-busy="true">${t("common.loading")}</p>`}
      ${list && list.length === 0 && html`<p class="empty">${t(`${P}.none`)}</p>`}
      ${
        list &&
        list.length > 0 &&
        html`<div class="scroll">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">${t(`${P}.name`)}</th>
                <th scope="col">${t(`${P}.scheme`)}</th>
                <th scope="col">${t(`${P}.callbackPath`)}</th>
                <th scope="col">${t(`${P}.registered`)}</th>
              </tr>
            </thead>
            <tbody>
              ${list.map(
                (n) =>
                  html`<tr key=${n.networkId} data-testid=${`network-${n.networkId}`}>
                    <th scope="row">${n.name}<br /><code class="fine hex">${n.networkId}</code></th>
                    <td data-testid="network-scheme-shown">${t(`${P}.scheme.${n.scheme}`)}</td>
                    <td><code class="hex">${n.callbackPath}</code></td>
                    <td>${formatDateTime(n.createdAt)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      }
    </section>
  </div>`;
}
