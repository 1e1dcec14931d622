/**
 * The wallet's actions: redeem, transfer, pay a merchant, convert GP to CP, withdraw GP to the
 * original account, withdraw settlement to an address. Each is a form, then a review of the exact
 * figures (worked out here in bigint with the contracts' own rounding, from the pool read at that
 * moment), then the payment password, one POST under one Idempotency-Key, and the operation
 * followed until the chain confirms or refuses it.
 */
import { useSignal, type Signal } from "@preact/signals";
import { type ComponentChildren, createContext } from "preact";
import { useContext, useRef } from "preact/hooks";
import { ApiError, api, newIdempotencyKey } from "../lib/api";
import { fromUnits, toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { boot, formatAmount, formatBps, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import { type Me, type Operation, follow, pool as poolSummary } from "./state";

/** GET /v1/pool as the review needs it: the exact price in base units and the fees. */
interface PoolNow {
  price: string;
  priceRatio: { assets: string; supply: string };
  paused: boolean;
  settlement: { decimals: number; symbol: string };
  params: { exitFeeBps: number; withdrawalFeeBps: number };
}

const KINDS = ["redeem", "transfer", "pay", "convert", "withdrawPoints", "withdrawSettlement"] as const;
type Kind = (typeof KINDS)[number];

const BPS = 10_000n;
const SLIPPAGES = [10, 50, 100] as const;
const ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The contracts' rounding (OpenZeppelin Math.mulDiv), mirrored from server/domain/points-math.ts. */
const mulDivFloor = (x: bigint, y: bigint, d: bigint) => (x * y) / d;
const mulDivCeil = (x: bigint, y: bigint, d: bigint) => (x * y + d - 1n) / d;

/** One figure of a review or a result: `value` is an exact decimal string (also in data-value, for tests). */
interface Fig {
  id: string;
  label: string;
  value: string;
  places: number;
  unit?: string;
}

/** What the user is about to send: the call, the figures shown, and its one idempotency key. */
interface Review {
  path: string;
  body: Record<string, string>;
  figures: Fig[];
  notes: string[];
  key: string;
}

/** A refusal before anything is sent: a catalogue key (and its values), shown beside the form. */
class Invalid extends Error {
  constructor(
    readonly key: string,
    readonly vars: Record<string, string> = {},
  ) {
    super(key);
  }
}

const has = (key: string) => boot.messages?.[key] !== undefined;

/** An amount typed by the user, in base units of `places`; refused unless it is a positive decimal with at most `places` places. */
function amountOf(text: string, places: number): bigint {
  const value = text.trim();
  if (!/^\d+(\.\d+)?$/.test(value)) throw new Invalid("wallet-actions.invalid.amount");
  if ((value.split(".")[1] ?? "").length > places) throw new Invalid("wallet-actions.invalid.places", { places: String(places) });
  const units = toUnits(value, places);
  if (units === 0n) throw new Invalid("wallet-actions.invalid.zero");
  return units;
}

function notAbove(units: bigint, held: string, places: number, unit: string) {
  if (units > toUnits(held, places)) throw new Invalid("wallet-actions.invalid.balance", { held: formatAmount(held, places), unit });
}

const fig = (id: string, value: bigint, places: number, unit?: string): Fig => ({
  id,
  label: t(`wallet-actions.figure.${id}`),
  value: fromUnits(value, places),
  places,
  unit,
});

const readPool = () => api<PoolNow>("GET", "/v1/pool");

/** A refusal's words by its stable code (and, for the chain's, the contract error's name), else the server's message. */
function refusalText(error: unknown): string {
  if (error instanceof Invalid) return t(error.key, error.vars);
  if (!(error instanceof ApiError)) return t("wallet-actions.error.INTERNAL");
  const chainError = typeof error.details.chainError === "string" ? error.details.chainError : undefined;
  if (chainError && has(`wallet-actions.chain.${chainError}`)) return t(`wallet-actions.chain.${chainError}`);
  if (error.code === "BAD_CREDENTIALS" && typeof error.details.attemptsLeft === "number")
    return t("wallet-actions.error.BAD_CREDENTIALS.left", { left: error.details.attemptsLeft });
  if (has(`wallet-actions.error.${error.code}`)) return t(`wallet-actions.error.${error.code}`, { message: error.message });
  return error.message;
}

/** A rejected operation's reason: the contract error it names "(Name)" or "Name(args)", translated, else as the server wrote it. */
function rejectionText(reason: string | undefined): string {
  const name = reason && (/\((\w+)\)$/.exec(reason)?.[1] ?? /refused it: (\w+)\(/.exec(reason)?.[1]);
  if (name && has(`wallet-actions.chain.${name}`)) return t(`wallet-actions.chain.${name}`);
  return reason ?? t("wallet-actions.error.INTERNAL");
}

export function Actions(props: { me: Me }) {
  const kind = useSignal<Kind>("redeem");
  const { me } = props;
  return html`<div class="wallet-actions">
    <h2>${t("wallet-actions.title")}</h2>
    <p class="actions-held" data-testid="held">
      ${t("wallet-actions.held", {
        points: formatAmount(me.points, 6),
        constantPoints: formatAmount(me.constantPoints, 6),
        settlement: formatAmount(me.settlement, 6),
        symbol: poolSummary.value?.settlement.symbol ?? "",
      })}
    </p>
    ${
      me.paymentPasswordSet
        ? null
        : html`<p class="check bad" data-testid="no-payment-password">
            ${t("wallet-actions.noPaymentPassword")} <a href="/wallet?tab=settings">${t("wallet-actions.toSettings")}</a>
          </p>`
    }
    <div class="action-picker" role="group" aria-label=${t("wallet-actions.pick")}>
      ${KINDS.map(
        (k) =>
          html`<button type="button" data-action=${k} aria-pressed=${kind.value === k} onClick=${() => (kind.value = k)}>
            ${t(`wallet-actions.kind.${k}`)}
          </button>`,
      )}
    </div>
    ${kind.value === "redeem" ? html`<${Redeem} key="redeem" me=${me} />` : null}
    ${kind.value === "transfer" ? html`<${Move} key="transfer" me=${me} to="user" />` : null}
    ${kind.value === "pay" ? html`<${Move} key="pay" me=${me} to="merchant" />` : null}
    ${kind.value === "convert" ? html`<${Convert} key="convert" me=${me} />` : null}
    ${kind.value === "withdrawPoints" ? html`<${WithdrawPoints} key="withdrawPoints" me=${me} />` : null}
    ${kind.value === "withdrawSettlement" ? html`<${WithdrawSettlement} key="withdrawSettlement" me=${me} />` : null}
  </div>`;
}

/** The id of the form's error while it shows one, so every field of the form points at it. */
const FormError = createContext<string | null>(null);

/** A labelled input bound to a signal; its hint and the form's error (if any) linked by aria-describedby. */
function Field(props: { id: string; label: string; value: Signal<string>; hint?: string; inputMode?: string; placeholder?: string }) {
  const error = useContext(FormError);
  const described = [props.hint ? `${props.id}-hint` : "", error ?? ""].filter(Boolean).join(" ");
  return html`<label for=${props.id}>
    ${props.label}
    <input
      id=${props.id}
      name=${props.id}
      data-testid=${props.id}
      inputmode=${props.inputMode}
      placeholder=${props.placeholder}
      autocomplete="off"
      value=${props.value.value}
      aria-invalid=${error ? "true" : undefined}
      aria-describedby=${described || undefined}
      onInput=${(e: Event) => (props.value.value = (e.target as HTMLInputElement).value)}
    />
    ${props.hint ? html`<span class="fine" id=${`${props.id}-hint`}>${props.hint}</span>` : null}
  </label>`;
}

function AssetSelect(props: { value: Signal<"GP" | "CP"> }) {
  return html`<label for="asset">
    ${t("wallet-actions.field.asset")}
    <select
      id="asset"
      data-testid="asset"
      value=${props.value.value}
      onChange=${(e: Event) => (props.value.value = (e.target as HTMLSelectElement).value as "GP" | "CP")}
    >
      <option value="GP">${t("wallet-actions.asset.GP")}</option>
      <option value="CP">${t("wallet-actions.asset.CP")}</option>
    </select>
  </label>`;
}

type Step = "form" | "review" | "following";

/**
 * The steps every action shares: its form (the children), the review `prepare` works out, the
 * payment password and the one call, then the operation as the chain settles it.
 */
function Flow(props: {
  kind: Kind;
  me: Me;
  prepare: () => Promise<Review>;
  result?: (op: Operation) => Fig[];
  disabled?: string | null;
  children: ComponentChildren;
}) {
  const step = useSignal<Step>("form");
  const review = useSignal<Review | null>(null);
  const formError = useSignal<string | null>(null);
  const sendError = useSignal<string | null>(null);
  const sending = useSignal(false);
  const preparing = useSignal(false);
  const op = useSignal<Operation | null>(null);
  const password = useRef<HTMLInputElement>(null);
  // A plain flag as well as the signal: a second click in the same tick must not send again.
  const inFlight = useRef(false);
  const errorId = `${props.kind}-form-error`;

  async function toReview(event: Event) {
    event.preventDefault();
    if (preparing.value) return;
    preparing.value = true;
    formError.value = null;
    try {
      review.value = await props.prepare();
      sendError.value = null;
      step.value = "review";
    } catch (error) {
      formError.value = refusalText(error);
    } finally {
      preparing.value = false;
    }
  }

  async function confirm(event: Event) {
    event.preventDefault();
    const r = review.value;
    const input = password.current;
    if (!r || !input || inFlight.current) return;
    if (input.value === "") {
      sendError.value = t("wallet-actions.error.passwordMissing");
      input.focus();
      return;
    }
    inFlight.current = true;
    sending.value = true;
    sendError.value = null;
    try {
      const answer = await api<Operation>("POST", r.path, { body: r.body, paymentPassword: input.value, idempotencyKey: r.key });
      input.value = "";
      op.value = answer;
      step.value = "following";
      void follow(answer.operationId, (o) => (op.value = o)).catch((error: unknown) => (sendError.value = refusalText(error)));
    } catch (error) {
      input.value = "";
      sendError.value = refusalText(error);
      input.focus();
    } finally {
      inFlight.current = false;
      sending.value = false;
    }
  }

  function again() {
    step.value = "form";
    review.value = null;
    op.value = null;
    sendError.value = null;
  }

  return html`<section class="card action" data-kind=${props.kind} aria-labelledby=${`${props.kind}-title`}>
    <h3 id=${`${props.kind}-title`}>${t(`wallet-actions.kind.${props.kind}`)}</h3>
    <p class="lead">${t(`wallet-actions.about.${props.kind}`)}</p>
    ${
      step.value === "form"
        ? html`<form onSubmit=${toReview} novalidate>
            <${FormError.Provider} value=${formError.value ? errorId : null}>${props.children}<//>
            ${props.disabled ? html`<p class="check bad" data-testid="disabled-reason">${props.disabled}</p>` : null}
            ${formError.value ? html`<p class="error" id=${errorId} data-testid="form-error">${formError.value}</p>` : null}
            <div class="actions">
              <button type="submit" class="primary" data-testid="review" disabled=${preparing.value || !!props.disabled}>
                ${t("wallet-actions.toReview")}
              </button>
            </div>
          </form>`
        : null
    }
    ${
      step.value === "review" && review.value
        ? html`<${ReviewStep}
            review=${review.value}
            me=${props.me}
            password=${password}
            sending=${sending.value}
            error=${sendError.value}
            onConfirm=${confirm}
            onBack=${() => {
              step.value = "form";
              review.value = null;
            }}
          />`
        : null
    }
    <div aria-live="polite" class="action-live">
      ${
        step.value === "following" && op.value
          ? html`<${OperationState} op=${op.value} result=${props.result?.(op.value) ?? []} error=${sendError.value} /> ${
                op.value.state === "confirmed" || op.value.state === "rejected"
                  ? html`<div class="actions">
                      <button type="button" class="secondary" data-testid="again" onClick=${again}>${t("wallet-actions.again")}</button>
                    </div>`
                  : null
              }`
          : null
      }
    </div>
  </section>`;
}

function Figures(props: { figures: Fig[]; prefix: string }) {
  return html`<dl class="action-figures">
    ${props.figures.map(
      (f) =>
        html`<div>
          <dt>${f.label}</dt>
          <dd data-testid=${`${props.prefix}-${f.id}`} data-value=${f.value}>
            ${formatAmount(f.value, f.places)}${f.unit ? html` <span class="unit">${f.unit}</span>` : null}
          </dd>
        </div>`,
    )}
  </dl>`;
}

function ReviewStep(props: {
  review: Review;
  me: Me;
  password: { current: HTMLInputElement | null };
  sending: boolean;
  error: string | null;
  onConfirm: (e: Event) => void;
  onBack: () => void;
}) {
  const r = props.review;
  return html`<div class="confirm" data-testid="review-step">
    <h4>${t("wallet-actions.review")}</h4>
    <${Figures} figures=${r.figures} prefix="review" />
    ${r.notes.map((n) => html`<p class="fine">${n}</p>`)}
    ${
      props.me.paymentPasswordSet
        ? html`<form onSubmit=${props.onConfirm}>
            <label for="payment-password">
              ${t("wallet-actions.paymentPassword")}
              <input
                id="payment-password"
                data-testid="payment-password"
                type="password"
                autocomplete="off"
                ref=${props.password}
                aria-invalid=${props.error ? "true" : undefined}
                aria-describedby=${props.error ? "send-error" : undefined}
              />
            </label>
            ${props.error ? html`<p class="error" id="send-error" data-testid="send-error" role="alert">${props.error}</p>` : null}
            <div class="actions">
              <button type="submit" class="primary" data-testid="confirm" disabled=${props.sending} aria-busy=${props.sending}>
                ${props.sending ? t("wallet-actions.sending") : t("wallet-actions.confirm")}
              </button>
              <button type="button" class="secondary" data-testid="back" disabled=${props.sending} onClick=${props.onBack}>
                ${t("wallet-actions.back")}
              </button>
            </div>
          </form>`
        : html`<p class="check bad">
              ${t("wallet-actions.noPaymentPassword")} <a href="/wallet?tab=settings">${t("wallet-actions.toSettings")}</a>
            </p>
            <div class="actions">
              <button type="button" class="secondary" data-testid="back" onClick=${props.onBack}>${t("wallet-actions.back")}</button>
            </div>`
    }
  </div>`;
}

function OperationState(props: { op: Operation; result: Fig[]; error: string | null }) {
  const { op } = props;
  const state = ["queued", "submitted", "confirmed", "rejected"].includes(op.state) ? op.state : "submitted";
  return html`<div class=${`status ${state}`} data-testid="op-state" data-state=${op.state} data-operation=${op.operationId}>
    <p>${t(`wallet-actions.state.${state}`)}</p>
    ${op.state === "confirmed" && op.txHash ? html`<p>${t("wallet-actions.txHash")} <${Hex} value=${op.txHash} testId="op-tx" /></p>` : null}
    ${op.state === "confirmed" && props.result.length > 0 ? html`<${Figures} figures=${props.result} prefix="result" />` : null}
    ${op.state === "rejected" ? html`<p data-testid="op-reason">${rejectionText(op.reason)}</p>` : null}
    ${props.error ? html`<p class="error" data-testid="follow-error">${props.error}</p>` : null}
  </div>`;
}

/** An event's argument from a confirmed operation, in base units. */
const eventArg = (op: Operation, name: string, arg: string): bigint | null => {
  const value = op.events?.find((e) => e.name === name)?.args[arg];
  return value === undefined ? null : BigInt(value);
};

function Redeem(props: { me: Me }) {
  const asset = useSignal<"GP" | "CP">("GP");
  const amount = useSignal("");
  const slippage = useSignal<number>(50);
  const settlement = useRef({ decimals: 6, symbol: "" });

  async function prepare(): Promise<Review> {
    const pool = await readPool();
    const d = pool.settlement.decimals;
    settlement.current = pool.settlement;
    const places = asset.value === "GP" ? 18 : d;
    const units = amountOf(amount.value, places);
    notAbove(units, asset.value === "GP" ? props.me.points : props.me.constantPoints, places, asset.value);
    const assets = BigInt(pool.priceRatio.assets);
    const supply = BigInt(pool.priceRatio.supply);
    // CP are first taken out of the reserve as GP at the price, rounded down (Custody._takeFromReserve).
    const points = asset.value === "GP" ? units : mulDivFloor(units, supply, assets);
    if (points === 0n) throw new Invalid("wallet-actions.invalid.tooSmall");
    // Pool._quoteRedeem: gross rounded down, the exit fee rounded up, the payout what is left.
    const gross = mulDivFloor(points, assets, supply);
    const fee = mulDivCeil(gross, BigInt(pool.params.exitFeeBps), BPS);
    const payout = gross - fee;
    if (payout === 0n) throw new Invalid("wallet-actions.invalid.tooSmall");
    const minPayout = mulDivFloor(payout, BPS - BigInt(slippage.value), BPS);
    const symbol = pool.settlement.symbol;
    const figures = [
      fig("amount", units, places, asset.value),
      ...(asset.value === "CP" ? [fig("points", points, 18, "GP")] : []),
      { id: "price", label: t("wallet-actions.figure.price"), value: pool.price, places: 6, unit: t("wallet-actions.perGp", { symbol }) },
      fig("gross", gross, d, symbol),
      { ...fig("fee", fee, d, symbol), label: t("wallet-actions.figure.feeAt", { rate: formatBps(pool.params.exitFeeBps) }) },
      fig("payout", payout, d, symbol),
      { ...fig("minPayout", minPayout, d, symbol), label: t("wallet-actions.figure.minPayoutAt", { rate: formatBps(slippage.value) }) },
    ];
    return {
      path: "/v1/me/redemptions",
      body: { asset: asset.value, amount: fromUnits(units, places), minPayout: fromUnits(minPayout, d) },
      figures,
      notes: [t("wallet-actions.note.redeem", { symbol })],
      key: newIdempotencyKey(),
    };
  }

  const result = (op: Operation): Fig[] => {
    const { decimals: d, symbol } = settlement.current;
    const fee = eventArg(op, "Redeemed", "fee");
    const payout = eventArg(op, "Redeemed", "payout");
    return fee === null || payout === null ? [] : [fig("fee", fee, d, symbol), fig("payout", payout, d, symbol)];
  };

  return html`<${Flow} kind="redeem" me=${props.me} prepare=${prepare} result=${result}>
    <${AssetSelect} value=${asset} />
    <${Field} id="amount" label=${t("wallet-actions.field.amount")} value=${amount} inputMode="decimal" />
    <label for="slippage">
      ${t("wallet-actions.field.slippage")}
      <select
        id="slippage"
        data-testid="slippage"
        aria-describedby="slippage-hint"
        value=${String(slippage.value)}
        onChange=${(e: Event) => (slippage.value = Number((e.target as HTMLSelectElement).value))}
      >
        ${SLIPPAGES.map((s) => html`<option value=${String(s)}>${formatBps(s)}</option>`)}
      </select>
      <span class="fine" id="slippage-hint">${t("wallet-actions.hint.slippage")}</span>
    </label>
  <//>`;
}

/** A transfer to another user or a payment to a merchant: the same form, another receiver. */
function Move(props: { me: Me; to: "user" | "merchant" }) {
  const receiver = useSignal("");
  const asset = useSignal<"GP" | "CP">("GP");
  const amount = useSignal("");
  const user = props.to === "user";

  async function prepare(): Promise<Review> {
    const id = receiver.value.trim();
    if (!ID.test(id)) throw new Invalid(user ? "wallet-actions.invalid.userId" : "wallet-actions.invalid.merchantId");
    if (user && id === props.me.userId) throw new Invalid("wallet-actions.invalid.self");
    const pool = await readPool();
    const places = asset.value === "GP" ? 18 : pool.settlement.decimals;
    const units = amountOf(amount.value, places);
    const held = asset.value === "GP" ? props.me.points : props.me.constantPoints;
    notAbove(units, held, places, asset.value);
    const after = toUnits(held, places) - units;
    return {
      path: user ? "/v1/me/transfers" : "/v1/me/payments",
      body: user
        ? { toUserId: id, asset: asset.value, amount: fromUnits(units, places) }
        : { merchantId: id, asset: asset.value, amount: fromUnits(units, places) },
      figures: [fig("amount", units, places, asset.value), fig("balanceAfter", after, places, asset.value)],
      notes: [t(user ? "wallet-actions.note.transfer" : "wallet-actions.note.pay", { id })],
      key: newIdempotencyKey(),
    };
  }

  return html`<${Flow} kind=${user ? "transfer" : "pay"} me=${props.me} prepare=${prepare}>
    <${Field}
      id=${user ? "to-user" : "merchant"}
      label=${t(user ? "wallet-actions.field.toUser" : "wallet-actions.field.merchant")}
      hint=${t(user ? "wallet-actions.hint.toUser" : "wallet-actions.hint.merchant")}
      value=${receiver}
    />
    <${AssetSelect} value=${asset} />
    <${Field} id="amount" label=${t("wallet-actions.field.amount")} value=${amount} inputMode="decimal" />
  <//>`;
}

function Convert(props: { me: Me }) {
  const amount = useSignal("");
  const decimals = useRef(6);

  async function prepare(): Promise<Review> {
    const pool = await readPool();
    const d = pool.settlement.decimals;
    decimals.current = d;
    const points = amountOf(amount.value, 18);
    notAbove(points, props.me.points, 18, "GP");
    // Custody.convertToConstant: CP = GP × price, rounded down.
    const constantPoints = mulDivFloor(points, BigInt(pool.priceRatio.assets), BigInt(pool.priceRatio.supply));
    if (constantPoints === 0n) throw new Invalid("wallet-actions.invalid.tooSmall");
    const symbol = pool.settlement.symbol;
    return {
      path: "/v1/me/conversions",
      body: { points: fromUnits(points, 18) },
      figures: [
        fig("amount", points, 18, "GP"),
        { id: "price", label: t("wallet-actions.figure.price"), value: pool.price, places: 6, unit: t("wallet-actions.perGp", { symbol }) },
        fig("constantPoints", constantPoints, d, "CP"),
      ],
      notes: [t("wallet-actions.note.convert", { symbol })],
      key: newIdempotencyKey(),
    };
  }

  const result = (op: Operation): Fig[] => {
    const cp = eventArg(op, "ConvertedToConstant", "constantPoints");
    return cp === null ? [] : [fig("constantPoints", cp, decimals.current, "CP")];
  };

  return html`<${Flow} kind="convert" me=${props.me} prepare=${prepare} result=${result}>
    <${Field} id="amount" label=${t("wallet-actions.field.points")} value=${amount} inputMode="decimal" />
    <p class="fine">${t("wallet-actions.note.noWayBack")}</p>
  <//>`;
}

function WithdrawPoints(props: { me: Me }) {
  const amount = useSignal("");
  const original = props.me.original;

  async function prepare(): Promise<Review> {
    if (!original) throw new Invalid("wallet-actions.noOriginal");
    const points = amountOf(amount.value, 18);
    notAbove(points, props.me.points, 18, "GP");
    const pool = await readPool();
    // Custody.withdrawToOriginal: the fee rounded up, and it must leave something to send.
    const fee = mulDivCeil(points, BigInt(pool.params.withdrawalFeeBps), BPS);
    if (points <= fee) throw new Invalid("wallet-actions.invalid.tooSmall");
    return {
      path: "/v1/me/withdrawals/points",
      body: { points: fromUnits(points, 18) },
      figures: [
        fig("amount", points, 18, "GP"),
        {
          ...fig("withdrawalFee", fee, 18, "GP"),
          label: t("wallet-actions.figure.withdrawalFeeAt", { rate: formatBps(pool.params.withdrawalFeeBps) }),
        },
        fig("received", points - fee, 18, "GP"),
      ],
      notes: [t("wallet-actions.note.withdrawPoints", { address: original })],
      key: newIdempotencyKey(),
    };
  }

  const result = (op: Operation): Fig[] => {
    const fee = eventArg(op, "WithdrawnToOriginal", "fee");
    const points = eventArg(op, "WithdrawnToOriginal", "points");
    return fee === null || points === null ? [] : [fig("withdrawalFee", fee, 18, "GP"), fig("received", points - fee, 18, "GP")];
  };

  return html`<${Flow}
    kind="withdrawPoints"
    me=${props.me}
    prepare=${prepare}
    result=${result}
    disabled=${original ? null : t("wallet-actions.noOriginal")}
  >
    ${original ? html`<p>${t("wallet-actions.originalIs")} <${Hex} value=${original} testId="original" /></p>` : null}
    <${Field} id="amount" label=${t("wallet-actions.field.points")} value=${amount} inputMode="decimal" />
  <//>`;
}

function WithdrawSettlement(props: { me: Me }) {
  const to = useSignal("");
  const amount = useSignal("");

  async function prepare(): Promise<Review> {
    const address = to.value.trim();
    if (!ADDRESS.test(address)) throw new Invalid("wallet-actions.invalid.address");
    const pool = await readPool();
    const d = pool.settlement.decimals;
    const units = amountOf(amount.value, d);
    const symbol = pool.settlement.symbol;
    notAbove(units, props.me.settlement, d, symbol);
    return {
      path: "/v1/me/withdrawals/settlement",
      body: { to: address, amount: fromUnits(units, d) },
      figures: [fig("amount", units, d, symbol), fig("balanceAfter", toUnits(props.me.settlement, d) - units, d, symbol)],
      notes: [t("wallet-actions.note.withdrawSettlement", { address })],
      key: newIdempotencyKey(),
    };
  }

  return html`<${Flow} kind="withdrawSettlement" me=${props.me} prepare=${prepare}>
    <${Field}
      id="address"
      label=${t("wallet-actions.field.address")}
      hint=${t("wallet-actions.hint.address")}
      value=${to}
      placeholder="0x…"
    />
    <${Field} id="amount" label=${t("wallet-actions.field.amount")} value=${amount} inputMode="decimal" />
  <//>`;
}
