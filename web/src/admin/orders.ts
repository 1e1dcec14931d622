/**
 * The operator's orders and operations: searched by shop, order id, user (phone or user id),
 * state and date (GET /v1/admin/orders), or by kind, state, user, operation id and date (GET
 * /v1/admin/operations); each with its state, transaction hash and, when it was refused or waits,
 * why in plain words: the stable refusal code (`reasonCode`, the contract error's name) read from
 * the catalogue, the server's own text when the code is not one the console knows.
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { api } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { errorText, refusalText } from "./follow";

interface Order {
  shopId: string;
  orderId: string;
  userId: string;
  amount: string;
  state: string;
  gpMinted?: string;
  txHash?: string;
  reason?: string;
  reasonCode: string | null;
  createdAt: string;
}
interface Operation {
  operationId: string;
  kind: string;
  state: string;
  actor: string;
  details: Record<string, string>;
  txHash?: string;
  reason?: string;
  reasonCode: string | null;
  createdAt: string;
}

const O = "admin-orders";
const ORDER_STATES = ["pending", "received", "submitted", "confirmed", "rejected", "cancelled"] as const;
const OPERATION_STATES = ["queued", "submitted", "confirmed", "rejected"] as const;
/** The operation kinds the relayer queues, offered as suggestions (any kind may be typed). */
const KINDS = [
  "grant",
  "removal",
  "register",
  "transfer",
  "pay-merchant",
  "redeem",
  "redeem-constant",
  "convert",
  "exchange-constant",
  "withdraw-points",
  "withdraw-settlement",
  "deposit-by-sig",
  "pool-parameter",
  "custody-parameter",
  "pause",
  "unpause",
  "settlement-refill",
];

const view = signal<"orders" | "operations">("orders");
const shops = signal<{ shopId: string; name: string }[]>([]);

/** A form's fields as query parameters: the empty ones left out, the user as phone or user id, the dates as the local day's bounds. */
function queryOf(form: HTMLFormElement, names: readonly string[]): URLSearchParams {
  const data = new FormData(form);
  const q = new URLSearchParams();
  for (const name of names) {
    const value = String(data.get(name) ?? "").trim();
    if (value) q.set(name, value);
  }
  const user = String(data.get("user") ?? "").trim();
  if (user) q.set(String(data.get("userBy")), user);
  const from = String(data.get("fromDay") ?? "");
  const to = String(data.get("toDay") ?? "");
  if (from) q.set("from", new Date(`${from}T00:00`).toISOString());
  // The "to" day is included: the query's bound is the next day's start.
  if (to) q.set("to", new Date(new Date(`${to}T00:00`).getTime() + 86_400_000).toISOString());
  return q;
}

function Why(props: { state: string; reason?: string; code: string | null; testid: string }) {
  if (!props.reason) return null;
  return html`<br /><span
      class=${props.state === "rejected" ? "why rejected" : "why"}
      data-testid=${props.testid}
      data-code=${props.code ?? ""}
    >
      ${props.state === "received" ? `${t(`${O}.waits`)} ` : ""}${refusalText(props.code, props.reason)}
    </span>
    <br /><span class="fine">${props.code ? t("admin-refusals.codeLabel", { code: props.code }) : props.reason}</span>`;
}

function UserField() {
  return html`<div class="orders-user">
    <label>
      ${t(`${O}.userBy`)}
      <select name="userBy" data-testid="orders-user-by">
        <option value="phone">${t(`${O}.by.phone`)}</option>
        <option value="userId">${t(`${O}.by.userId`)}</option>
      </select>
    </label>
    <label>
      ${t(`${O}.user`)}
      <input name="user" autocomplete="off" data-testid="orders-user" />
    </label>
  </div>`;
}

function Dates() {
  return html`<label>
      ${t(`${O}.fromDay`)}
      <input type="date" name="fromDay" data-testid="orders-from" />
    </label>
    <label>
      ${t(`${O}.toDay`)}
      <input type="date" name="toDay" data-testid="orders-to" />
    </label>`;
}

function OrderSearch() {
  const rows = useSignal<Order[] | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const search = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const q = queryOf(event.currentTarget as HTMLFormElement, ["shopId", "orderId", "state"]);
      rows.value = (await api<{ orders: Order[] }>("GET", `/v1/admin/orders?${q}`)).orders;
    } catch (e) {
      rows.value = null;
      error.value = errorText(O, e);
    } finally {
      busy.value = false;
    }
  };
  return html`<section class="card" aria-labelledby="orders-heading" data-testid="orders-search">
    <h2 id="orders-heading">${t(`${O}.ordersHeading`)}</h2>
    <form onSubmit=${search} aria-describedby="orders-error">
      <div class="orders-fields">
        <label>
          ${t(`${O}.shop`)}
          <select name="shopId" data-testid="orders-shop">
            <option value="">${t(`${O}.any`)}</option>
            ${shops.value.map((s) => html`<option key=${s.shopId} value=${s.shopId}>${s.name} (${s.shopId})</option>`)}
          </select>
        </label>
        <label>
          ${t(`${O}.orderId`)}
          <input name="orderId" autocomplete="off" data-testid="orders-order-id" />
        </label>
        <${UserField} />
        <label>
          ${t(`${O}.state`)}
          <select name="state" data-testid="orders-state">
            <option value="">${t(`${O}.any`)}</option>
            ${ORDER_STATES.map((s) => html`<option key=${s} value=${s}>${t(`${O}.orderState.${s}`)}</option>`)}
          </select>
        </label>
        <${Dates} />
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy.value} data-testid="orders-find">${t(`${O}.find`)}</button>
      </div>
    </form>
    <p id="orders-error" class=${error.value ? "error" : ""} role="alert" data-testid="orders-error">${error.value ?? ""}</p>
    ${
      rows.value &&
      (rows.value.length === 0
        ? html`<p class="empty" data-testid="orders-none">${t(`${O}.none`)}</p>`
        : html`<div class="scroll" aria-live="polite">
            <table class="table stack" data-testid="orders-table">
              <thead>
                <tr>
                  <th scope="col">${t(`${O}.time`)}</th>
                  <th scope="col">${t(`${O}.order`)}</th>
                  <th scope="col">${t(`${O}.user`)}</th>
                  <th scope="col">${t(`${O}.amount`)}</th>
                  <th scope="col">${t(`${O}.state`)}</th>
                  <th scope="col">${t(`${O}.tx`)}</th>
                </tr>
              </thead>
              <tbody>
                ${rows.value.map(
                  (o) =>
                    html`<tr key=${`${o.shopId}:${o.orderId}`} data-testid="orders-row" data-order=${o.orderId} data-state=${o.state}>
                      <td data-label=${t(`${O}.time`)}>${formatDateTime(o.createdAt)}</td>
                      <td data-label=${t(`${O}.order`)}>${o.orderId}<br /><span class="fine">${o.shopId}</span></td>
                      <td data-label=${t(`${O}.user`)} class="wrap">${o.userId}</td>
                      <td data-label=${t(`${O}.amount`)}>
                        ${formatAmount(o.amount, 6)}${o.gpMinted && html`<br /><span class="fine">${t(`${O}.minted`, { points: formatAmount(o.gpMinted, 6) })}</span>`}
                      </td>
                      <td data-label=${t(`${O}.state`)}>
                        <span class=${`pill ${o.state}`}>${t(`${O}.orderState.${o.state}`)}</span>
                        <${Why} state=${o.state} reason=${o.reason} code=${o.reasonCode} testid="orders-reason" />
                      </td>
                      <td data-label=${t(`${O}.tx`)}>${o.txHash ? html`<${Hex} value=${o.txHash} testId="orders-tx" />` : "—"}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`)
    }
  </section>`;
}

function OperationSearch() {
  const rows = useSignal<Operation[] | null>(null);
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const search = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const q = queryOf(event.currentTarget as HTMLFormElement, ["kind", "state", "operationId"]);
      rows.value = (await api<{ operations: Operation[] }>("GET", `/v1/admin/operations?${q}`)).operations;
    } catch (e) {
      rows.value = null;
      error.value = errorText(O, e);
    } finally {
      busy.value = false;
    }
  };
  return html`<section class="card" aria-labelledby="operations-heading" data-testid="operations-search">
    <h2 id="operations-heading">${t(`${O}.operationsHeading`)}</h2>
    <form onSubmit=${search} aria-describedby="operations-error">
      <div class="orders-fields">
        <label>
          ${t(`${O}.kind`)}
          <input name="kind" list="operation-kinds" autocomplete="off" data-testid="operations-kind" />
          <datalist id="operation-kinds">${KINDS.map((k) => html`<option key=${k} value=${k} />`)}</datalist>
        </label>
        <label>
          ${t(`${O}.operationId`)}
          <input name="operationId" autocomplete="off" data-testid="operations-id" />
        </label>
        <${UserField} />
        <label>
          ${t(`${O}.state`)}
          <select name="state" data-testid="operations-state">
            <option value="">${t(`${O}.any`)}</option>
            ${OPERATION_STATES.map((s) => html`<option key=${s} value=${s}>${t(`${O}.operationState.${s}`)}</option>`)}
          </select>
        </label>
        <${Dates} />
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy.value} data-testid="operations-find">${t(`${O}.find`)}</button>
      </div>
    </form>
    <p id="operations-error" class=${error.value ? "error" : ""} role="alert" data-testid="operations-error">${error.value ?? ""}</p>
    ${
      rows.value &&
      (rows.value.length === 0
        ? html`<p class="empty" data-testid="operations-none">${t(`${O}.none`)}</p>`
        : html`<div class="scroll" aria-live="polite">
            <table class="table stack" data-testid="operations-table">
              <thead>
                <tr>
                  <th scope="col">${t(`${O}.queuedAt`)}</th>
                  <th scope="col">${t(`${O}.kind`)}</th>
                  <th scope="col">${t(`${O}.details`)}</th>
                  <th scope="col">${t(`${O}.state`)}</th>
                  <th scope="col">${t(`${O}.tx`)}</th>
                </tr>
              </thead>
              <tbody>
                ${rows.value.map(
                  (op) =>
                    html`<tr
                      key=${op.operationId}
                      data-testid="operations-row"
                      data-operation=${op.operationId}
                      data-kind=${op.kind}
                      data-state=${op.state}
                    >
                      <td data-label=${t(`${O}.queuedAt`)}>${formatDateTime(op.createdAt)}</td>
                      <td data-label=${t(`${O}.kind`)}>${op.kind}<br /><span class="fine hex">${op.operationId}</span></td>
                      <td data-label=${t(`${O}.details`)} class="wrap fine">
                        ${t(`${O}.actor`, { actor: op.actor })}
                        ${Object.entries(op.details).map(([k, v]) => html`<br key=${k} />${k}: ${v}`)}
                      </td>
                      <td data-label=${t(`${O}.state`)}>
                        <span class=${`pill ${op.state}`}>${t(`${O}.operationState.${op.state}`)}</span>
                        <${Why} state=${op.state} reason=${op.reason} code=${op.reasonCode} testid="operations-reason" />
                      </td>
                      <td data-label=${t(`${O}.tx`)}>${op.txHash ? html`<${Hex} value=${op.txHash} />` : "—"}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`)
    }
  </section>`;
}

export function Orders(_props: { me: StaffMe }) {
  useEffect(() => {
    void api<{ shops: { shopId: string; name: string }[] }>("GET", "/v1/admin/shops")
      .then((r) => (shops.value = r.shops))
      .catch(() => undefined);
  }, []);
  return html`<div class="orders" data-testid="orders">
    <p class="lead">${t(`${O}.lead`)}</p>
    <div class="segmented" role="group" aria-label=${t(`${O}.which`)}>
      ${(["orders", "operations"] as const).map(
        (v) =>
          html`<button
            type="button"
            aria-pressed=${String(view.value === v)}
            onClick=${() => (view.value = v)}
            data-testid=${`orders-view-${v}`}
          >
            ${t(`${O}.view.${v}`)}
          </button>`,
      )}
    </div>
    ${view.value === "orders" ? html`<${OrderSearch} />` : html`<${OperationSearch} />`}
  </div>`;
}
