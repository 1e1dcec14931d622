/**
 * The operator's chain parameters: every pool, custody and ad-credit parameter with its value and
 * the bounds the contracts enforce (GET /v1/admin/parameters); a change is previewed first (GET
 * /v1/admin/parameters/preview: one order's figures now, from the pool's own preview, and with the
 * new value), confirmed, sent with one Idempotency-Key per intended change, followed until the
 * chain confirms or refuses it, and the value read back. Pausing and unpausing the pool's orders
 * go the same way. The server's audit log names the operator for each (shown once recorded).
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { ApiError, api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { boot, formatAmount, formatBps, t } from "../lib/i18n";
import type { StaffMe } from "../lib/staff";

type Unit = "bps" | "settlement" | "seconds" | "mode";
interface Parameter {
  contract: "pool" | "custody" | "adCredit";
  name: string;
  unit: Unit;
  value: string;
  min: string;
  max: string;
  zeroAllowed: boolean;
  changePath: string | null;
}
interface Parameters {
  block: number;
  paused: boolean;
  settlementDecimals: number;
  parameters: Parameter[];
}
interface Figure {
  figure: string;
  unit: "settlement" | "points";
  now: string;
  proposed: string;
}
interface Preview {
  block: number;
  name: string;
  basis: "order" | "redemption" | "withdrawal" | "adSale" | "none";
  amount: string;
  value: string;
  proposed: string;
  min: string;
  max: string;
  refusal: string | null;
  figures: Figure[];
  note: string | null;
}
interface Operation {
  operationId: string;
  state: string;
  txHash?: string;
  reason?: string;
}
interface AuditEntry {
  actor: string;
  action: string;
  subject: string | null;
  operationId: string | null;
}

const P = "admin-parameters";
const has = (key: string) => boot.messages?.[key] !== undefined;

const current = signal<Parameters | null>(null);
const loadError = signal<string | null>(null);

async function load(): Promise<Parameters> {
  try {
    const read = await api<Parameters>("GET", "/v1/admin/parameters");
    current.value = read;
    loadError.value = null;
    return read;
  } catch (error) {
    loadError.value = errorText(error);
    throw error;
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof ApiError)) return t(`${P}.error.INTERNAL`);
  const chainError = typeof error.details.chainError === "string" ? error.details.chainError : undefined;
  if (chainError && has(`${P}.chain.${chainError}`)) return t(`${P}.chain.${chainError}`);
  if (has(`${P}.error.${error.code}`)) return t(`${P}.error.${error.code}`, { message: error.message });
  return error.message;
}

function rejectionText(reason: string | undefined): string {
  const name = reason && (/\((\w+)\)$/.exec(reason)?.[1] ?? /refused it: (\w+)\(/.exec(reason)?.[1]);
  if (name && has(`${P}.chain.${name}`)) return t(`${P}.chain.${name}`);
  return reason ?? t(`${P}.error.INTERNAL`);
}

/** A parameter's value in words for the page's language. */
function shown(p: { unit: Unit }, value: string): string {
  if (p.unit === "bps") return `${formatBps(Number(value))} (${t(`${P}.bps`, { value: formatAmount(value, 0) })})`;
  if (p.unit === "settlement") return t(`${P}.perPoint`, { value: formatAmount(value, 6) });
  if (p.unit === "seconds") return t(`${P}.days`, { days: formatAmount(String(Number(value) / 86_400), 2) });
  return has(`${P}.mode.${value}`) ? t(`${P}.mode.${value}`) : value;
}

function bounds(p: Parameter): string {
  const range = t(`${P}.range`, { min: shown(p, p.min), max: shown(p, p.max) });
  return p.zeroAllowed ? `${range}; ${t(`${P}.orZero`)}` : range;
}

async function follow(operationId: string, onChange: (op: Operation) => void): Promise<Operation> {
  let last = "";
  for (;;) {
    const op = await api<Operation>("GET", `/v1/operations/${encodeURIComponent(operationId)}`);
    if (op.state !== last) {
      last = op.state;
      onChange(op);
    }
    if (op.state === "confirmed" || op.state === "rejected") return op;
    await new Promise((r) => setTimeout(r, 700));
  }
}

/** The audit log's entry for an operation: who it names. */
async function auditActor(operationId: string): Promise<string | null> {
  const page = await api<{ entries: AuditEntry[] }>("GET", "/v1/admin/audit?limit=50");
  return page.entries.find((e) => e.operationId === operationId)?.actor ?? null;
}

function OperationStatus(props: { op: Operation | null; actor: string | null; readBack: string | null; testid: string }) {
  const op = props.op;
  return html`<div aria-live="polite" data-testid=${`${props.testid}-status`}>
    ${
      op &&
      html`<p class=${`status ${op.state}`} data-testid=${`${props.testid}-state`} data-state=${op.state}>
        ${t(`${P}.state.${op.state}`)} ${op.txHash && html` · <span class="hex" data-testid=${`${props.testid}-tx`}>${op.txHash}</span>`}
        ${op.state === "rejected" && html` · <span data-testid=${`${props.testid}-reason`}>${rejectionText(op.reason)}</span>`}
      </p>`
    }
    ${props.readBack && html`<p class="check ok" data-testid=${`${props.testid}-readback`}>${props.readBack}</p>`}
    ${props.actor && html`<p class="fine" data-testid=${`${props.testid}-audit`}>${t(`${P}.audited`, { actor: props.actor })}</p>`}
  </div>`;
}

/** The sentence a preview says, by what its amount is. */
function summary(preview: Preview, p: Parameter): string | null {
  const f = (name: string) => preview.figures.find((x) => x.figure === name);
  const money = (v: string) => formatAmount(v, 6);
  const points = (v: string) => formatAmount(v, 6);
  const vars = { amount: formatAmount(preview.amount, 6), proposed: shown(p, preview.proposed) };
  if (preview.basis === "order" && f("buyerPoints")) {
    const c = f("contribution")!;
    const b = f("buyerPoints")!;
    return t(`${P}.summary.order`, {
      ...vars,
      pointsNow: points(b.now),
      payNow: money(c.now),
      pointsNew: points(b.proposed),
      payNew: money(c.proposed),
    });
  }
  if (preview.basis === "redemption" && f("payout")) {
    const fee = f("exitFee")!;
    const out = f("payout")!;
    return t(`${P}.summary.redemption`, {
      ...vars,
      payoutNow: money(out.now),
      feeNow: money(fee.now),
      payoutNew: money(out.proposed),
      feeNew: money(fee.proposed),
    });
  }
  if (preview.basis === "withdrawal" && f("withdrawn")) {
    const w = f("withdrawn")!;
    return t(`${P}.summary.withdrawal`, { ...vars, now: points(w.now), new: points(w.proposed) });
  }
  if (preview.basis === "adSale" && f("adBacking")) {
    const a = f("adBacking")!;
    return t(`${P}.summary.adSale`, { ...vars, now: money(a.now), new: money(a.proposed) });
  }
  return null;
}

function PreviewFigures(props: { preview: Preview; p: Parameter }) {
  const { preview, p } = props;
  if (preview.refusal)
    return html`<p class="error" role="alert" data-testid="param-refusal" id="param-value-error">
      ${t(`${P}.refusal.${preview.refusal}`, { range: bounds(p) })}
    </p>`;
  const text = summary(preview, p);
  return html`<div data-testid="param-preview">
    ${text && html`<p data-testid="param-summary">${text}</p>`}
    ${preview.note && html`<p class="fine" data-testid="param-note">${t(`${P}.note.${preview.note}`)}</p>`}
    ${preview.basis === "none" && html`<p class="fine" data-testid="param-no-figures">${t(`${P}.noFigures.${p.name}`)}</p>`}
    ${
      preview.figures.length > 0 &&
      html`<div class="scroll">
        <table class="table params-preview">
          <caption class="fine">
            ${t(`${P}.previewCaption.${preview.basis}`, { amount: formatAmount(preview.amount, 6) })}
          </caption>
          <thead>
            <tr>
              <th scope="col">${t(`${P}.figure`)}</th>
              <th scope="col">${t(`${P}.now`, { value: shown(p, preview.value) })}</th>
              <th scope="col">${t(`${P}.then`, { value: shown(p, preview.proposed) })}</th>
            </tr>
          </thead>
          <tbody>
            ${preview.figures.map(
              (x) =>
                html`<tr key=${x.figure}>
                  <th scope="row">${t(`${P}.fig.${x.figure}`)}</th>
                  <td data-testid=${`param-now-${x.figure}`} data-value=${x.now}>
                    ${formatAmount(x.now, 6)} <span class="unit">${t(`${P}.unit.${x.unit}`)}</span>
                  </td>
                  <td data-testid=${`param-new-${x.figure}`} data-value=${x.proposed}>
                    ${formatAmount(x.proposed, 6)} <span class="unit">${t(`${P}.unit.${x.unit}`)}</span>
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`
    }
    <p class="fine">${t(`${P}.previewBlock`, { block: preview.block })}</p>
  </div>`;
}

/** The editor of one parameter: new value, preview, confirm, send, follow, read back. */
function Change(props: { p: Parameter; onClose: () => void }) {
  const { p } = props;
  const value = useSignal(p.value);
  const amount = useSignal(p.name === "exitFee" || p.name === "withdrawalFee" ? "100" : "100");
  const preview = useSignal<Preview | null>(null);
  const step = useSignal<"edit" | "confirm" | "sent">("edit");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const op = useSignal<Operation | null>(null);
  const actor = useSignal<string | null>(null);
  const readBack = useSignal<string | null>(null);
  // One key per intended change (this parameter, this value), kept for retries of that change.
  const key = useSignal<{ value: string; key: string } | null>(null);

  const showPreview = async (event: Event) => {
    event.preventDefault();
    error.value = null;
    busy.value = true;
    try {
      const q = new URLSearchParams({ name: p.name, value: value.value.trim(), amount: amount.value.trim() });
      preview.value = await api<Preview>("GET", `/v1/admin/parameters/preview?${q.toString()}`);
    } catch (e) {
      preview.value = null;
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };

  const send = async () => {
    const proposed = preview.value!.proposed;
    if (!key.value || key.value.value !== proposed) key.value = { value: proposed, key: newIdempotencyKey() };
    error.value = null;
    busy.value = true;
    try {
      const queued = await api<Operation>("PUT", p.changePath!, { body: { value: proposed }, idempotencyKey: key.value.key });
      step.value = "sent";
      op.value = queued;
      const final = await follow(queued.operationId, (o) => (op.value = o));
      actor.value = await auditActor(queued.operationId);
      const read = await load();
      const now = read.parameters.find((x) => x.name === p.name);
      if (final.state === "confirmed" && now) readBack.value = t(`${P}.readBack`, { value: shown(p, now.value), block: read.block });
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };

  const id = `param-${p.name}`;
  return html`<div class="card params-change" data-testid="param-change">
    <h3>${t(`${P}.changeHeading`, { name: t(`${P}.name.${p.name}`) })}</h3>
    <p class="fine">${t(`${P}.desc.${p.name}`)} ${bounds(p)}</p>
    ${
      step.value === "edit" &&
      html`<form onSubmit=${showPreview} aria-describedby=${`${id}-error`}>
        <div class="params-fields">
          <label>
            ${t(`${P}.newValue`, { unit: t(`${P}.unitOf.${p.unit}`) })}
            <input
              name="value"
              inputmode="decimal"
              autocomplete="off"
              value=${value.value}
              onInput=${(e: Event) => {
                value.value = (e.currentTarget as HTMLInputElement).value;
                preview.value = null;
              }}
              aria-describedby=${`param-value-error ${id}-error`}
              data-testid="param-value"
            />
          </label>
          ${
            p.name !== "referralMode" &&
            p.name !== "noticePeriod" &&
            html`<label>
              ${t(`${P}.amount.${p.name === "exitFee" ? "redemption" : p.name === "withdrawalFee" ? "withdrawal" : p.name === "adShare" ? "adSale" : "order"}`)}
              <input
                name="amount"
                inputmode="decimal"
                autocomplete="off"
                value=${amount.value}
                onInput=${(e: Event) => {
                  amount.value = (e.currentTarget as HTMLInputElement).value;
                  preview.value = null;
                }}
                data-testid="param-amount"
              />
            </label>`
          }
        </div>
        <div class="actions">
          <button type="submit" disabled=${busy.value} data-testid="param-preview-button">${t(`${P}.preview`)}</button>
          ${
            preview.value &&
            !preview.value.refusal &&
            p.changePath &&
            html`<button type="button" onClick=${() => (step.value = "confirm")} data-testid="param-continue">
              ${t(`${P}.continue`)}
            </button>`
          }
          <button type="button" class="link" onClick=${props.onClose} data-testid="param-cancel">${t(`${P}.cancel`)}</button>
        </div>
      </form>`
    }
    <div aria-live="polite">${preview.value && html`<${PreviewFigures} preview=${preview.value} p=${p} />`}</div>
    ${!p.changePath && html`<p class="fine" data-testid="param-no-endpoint">${t(`${P}.noEndpoint`)}</p>`}
    ${
      step.value === "confirm" &&
      preview.value &&
      html`<div class="confirm" data-testid="param-confirm">
        <p>
          ${t(`${P}.confirmText`, { name: t(`${P}.name.${p.name}`), from: shown(p, preview.value.value), to: shown(p, preview.value.proposed) })}
        </p>
        <div class="actions">
          <button type="button" disabled=${busy.value} onClick=${() => void send()} data-testid="param-send">${t(`${P}.send`)}</button>
          <button type="button" class="link" disabled=${busy.value} onClick=${() => (step.value = "edit")} data-testid="param-back">
            ${t(`${P}.back`)}
          </button>
        </div>
      </div>`
    }
    <p id=${`${id}-error`} class=${error.value ? "error" : ""} role="alert" data-testid="param-error">${error.value ?? ""}</p>
    <${OperationStatus} op=${op.value} actor=${actor.value} readBack=${readBack.value} testid="param" />
    ${
      step.value === "sent" &&
      !busy.value &&
      html`<button type="button" class="link" onClick=${props.onClose} data-testid="param-done">${t(`${P}.done`)}</button>`
    }
  </div>`;
}

/** Pausing or resuming the pool's order mints, confirmed first, followed to the chain. */
function Pause(props: { paused: boolean }) {
  const step = useSignal<"idle" | "confirm" | "sent">("idle");
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const op = useSignal<Operation | null>(null);
  const actor = useSignal<string | null>(null);
  const readBack = useSignal<string | null>(null);
  const key = useSignal<{ action: string; key: string } | null>(null);
  const action = props.paused ? "unpause" : "pause";

  const send = async () => {
    if (!key.value || key.value.action !== action) key.value = { action, key: newIdempotencyKey() };
    busy.value = true;
    error.value = null;
    op.value = null;
    actor.value = null;
    readBack.value = null;
    try {
      const queued = await api<Operation>("POST", `/v1/admin/${action}`, { idempotencyKey: key.value.key });
      step.value = "sent";
      op.value = queued;
      const final = await follow(queued.operationId, (o) => (op.value = o));
      actor.value = await auditActor(queued.operationId);
      const read = await load();
      if (final.state === "confirmed") {
        readBack.value = t(read.paused ? `${P}.pausedNow` : `${P}.runningNow`, { block: read.block });
        key.value = null;
      }
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
      if (step.value === "confirm") step.value = "idle";
    }
  };

  return html`<section class="card" aria-labelledby="params-pause-heading" data-testid="param-pause">
    <h2 id="params-pause-heading">${t(`${P}.pauseHeading`)}</h2>
    <p data-testid="param-paused" data-paused=${String(props.paused)}>${t(props.paused ? `${P}.paused` : `${P}.running`)}</p>
    <p class="fine">${t(props.paused ? `${P}.unpauseHelp` : `${P}.pauseHelp`)}</p>
    ${
      step.value !== "confirm" &&
      html`<button type="button" disabled=${busy.value} onClick=${() => (step.value = "confirm")} data-testid="param-pause-button">
        ${t(`${P}.${action}`)}
      </button>`
    }
    ${
      step.value === "confirm" &&
      html`<div class="confirm" data-testid="param-pause-confirm">
        <p>${t(`${P}.${action}Confirm`)}</p>
        <div class="actions">
          <button type="button" disabled=${busy.value} onClick=${() => void send()} data-testid="param-pause-send">
            ${t(`${P}.${action}`)}
          </button>
          <button type="button" class="link" disabled=${busy.value} onClick=${() => (step.value = "idle")}>${t(`${P}.back`)}</button>
        </div>
      </div>`
    }
    <p class=${error.value ? "error" : ""} role="alert" data-testid="param-pause-error">${error.value ?? ""}</p>
    <${OperationStatus} op=${op.value} actor=${actor.value} readBack=${readBack.value} testid="param-pause" />
  </section>`;
}

export function Parameters(_props: { me: StaffMe }) {
  const editing = useSignal<string | null>(null);
  useEffect(() => {
    void load().catch(() => undefined);
  }, []);
  const read = current.value;
  if (!read)
    return loadError.value
      ? html`<p class="error" role="alert">${loadError.value}</p>`
      : html`<p aria-busy="true">${t("common.loading")}</p>`;
  const groups = (["pool", "custody", "adCredit"] as const).map((c) => ({
    contract: c,
    rows: read.parameters.filter((p) => p.contract === c),
  }));
  const open = read.parameters.find((p) => p.name === editing.value);
  return html`<div class="params" data-testid="params">
    <p class="lead">${t(`${P}.lead`, { block: read.block })}</p>
    ${groups
      .filter((g) => g.rows.length > 0)
      .map(
        (g) =>
          html`<section class="card" key=${g.contract} aria-labelledby=${`params-${g.contract}`}>
            <h2 id=${`params-${g.contract}`}>${t(`${P}.contract.${g.contract}`)}</h2>
            <div class="scroll">
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">${t(`${P}.parameter`)}</th>
                    <th scope="col">${t(`${P}.value`)}</th>
                    <th scope="col">${t(`${P}.bounds`)}</th>
                    <th scope="col"><span class="params-hidden">${t(`${P}.change`)}</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${g.rows.map(
                    (p) =>
                      html`<tr key=${p.name} data-testid=${`param-row-${p.name}`}>
                        <th scope="row">${t(`${P}.name.${p.name}`)}<br /><span class="fine hex">${p.name}</span></th>
                        <td data-testid=${`param-value-${p.name}`} data-value=${p.value}>${shown(p, p.value)}</td>
                        <td data-testid=${`param-bounds-${p.name}`} data-min=${p.min} data-max=${p.max}>${bounds(p)}</td>
                        <td>
                          <button
                            type="button"
                            aria-expanded=${String(editing.value === p.name)}
                            aria-label=${t(`${P}.changeNamed`, { name: t(`${P}.name.${p.name}`) })}
                            onClick=${() => (editing.value = editing.value === p.name ? null : p.name)}
                            data-testid=${`param-edit-${p.name}`}
                          >
                            ${p.changePath ? t(`${P}.change`) : t(`${P}.previewOnly`)}
                          </button>
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            ${open && open.contract === g.contract && html`<${Change} key=${open.name} p=${open} onClose=${() => (editing.value = null)} />`}
          </section>`,
      )}
    ${!read.parameters.some((p) => p.contract === "adCredit") && html`<p class="fine">${t(`${P}.noAdCredit`)}</p>`}
    <${Pause} paused=${read.paused} />
  </div>`;
}
