/**
 * The operator's members: found by phone (as typed or in E.164) or user id (GET /v1/admin/members),
 * then the profile (GET /v1/admin/members/{userId}): balances read from the chain at one block with
 * their value then, the referrer and referees, the orders, and the history as the member reads it
 * (GET /v1/admin/members/{userId}/history). Points are granted or removed with a reason: a grant's
 * GP are previewed first (…/grant-preview), a removal's value worked out from the price; the
 * operator confirms, the change is sent with one Idempotency-Key per intended change, followed
 * until the chain confirms or refuses it, and the profile read again.
 */
import { useEffect } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { api, newIdempotencyKey } from "../lib/api";
import { fromUnits, multiply, toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Figure, Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { type Operation, errorText, follow, reasonCodeOf, refusalText } from "./follow";

interface Order {
  shopId: string;
  orderId: string;
  userId: string;
  amount: string;
  state: "received" | "submitted" | "confirmed" | "rejected";
  gpMinted?: string;
  txHash?: string;
  reason?: string;
  reasonCode: string | null;
  createdAt: string;
}
interface Profile {
  userId: string;
  account: string;
  phone: string | null;
  signedUpAt: string | null;
  madeByShop: string | null;
  hasPassword: boolean;
  registeredOnChain: boolean;
  original: string | null;
  asOfBlock: number;
  balances: { points: string; constantPoints: string; settlement: string };
  value: { price: string; points: string; redeemableNow: string; total: string };
  referrer: { userId: string; phone: string | null } | null;
  referees: {
    mode: string;
    referrals: { userId: string; phone: string | null; signedUpAt: string; registration: string; earned: string }[];
    earned: string;
  };
  orders: Order[];
}
interface HistoryEntry {
  id: string;
  time: string;
  kind: string;
  state: "pending" | "confirmed" | "rejected";
  points: string;
  constantPoints: string;
  settlement: string;
  details: Record<string, string>;
  txHash: string | null;
  reason: string | null;
}
interface HistoryPage {
  entries: HistoryEntry[];
  nextCursor: string | null;
  asOfBlock: number;
}

const M = "admin-members";
const HISTORY_PAGE = 20;

/** The member open in the tab, kept while the operator moves between tabs. */
const selected = signal<string | null>(null);
const profile = signal<Profile | null>(null);
const profileError = signal<string | null>(null);

async function loadProfile(userId: string): Promise<void> {
  try {
    profile.value = await api<Profile>("GET", `/v1/admin/members/${encodeURIComponent(userId)}`);
    profileError.value = null;
  } catch (error) {
    profileError.value = errorText(M, error);
  }
}

function open(userId: string) {
  selected.value = userId;
  profile.value = null;
  void loadProfile(userId);
}

const signed = (v: string) => (v.startsWith("-") || v === "0" ? formatAmount(v, 6) : `+${formatAmount(v, 6)}`);

function Search() {
  const by = useSignal<"phone" | "userId">("phone");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const value = ((event.currentTarget as HTMLFormElement).elements.namedItem("q") as HTMLInputElement).value.trim();
    busy.value = true;
    error.value = null;
    try {
      const found = await api<{ userId: string }>("GET", `/v1/admin/members?${new URLSearchParams({ [by.value]: value })}`);
      open(found.userId);
    } catch (e) {
      // The member shown before is not the one asked for: it goes, so no one takes it for the answer.
      selected.value = null;
      profile.value = null;
      profileError.value = null;
      error.value = errorText(M, e);
    } finally {
      busy.value = false;
    }
  };
  return html`<form class="card members-search" onSubmit=${submit} aria-describedby="members-search-error" data-testid="members-search">
    <h2>${t(`${M}.searchHeading`)}</h2>
    <div class="members-fields">
      <label>
        ${t(`${M}.by`)}
        <select
          name="by"
          value=${by.value}
          onChange=${(e: Event) => (by.value = (e.currentTarget as HTMLSelectElement).value as "phone" | "userId")}
          data-testid="members-by"
        >
          <option value="phone">${t(`${M}.by.phone`)}</option>
          <option value="userId">${t(`${M}.by.userId`)}</option>
        </select>
      </label>
      <label>
        ${t(by.value === "phone" ? `${M}.phone` : `${M}.userId`)}
        <input
          name="q"
          required
          autocomplete="off"
          inputmode=${by.value === "phone" ? "tel" : "text"}
          placeholder=${by.value === "phone" ? "138 0013 8000" : ""}
          data-testid="members-q"
        />
      </label>
    </div>
    <p class="fine">${t(`${M}.searchHelp`)}</p>
    <p id="members-search-error" class=${error.value ? "error" : ""} role="alert" data-testid="members-search-error">
      ${error.value ?? ""}
    </p>
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy.value} data-testid="members-find">${t(`${M}.find`)}</button>
    </div>
  </form>`;
}

function Balances(props: { p: Profile }) {
  const { p } = props;
  return html`<section class="card" aria-labelledby="member-balances" data-testid="member-balances">
    <h2 id="member-balances">${t(`${M}.balancesHeading`)}</h2>
    <dl class="figures">
      <${Figure}
        label=${t(`${M}.points`)}
        value=${formatAmount(p.balances.points, 6)}
        unit="GP"
        testId="member-points"
        hint=${t(`${M}.worth`, { value: formatAmount(p.value.points, 2) })}
      />
      <${Figure} label=${t(`${M}.constantPoints`)} value=${formatAmount(p.balances.constantPoints, 6)} unit="CP" testId="member-cp" />
      <${Figure} label=${t(`${M}.settlement`)} value=${formatAmount(p.balances.settlement, 6)} unit="USDT" testId="member-settlement" />
      <${Figure}
        label=${t(`${M}.total`)}
        value=${formatAmount(p.value.total, 2)}
        unit="USDT"
        testId="member-total"
        hint=${t(`${M}.redeemable`, { value: formatAmount(p.value.redeemableNow, 2) })}
      />
    </dl>
    <span
      hidden
      data-testid="member-balances-values"
      data-block=${p.asOfBlock}
      data-points=${p.balances.points}
      data-cp=${p.balances.constantPoints}
      data-settlement=${p.balances.settlement}
    ></span>
    <p class="fine" data-testid="member-price">${t(`${M}.priceAt`, { price: formatAmount(p.value.price, 6), block: p.asOfBlock })}</p>
  </section>`;
}

function Who(props: { p: Profile }) {
  const { p } = props;
  return html`<section class="card" aria-labelledby="member-who" data-testid="member-who">
    <h2 id="member-who">${t(`${M}.whoHeading`)}</h2>
    <dl class="addresses">
      <div>
        <dt>${t(`${M}.userId`)}</dt>
        <dd data-testid="member-user-id">${p.userId}</dd>
      </div>
      <div>
        <dt>${t(`${M}.phone`)}</dt>
        <dd data-testid="member-phone">
          ${p.phone ?? t(`${M}.noPhone`)}
          ${p.phone && html` · ${p.signedUpAt ? t(`${M}.signedUpAt`, { at: formatDateTime(p.signedUpAt) }) : t(`${M}.notSignedUp`)}`}
        </dd>
      </div>
      <div>
        <dt>${t(`${M}.account`)}</dt>
        <dd><${Hex} value=${p.account} testId="member-account" /></dd>
      </div>
      <div>
        <dt>${t(`${M}.onChain`)}</dt>
        <dd>
          ${t(p.registeredOnChain ? `${M}.registered` : `${M}.notRegistered`)}${p.madeByShop ? ` · ${t(`${M}.madeBy`, { shop: p.madeByShop })}` : ""}
        </dd>
      </div>
      ${
        p.original &&
        html`<div>
          <dt>${t(`${M}.original`)}</dt>
          <dd><${Hex} value=${p.original} /></dd>
        </div>`
      }
    </dl>
  </section>`;
}

/** A grant (a contribution paid into the pool) or a removal of GP, with a reason: previewed, confirmed, sent, followed. */
function Adjust(props: { p: Profile }) {
  const { p } = props;
  const kind = useSignal<"grant" | "removal">("grant");
  const amount = useSignal("");
  const reason = useSignal("");
  const step = useSignal<"edit" | "confirm" | "sent">("edit");
  const preview = useSignal<{ points: string; value: string } | null>(null);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const op = useSignal<Operation | null>(null);
  const code = useSignal<string | null>(null);
  // One key per intended change (this kind, amount and reason), kept for retries of that change.
  const key = useSignal<{ intent: string; key: string } | null>(null);

  const reset = () => {
    preview.value = null;
    if (step.value !== "sent") step.value = "edit";
  };
  const showPreview = async (event: Event) => {
    event.preventDefault();
    error.value = null;
    preview.value = null;
    op.value = null;
    step.value = "edit";
    const value = amount.value.trim();
    busy.value = true;
    try {
      if (kind.value === "grant") {
        const q = new URLSearchParams({ contribution: value });
        const r = await api<{ points: string; price: string }>(
          "GET",
          `/v1/admin/members/${encodeURIComponent(p.userId)}/grant-preview?${q}`,
        );
        preview.value = { points: r.points, value };
      } else {
        if (!/^\d+(\.\d{1,18})?$/.test(value) || toUnits(value, 18) === 0n) throw new Error("amount");
        if (toUnits(value, 18) > toUnits(p.balances.points, 18)) {
          error.value = t(`${M}.error.INSUFFICIENT_POINTS`, { held: formatAmount(p.balances.points, 6) });
          return;
        }
        preview.value = { points: value, value: multiply(value, p.value.price, 6) };
      }
    } catch (e) {
      error.value = e instanceof Error && e.message === "amount" ? t(`${M}.error.AMOUNT`) : errorText(M, e);
    } finally {
      busy.value = false;
    }
  };

  const send = async () => {
    const value = amount.value.trim();
    const intent = JSON.stringify([kind.value, value, reason.value.trim()]);
    if (!key.value || key.value.intent !== intent) key.value = { intent, key: newIdempotencyKey() };
    busy.value = true;
    error.value = null;
    code.value = null;
    try {
      const path = `/v1/admin/users/${encodeURIComponent(p.userId)}/${kind.value === "grant" ? "grants" : "removals"}`;
      const body =
        kind.value === "grant" ? { contribution: value, reason: reason.value.trim() } : { points: value, reason: reason.value.trim() };
      const queued = await api<Operation>("POST", path, { body, idempotencyKey: key.value.key });
      step.value = "sent";
      op.value = queued;
      const final = await follow(queued.operationId, (o) => (op.value = o));
      if (final.state === "rejected") code.value = await reasonCodeOf(final.operationId);
      else key.value = null;
      await loadProfile(p.userId);
    } catch (e) {
      error.value = errorText(M, e);
    } finally {
      busy.value = false;
    }
  };

  const minted = op.value?.events?.find((e) => e.name === "Granted" || e.name === "Removed")?.args.points;
  return html`<section class="card" aria-labelledby="member-adjust" data-testid="member-adjust">
    <h2 id="member-adjust">${t(`${M}.adjustHeading`)}</h2>
    <p class="fine">${t(`${M}.adjustHelp`)}</p>
    <form onSubmit=${showPreview} aria-describedby="member-adjust-error">
      <fieldset class="segmented members-kind" data-testid="member-adjust-kind">
        <legend class="params-hidden">${t(`${M}.adjustKind`)}</legend>
        ${(["grant", "removal"] as const).map(
          (k) =>
            html`<label class=${kind.value === k ? "on" : ""}>
              <input
                type="radio"
                name="kind"
                value=${k}
                checked=${kind.value === k}
                onChange=${() => {
                  kind.value = k;
                  reset();
                }}
                data-testid=${`member-kind-${k}`}
              />
              ${t(`${M}.kind.${k}`)}
            </label>`,
        )}
      </fieldset>
      <div class="members-fields">
        <label>
          ${t(kind.value === "grant" ? `${M}.contribution` : `${M}.removePoints`)}
          <input
            name="amount"
            required
            inputmode="decimal"
            autocomplete="off"
            value=${amount.value}
            onInput=${(e: Event) => {
              amount.value = (e.currentTarget as HTMLInputElement).value;
              reset();
            }}
            data-testid="member-amount"
          />
        </label>
        <label>
          ${t(`${M}.reason`)}
          <input
            name="reason"
            required
            maxlength="500"
            autocomplete="off"
            value=${reason.value}
            onInput=${(e: Event) => {
              reason.value = (e.currentTarget as HTMLInputElement).value;
              reset();
            }}
            data-testid="member-reason"
          />
        </label>
      </div>
      <div class="actions">
        <button type="submit" class="secondary" disabled=${busy.value} data-testid="member-preview">${t(`${M}.preview`)}</button>
      </div>
    </form>
    <div aria-live="polite">
      ${
        preview.value &&
        html`<div data-testid="member-preview-text" data-points=${preview.value.points}>
          <p>
            ${
              kind.value === "grant"
                ? t(`${M}.previewGrant`, { amount: formatAmount(preview.value.value, 6), points: formatAmount(preview.value.points, 6) })
                : t(`${M}.previewRemoval`, {
                    points: formatAmount(preview.value.points, 6),
                    held: formatAmount(p.balances.points, 6),
                    value: formatAmount(preview.value.value, 2),
                  })
            }
          </p>
          ${
            step.value === "edit" &&
            html`<button
              type="button"
              class="primary"
              disabled=${!reason.value.trim()}
              onClick=${() => (step.value = "confirm")}
              data-testid="member-continue"
            >
              ${t(`${M}.continue`)}
            </button>`
          }
          ${!reason.value.trim() && html`<p class="fine">${t(`${M}.reasonNeeded`)}</p>`}
        </div>`
      }
    </div>
    ${
      step.value === "confirm" &&
      preview.value &&
      html`<div class="confirm" data-testid="member-confirm">
        <p>
          ${t(kind.value === "grant" ? `${M}.confirmGrant` : `${M}.confirmRemoval`, {
            user: p.userId,
            amount: formatAmount(amount.value.trim(), 6),
            points: formatAmount(preview.value.points, 6),
            reason: reason.value.trim(),
          })}
        </p>
        <div class="actions">
          <button type="button" class="primary" disabled=${busy.value} onClick=${() => void send()} data-testid="member-send">
            ${t(kind.value === "grant" ? `${M}.sendGrant` : `${M}.sendRemoval`)}
          </button>
          <button type="button" class="link" disabled=${busy.value} onClick=${() => (step.value = "edit")}>${t(`${M}.back`)}</button>
        </div>
      </div>`
    }
    <p id="member-adjust-error" class=${error.value ? "error" : ""} role="alert" data-testid="member-adjust-error">${error.value ?? ""}</p>
    <div aria-live="polite" data-testid="member-adjust-status">
      ${
        op.value &&
        html`<p class=${`status ${op.value.state}`} data-testid="member-adjust-state" data-state=${op.value.state}>
          ${t(`${M}.state.${op.value.state}`)} ${op.value.txHash && html` · <${Hex} value=${op.value.txHash} testId="member-adjust-tx" />`}
          ${
            op.value.state === "confirmed" &&
            minted &&
            html`<span data-testid="member-adjust-done" data-points=${minted}>
              ${" · "}${t(op.value.kind === "grant" ? `${M}.granted` : `${M}.removed`, { points: formatAmount(fromUnits(BigInt(minted), 18), 6) })}
            </span>`
          }
          ${
            op.value.state === "rejected" &&
            html`<span data-testid="member-adjust-reason" data-code=${code.value ?? ""}
              >${" · "}${refusalText(code.value, op.value.reason)}</span
            >`
          }
        </p>`
      }
      ${
        step.value === "sent" &&
        !busy.value &&
        html`<button
          type="button"
          class="link"
          onClick=${() => {
            step.value = "edit";
            preview.value = null;
            op.value = null;
            amount.value = "";
            reason.value = "";
          }}
          data-testid="member-adjust-again"
        >
          ${t(`${M}.again`)}
        </button>`
      }
    </div>
  </section>`;
}

function Referrals(props: { p: Profile }) {
  const { p } = props;
  const who = (r: { userId: string; phone: string | null }) =>
    html`<button type="button" class="link" onClick=${() => open(r.userId)} data-testid=${`member-open-${r.userId}`}>
      ${r.phone ?? r.userId}
    </button>`;
  return html`<section class="card" aria-labelledby="member-referrals" data-testid="member-referrals">
    <h2 id="member-referrals">${t(`${M}.referralsHeading`)}</h2>
    <p data-testid="member-referrer">${p.referrer ? html`${t(`${M}.referrer`)} ${who(p.referrer)}` : t(`${M}.noReferrer`)}</p>
    ${
      p.referees.referrals.length === 0
        ? html`<p class="empty" data-testid="member-no-referees">${t(`${M}.noReferees`)}</p>`
        : html`<div class="scroll">
            <table class="table stack" data-testid="member-referees">
              <caption class="fine">
                ${t(`${M}.refereesCaption`, { earned: formatAmount(p.referees.earned, 6), mode: t(`${M}.mode.${p.referees.mode}`) })}
              </caption>
              <thead>
                <tr>
                  <th scope="col">${t(`${M}.referee`)}</th>
                  <th scope="col">${t(`${M}.signedUp`)}</th>
                  <th scope="col">${t(`${M}.registration`)}</th>
                  <th scope="col">${t(`${M}.earned`)}</th>
                </tr>
              </thead>
              <tbody>
                ${p.referees.referrals.map(
                  (r) =>
                    html`<tr key=${r.userId} data-testid="member-referee">
                      <td data-label=${t(`${M}.referee`)}>${who(r)}</td>
                      <td data-label=${t(`${M}.signedUp`)}>${formatDateTime(r.signedUpAt)}</td>
                      <td data-label=${t(`${M}.registration`)}>${t(`${M}.state.${r.registration}`)}</td>
                      <td data-label=${t(`${M}.earned`)}>${formatAmount(r.earned, 6)} <span class="unit">GP</span></td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

function OrderState(props: { o: Order }) {
  const { o } = props;
  return html`<span class=${`pill ${o.state}`}>${t(`${M}.orderState.${o.state}`)}</span>
    ${o.reason && html`<br /><span class="fine" data-testid="order-reason" data-code=${o.reasonCode ?? ""}>${refusalText(o.reasonCode, o.reason)}</span>`}`;
}

function Orders(props: { p: Profile }) {
  const { orders } = props.p;
  return html`<section class="card" aria-labelledby="member-orders" data-testid="member-orders">
    <h2 id="member-orders">${t(`${M}.ordersHeading`)}</h2>
    ${
      orders.length === 0
        ? html`<p class="empty">${t(`${M}.noOrders`)}</p>`
        : html`<div class="scroll">
            <table class="table stack">
              <thead>
                <tr>
                  <th scope="col">${t(`${M}.time`)}</th>
                  <th scope="col">${t(`${M}.order`)}</th>
                  <th scope="col">${t(`${M}.amount`)}</th>
                  <th scope="col">${t(`${M}.state`)}</th>
                  <th scope="col">${t(`${M}.minted`)}</th>
                </tr>
              </thead>
              <tbody>
                ${orders.map(
                  (o) =>
                    html`<tr key=${`${o.shopId}:${o.orderId}`} data-testid="member-order" data-order=${o.orderId} data-state=${o.state}>
                      <td data-label=${t(`${M}.time`)}>${formatDateTime(o.createdAt)}</td>
                      <td data-label=${t(`${M}.order`)}>${o.orderId}<br /><span class="fine">${o.shopId}</span></td>
                      <td data-label=${t(`${M}.amount`)}>${formatAmount(o.amount, 6)}</td>
                      <td data-label=${t(`${M}.state`)}><${OrderState} o=${o} /></td>
                      <td data-label=${t(`${M}.minted`)}>${o.gpMinted ? formatAmount(o.gpMinted, 6) : "—"}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

function History(props: { userId: string; block: number }) {
  const entries = useSignal<HistoryEntry[]>([]);
  const cursor = useSignal<string | null>(null);
  const error = useSignal<string | null>(null);
  const loading = useSignal(false);
  const more = async (from: string | null) => {
    loading.value = true;
    try {
      const q = new URLSearchParams({ limit: String(HISTORY_PAGE) });
      if (from) q.set("cursor", from);
      const page = await api<HistoryPage>("GET", `/v1/admin/members/${encodeURIComponent(props.userId)}/history?${q}`);
      entries.value = from ? [...entries.value, ...page.entries] : page.entries;
      cursor.value = page.nextCursor;
      error.value = null;
    } catch (e) {
      error.value = errorText(M, e);
    } finally {
      loading.value = false;
    }
  };
  // Read again whenever the profile is (after a grant or removal: a new block).
  useEffect(() => {
    void more(null);
  }, [props.userId, props.block]);
  return html`<section class="card" aria-labelledby="member-history" data-testid="member-history">
    <h2 id="member-history">${t(`${M}.historyHeading`)}</h2>
    ${error.value && html`<p class="error" role="alert">${error.value}</p>`}
    ${
      entries.value.length === 0 && !loading.value
        ? html`<p class="empty">${t(`${M}.noHistory`)}</p>`
        : html`<div class="scroll">
            <table class="table stack">
              <thead>
                <tr>
                  <th scope="col">${t(`${M}.time`)}</th>
                  <th scope="col">${t(`${M}.what`)}</th>
                  <th scope="col">GP</th>
                  <th scope="col">CP</th>
                  <th scope="col">USDT</th>
                </tr>
              </thead>
              <tbody>
                ${entries.value.map(
                  (e) =>
                    html`<tr key=${e.id} data-testid="member-history-entry" data-kind=${e.kind} data-state=${e.state}>
                      <td data-label=${t(`${M}.time`)}>${formatDateTime(e.time)}</td>
                      <td data-label=${t(`${M}.what`)}>
                        ${t(`${M}.kind.${e.kind}`)} ${e.state !== "confirmed" && html` · ${t(`${M}.entryState.${e.state}`)}`}
                        ${e.details.note && html`<br /><span class="fine">${t(`${M}.note`, { note: e.details.note })}</span>`}
                        ${e.details.orderId && html`<br /><span class="fine">${e.details.orderId}</span>`}
                      </td>
                      <td data-label=${"GP"}>${signed(e.points)}</td>
                      <td data-label=${"CP"}>${signed(e.constantPoints)}</td>
                      <td data-label=${"USDT"}>${signed(e.settlement)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    ${
      cursor.value &&
      html`<button
        type="button"
        class="secondary"
        disabled=${loading.value}
        onClick=${() => void more(cursor.value)}
        data-testid="member-history-more"
      >
        ${t(`${M}.more`)}
      </button>`
    }
  </section>`;
}

export function Members(_props: { me: StaffMe }) {
  const p = profile.value;
  return html`<div class="members" data-testid="members">
    <p class="lead">${t(`${M}.lead`)}</p>
    <${Search} />
    ${profileError.value && html`<p class="error" role="alert" data-testid="member-error">${profileError.value}</p>`}
    ${selected.value && !p && !profileError.value && html`<p aria-busy="true">${t("common.loading")}</p>`}
    ${
      p &&
      html`<div data-testid="member-profile" data-user=${p.userId}>
        <${Who} p=${p} />
        <${Balances} p=${p} />
        <${Adjust} key=${p.userId} p=${p} />
        <${Referrals} p=${p} />
        <${Orders} p=${p} />
        <${History} userId=${p.userId} block=${p.asOfBlock} />
      </div>`
    }
  </div>`;
}
