/**
 * The wallet's way in and its settings. Signed out: sign up by phone (with an SMS code, the login
 * password, optionally the payment password and a referral code, prefilled from the referral
 * link's `?ref=`), log in with the password or an SMS code, reset the login password by code.
 * Signed in: the account's number, log out, the payment password set, changed or reset by code,
 * and a change of number. Passwords are never kept by the page: the forms are read once on submit
 * (no signal holds them) and their password fields are emptied after each call.
 */
import { type Signal, signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { html } from "../lib/html";
import { boot, formatDateTime, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import { type Me, refresh } from "./state";

type Purpose = "signup" | "login" | "reset-password" | "reset-payment-password" | "phone-change-old" | "phone-change-new";

/** A refusal as the page shows it: the translated text, and the form field it is about (for aria-invalid). */
interface Refusal {
  text: string;
  field?: string;
}

/** Where a refusal came from, for the codes whose meaning depends on it. */
type Where = "signup" | "login" | "reset" | "payment" | "phone" | "code" | "logout";

/** The limits SMS_LIMIT_REACHED names in `details.limit` (server/services/phone-codes.ts). */
const SMS_LIMITS = new Set([
  "number-cooldown",
  "number-hour",
  "number-day",
  "number-address-hour",
  "number-address-day",
  "address-hour",
  "address-day",
  "daily-budget",
]);
/** The fields whose VALIDATION_FAILED has its own message. */
const VALIDATED = new Set(["phone", "code", "oldCode", "newCode", "password", "paymentPassword", "referralCode"]);
/** Codes with one message wherever they come from. */
const PLAIN = new Set(["SMS_SEND_FAILED", "SMS_NOT_CONFIGURED", "RATE_LIMITED", "FORBIDDEN", "UNAUTHORIZED", "UNAVAILABLE", "NETWORK"]);

/** A wait in the page's language: seconds under two minutes, else whole minutes (as the server words it). */
function waitText(seconds: number): string {
  return seconds >= 120 ? t("wallet-auth.wait.minutes", { n: Math.ceil(seconds / 60) }) : t("wallet-auth.wait.seconds", { n: seconds });
}

/** The message for a refusal, by its stable code; the server's own message when the code is not one of ours. */
function refusal(error: unknown, where: Where): Refusal {
  if (!(error instanceof ApiError)) return { text: t("wallet-auth.error.other", { message: String(error) }) };
  const details = error.details;
  const seconds = Number(details.retryAfterSeconds ?? 60);
  switch (error.code) {
    case "SMS_LIMIT_REACHED": {
      const limit = String(details.limit ?? "");
      const key = SMS_LIMITS.has(limit) ? `wallet-auth.error.SMS_LIMIT_REACHED.${limit}` : "wallet-auth.error.SMS_LIMIT_REACHED";
      return { text: t(key, { wait: waitText(seconds) }), field: "phone" };
    }
    case "SMS_PROVIDER_THROTTLED":
      return { text: t("wallet-auth.error.SMS_PROVIDER_THROTTLED", { wait: waitText(seconds) }), field: "phone" };
    case "CODE_INVALID":
      return { text: t("wallet-auth.error.CODE_INVALID"), field: typeof details.field === "string" ? details.field : "code" };
    case "VALIDATION_FAILED": {
      const issues = (details.issues as { path: string }[] | undefined) ?? [];
      const field = issues[0]?.path.replace(/^body\./, "").split(".")[0];
      if (field && VALIDATED.has(field)) return { text: t(`wallet-auth.error.VALIDATION_FAILED.${field}`), field };
      return { text: t("wallet-auth.error.other", { message: error.message }) };
    }
    case "PHONE_TAKEN":
      return where === "phone"
        ? { text: t("wallet-auth.error.PHONE_TAKEN.change"), field: "phone" }
        : { text: t("wallet-auth.error.PHONE_TAKEN") };
    case "NOT_FOUND":
      // A sign-up's NOT_FOUND is the referral code; a login's or reset's, a number with no account.
      return where === "signup"
        ? { text: t("wallet-auth.error.NOT_FOUND.referral"), field: "referralCode" }
        : { text: t("wallet-auth.error.NOT_FOUND.account"), field: "phone" };
    case "BAD_CREDENTIALS":
      if (where === "payment") {
        const left = details.attemptsLeft;
        return typeof left === "number"
          ? { text: t("wallet-auth.error.BAD_CREDENTIALS.payment", { left }), field: "current" }
          : { text: t("wallet-auth.error.BAD_CREDENTIALS.paymentMissing"), field: "current" };
      }
      return { text: t("wallet-auth.error.BAD_CREDENTIALS.login"), field: "password" };
    case "PASSWORD_LOCKED":
      return typeof details.lockedUntil === "string"
        ? { text: t("wallet-auth.error.PASSWORD_LOCKED.until", { time: formatDateTime(details.lockedUntil) }), field: "current" }
        : { text: t("wallet-auth.error.PASSWORD_LOCKED"), field: "current" };
    default:
      if (PLAIN.has(error.code)) return { text: t(`wallet-auth.error.${error.code}`) };
      return { text: t("wallet-auth.error.other", { message: error.message }) };
  }
}

/** +86 numbers grouped as people write them (138 0013 8000); any other number as E.164. */
function displayPhone(e164: string): string {
  const mainland = /^\+86(\d{3})(\d{4})(\d{4})$/.exec(e164);
  return mainland ? `+86 ${mainland[1]} ${mainland[2]} ${mainland[3]}` : e164;
}

/** One form's call in progress, its refusal and its last good news, all shown in its live region. */
interface FormState {
  id: string;
  busy: Signal<boolean>;
  problem: Signal<Refusal | null>;
  notice: Signal<string | null>;
}

function useFormState(id: string): FormState {
  return { id, busy: useSignal(false), problem: useSignal<Refusal | null>(null), notice: useSignal<string | null>(null) };
}

/**
 * Runs a form's call: busy while it runs, its refusal shown, the password fields emptied as soon
 * as it answered, whatever the answer; then, after a success, `then` (the account read again).
 */
async function run(
  form: HTMLFormElement,
  state: FormState,
  where: Where,
  call: () => Promise<void>,
  then: () => Promise<void> = refresh,
): Promise<void> {
  state.busy.value = true;
  state.problem.value = null;
  state.notice.value = null;
  let done = false;
  try {
    await call();
    done = true;
  } catch (error) {
    state.problem.value = refusal(error, where);
  } finally {
    clearPasswords(form);
  }
  try {
    if (done) await then();
  } catch (error) {
    state.problem.value = refusal(error, where);
  } finally {
    state.busy.value = false;
  }
}

function clearPasswords(form: HTMLFormElement): void {
  for (const input of Array.from(form.querySelectorAll<HTMLInputElement>('input[type="password"]'))) input.value = "";
}

/** A refusal the page makes itself, before any call (two passwords that differ); the password fields emptied as after a call. */
function refuseHere(form: HTMLFormElement, state: FormState, problem: Refusal): void {
  clearPasswords(form);
  state.notice.value = null;
  state.problem.value = problem;
}

const text = (data: FormData, name: string) => String(data.get(name) ?? "").trim();
/** A password as typed (spaces are part of it). */
const secret = (data: FormData, name: string) => String(data.get(name) ?? "");

/** The live region of a form: its refusal (which its fields point at) or its notice. */
function Status({ state }: { state: FormState }) {
  const problem = state.problem.value;
  return html`<div class="auth-status" aria-live="polite">
    ${
      problem
        ? html`<p class="error" id=${`${state.id}-error`} data-testid=${`${state.id}-error`} data-field=${problem.field}>
            ${problem.text}
          </p>`
        : state.notice.value
          ? html`<p class="status confirmed" data-testid=${`${state.id}-notice`}>${state.notice.value}</p>`
          : null
    }
  </div>`;
}

interface FieldProps {
  state: FormState;
  name: string;
  label: string;
  type?: string;
  autocomplete?: string;
  inputmode?: string;
  hint?: string;
  required?: boolean;
  value?: string;
  /** The value shown first, which the shopper may change (a controlled `value` would be put back on every render). */
  defaultValue?: string;
  onInput?: (value: string) => void;
  maxlength?: number;
}

/** The attributes that tie an input to its hint and to the form's refusal. */
function described(state: FormState, name: string, hint?: string) {
  const problem = state.problem.value;
  const ids = [hint ? `${state.id}-${name}-hint` : "", problem ? `${state.id}-error` : ""].filter(Boolean).join(" ");
  return { "aria-describedby": ids || undefined, "aria-invalid": problem?.field === name ? "true" : undefined };
}

function Field(props: FieldProps) {
  const id = `${props.state.id}-${props.name}`;
  return html`<div class="auth-field">
    <label for=${id}>${props.label}</label>
    <input
      id=${id}
      name=${props.name}
      type=${props.type ?? "text"}
      autocomplete=${props.autocomplete ?? "off"}
      inputmode=${props.inputmode}
      required=${props.required ?? true}
      maxlength=${props.maxlength}
      value=${props.value}
      defaultValue=${props.defaultValue}
      onInput=${props.onInput ? (e: Event) => props.onInput!((e.currentTarget as HTMLInputElement).value) : undefined}
      data-testid=${id}
      ...${described(props.state, props.name, props.hint)}
    />
    ${props.hint ? html`<span class="hint" id=${`${id}-hint`}>${props.hint}</span>` : null}
  </div>`;
}

/** A phone number input, kept in `value` so switching between the signed-out forms keeps what was typed. */
function PhoneField(props: { state: FormState; value?: Signal<string>; name?: string; label?: string }) {
  return html`<${Field}
    state=${props.state}
    name=${props.name ?? "phone"}
    label=${props.label ?? t("wallet-auth.phone")}
    type="tel"
    autocomplete="tel"
    inputmode="tel"
    hint=${t("wallet-auth.phoneHint")}
    value=${props.value?.value}
    onInput=${props.value ? (v: string) => (props.value!.value = v) : undefined}
  />`;
}

/**
 * When each number may be asked for another code: the server's wait (one code a minute per number,
 * whatever the purpose), kept for the page's life so every form counts down the same wait.
 */
const nextCodeAt = signal<Record<string, number>>({});
const numberKey = (phone: string) => phone.replace(/[^\d+]/g, "");

/**
 * A code input and the button that sends the code: to a fixed number (the account's own), or to
 * the one being typed in the form's phone field (`phone` as a signal). The button counts down the
 * wait the server gives (after a code, or with a limit's refusal) before another may be asked for.
 */
function CodeField(props: { state: FormState; purpose: Purpose; phone: Signal<string> | string; name?: string; label?: string }) {
  const name = props.name ?? "code";
  const fixed = typeof props.phone === "string";
  const phone = (typeof props.phone === "string" ? props.phone : props.phone.value).trim();
  const until = nextCodeAt.value[numberKey(phone)] ?? 0;
  const now = useSignal(Date.now());
  const sending = useSignal(false);
  const sent = useSignal(false);
  const left = Math.max(0, Math.ceil((until - now.value) / 1000));
  useEffect(() => {
    if (until <= Date.now()) return;
    now.value = Date.now();
    const timer = setInterval(() => {
      now.value = Date.now();
      if (now.value >= until) clearInterval(timer);
    }, 250);
    return () => clearInterval(timer);
  }, [until]);

  const waitFor = (seconds: number) => (nextCodeAt.value = { ...nextCodeAt.value, [numberKey(phone)]: Date.now() + seconds * 1000 });

  async function send(event: Event) {
    const form = (event.currentTarget as HTMLButtonElement).form!;
    const { state } = props;
    state.problem.value = null;
    state.notice.value = null;
    if (!phone) {
      state.problem.value = { text: t("wallet-auth.error.phoneFirst"), field: "phone" };
      return;
    }
    sending.value = true;
    try {
      const answer = await api<{ expiresInSeconds: number; retryAfterSeconds: number }>("POST", "/v1/phone-codes", {
        body: { phone, purpose: props.purpose },
      });
      sent.value = true;
      waitFor(answer.retryAfterSeconds);
      state.notice.value =
        t("wallet-auth.codeSent", { minutes: Math.round(answer.expiresInSeconds / 60) }) +
        (boot.smsOutbox ? (boot.language === "zh-CN" ? "" : " ") + t("wallet-auth.outboxHint") : "");
      (form.elements.namedItem(name) as HTMLInputElement | null)?.focus();
    } catch (error) {
      const problem = refusal(error, "code");
      // A refusal about the number is about this field when the number is not one typed in the form.
      state.problem.value = problem.field === "phone" && fixed ? { ...problem, field: name } : problem;
      const wait = error instanceof ApiError ? Number(error.details.retryAfterSeconds) : NaN;
      if (Number.isFinite(wait) && wait > 0) waitFor(wait);
    } finally {
      sending.value = false;
    }
  }

  const id = `${props.state.id}-${name}`;
  return html`<div class="auth-field">
    <label for=${id}>${props.label ?? t("wallet-auth.code")}</label>
    <div class="code-row">
      <input
        id=${id}
        name=${name}
        type="text"
        inputmode="numeric"
        autocomplete="one-time-code"
        pattern="[0-9]{6}"
        maxlength="6"
        required
        data-testid=${id}
        ...${described(props.state, name)}
      />
      <button type="button" class="secondary" disabled=${sending.value || left > 0} onClick=${send} data-testid=${`${id}-send`}>
        ${left > 0 ? t("wallet-auth.resendIn", { s: left }) : t(sent.value ? "wallet-auth.resend" : "wallet-auth.send")}
      </button>
    </div>
  </div>`;
}

function Submit(props: { state: FormState; label: string }) {
  return html`<button type="submit" class="primary" disabled=${props.state.busy.value} data-testid=${`${props.state.id}-submit`}>
    ${props.state.busy.value ? t("wallet-auth.working") : props.label}
  </button>`;
}

type Mode = "login" | "signup" | "reset";

/** A referral link is `/wallet?ref=<code>` (GET /v1/me/referral). */
const referralFromUrl = () => new URLSearchParams(window.location.search).get("ref") ?? "";

function LogIn(props: { phone: Signal<string>; onForgot: () => void }) {
  const state = useFormState("login");
  const method = useSignal<"password" | "code">("password");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const phone = text(data, "phone");
    const body = method.value === "password" ? { phone, password: secret(data, "password") } : { phone, code: text(data, "code") };
    void run(form, state, "login", async () => {
      await api("POST", "/v1/phone/sessions", { body });
    });
  }
  return html`<form onSubmit=${submit} aria-labelledby="auth-mode-login" novalidate data-testid="login-form">
    <${PhoneField} state=${state} value=${props.phone} />
    <fieldset class="auth-method">
      <legend>${t("wallet-auth.login.method")}</legend>
      ${(["password", "code"] as const).map(
        (m) =>
          html`<label class="auth-radio">
            <input
              type="radio"
              name="method"
              value=${m}
              checked=${method.value === m}
              onChange=${() => {
                method.value = m;
                state.problem.value = null;
              }}
              data-testid=${`login-method-${m}`}
            />
            ${t(`wallet-auth.login.with.${m}`)}
          </label>`,
      )}
    </fieldset>
    ${
      method.value === "password"
        ? html`<${Field}
            state=${state}
            name="password"
            label=${t("wallet-auth.password")}
            type="password"
            autocomplete="current-password"
          />`
        : html`<${CodeField} state=${state} purpose="login" phone=${props.phone} />`
    }
    <${Status} state=${state} />
    <div class="actions">
      <${Submit} state=${state} label=${t("wallet-auth.login.submit")} />
      <button type="button" class="link" onClick=${props.onForgot} data-testid="login-forgot">${t("wallet-auth.login.forgot")}</button>
    </div>
  </form>`;
}

function SignUp(props: { phone: Signal<string> }) {
  const state = useFormState("signup");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const paymentPassword = secret(data, "paymentPassword");
    const referralCode = text(data, "referralCode");
    const body = {
      phone: text(data, "phone"),
      code: text(data, "code"),
      password: secret(data, "password"),
      ...(paymentPassword ? { paymentPassword } : {}),
      ...(referralCode ? { referralCode } : {}),
    };
    void run(form, state, "signup", async () => {
      await api("POST", "/v1/phone/signup", { body });
    });
  }
  return html`<form onSubmit=${submit} aria-labelledby="auth-mode-signup" novalidate data-testid="signup-form">
    <${PhoneField} state=${state} value=${props.phone} />
    <${CodeField} state=${state} purpose="signup" phone=${props.phone} />
    <${Field}
      state=${state}
      name="password"
      label=${t("wallet-auth.signup.password")}
      type="password"
      autocomplete="new-password"
      hint=${t("wallet-auth.passwordHint")}
    />
    <${Field}
      state=${state}
      name="paymentPassword"
      label=${t("wallet-auth.signup.paymentPassword")}
      type="password"
      required=${false}
      hint=${t("wallet-auth.signup.paymentPasswordHint")}
    />
    <${Field}
      state=${state}
      name="referralCode"
      label=${t("wallet-auth.signup.referral")}
      required=${false}
      defaultValue=${referralFromUrl()}
      maxlength=${8}
      hint=${t("wallet-auth.signup.referralHint")}
    />
    <${Status} state=${state} />
    <${Submit} state=${state} label=${t("wallet-auth.signup.submit")} />
  </form>`;
}

function ResetPassword(props: { phone: Signal<string>; onDone: () => void }) {
  const state = useFormState("reset");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const body = { phone: text(data, "phone"), code: text(data, "code"), password: secret(data, "password") };
    void run(
      form,
      state,
      "reset",
      async () => {
        await api("POST", "/v1/phone/password-reset", { body });
      },
      async () => props.onDone(),
    );
  }
  return html`<form onSubmit=${submit} aria-labelledby="auth-mode-reset" novalidate data-testid="reset-form">
    <p class="fine">${t("wallet-auth.reset.lead")}</p>
    <${PhoneField} state=${state} value=${props.phone} />
    <${CodeField} state=${state} purpose="reset-password" phone=${props.phone} />
    <${Field}
      state=${state}
      name="password"
      label=${t("wallet-auth.reset.password")}
      type="password"
      autocomplete="new-password"
      hint=${t("wallet-auth.passwordHint")}
    />
    <${Status} state=${state} />
    <${Submit} state=${state} label=${t("wallet-auth.reset.submit")} />
  </form>`;
}

/** The wallet before a session: log in, sign up (the first choice when a referral link brought the shopper), or reset the password. */
export function SignedOut(_props: { me?: Me }) {
  const mode = useSignal<Mode>(referralFromUrl() ? "signup" : "login");
  const phone = useSignal("");
  const flash = useSignal<string | null>(null);
  const choose = (m: Mode) => {
    mode.value = m;
    flash.value = null;
  };
  return html`<section class="card auth" aria-labelledby="auth-title">
    <h1 id="auth-title">${t("wallet-auth.title")}</h1>
    <p class="lead">${t("wallet-auth.lead")}</p>
    <div class="segmented auth-modes" role="group" aria-label=${t("wallet-auth.modes")}>
      ${(["login", "signup", "reset"] as const).map(
        (m) =>
          html`<button type="button" id=${`auth-mode-${m}`} aria-pressed=${mode.value === m} data-mode=${m} onClick=${() => choose(m)}>
            ${t(`wallet-auth.mode.${m}`)}
          </button>`,
      )}
    </div>
    <div aria-live="polite">${flash.value ? html`<p class="status confirmed" data-testid="auth-flash">${flash.value}</p>` : null}</div>
    ${
      mode.value === "login"
        ? html`<${LogIn} phone=${phone} onForgot=${() => choose("reset")} />`
        : mode.value === "signup"
          ? html`<${SignUp} phone=${phone} />`
          : html`<${ResetPassword}
              phone=${phone}
              onDone=${() => {
                mode.value = "login";
                flash.value = t("wallet-auth.reset.done");
              }}
            />`
    }
  </section>`;
}

function Account({ me }: { me: Me }) {
  const state = useFormState("logout");
  function logOut(event: Event) {
    event.preventDefault();
    void run(event.currentTarget as HTMLFormElement, state, "logout", async () => {
      try {
        await api("DELETE", "/v1/sessions/current");
      } catch (error) {
        // A session that ended already (a password reset elsewhere) is as good as logged out.
        if (!(error instanceof ApiError && error.status === 401)) throw error;
      }
    });
  }
  return html`<section class="card" aria-labelledby="settings-account">
    <h2 id="settings-account">${t("wallet-auth.settings.account")}</h2>
    <dl class="addresses">
      <div>
        <dt>${t("wallet-auth.phone")}</dt>
        <dd data-testid="settings-phone" data-value=${me.phone ?? ""}>
          ${me.phone ? displayPhone(me.phone) : t("wallet-auth.settings.noPhone")}
        </dd>
      </div>
      <div>
        <dt>${t("wallet-auth.settings.userId")}</dt>
        <dd data-testid="settings-user-id">${me.userId}</dd>
      </div>
      <div>
        <dt>${t("wallet-auth.settings.accountId")}</dt>
        <dd><${Hex} value=${me.account} testId="settings-account-id" /></dd>
      </div>
    </dl>
    <form onSubmit=${logOut}>
      <${Status} state=${state} />
      <div class="actions">
        <button type="submit" class="secondary" disabled=${state.busy.value} data-testid="logout">
          ${t("wallet-auth.settings.logout")}
        </button>
      </div>
    </form>
  </section>`;
}

/** Reads the new payment password and its repeat; a refusal when they differ. */
function newPaymentPassword(data: FormData): string | Refusal {
  const chosen = secret(data, "paymentPassword");
  if (chosen !== secret(data, "repeat")) return { text: t("wallet-auth.error.repeat"), field: "repeat" };
  return chosen;
}

/** `onDone` tells the card, which outlives this form (setting the password swaps the set form for the change form). */
function SetPaymentPassword(props: { change: boolean; onDone: (notice: string | null) => void }) {
  const state = useFormState(props.change ? "pay-change" : "pay-set");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const chosen = newPaymentPassword(data);
    const current = props.change ? secret(data, "current") : undefined;
    props.onDone(null);
    if (typeof chosen !== "string") return refuseHere(form, state, chosen);
    void run(form, state, "payment", async () => {
      await api("PUT", "/v1/me/payment-password", { body: { paymentPassword: chosen }, paymentPassword: current });
      props.onDone(t(props.change ? "wallet-auth.payment.changed" : "wallet-auth.payment.setDone"));
    });
  }
  return html`<form onSubmit=${submit} novalidate data-testid=${`${state.id}-form`} aria-labelledby=${`${state.id}-title`}>
    <h3 id=${`${state.id}-title`}>${t(props.change ? "wallet-auth.payment.change" : "wallet-auth.payment.set")}</h3>
    ${props.change ? html`<${Field} state=${state} name="current" label=${t("wallet-auth.payment.current")} type="password" />` : null}
    <${Field}
      state=${state}
      name="paymentPassword"
      label=${t("wallet-auth.payment.new")}
      type="password"
      hint=${t("wallet-auth.payment.hint")}
    />
    <${Field} state=${state} name="repeat" label=${t("wallet-auth.payment.repeat")} type="password" />
    <${Status} state=${state} />
    <${Submit} state=${state} label=${t(props.change ? "wallet-auth.payment.changeSubmit" : "wallet-auth.payment.setSubmit")} />
  </form>`;
}

function ResetPaymentPassword({ phone, onDone }: { phone: string; onDone: (notice: string | null) => void }) {
  const state = useFormState("pay-reset");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const chosen = newPaymentPassword(data);
    const code = text(data, "code");
    onDone(null);
    if (typeof chosen !== "string") return refuseHere(form, state, chosen);
    void run(form, state, "payment", async () => {
      await api("POST", "/v1/me/payment-password/reset", { body: { code, paymentPassword: chosen } });
      (form.elements.namedItem("code") as HTMLInputElement).value = "";
      onDone(t("wallet-auth.payment.resetDone"));
    });
  }
  return html`<form onSubmit=${submit} novalidate data-testid="pay-reset-form" aria-labelledby="pay-reset-title">
    <h3 id="pay-reset-title">${t("wallet-auth.payment.reset")}</h3>
    <p class="fine">${t("wallet-auth.payment.resetLead", { phone: displayPhone(phone) })}</p>
    <${CodeField} state=${state} purpose="reset-payment-password" phone=${phone} />
    <${Field}
      state=${state}
      name="paymentPassword"
      label=${t("wallet-auth.payment.new")}
      type="password"
      hint=${t("wallet-auth.payment.hint")}
    />
    <${Field} state=${state} name="repeat" label=${t("wallet-auth.payment.repeat")} type="password" />
    <${Status} state=${state} />
    <${Submit} state=${state} label=${t("wallet-auth.payment.resetSubmit")} />
  </form>`;
}

function PaymentPassword({ me }: { me: Me }) {
  const done = useSignal<string | null>(null);
  const onDone = (notice: string | null) => (done.value = notice);
  return html`<section class="card" aria-labelledby="settings-payment">
    <h2 id="settings-payment">${t("wallet-auth.payment.title")}</h2>
    <p data-testid="payment-password-state" data-set=${String(me.paymentPasswordSet)}>
      ${t(me.paymentPasswordSet ? "wallet-auth.payment.isSet" : "wallet-auth.payment.notSet")}
    </p>
    <div aria-live="polite">${done.value ? html`<p class="status confirmed" data-testid="payment-done">${done.value}</p>` : null}</div>
    ${
      me.paymentPasswordSet
        ? html`<${SetPaymentPassword} change=${true} key="change" onDone=${onDone} />
            ${me.phone ? html`<${ResetPaymentPassword} phone=${me.phone} onDone=${onDone} />` : null}`
        : html`<${SetPaymentPassword} change=${false} key="set" onDone=${onDone} />`
    }
  </section>`;
}

function ChangePhone({ phone }: { phone: string }) {
  const state = useFormState("phone-change");
  const next = useSignal("");
  function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const body = { oldCode: text(data, "oldCode"), phone: text(data, "phone"), newCode: text(data, "newCode") };
    void run(form, state, "phone", async () => {
      const answer = await api<{ phone: string }>("PUT", "/v1/me/phone", { body });
      form.reset();
      next.value = "";
      state.notice.value = t("wallet-auth.phoneChange.done", { phone: displayPhone(answer.phone) });
    });
  }
  return html`<section class="card" aria-labelledby="settings-phone-change">
    <h2 id="settings-phone-change">${t("wallet-auth.phoneChange.title")}</h2>
    <p class="fine">${t("wallet-auth.phoneChange.lead")}</p>
    <form onSubmit=${submit} novalidate data-testid="phone-change-form">
      <${CodeField}
        state=${state}
        purpose="phone-change-old"
        name="oldCode"
        label=${t("wallet-auth.phoneChange.oldCode", { phone: displayPhone(phone) })}
        phone=${phone}
      />
      <${PhoneField} state=${state} value=${next} label=${t("wallet-auth.phoneChange.newPhone")} />
      <${CodeField} state=${state} purpose="phone-change-new" name="newCode" label=${t("wallet-auth.phoneChange.newCode")} phone=${next} />
      <${Status} state=${state} />
      <${Submit} state=${state} label=${t("wallet-auth.phoneChange.submit")} />
    </form>
  </section>`;
}

/** The signed-in account's settings: who it is, log out, the payment password, the phone number. */
export function Settings({ me }: { me?: Me }) {
  if (!me) return null;
  return html`<div class="settings">
    <${Account} me=${me} />
    <${PaymentPassword} me=${me} />
    ${me.phone ? html`<${ChangePhone} phone=${me.phone} />` : null}
  </div>`;
}
