/**
 * The operator's merchants: a new merchant with its first owner (its API key shown once, its
 * custody flag followed to the chain), and per merchant its ad credit and top-ups from the
 * operator's wallet (one Idempotency-Key per intended top-up, followed to the chain), its API keys
 * (a new one shown once; revoking one stops it at once), its owners and staff, and suspending it
 * (no payments to it, no ad orders naming it) or resuming it, with a reason. The server's audit
 * log names the operator for each.
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";
import { type Operation, OperationLine, ShownOnce, errorText, field, follow } from "./console-parts";

const P = "admin-merchants";

interface Merchant {
  merchantId: string;
  name: string;
  account: string;
  createdAt: string;
  suspended: boolean;
  suspendedAt: string | null;
  suspensionReason: string | null;
}
interface Credentials {
  merchantId: string;
  keyId: string;
  apiKey: string;
}
interface StaffAccount {
  staffId: string;
  login: string;
  role: "operator" | "owner" | "staff";
  merchantId: string | null;
  createdAt: string;
  disabledAt: string | null;
}
interface Key {
  keyId: string;
  createdAt: string;
  revokedAt: string | null;
}
interface AdCredit {
  credit: string;
  vouchersIssued: string;
  vouchersOutstanding: string;
  adShare: string;
}

const merchants = signal<Merchant[] | null>(null);
const loadError = signal<string | null>(null);

async function load(): Promise<void> {
  try {
    merchants.value = (await api<{ merchants: Merchant[] }>("GET", "/v1/admin/merchants")).merchants;
    loadError.value = null;
  } catch (error) {
    loadError.value = errorText(error);
  }
}

const merchantPath = (id: string, rest = "") => `/v1/admin/merchants/${encodeURIComponent(id)}${rest}`;

function NewMerchant() {
  const made = useSignal<(Credentials & { name: string; owner: string }) | null>(null);
  const op = useSignal<Operation | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = field(form, "name").trim();
    const login = field(form, "login").trim();
    const passwordField = form.elements.namedItem("password") as HTMLInputElement;
    busy.value = true;
    error.value = null;
    op.value = null;
    try {
      const created = await api<Credentials & { operation: Operation; owner: StaffAccount }>("POST", "/v1/admin/merchants", {
        body: { name, owner: { login, password: passwordField.value } },
        idempotencyKey: newIdempotencyKey(),
      });
      made.value = { ...created, name, owner: created.owner.login };
      form.reset();
      op.value = created.operation;
      await load();
      await follow(created.operation.operationId, (o) => (op.value = o));
    } catch (e) {
      error.value = errorText(e);
    } finally {
      passwordField.value = "";
      busy.value = false;
    }
  };
  return html`<section class="card" aria-labelledby="merchants-new-heading">
    <h2 id="merchants-new-heading">${t(`${P}.newHeading`)}</h2>
    <p class="fine">${t(`${P}.newHelp`)}</p>
    <form onSubmit=${submit} aria-describedby="merchants-new-error" data-testid="merchant-create-form">
      <div class="params-fields">
        <label>
          ${t(`${P}.name`)}
          <input name="name" required maxlength="200" autocomplete="off" data-testid="merchant-name" />
        </label>
        <label>
          ${t(`${P}.ownerLogin`)}
          <input
            name="login"
            required
            autocomplete="off"
            autocapitalize="none"
            aria-describedby="merchants-login-help"
            data-testid="merchant-owner-login"
          />
          <span id="merchants-login-help" class="fine">${t(`${P}.loginHelp`)}</span>
        </label>
        <label>
          ${t(`${P}.ownerPassword`)}
          <input name="password" type="password" required minlength="8" autocomplete="new-password" data-testid="merchant-owner-password" />
        </label>
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy.value} data-testid="merchant-create">${t(`${P}.create`)}</button>
      </div>
    </form>
    <p id="merchants-new-error" class=${error.value ? "error" : ""} role="alert" data-testid="merchant-create-error">
      ${error.value ?? ""}
    </p>
    ${
      made.value &&
      html`<${ShownOnce}
        heading=${t(`${P}.madeHeading`, { name: made.value.name })}
        items=${[
          { label: t(`${P}.merchantId`), value: made.value.merchantId, testid: "merchant-made-id" },
          { label: t(`${P}.apiKey`), value: made.value.apiKey, testid: "merchant-made-key", secret: true },
          { label: t(`${P}.ownerLogin`), value: made.value.owner, testid: "merchant-made-owner" },
        ]}
        onDone=${() => (made.value = null)}
      >
        <p class="fine">${t(`${P}.flagHelp`)}</p>
        <${OperationLine} op=${op.value} testid="merchant-flag" />
      <//>`
    }
  </section>`;
}

function AdCreditPart(props: { merchant: Merchant }) {
  const credit = useSignal<AdCredit | null>(null);
  const unavailable = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const op = useSignal<Operation | null>(null);
  const busy = useSignal(false);
  // One key per intended top-up (this amount), kept for a retry of it.
  const key = useSignal<{ amount: string; key: string } | null>(null);
  const read = () =>
    api<AdCredit>("GET", merchantPath(props.merchant.merchantId, "/ad-credit")).then(
      (c) => (credit.value = c),
      (e: unknown) => (unavailable.value = errorText(e)),
    );
  useEffect(() => {
    void read();
  }, [props.merchant.merchantId]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const amount = field(form, "amount").trim();
    if (!key.value || key.value.amount !== amount) key.value = { amount, key: newIdempotencyKey() };
    busy.value = true;
    error.value = null;
    op.value = null;
    try {
      const queued = await api<Operation>("POST", merchantPath(props.merchant.merchantId, "/ad-credit"), {
        body: { amount },
        idempotencyKey: key.value.key,
      });
      op.value = queued;
      const final = await follow(queued.operationId, (o) => (op.value = o));
      if (final.state === "confirmed") {
        key.value = null;
        form.reset();
      }
      await read();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const c = credit.value;
  return html`<div class="shop-part" data-testid="merchant-ad-credit">
    <h3>${t(`${P}.adHeading`)}</h3>
    ${unavailable.value && html`<p class="fine">${unavailable.value}</p>`}
    ${
      c &&
      html`<dl class="figures">
        <div class="figure">
          <dt>${t(`${P}.credit`)}</dt>
          <dd data-testid="merchant-credit" data-value=${c.credit}>${formatAmount(c.credit, 6)}</dd>
        </div>
        <div class="figure">
          <dt>${t(`${P}.vouchersOutstanding`)}</dt>
          <dd data-testid="merchant-vouchers">${formatAmount(c.vouchersOutstanding, 6)}</dd>
        </div>
        <div class="figure">
          <dt>${t(`${P}.adShare`)}</dt>
          <dd>${c.adShare}</dd>
        </div>
      </dl>`
    }
    ${
      c &&
      html`<form onSubmit=${submit} class="inline-form" aria-describedby=${`topup-error-${props.merchant.merchantId}`}>
          <label>
            ${t(`${P}.topUpAmount`)}
            <input name="amount" inputmode="decimal" required autocomplete="off" data-testid="merchant-topup-amount" />
          </label>
          <div class="actions">
            <button type="submit" class="primary" disabled=${busy.value} data-testid="merchant-topup">${t(`${P}.topUp`)}</button>
          </div>
        </form>
        <p class="fine">${t(`${P}.topUpHelp`)}</p>`
    }
    <p id=${`topup-error-${props.merchant.merchantId}`} class=${error.value ? "error" : ""} role="alert" data-testid="merchant-topup-error">
      ${error.value ?? ""}
    </p>
    <${OperationLine} op=${op.value} testid="merchant-topup" />
  </div>`;
}

function Keys(props: { merchant: Merchant }) {
  const keys = useSignal<Key[] | null>(null);
  const issued = useSignal<Credentials | null>(null);
  const revoking = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const read = async () => (keys.value = (await api<{ keys: Key[] }>("GET", merchantPath(props.merchant.merchantId, "/keys"))).keys);
  useEffect(() => {
    read().catch((e: unknown) => (error.value = errorText(e)));
  }, [props.merchant.merchantId]);
  const run = async (work: () => Promise<void>) => {
    busy.value = true;
    error.value = null;
    try {
      await work();
      await read();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  const issue = () =>
    run(async () => {
      issued.value = await api<Credentials>("POST", merchantPath(props.merchant.merchantId, "/keys"), {
        idempotencyKey: newIdempotencyKey(),
      });
    });
  const revoke = (keyId: string) =>
    run(async () => {
      await api("DELETE", merchantPath(props.merchant.merchantId, `/keys/${encodeURIComponent(keyId)}`));
      revoking.value = null;
      // A key revoked is no use to copy.
      if (issued.value?.keyId === keyId) issued.value = null;
    });
  return html`<div class="shop-part" data-testid="merchant-keys">
    <h3>${t(`${P}.keysHeading`)}</h3>
    <p class="fine">${t(`${P}.keysHelp`)}</p>
    <ul class="plain">
      ${(keys.value ?? []).map(
        (k) =>
          html`<li key=${k.keyId} data-testid=${`merchant-key-${k.keyId}`} data-revoked=${String(k.revokedAt !== null)}>
            <code class="hex">${k.keyId}</code>
            <span class="fine">
              ${
                k.revokedAt
                  ? t(`${P}.keyRevoked`, { date: formatDateTime(k.revokedAt) })
                  : t(`${P}.keyLive`, { date: formatDateTime(k.createdAt) })
              }
            </span>
            ${
              !k.revokedAt &&
              revoking.value !== k.keyId &&
              html`<button
                type="button"
                class="link"
                aria-label=${t(`${P}.revokeNamed`, { key: k.keyId })}
                onClick=${() => (revoking.value = k.keyId)}
                data-testid="merchant-key-revoke"
              >
                ${t(`${P}.revoke`)}
              </button>`
            }
            ${
              revoking.value === k.keyId &&
              html`<div class="confirm" data-testid="merchant-key-revoke-confirm">
                <p>${t(`${P}.revokeConfirm`, { key: k.keyId })}</p>
                <div class="actions">
                  <button
                    type="button"
                    class="primary"
                    disabled=${busy.value}
                    onClick=${() => void revoke(k.keyId)}
                    data-testid="merchant-key-revoke-send"
                  >
                    ${t(`${P}.revoke`)}
                  </button>
                  <button type="button" class="secondary" onClick=${() => (revoking.value = null)}>${t(`${P}.back`)}</button>
                </div>
              </div>`
            }
          </li>`,
      )}
    </ul>
    <button type="button" class="secondary" disabled=${busy.value} onClick=${() => void issue()} data-testid="merchant-key-issue">
      ${t(`${P}.issueKey`)}
    </button>
    <p class=${error.value ? "error" : ""} role="alert" data-testid="merchant-keys-error">${error.value ?? ""}</p>
    ${
      issued.value &&
      html`<${ShownOnce}
        heading=${t(`${P}.keyIssuedHeading`)}
        items=${[
          { label: t(`${P}.keyId`), value: issued.value.keyId, testid: "merchant-issued-key-id" },
          { label: t(`${P}.apiKey`), value: issued.value.apiKey, testid: "merchant-issued-key", secret: true },
        ]}
        onDone=${() => (issued.value = null)}
      />`
    }
  </div>`;
}

function Staff(props: { merchant: Merchant }) {
  const staff = useSignal<StaffAccount[] | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const read = async () =>
    (staff.value = (await api<{ staff: StaffAccount[] }>("GET", merchantPath(props.merchant.merchantId, "/staff"))).staff);
  useEffect(() => {
    read().catch((e: unknown) => (error.value = errorText(e)));
  }, [props.merchant.merchantId]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const passwordField = form.elements.namedItem("password") as HTMLInputElement;
    const body = { login: field(form, "login").trim(), role: field(form, "role"), password: passwordField.value };
    busy.value = true;
    error.value = null;
    try {
      await api("POST", merchantPath(props.merchant.merchantId, "/staff"), { body, idempotencyKey: newIdempotencyKey() });
      form.reset();
      await read();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      passwordField.value = "";
      busy.value = false;
    }
  };
  const id = props.merchant.merchantId;
  return html`<div class="shop-part" data-testid="merchant-staff">
    <h3>${t(`${P}.staffHeading`)}</h3>
    <ul class="plain">
      ${(staff.value ?? []).map(
        (s) =>
          html`<li key=${s.staffId} data-testid=${`merchant-staff-${s.login}`}>
            <strong>${s.login}</strong> <span class="fine">${t(`staff.role.${s.role}`)}</span>
            ${s.disabledAt && html`<span class="fine"> · ${t(`${P}.disabled`)}</span>`}
          </li>`,
      )}
    </ul>
    <form onSubmit=${submit} aria-describedby=${`staff-error-${id}`}>
      <div class="params-fields">
        <label>
          ${t(`${P}.staffLogin`)}
          <input name="login" required autocomplete="off" autocapitalize="none" data-testid="merchant-staff-login" />
        </label>
        <label>
          ${t(`${P}.staffPassword`)}
          <input name="password" type="password" required minlength="8" autocomplete="new-password" data-testid="merchant-staff-password" />
        </label>
        <label>
          ${t(`${P}.staffRole`)}
          <select name="role" data-testid="merchant-staff-role">
            <option value="staff">${t("staff.role.staff")}</option>
            <option value="owner">${t("staff.role.owner")}</option>
          </select>
        </label>
      </div>
      <div class="actions">
        <button type="submit" class="secondary" disabled=${busy.value} data-testid="merchant-staff-add">${t(`${P}.addStaff`)}</button>
      </div>
    </form>
    <p id=${`staff-error-${id}`} class=${error.value ? "error" : ""} role="alert" data-testid="merchant-staff-error">
      ${error.value ?? ""}
    </p>
  </div>`;
}

function Suspension(props: { merchant: Merchant }) {
  const m = props.merchant;
  const error = useSignal<string | null>(null);
  const op = useSignal<Operation | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    busy.value = true;
    error.value = null;
    op.value = null;
    try {
      const changed = await api<{ merchant: Merchant; operation?: Operation }>("PUT", merchantPath(m.merchantId, "/suspension"), {
        body: { suspended: !m.suspended, reason: field(form, "reason").trim() },
        idempotencyKey: newIdempotencyKey(),
      });
      form.reset();
      await load();
      if (changed.operation) {
        op.value = changed.operation;
        await follow(changed.operation.operationId, (o) => (op.value = o));
      }
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };
  return html`<div class="shop-part" data-testid="merchant-suspension">
    <h3>${t(m.suspended ? `${P}.resumeHeading` : `${P}.suspendHeading`)}</h3>
    <p class="fine">${t(m.suspended ? `${P}.resumeHelp` : `${P}.suspendHelp`)}</p>
    <form onSubmit=${submit} aria-describedby=${`suspension-error-${m.merchantId}`}>
      <label>
        ${t(`${P}.reason`)}
        <input name="reason" required maxlength="500" autocomplete="off" data-testid="merchant-suspension-reason" />
      </label>
      <div class="actions">
        <button type="submit" class=${m.suspended ? "primary" : "danger"} disabled=${busy.value} data-testid="merchant-suspension-send">
          ${t(m.suspended ? `${P}.resume` : `${P}.suspend`)}
        </button>
      </div>
    </form>
    <p id=${`suspension-error-${m.merchantId}`} class=${error.value ? "error" : ""} role="alert">${error.value ?? ""}</p>
    <${OperationLine} op=${op.value} testid="merchant-suspension" />
  </div>`;
}

function MerchantCard(props: { merchant: Merchant; open: boolean; onToggle: () => void }) {
  const m = props.merchant;
  return html`<li class="card shop" data-testid=${`merchant-${m.merchantId}`} data-suspended=${String(m.suspended)}>
    <div class="shop-head">
      <h3>${m.name}</h3>
      <code class="hex" data-testid="merchant-id">${m.merchantId}</code>
    </div>
    <p data-testid="merchant-status">
      ${
        m.suspended
          ? html`<span class="status rejected">${t(`${P}.suspended`, { date: formatDateTime(m.suspendedAt!) })}</span>
              <span class="fine"> ${m.suspensionReason}</span>`
          : html`<span class="status confirmed">${t(`${P}.active`)}</span>`
      }
    </p>
    <p class="fine">${t(`${P}.since`, { date: formatDateTime(m.createdAt) })}</p>
    <button
      type="button"
      class="secondary"
      aria-expanded=${String(props.open)}
      aria-label=${t(`${P}.manageNamed`, { name: m.name })}
      onClick=${props.onToggle}
      data-testid="merchant-manage"
    >
      ${t(props.open ? `${P}.close` : `${P}.manage`)}
    </button>
    ${
      props.open &&
      html`<div class="shop-manage">
        <${AdCreditPart} merchant=${m} />
        <${Keys} merchant=${m} />
        <${Staff} merchant=${m} />
        <${Suspension} merchant=${m} />
      </div>`
    }
  </li>`;
}

export function Merchants(_props: { me: StaffMe }) {
  const open = useSignal<string | null>(null);
  useEffect(() => {
    void load();
  }, []);
  const list = merchants.value;
  return html`<div class="console-part" data-testid="merchants">
    <p class="lead">${t(`${P}.lead`)}</p>
    <${NewMerchant} />
    <section aria-labelledby="merchants-list-heading">
      <div class="part-head">
        <h2 id="merchants-list-heading">${t(`${P}.listHeading`)}</h2>
        <button type="button" class="secondary" onClick=${() => void load()} data-testid="merchants-refresh">${t(`${P}.refresh`)}</button>
      </div>
      ${loadError.value && html`<p class="error" role="alert">${loadError.value}</p>`}
      ${!list && !loadError.value && html`<p aria-busy="true">${t("common.loading")}</p>`}
      ${list && list.length === 0 && html`<p class="empty">${t(`${P}.none`)}</p>`}
      <ul class="plain cards">
        ${(list ?? []).map(
          (m) =>
            html`<${MerchantCard}
              key=${m.merchantId}
              merchant=${m}
              open=${open.value === m.merchantId}
              onToggle=${() => (open.value = open.value === m.merchantId ? null : m.merchantId)}
            />`,
        )}
      </ul>
    </section>
  </div>`;
}
