/**
 * The way in for the merchant portal and the operator console: a login id and a password
 * (POST /v1/staff/sessions with the session as cookies), the signed-in account (GET
 * /v1/staff/me), and log-out. The password is read from the form once, on submit, and the field
 * emptied after the call; no signal holds it.
 */
import { signal, useSignal } from "@preact/signals";
import { ApiError, api, hasSession } from "./api";
import { html } from "./html";
import { t } from "./i18n";

export interface StaffMe {
  kind: "operator" | "merchant";
  staffId: string;
  login: string;
  role: "operator" | "owner" | "staff";
  merchantId: string | null;
  expiresAt: string;
}

/** null: signed out (or not known yet, while `staffReady` is false). */
export const staff = signal<StaffMe | null>(null);
export const staffReady = signal(false);

/** Reads the signed-in account again; a session of the other kind (a shopper's, an operator's on the portal) counts as none. */
export async function refreshStaff(kind: StaffMe["kind"]): Promise<void> {
  if (!hasSession()) staff.value = null;
  else
    try {
      const me = await api<StaffMe>("GET", "/v1/staff/me");
      staff.value = me.kind === kind ? me : null;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) staff.value = null;
      else throw error;
    }
  staffReady.value = true;
}

export async function signOut(kind: StaffMe["kind"]): Promise<void> {
  await api("DELETE", "/v1/staff/sessions/current").catch(() => undefined);
  await refreshStaff(kind);
}

function refusal(error: unknown): string {
  if (error instanceof ApiError) {
    const key = `staff.error.${error.code}`;
    if (["BAD_CREDENTIALS", "PASSWORD_LOCKED", "RATE_LIMITED", "VALIDATION_FAILED", "NETWORK"].includes(error.code)) return t(key);
    return error.message;
  }
  return String(error);
}

/** The sign-in form of a staff page; `kind` says which accounts it takes. */
export function StaffSignIn(props: { kind: StaffMe["kind"]; heading: string }) {
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const login = (form.elements.namedItem("login") as HTMLInputElement).value.trim();
    const passwordField = form.elements.namedItem("password") as HTMLInputElement;
    busy.value = true;
    error.value = null;
    try {
      const session = await api<StaffMe>("POST", "/v1/staff/sessions", { body: { login, password: passwordField.value } });
      if (session.kind !== props.kind) {
        await api("DELETE", "/v1/staff/sessions/current").catch(() => undefined);
        error.value = t(props.kind === "merchant" ? "staff.notMerchant" : "staff.notOperator");
      }
      await refreshStaff(props.kind);
    } catch (e) {
      error.value = refusal(e);
    } finally {
      passwordField.value = "";
      busy.value = false;
    }
  };
  return html`<form class="card staff-signin" onSubmit=${submit} data-testid="staff-signin" aria-describedby="staff-signin-error">
    <h1>${props.heading}</h1>
    <label for="staff-login">${t("staff.login")}</label>
    <input id="staff-login" name="login" autocomplete="username" required data-testid="staff-login" />
    <label for="staff-password">${t("staff.password")}</label>
    <input id="staff-password" name="password" type="password" autocomplete="current-password" required data-testid="staff-password" />
    <p id="staff-signin-error" class=${error.value ? "error" : ""} role="alert" data-testid="staff-signin-error">${error.value ?? ""}</p>
    <button type="submit" class="primary" disabled=${busy.value} data-testid="staff-submit">${t("staff.signIn")}</button>
  </form>`;
}

/**
 * The signed-in account's own password (PUT /v1/staff/me/password): the current one and the new
 * one twice, read from the form once and the fields emptied after. Every other session of the
 * account ends; this one stays.
 */
function PasswordChange() {
  const message = useSignal<{ ok: boolean; text: string } | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = ["current", "next", "again"].map((name) => form.elements.namedItem(name) as HTMLInputElement);
    const [current, next, again] = fields.map((f) => f.value);
    message.value = null;
    try {
      if (next !== again) {
        message.value = { ok: false, text: t("staff.passwordMismatch") };
        return;
      }
      busy.value = true;
      await api("PUT", "/v1/staff/me/password", { body: { currentPassword: current, newPassword: next } });
      message.value = { ok: true, text: t("staff.passwordChanged") };
    } catch (e) {
      message.value = {
        ok: false,
        text: e instanceof ApiError && e.code === "VALIDATION_FAILED" ? t("staff.passwordTooShort") : refusal(e),
      };
    } finally {
      for (const f of fields) f.value = "";
      busy.value = false;
    }
  };
  return html`<details class="staff-password" data-testid="staff-password-change">
    <summary>${t("staff.changePassword")}</summary>
    <form onSubmit=${submit}>
      <label for="staff-current">${t("staff.currentPassword")}</label>
      <input id="staff-current" name="current" type="password" autocomplete="current-password" required data-testid="staff-current" />
      <label for="staff-next">${t("staff.newPassword")}</label>
      <input id="staff-next" name="next" type="password" autocomplete="new-password" minlength="8" required data-testid="staff-next" />
      <label for="staff-again">${t("staff.newPasswordAgain")}</label>
      <input id="staff-again" name="again" type="password" autocomplete="new-password" minlength="8" required data-testid="staff-again" />
      <p role="status" class=${message.value ? (message.value.ok ? "ok" : "error") : ""} data-testid="staff-password-message">
        ${message.value?.text ?? ""}
      </p>
      <button type="submit" class="secondary" disabled=${busy.value} data-testid="staff-password-submit">
        ${t("staff.changePassword")}
      </button>
    </form>
  </details>`;
}

/** The signed-in account, the log-out button and the account's own password, at the top of a staff page. */
export function StaffBar(props: { me: StaffMe }) {
  return html`<div class="staff-bar-wrap">
    <p class="staff-bar" data-testid="staff-bar">
      ${t("staff.signedInAs", { login: props.me.login, role: t(`staff.role.${props.me.role}`) })}
      <button type="button" class="link" onClick=${() => void signOut(props.me.kind)} data-testid="staff-signout">
        ${t("staff.signOut")}
      </button>
    </p>
    <${PasswordChange} />
  </div>`;
}
