/**
 * The steps every money action of the portal shares (redeem, exchange, withdraw, the ad credit's
 * withdrawal): its form, then the exact figures to confirm (from the chain, read at that moment),
 * one POST under one Idempotency-Key kept for retries of that very review, and the operation
 * followed until the chain confirms it or refuses it, with the reason.
 */
import type { ComponentChildren } from "preact";
import { useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import { type Operation, errorText, follow, rejectionText } from "./state";

/** One figure shown before sending or after: an exact decimal string (also in data-value, for tests). */
export interface Fig {
  id: string;
  label: string;
  value: string;
  unit?: string;
}

/** What is about to be sent: the call and the figures shown. */
export interface Review {
  path: string;
  body?: Record<string, string>;
  figures: Fig[];
  note?: string;
}

/** A refusal before anything is sent, in words. */
export class Invalid extends Error {}

export function Figures(props: { figures: Fig[]; testid: string }) {
  return html`<dl class="figures">
    ${props.figures.map(
      (f) =>
        html`<div class="figure" key=${f.id}>
          <dt>${f.label}</dt>
          <dd data-testid=${`${props.testid}-${f.id}`} data-value=${f.value}>
            ${/^0x/.test(f.value) ? html`<${Hex} value=${f.value} />` : formatAmount(f.value, 6)}
            ${f.unit ? html` <span class="unit">${f.unit}</span>` : null}
          </dd>
        </div>`,
    )}
  </dl>`;
}

export function OperationStatus(props: { op: Operation | null; testid: string }) {
  const op = props.op;
  if (!op) return null;
  return html`<p class=${`status ${op.state}`} data-testid=${`${props.testid}-state`} data-state=${op.state} aria-live="polite">
    ${t(`merchant.state.${op.state}`)} ${op.txHash ? html` · <${Hex} value=${op.txHash} testId=${`${props.testid}-tx`} />` : null}
    ${op.state === "rejected" ? html` · <span data-testid=${`${props.testid}-reason`}>${rejectionText(op.reason)}</span>` : null}
  </p>`;
}

export function Flow(props: {
  testid: string;
  /** The review's button text and the send button's. */
  reviewLabel?: string;
  sendLabel: string;
  prepare: () => Promise<Review>;
  /** What the confirmed operation did, from its events. */
  result?: (op: Operation) => Fig[];
  onDone?: () => void;
  children?: ComponentChildren;
}) {
  const step = useSignal<"form" | "review" | "following">("form");
  const review = useSignal<(Review & { key: string }) | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const op = useSignal<Operation | null>(null);
  const errorId = `${props.testid}-error`;

  const toReview = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const r = await props.prepare();
      review.value = { ...r, key: newIdempotencyKey() };
      step.value = "review";
    } catch (e) {
      error.value = e instanceof Invalid ? e.message : errorText(e);
    } finally {
      busy.value = false;
    }
  };

  const send = async () => {
    const r = review.value!;
    busy.value = true;
    error.value = null;
    try {
      const queued = await api<Operation>("POST", r.path, { body: r.body, idempotencyKey: r.key });
      step.value = "following";
      op.value = queued;
      await follow(queued.operationId, (o) => (op.value = o));
      props.onDone?.();
    } catch (e) {
      error.value = errorText(e);
    } finally {
      busy.value = false;
    }
  };

  const again = () => {
    step.value = "form";
    review.value = null;
    op.value = null;
    error.value = null;
  };

  return html`<div class="flow" data-testid=${props.testid}>
    ${
      step.value === "form" &&
      html`<form onSubmit=${toReview} aria-describedby=${errorId} novalidate>
        ${props.children}
        <div class="actions">
          <button type="submit" class="primary" disabled=${busy.value} data-testid=${`${props.testid}-review`}>
            ${props.reviewLabel ?? t("merchant.review")}
          </button>
        </div>
      </form>`
    }
    ${
      step.value !== "form" &&
      review.value &&
      html`<div class="confirm" data-testid=${`${props.testid}-confirm`}>
        <p>${step.value === "review" ? t("merchant.confirmLead") : t("merchant.sentLead")}</p>
        <${Figures} figures=${review.value.figures} testid=${`${props.testid}-fig`} />
        ${review.value.note ? html`<p class="fine">${review.value.note}</p>` : null}
        ${
          step.value === "review" &&
          html`<div class="actions">
            <button type="button" class="primary" disabled=${busy.value} onClick=${() => void send()} data-testid=${`${props.testid}-send`}>
              ${props.sendLabel}
            </button>
            <button type="button" class="secondary" disabled=${busy.value} onClick=${again} data-testid=${`${props.testid}-back`}>
              ${t("merchant.back")}
            </button>
          </div>`
        }
      </div>`
    }
    <p id=${errorId} class=${error.value ? "error" : ""} role="alert" data-testid=${`${props.testid}-error`}>${error.value ?? ""}</p>
    <${OperationStatus} op=${op.value} testid=${props.testid} />
    ${
      op.value?.state === "confirmed" && props.result
        ? html`<div class="check ok" data-testid=${`${props.testid}-result`}>
            <${Figures} figures=${props.result(op.value)} testid=${`${props.testid}-done`} />
          </div>`
        : null
    }
    ${
      step.value === "following" &&
      !busy.value &&
      html`<button type="button" class="secondary" onClick=${again} data-testid=${`${props.testid}-again`}>${t("merchant.again")}</button>`
    }
  </div>`;
}
