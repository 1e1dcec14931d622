/**
 * The overview: the merchant's balances (GP, CP, settlement) and what redeeming them pays now, and
 * the three money actions: redeem GP or CP into the settlement balance, exchange CP for GP, and
 * withdraw settlement to an address (the owner's alone: staff see why it is not offered). Each is
 * confirmed with the chain's figures (GET /v1/merchant/quote) and followed to the chain.
 */
import { useSignal, type Signal } from "@preact/signals";
import { fromUnits, toUnits } from "../lib/decimal";
import { api } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, t } from "../lib/i18n";
import { Figure, Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { type Fig, Flow, Invalid, type Review } from "./flow";
import { type Account, type Operation, account, settlement } from "./state";

const P = "merchant-overview";
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

interface Quote {
  asset: "GP" | "CP";
  amount: string;
  points: string;
  gross: string;
  fee: string;
  payout: string;
  block: number;
}

const symbol = () => settlement.value?.symbol ?? "";
const decimals = () => settlement.value?.decimals ?? 6;

/** An amount typed in, checked against its places and the balance held, before anything is asked of the server. */
function checked(text: string, places: number, held: string): string {
  const value = text.trim();
  if (!/^\d+(\.\d+)?$/.test(value)) throw new Invalid(t(`${P}.invalid.amount`));
  if ((value.split(".")[1] ?? "").length > places) throw new Invalid(t(`${P}.invalid.places`, { places }));
  const units = toUnits(value, places);
  if (units === 0n) throw new Invalid(t(`${P}.invalid.zero`));
  if (units > toUnits(held, places)) throw new Invalid(t(`${P}.invalid.balance`, { held: formatAmount(held, 6) }));
  return value;
}

function Field(props: { id: string; label: string; value: Signal<string>; hint?: string; inputMode?: string; errorId: string }) {
  return html`<label for=${props.id}>
    ${props.label}
    <input
      id=${props.id}
      data-testid=${props.id}
      inputmode=${props.inputMode ?? "decimal"}
      autocomplete="off"
      value=${props.value.value}
      aria-describedby=${[props.hint ? `${props.id}-hint` : "", props.errorId].filter(Boolean).join(" ")}
      onInput=${(e: Event) => (props.value.value = (e.target as HTMLInputElement).value)}
    />
    ${props.hint ? html`<span class="fine" id=${`${props.id}-hint`}>${props.hint}</span>` : null}
  </label>`;
}

const fig = (id: string, value: string, unit?: string): Fig => ({ id, label: t(`${P}.fig.${id}`), value, unit });
const event = (op: Operation, name: string) => op.events?.find((e) => e.name === name)?.args;
/** A base-unit figure of an event as a decimal string. */
const units = (value: string | undefined, places: number) => fromUnits(BigInt(value ?? "0"), places);

function Redeem(props: { a: Account }) {
  const asset = useSignal<"GP" | "CP">("GP");
  const amount = useSignal("");
  const places = () => (asset.value === "GP" ? 18 : decimals());
  const held = () => (asset.value === "GP" ? props.a.points : props.a.constantPoints);
  const prepare = async (): Promise<Review> => {
    const value = checked(amount.value, places(), held());
    const q = await api<Quote>("GET", `/v1/merchant/quote?${new URLSearchParams({ asset: asset.value, amount: value }).toString()}`);
    return {
      path: "/v1/merchant/redemptions",
      // The payout quoted is the least accepted: the price never falls, so only a change of the exit fee could refuse it.
      body: { asset: asset.value, amount: q.amount, minPayout: q.payout },
      figures: [
        fig("redeem", q.amount, asset.value),
        ...(asset.value === "CP" ? [fig("reservePoints", q.points, "GP")] : []),
        fig("gross", q.gross, symbol()),
        fig("fee", q.fee, symbol()),
        fig("payout", q.payout, symbol()),
      ],
      note: t(`${P}.quoteNote`, { block: q.block }),
    };
  };
  const result = (op: Operation) => [fig("paid", units(event(op, "RedeemedToBalance")?.payout, decimals()), symbol())];
  return html`<${Flow} testid="redeem" sendLabel=${t(`${P}.send.redeem`)} prepare=${prepare} result=${result}>
    <label for="redeem-asset">
      ${t(`${P}.field.asset`)}
      <select
        id="redeem-asset"
        data-testid="redeem-asset"
        value=${asset.value}
        onChange=${(e: Event) => (asset.value = (e.target as HTMLSelectElement).value as "GP" | "CP")}
      >
        <option value="GP">${t(`${P}.asset.GP`)}</option>
        <option value="CP">${t(`${P}.asset.CP`)}</option>
      </select>
    </label>
    <${Field}
      id="redeem-amount"
      label=${t(`${P}.field.amount`)}
      value=${amount}
      hint=${t(`${P}.held`, { held: formatAmount(held(), 6), unit: asset.value })}
      errorId="redeem-error"
    />
  <//>`;
}

function Exchange(props: { a: Account }) {
  const amount = useSignal("");
  const prepare = async (): Promise<Review> => {
    const value = checked(amount.value, decimals(), props.a.constantPoints);
    const q = await api<Quote>("GET", `/v1/merchant/quote?${new URLSearchParams({ asset: "CP", amount: value }).toString()}`);
    return {
      path: "/v1/merchant/exchanges",
      body: { constantPoints: q.amount },
      figures: [fig("exchange", q.amount, "CP"), fig("receive", q.points, "GP")],
      note: t(`${P}.exchangeNote`, { block: q.block }),
    };
  };
  const result = (op: Operation) => [fig("received", units(event(op, "ConstantExchanged")?.points, 18), "GP")];
  return html`<${Flow} testid="exchange" sendLabel=${t(`${P}.send.exchange`)} prepare=${prepare} result=${result}>
    <${Field}
      id="exchange-amount"
      label=${t(`${P}.field.constantPoints`)}
      value=${amount}
      hint=${t(`${P}.held`, { held: formatAmount(props.a.constantPoints, 6), unit: "CP" })}
      errorId="exchange-error"
    />
  <//>`;
}

function Withdraw(props: { a: Account }) {
  const to = useSignal("");
  const amount = useSignal("");
  const prepare = async (): Promise<Review> => {
    const address = to.value.trim();
    if (!ADDRESS.test(address)) throw new Invalid(t(`${P}.invalid.address`));
    const value = checked(amount.value, decimals(), props.a.settlement);
    const left = toUnits(props.a.settlement, decimals()) - toUnits(value, decimals());
    return {
      path: "/v1/merchant/withdrawals",
      body: { to: address, amount: value },
      figures: [fig("to", address), fig("withdraw", value, symbol()), fig("left", fromUnits(left, decimals()), symbol())],
    };
  };
  return html`<${Flow} testid="withdraw" sendLabel=${t(`${P}.send.withdraw`)} prepare=${prepare}>
    <${Field} id="withdraw-to" label=${t(`${P}.field.to`)} value=${to} inputMode="text" hint=${t(`${P}.toHint`)} errorId="withdraw-error" />
    <${Field}
      id="withdraw-amount"
      label=${t(`${P}.field.settlement`, { symbol: symbol() })}
      value=${amount}
      hint=${t(`${P}.held`, { held: formatAmount(props.a.settlement, 6), unit: symbol() })}
      errorId="withdraw-error"
    />
  <//>`;
}

const ACTIONS = ["redeem", "exchange", "withdraw"] as const;

export function Overview(props: { me: StaffMe }) {
  const action = useSignal<(typeof ACTIONS)[number]>("redeem");
  const a = account.value;
  if (!a) return html`<p aria-busy="true">${t("common.loading")}</p>`;
  const owner = props.me.role === "owner";
  return html`<div data-testid="overview">
    <section class="card" aria-labelledby="balances-heading">
      <h2 id="balances-heading">${t(`${P}.balances`)}</h2>
      <dl class="figures">
        <${Figure} label=${t(`${P}.points`)} value=${formatAmount(a.points, 6)} unit="GP" testId="balance-points" />
        <${Figure} label=${t(`${P}.constantPoints`)} value=${formatAmount(a.constantPoints, 6)} unit="CP" testId="balance-cp" />
        <${Figure} label=${t(`${P}.settlement`)} value=${formatAmount(a.settlement, 6)} unit=${symbol()} testId="balance-settlement" />
      </dl>
      <h3>${t(`${P}.redeemableNow`)}</h3>
      <dl class="figures">
        <${Figure}
          label=${t(`${P}.redeemPoints`)}
          value=${formatAmount(a.redeemableNow.points, 6)}
          unit=${symbol()}
          testId="redeemable-points"
        />
        <${Figure}
          label=${t(`${P}.redeemCp`)}
          value=${formatAmount(a.redeemableNow.constantPoints, 6)}
          unit=${symbol()}
          testId="redeemable-cp"
        />
      </dl>
      <p class="fine">${t(`${P}.redeemableHint`)}</p>
      <p class="fine">${t(`${P}.account`)} <${Hex} value=${a.account} testId="merchant-account" /></p>
    </section>
    <section class="card" aria-labelledby="actions-heading">
      <h2 id="actions-heading">${t(`${P}.actions`)}</h2>
      <div class="segmented" role="group" aria-label=${t(`${P}.actions`)}>
        ${ACTIONS.map(
          (k) =>
            html`<button type="button" aria-pressed=${action.value === k} data-action=${k} onClick=${() => (action.value = k)}>
              ${t(`${P}.action.${k}`)}
            </button>`,
        )}
      </div>
      <p class="fine">${t(`${P}.about.${action.value}`)}</p>
      ${action.value === "redeem" ? html`<${Redeem} key="redeem" a=${a} />` : null}
      ${action.value === "exchange" ? html`<${Exchange} key="exchange" a=${a} />` : null}
      ${
        action.value === "withdraw"
          ? owner
            ? html`<${Withdraw} key="withdraw" a=${a} />`
            : html`<p class="check bad" data-testid="withdraw-owner-only">${t(`${P}.ownerOnly`)}</p>`
          : null
      }
    </section>
  </div>`;
}
