/**
 * The owner's management of the merchant's own accounts (GET/POST/DELETE /v1/merchant/staff):
 * listed, made with a login, a password and a role, and disabled after a confirmation (its
 * sessions end at once). The owner's alone.
 */
import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatDateTime, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";
import { errorText } from "./state";

const P = "merchant-staff";

interface Account {
  staffId: string;
  login: string;
  role: "owner" | "staff";
  createdAt: string;
  disabledAt: string | null;
}

export function Staff(props: { me: StaffMe }) {
  const list = useSignal<Account[] | null>(null);
  const error = useSignal<string | null>(null);
  const made = useSignal<string | null>(null);
  const confirming = useSignal<string | null>(null);
  const busy = useSignal(false);
  const owner = props.me.role === "owner";
  const load = async () => {
    try {
      list.value = (await api<{ staff: Account[] }>("GET", "/v1/merchant/staff")).staff;
    } catch (e) {
      error.value = errorText(e);
    }
  };
  useEffect(() => {
    if (owner) void load();
  }, []);
  if (!owner) return html`<p class="check bad" data-testid="staff-owner-only">${t(`${P}.ownerOnly`)}</p>`;

  const add = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    const body = { login: field("login").value.trim(), password: field("password").value, role: field("role").value };
    busy.value = true;
    error.value = null;
    made.value = null;
    try {
      const account = await api<Account>("POST", "/v1/merchant/staff", { body, idempotencyKey: newIdempotencyKey() });
      made.value = t(`${P}.made`, { login: account.login, role: t(`staff.role.${account.role}`) });
      form.reset();
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      (field("password") as HTMLInputElement).value = "";
      busy.value = false;
    }
  };
  const disable = async (staffId: string) => {
    busy.value = true;
    error.value = null;
    try {
      await api("DELETE", `/v1/merchant/staff/${encodeURIComponent(staffId)}`, { idempotencyKey: newIdempotencyKey() });
      confirming.value = null;
      await load();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };

  return html`<div data-testid="staff">
    <section class="card" aria-labelledby="staff-heading">
      <h2 id="staff-heading">${t(`${P}.heading`)}</h2>
      <p class="fine">${t(`${P}.lead`)}</p>
      ${
        list.value &&
        html`<div class="scroll">
          <table class="table" data-testid="staff-table">
            <thead>
              <tr>
                <th scope="col">${t(`${P}.col.login`)}</th>
                <th scope="col">${t(`${P}.col.role`)}</th>
                <th scope="col">${t(`${P}.col.created`)}</th>
                <th scope="col">${t(`${P}.col.state`)}</th>
              </tr>
            </thead>
            <tbody>
              ${list.value.map(
                (s) =>
                  html`<tr key=${s.staffId} data-testid="staff-row" data-login=${s.login}>
                    <td>${s.login}</td>
                    <td>${t(`staff.role.${s.role}`)}</td>
                    <td>${formatDateTime(s.createdAt)}</td>
                    <td>
                      ${
                        s.disabledAt
                          ? t(`${P}.disabledAt`, { at: formatDateTime(s.disabledAt) })
                          : s.staffId === props.me.staffId
                            ? t(`${P}.you`)
                            : confirming.value === s.staffId
                              ? html`<span class="actions">
                                  <button
                                    type="button"
                                    class="primary"
                                    disabled=${busy.value}
                                    onClick=${() => void disable(s.staffId)}
                                    data-testid="staff-disable-send"
                                  >
                                    ${t(`${P}.disableConfirm`)}
                                  </button>
                                  <button type="button" class="secondary" onClick=${() => (confirming.value = null)}>
                                    ${t("merchant.back")}
                                  </button>
                                </span>`
                              : html`<button
                                  type="button"
                                  class="secondary"
                                  aria-label=${t(`${P}.disableNamed`, { login: s.login })}
                                  onClick=${() => (confirming.value = s.staffId)}
                                  data-testid="staff-disable"
                                >
                                  ${t(`${P}.disable`)}
                                </button>`
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`
      }
    </section>
    <section class="card" aria-labelledby="staff-add-heading">
      <h2 id="staff-add-heading">${t(`${P}.add`)}</h2>
      <form onSubmit=${add} aria-describedby="staff-add-error">
        <label for="staff-new-login">
          ${t("staff.login")}
          <input
            id="staff-new-login"
            name="login"
            autocomplete="off"
            required
            data-testid="staff-new-login"
            aria-describedby="staff-login-hint"
          />
          <span class="fine" id="staff-login-hint">${t(`${P}.loginHint`)}</span>
        </label>
        <label for="staff-new-password">
          ${t("staff.password")}
          <input
            id="staff-new-password"
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minlength="8"
            data-testid="staff-new-password"
          />
        </label>
        <label for="staff-new-role">
          ${t(`${P}.role`)}
          <select id="staff-new-role" name="role" data-testid="staff-new-role">
            <option value="staff">${t("staff.role.staff")}</option>
            <option value="owner">${t("staff.role.owner")}</option>
          </select>
        </label>
        <div class="actions">
          <button type="submit" class="primary" disabled=${busy.value} data-testid="staff-add">${t(`${P}.addButton`)}</button>
        </div>
      </form>
      <p id="staff-add-error" class=${error.value ? "error" : ""} role="alert" data-testid="staff-error">${error.value ?? ""}</p>
      ${made.value ? html`<p class="check ok" data-testid="staff-made">${made.value}</p>` : null}
    </section>
  </div>`;
}
