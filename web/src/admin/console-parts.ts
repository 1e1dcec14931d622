/**
 * What the console's shops, merchants and ad-networks tabs share: a refusal in words by its stable
 * code, a secret shown once (a shop's webhook secret, an API key, a network's secret), and an
 * operation followed until the chain confirms or refuses it.
 */
import type { ComponentChildren } from "preact";
import { ApiError } from "../lib/api";
import { html } from "../lib/html";
import { boot, t } from "../lib/i18n";
import { type Operation, followOperation } from "../lib/operations";

const P = "admin-console";
const has = (key: string) => boot.messages?.[key] !== undefined;

/** A refusal in the page's language: by its code where the catalogue has it, else the server's message. */
export function errorText(error: unknown): string {
  if (!(error instanceof ApiError)) return t(`${P}.error.INTERNAL`);
  if (has(`${P}.error.${error.code}`)) return t(`${P}.error.${error.code}`, { message: error.message });
  return error.message;
}

/** Reads a form's field once, on submit (passwords are never kept in a signal). */
export function field(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}

export { type Operation, followOperation as follow };

/** An operation's state in words, its transaction and, when refused, why. */
export function OperationLine(props: { op: Operation | null; testid: string }) {
  const op = props.op;
  return html`<p aria-live="polite" data-testid=${`${props.testid}-status`}>
    ${
      op &&
      html`<span class=${`status ${op.state}`} data-testid=${`${props.testid}-state`} data-state=${op.state}>
        ${t(`${P}.state.${op.state}`)}${op.state === "rejected" && op.reason ? ` · ${op.reason}` : ""}
      </span>`
    }
  </p>`;
}

/**
 * Secrets the server shows once: each with its label, selectable whole, and the warning that it is
 * not shown again; `onDone` hides them.
 */
export function ShownOnce(props: {
  heading: string;
  items: { label: string; value: string; testid: string; secret?: boolean }[];
  onDone: () => void;
  children?: ComponentChildren;
}) {
  return html`<div class="confirm once" role="status" data-testid="shown-once">
    <h3>${props.heading}</h3>
    <p><strong>${t(`${P}.onceWarning`)}</strong></p>
    <dl class="once-items">
      ${props.items.map(
        (i) =>
          html`<div key=${i.testid}>
            <dt>${i.label}</dt>
            <dd><code class=${i.secret ? "secret" : "hex"} data-testid=${i.testid}>${i.value}</code></dd>
          </div>`,
      )}
    </dl>
    ${props.children}
    <button type="button" class="secondary" onClick=${props.onDone} data-testid="shown-once-done">${t(`${P}.onceDone`)}</button>
  </div>`;
}
