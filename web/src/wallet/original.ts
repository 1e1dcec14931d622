/**
 * The original-account tab: the shopper's own key-held address, in a browser wallet found by
 * EIP-6963 (or window.ethereum). Connected, it shows the address, whether the wallet is on the
 * pool's chain, the address's GP read on the chain through the wallet, and whether it is the
 * account's linked original account. From here the shopper links it (an EIP-712 `Link` the server
 * hands out), deposits its GP into the custodial account (an EIP-2612 permit for the custody, then
 * a signed `Deposit`), redeems its GP at the pool by a signed `Redeem` (the pool's own quote shown
 * first, the payout protected by a minimum), and unlinks it. Every signature is made in the
 * wallet; the relayer pays the gas. Each step is followed to the chain's answer.
 */
import { useRef } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { ApiError, api, newIdempotencyKey } from "../lib/api";
import { fromUnits, toUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { boot, formatAmount, t } from "../lib/i18n";
import { Hex } from "../lib/layout";
import { type Me, type Operation, type PoolSummary, follow, pool, refresh } from "./state";
import {
  DEPOSIT_TYPES,
  LINK_TYPES,
  type Eip1193Provider,
  type FoundWallet,
  LEGACY,
  PERMIT_TYPES,
  REDEEM_TYPES,
  allowanceOf,
  balanceOf,
  deadlineIn,
  discovered,
  discoverWallets,
  domainOf,
  noncesOf,
  previewRedeem,
  sameAddress,
  signTypedData,
  typedDataJson,
  walletErrorCode,
  wallets,
} from "./original-chain";

const k = (key: string) => `wallet-original.${key}`;
const GP_PLACES = 18;
/** How far below the quoted payout a redemption may still go through (basis points): price moves between quote and block. */
const PAYOUT_TOLERANCE_BPS = 50n;

// ------------------------------------------------------------------ the connected wallet

const chosen = signal<FoundWallet | null>(null);
const address = signal<string | null>(null);
const walletChain = signal<bigint | null>(null);
/** The address's GP on the chain, in base units (null: not read yet). */
const heldGp = signal<bigint | null>(null);
const connectError = signal<string | null>(null);
const readError = signal<string | null>(null);
const connecting = signal(false);
type Panel = "link" | "deposit" | "redeem" | "unlink";
const panel = signal<Panel | null>(null);

let unsubscribe: (() => void) | null = null;

const onPoolChain = () => walletChain.value !== null && pool.value !== null && walletChain.value === BigInt(pool.value.chainId);

/** The message for a refusal: the server's stable code translated (or its message), or the wallet's. */
function errorText(error: unknown): { code: string; text: string } {
  if (error instanceof ApiError) {
    const key = k(`error.${error.code}`);
    return { code: error.code, text: t(key in boot.messages ? key : k("error.server"), { message: error.message }) };
  }
  const code = walletErrorCode(error);
  if (code === 4001) return { code: "4001", text: t(k("error.walletRefused")) };
  if (code === 4902) return { code: "4902", text: t(k("error.unknownChain")) };
  const message = (error as { message?: unknown })?.message;
  return { code: code === undefined ? "WALLET" : String(code), text: t(k("error.wallet"), { message: String(message ?? error) }) };
}

async function readChain(): Promise<void> {
  const wallet = chosen.value;
  const owner = address.value;
  const p = pool.value;
  if (!wallet || !owner || !p || !onPoolChain()) {
    heldGp.value = null;
    return;
  }
  try {
    heldGp.value = await balanceOf(wallet.provider, p.contracts.points, owner);
    readError.value = null;
  } catch (error) {
    readError.value = errorText(error).text;
  }
}

function watch(provider: Eip1193Provider): void {
  unsubscribe?.();
  const onAccounts = (...args: unknown[]) => {
    const accounts = args[0] as string[] | undefined;
    address.value = accounts?.[0] ?? null;
    if (!address.value) chosen.value = null;
    panel.value = null;
    void readChain();
  };
  const onChain = (...args: unknown[]) => {
    walletChain.value = BigInt(String(args[0]));
    void readChain();
  };
  provider.on?.("accountsChanged", onAccounts);
  provider.on?.("chainChanged", onChain);
  unsubscribe = () => {
    provider.removeListener?.("accountsChanged", onAccounts);
    provider.removeListener?.("chainChanged", onChain);
  };
}

async function connect(wallet: FoundWallet): Promise<void> {
  connecting.value = true;
  connectError.value = null;
  try {
    const accounts = (await wallet.provider.request({ method: "eth_requestAccounts" })) as string[];
    if (!Array.isArray(accounts) || typeof accounts[0] !== "string") throw new Error("no account");
    const chainId = BigInt(String(await wallet.provider.request({ method: "eth_chainId" })));
    chosen.value = wallet;
    address.value = accounts[0];
    walletChain.value = chainId;
    watch(wallet.provider);
    await readChain();
  } catch (error) {
    connectError.value = errorText(error).text;
  } finally {
    connecting.value = false;
  }
}

function disconnect(): void {
  unsubscribe?.();
  unsubscribe = null;
  chosen.value = null;
  address.value = null;
  walletChain.value = null;
  heldGp.value = null;
  panel.value = null;
}

async function switchChain(): Promise<void> {
  const wallet = chosen.value;
  const p = pool.value;
  if (!wallet || !p) return;
  connectError.value = null;
  try {
    const hex = `0x${BigInt(p.chainId).toString(16)}`;
    await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hex }] });
    walletChain.value = BigInt(String(await wallet.provider.request({ method: "eth_chainId" })));
    await readChain();
  } catch (error) {
    connectError.value = errorText(error).text;
  }
}

// ------------------------------------------------------------------ small pieces

const gpText = (units: bigint) => formatAmount(fromUnits(units, GP_PLACES), 6);
const settlementText = (units: bigint, p: PoolSummary) => formatAmount(fromUnits(units, p.settlement.decimals), p.settlement.decimals);

function Fig(props: { label: string; testId: string; value: string; text: unknown; unit?: string }) {
  return html`<div class="figure">
    <dt>${props.label}</dt>
    <dd data-testid=${props.testId} data-value=${props.value}>
      ${props.text}${props.unit ? html` <span class="unit">${props.unit}</span>` : null}
    </dd>
  </div>`;
}

function ErrorLine(props: { id: string; error: { code: string; text: string } | null }) {
  if (!props.error) return null;
  return html`<p class="error" role="alert" id=${props.id} data-testid=${props.id} data-code=${props.error.code}>${props.error.text}</p>`;
}

interface Step {
  id: string;
  label: string;
  /** "wallet" while the wallet is asked to sign, then the operation's own state. */
  state: "waiting" | "wallet" | "signed" | "sending" | "failed" | Operation["state"];
  op?: Operation;
}

const STATES = ["waiting", "wallet", "signed", "sending", "failed", "queued", "submitted", "confirmed", "rejected"];

function Steps(props: { steps: Step[] }) {
  return html`<ol class="original-steps" aria-live="polite" data-testid="original-steps">
    ${props.steps.map(
      (s) =>
        html`<li data-testid=${`step-${s.id}`} data-state=${s.state} class=${`status ${s.state}`}>
          <span>${s.label}: ${t(k(`state.${STATES.includes(s.state) ? s.state : "queued"}`))}</span>
          ${s.op?.txHash ? html` <${Hex} value=${s.op.txHash} testId=${`step-${s.id}-tx`} />` : null}
          ${s.op?.reason ? html`<span class="original-reason" data-testid=${`step-${s.id}-reason`}> ${s.op.reason}</span>` : null}
        </li>`,
    )}
  </ol>`;
}

/** Runs a flow's steps, showing each; answers whether all confirmed. */
function useRunner() {
  const steps = useSignal<Step[]>([]);
  const busy = useSignal(false);
  const error = useSignal<{ code: string; text: string } | null>(null);
  const set = (id: string, change: Partial<Step>) => (steps.value = steps.value.map((s) => (s.id === id ? { ...s, ...change } : s)));
  /** Posts a change and follows its operation; throws when the chain rejects it. */
  const track = async (id: string, post: () => Promise<Operation>): Promise<Operation> => {
    set(id, { state: "sending" });
    const accepted = await post();
    set(id, { state: accepted.state, op: accepted });
    const final = await follow(accepted.operationId, (op) => set(id, { state: op.state, op }));
    if (final.state !== "confirmed") throw new Error(final.reason ?? "rejected");
    return final;
  };
  const run = async (initial: Step[], work: () => Promise<void>): Promise<boolean> => {
    // Steps already confirmed by an earlier try stay so; a retry carries on from the first that is not.
    const done = new Map(steps.value.filter((s) => s.state === "confirmed" || s.state === "signed").map((s) => [s.id, s]));
    steps.value = initial.map((s) => done.get(s.id) ?? s);
    busy.value = true;
    error.value = null;
    try {
      await work();
      return true;
    } catch (e) {
      if (!steps.value.some((s) => s.state === "rejected")) error.value = errorText(e);
      // What was under way when it stopped did not happen; a retry starts it again.
      steps.value = steps.value.map((s) =>
        ["wallet", "sending", "queued", "submitted"].includes(s.state) && !s.op ? { ...s, state: "failed" } : s,
      );
      return false;
    } finally {
      busy.value = false;
      void readChain();
    }
  };
  const confirmed = (id: string) => steps.value.some((s) => s.id === id && (s.state === "confirmed" || s.state === "signed"));
  return { steps, busy, error, set, track, run, confirmed };
}

/** Reads the payment password from its input once, and clears the input. */
function takePassword(input: HTMLInputElement | null): string {
  const value = input?.value ?? "";
  if (input) input.value = "";
  return value;
}

function PasswordField(props: { inputRef: { current: HTMLInputElement | null }; id: string; describedBy?: string }) {
  return html`<label for=${props.id}>
    ${t(k("paymentPassword"))}
    <input
      id=${props.id}
      ref=${props.inputRef}
      type="password"
      autocomplete="off"
      required
      data-testid=${props.id}
      aria-describedby=${props.describedBy}
    />
  </label>`;
}

function NoPaymentPassword() {
  return html`<p class="error" role="alert" data-testid="original-no-payment-password">${t(k("needPaymentPassword"))}</p>`;
}

function Cancel(props: { disabled?: boolean }) {
  return html`<button type="button" class="secondary" disabled=${props.disabled} onClick=${() => (panel.value = null)}>
    ${t(k("close"))}
  </button>`;
}

function parseGp(value: string, max: bigint | null): { units: bigint } | { error: string } {
  let units: bigint;
  try {
    units = toUnits(value, GP_PLACES);
    if (fromUnits(units, GP_PLACES) !== fromUnits(toUnits(value, GP_PLACES + 6), GP_PLACES + 6)) throw new Error("places");
  } catch {
    return { error: t(k("amount.invalid")) };
  }
  if (units <= 0n) return { error: t(k("amount.invalid")) };
  if (max !== null && units > max) return { error: t(k("amount.tooMuch")) };
  return { units };
}

// ------------------------------------------------------------------ link

function LinkPanel(props: { me: Me; owner: string; provider: Eip1193Provider }) {
  const run = useRunner();
  const password = useRef<HTMLInputElement>(null);
  const intent = useRef<{ key: string; body?: { address: string; deadline: string; signature: string } }>({ key: newIdempotencyKey() });

  const submit = (event: Event) => {
    event.preventDefault();
    const paymentPassword = takePassword(password.current);
    void run.run(
      [
        { id: "sign", label: t(k("step.signLink")), state: "waiting" },
        { id: "link", label: t(k("step.link")), state: "waiting" },
      ],
      async () => {
        if (!intent.current.body) {
          run.set("sign", { state: "wallet" });
          // The page builds what the wallet signs from what it knows itself (the custody contract's
          // own domain and nonce read through the wallet, the account, this address), so no answer
          // of a server can put something else before the user's signature.
          const custody = pool.value!.contracts.custody;
          const domain = await domainOf(props.provider, custody);
          const message = {
            user: props.me.account,
            account: props.owner,
            nonce: (await noncesOf(props.provider, custody, props.owner)).toString(),
            deadline: deadlineIn(),
          };
          const request = { domain, types: LINK_TYPES, primaryType: "Link", message };
          const signature = await signTypedData(props.provider, props.owner, typedDataJson(request));
          intent.current.body = { address: props.owner, deadline: request.message.deadline, signature };
        }
        run.set("sign", { state: "signed" });
        const body = intent.current.body;
        await run.track("link", () => api<Operation>("POST", "/v1/me/link", { body, paymentPassword, idempotencyKey: intent.current.key }));
      },
    );
  };

  const finished = run.confirmed("link");
  return html`<form class="card confirm" data-testid="link-panel" onSubmit=${submit}>
    <h3>${t(k("link.title"))}</h3>
    <dl class="addresses">
      <div>
        <dt>${t(k("link.address"))}</dt>
        <dd><code data-testid="link-address">${props.owner}</code></dd>
      </div>
      <div>
        <dt>${t(k("link.account"))}</dt>
        <dd><${Hex} value=${props.me.account} /></dd>
      </div>
    </dl>
    <p class="fine">${t(k("link.explain"))}</p>
    ${
      finished
        ? null
        : props.me.paymentPasswordSet
          ? html`<${PasswordField} inputRef=${password} id="link-password" describedBy="link-error" />`
          : html`<${NoPaymentPassword} />`
    }
    <${ErrorLine} id="link-error" error=${run.error.value} />
    ${run.steps.value.length ? html`<${Steps} steps=${run.steps.value} />` : null}
    <div class="actions">
      ${
        finished
          ? null
          : html`<button
              type="submit"
              class="primary"
              data-testid="link-confirm"
              disabled=${run.busy.value || !props.me.paymentPasswordSet}
            >
              ${t(k("link.confirm"))}
            </button>`
      }
      <${Cancel} disabled=${run.busy.value} />
    </div>
  </form>`;
}

// ------------------------------------------------------------------ unlink

function UnlinkPanel(props: { me: Me }) {
  const run = useRunner();
  const password = useRef<HTMLInputElement>(null);
  const key = useRef(newIdempotencyKey());
  const linked = useRef(props.me.original);
  const submit = (event: Event) => {
    event.preventDefault();
    const paymentPassword = takePassword(password.current);
    void run.run([{ id: "unlink", label: t(k("step.unlink")), state: "waiting" }], async () => {
      await run.track("unlink", () => api<Operation>("POST", "/v1/me/unlink", { body: {}, paymentPassword, idempotencyKey: key.current }));
    });
  };
  const finished = run.confirmed("unlink");
  return html`<form class="card confirm" data-testid="unlink-panel" onSubmit=${submit}>
    <h3>${t(k("unlink.title"))}</h3>
    <dl class="addresses">
      <div>
        <dt>${t(k("linked"))}</dt>
        <dd><code data-testid="unlink-address">${linked.current}</code></dd>
      </div>
    </dl>
    <p class="fine">${t(k("unlink.explain"))}</p>
    ${
      finished
        ? null
        : props.me.paymentPasswordSet
          ? html`<${PasswordField} inputRef=${password} id="unlink-password" describedBy="unlink-error" />`
          : html`<${NoPaymentPassword} />`
    }
    <${ErrorLine} id="unlink-error" error=${run.error.value} />
    ${run.steps.value.length ? html`<${Steps} steps=${run.steps.value} />` : null}
    <div class="actions">
      ${
        finished
          ? null
          : html`<button
              type="submit"
              class="primary"
              data-testid="unlink-confirm"
              disabled=${run.busy.value || !props.me.paymentPasswordSet}
            >
              ${t(k("unlink.confirm"))}
            </button>`
      }
      <${Cancel} disabled=${run.busy.value} />
    </div>
  </form>`;
}

// ------------------------------------------------------------------ deposit

function DepositPanel(props: { me: Me; owner: string; provider: Eip1193Provider; pool: PoolSummary; held: bigint }) {
  const run = useRunner();
  const amount = useSignal("");
  const amountError = useSignal<string | null>(null);
  /** The amount under review, with one Idempotency-Key for each change it makes (kept for retries). */
  const review = useSignal<{ units: bigint; held: bigint; custody: bigint; permitKey: string; depositKey: string } | null>(null);
  const signed = useRef<{ permit?: Record<string, string>; deposit?: Record<string, string> }>({});

  const toReview = (event: Event) => {
    event.preventDefault();
    const parsed = parseGp(amount.value, props.held);
    if ("error" in parsed) {
      amountError.value = parsed.error;
      return;
    }
    amountError.value = null;
    signed.current = {};
    // The figures as they stand now: the balances change under the panel once the deposit confirms.
    review.value = {
      units: parsed.units,
      held: props.held,
      custody: toUnits(props.me.points, GP_PLACES),
      permitKey: newIdempotencyKey(),
      depositKey: newIdempotencyKey(),
    };
  };

  const confirm = () => {
    const r = review.value;
    if (!r) return;
    const { provider, owner } = props;
    const { points, custody } = props.pool.contracts;
    const value = fromUnits(r.units, GP_PLACES);
    void run.run(
      [
        { id: "permit", label: t(k("step.permit")), state: "waiting" },
        { id: "deposit", label: t(k("step.deposit")), state: "waiting" },
      ],
      async () => {
        if (!run.confirmed("permit")) {
          // The custody pulls the GP: it needs an allowance, which the owner grants by an EIP-2612 permit.
          if ((await allowanceOf(provider, points, owner, custody)) >= r.units) run.set("permit", { state: "confirmed" });
          else {
            if (!signed.current.permit) {
              run.set("permit", { state: "wallet" });
              const domain = await domainOf(provider, points);
              const message = {
                owner,
                spender: custody,
                value: r.units.toString(),
                nonce: (await noncesOf(provider, points, owner)).toString(),
                deadline: deadlineIn(),
              };
              const signature = await signTypedData(
                provider,
                owner,
                typedDataJson({ domain, types: PERMIT_TYPES, primaryType: "Permit", message }),
              );
              signed.current.permit = { owner, spender: custody, value, deadline: message.deadline, signature };
            }
            const body = signed.current.permit;
            await run.track("permit", () => api<Operation>("POST", "/v1/relay/permits", { body, idempotencyKey: r.permitKey }));
          }
        }
        if (!signed.current.deposit) {
          run.set("deposit", { state: "wallet" });
          const domain = await domainOf(provider, custody);
          const message = {
            owner,
            user: props.me.account,
            points: r.units.toString(),
            nonce: (await noncesOf(provider, custody, owner)).toString(),
            deadline: deadlineIn(),
          };
          const signature = await signTypedData(
            provider,
            owner,
            typedDataJson({ domain, types: DEPOSIT_TYPES, primaryType: "Deposit", message }),
          );
          signed.current.deposit = { owner, points: value, deadline: message.deadline, signature };
        }
        const body = signed.current.deposit;
        await run.track("deposit", () => api<Operation>("POST", "/v1/relay/deposits", { body, idempotencyKey: r.depositKey }));
      },
    );
  };

  const r = review.value;
  const finished = run.confirmed("deposit");
  const custodyAfter = r ? r.custody + r.units : 0n;
  const addressAfter = r ? r.held - r.units : 0n;
  return html`<div class="card confirm" data-testid="deposit-panel">
    <h3>${t(k("deposit.title"))}</h3>
    ${
      r
        ? html`<dl class="figures">
              <${Fig}
                label=${t(k("deposit.amount"))}
                testId="deposit-review-amount"
                value=${fromUnits(r.units, GP_PLACES)}
                text=${gpText(r.units)}
                unit="GP"
              />
              <${Fig} label=${t(k("deposit.fee"))} testId="deposit-review-fee" value="0" text=${formatAmount("0")} unit="GP" />
              <${Fig}
                label=${t(k("deposit.addressAfter"))}
                testId="deposit-review-address-after"
                value=${fromUnits(addressAfter, GP_PLACES)}
                text=${gpText(addressAfter)}
                unit="GP"
              />
              <${Fig}
                label=${t(k("deposit.custodyAfter"))}
                testId="deposit-review-custody-after"
                value=${fromUnits(custodyAfter, GP_PLACES)}
                text=${gpText(custodyAfter)}
                unit="GP"
              />
            </dl>
            <p class="fine">${t(sameAddress(props.me.original, props.owner) ? k("deposit.own") : k("deposit.received"))}</p>
            <p class="fine">${t(k("deposit.explain"))}</p>
            <${ErrorLine} id="deposit-error" error=${run.error.value} />
            ${run.steps.value.length ? html`<${Steps} steps=${run.steps.value} />` : null}
            <div class="actions">
              ${
                finished
                  ? null
                  : html`<button type="button" class="primary" data-testid="deposit-confirm" disabled=${run.busy.value} onClick=${confirm}>
                        ${t(k("deposit.confirm"))}
                      </button>
                      <button type="button" class="secondary" disabled=${run.busy.value} onClick=${() => (review.value = null)}>
                        ${t(k("back"))}
                      </button>`
              }
              <${Cancel} disabled=${run.busy.value} />
            </div>`
        : html`<form onSubmit=${toReview}>
            <label for="deposit-amount">
              ${t(k("deposit.amountLabel"))}
              <input
                id="deposit-amount"
                data-testid="deposit-amount"
                inputmode="decimal"
                autocomplete="off"
                required
                value=${amount.value}
                aria-describedby="deposit-amount-error deposit-amount-hint"
                onInput=${(e: Event) => (amount.value = (e.target as HTMLInputElement).value)}
              />
            </label>
            <p class="fine" id="deposit-amount-hint">${t(k("available"), { amount: gpText(props.held) })}</p>
            ${amountError.value ? html`<p class="error" role="alert" id="deposit-amount-error" data-testid="deposit-amount-error">${amountError.value}</p>` : null}
            <div class="actions">
              <button type="submit" class="primary" data-testid="deposit-review">${t(k("review"))}</button>
              <${Cancel} />
            </div>
          </form>`
    }
  </div>`;
}

// ------------------------------------------------------------------ redeem

interface RedeemReview {
  units: bigint;
  receiver: string;
  gross: bigint;
  fee: bigint;
  payout: bigint;
  minPayout: bigint;
  key: string;
}

function RedeemPanel(props: { owner: string; provider: Eip1193Provider; pool: PoolSummary; held: bigint }) {
  const run = useRunner();
  const amount = useSignal("");
  const receiver = useSignal(props.owner);
  const fieldError = useSignal<{ field: "amount" | "receiver"; text: string } | null>(null);
  const quoting = useSignal(false);
  const review = useSignal<RedeemReview | null>(null);
  const signed = useRef<Record<string, string> | null>(null);
  const places = props.pool.settlement.decimals;
  const symbol = props.pool.settlement.symbol;

  const toReview = async (event: Event) => {
    event.preventDefault();
    const parsed = parseGp(amount.value, props.held);
    if ("error" in parsed) {
      fieldError.value = { field: "amount", text: parsed.error };
      return;
    }
    const to = receiver.value.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(to)) {
      fieldError.value = { field: "receiver", text: t(k("redeem.receiverInvalid")) };
      return;
    }
    fieldError.value = null;
    quoting.value = true;
    run.error.value = null;
    try {
      const quote = await previewRedeem(props.provider, props.pool.contracts.pool, parsed.units);
      const minPayout = (quote.payout * (10_000n - PAYOUT_TOLERANCE_BPS)) / 10_000n;
      signed.current = null;
      review.value = { units: parsed.units, receiver: to.toLowerCase(), ...quote, minPayout, key: newIdempotencyKey() };
    } catch (error) {
      run.error.value = errorText(error);
    } finally {
      quoting.value = false;
    }
  };

  const paid = useSignal<bigint | null>(null);
  const confirm = () => {
    const r = review.value;
    if (!r) return;
    const { provider, owner } = props;
    const poolAddress = props.pool.contracts.pool;
    void run.run([{ id: "redeem", label: t(k("step.redeem")), state: "waiting" }], async () => {
      if (!signed.current) {
        run.set("redeem", { state: "wallet" });
        const domain = await domainOf(provider, poolAddress);
        const message = {
          owner,
          points: r.units.toString(),
          receiver: r.receiver,
          minPayout: r.minPayout.toString(),
          nonce: (await noncesOf(provider, poolAddress, owner)).toString(),
          deadline: deadlineIn(),
        };
        const signature = await signTypedData(
          provider,
          owner,
          typedDataJson({ domain, types: REDEEM_TYPES, primaryType: "Redeem", message }),
        );
        signed.current = {
          owner,
          points: fromUnits(r.units, GP_PLACES),
          receiver: r.receiver,
          minPayout: fromUnits(r.minPayout, places),
          deadline: message.deadline,
          signature,
        };
      }
      const body = signed.current;
      const op = await run.track("redeem", () => api<Operation>("POST", "/v1/relay/redemptions", { body, idempotencyKey: r.key }));
      const redeemed = op.events?.find((e) => e.name === "Redeemed");
      if (redeemed?.args.payout !== undefined) paid.value = BigInt(redeemed.args.payout);
    });
  };

  const r = review.value;
  const finished = run.confirmed("redeem");
  const fe = fieldError.value;
  return html`<div class="card confirm" data-testid="redeem-panel">
    <h3>${t(k("redeem.title"))}</h3>
    ${
      r
        ? html`<dl class="figures">
              <${Fig}
                label=${t(k("redeem.amount"))}
                testId="redeem-review-amount"
                value=${fromUnits(r.units, GP_PLACES)}
                text=${gpText(r.units)}
                unit="GP"
              />
              <${Fig}
                label=${t(k("redeem.gross"))}
                testId="redeem-review-gross"
                value=${fromUnits(r.gross, places)}
                text=${settlementText(r.gross, props.pool)}
                unit=${symbol}
              />
              <${Fig}
                label=${t(k("redeem.fee"))}
                testId="redeem-review-fee"
                value=${fromUnits(r.fee, places)}
                text=${settlementText(r.fee, props.pool)}
                unit=${symbol}
              />
              <${Fig}
                label=${t(k("redeem.payout"))}
                testId="redeem-review-payout"
                value=${fromUnits(r.payout, places)}
                text=${settlementText(r.payout, props.pool)}
                unit=${symbol}
              />
              <${Fig}
                label=${t(k("redeem.minPayout"))}
                testId="redeem-review-min-payout"
                value=${fromUnits(r.minPayout, places)}
                text=${settlementText(r.minPayout, props.pool)}
                unit=${symbol}
              />
            </dl>
            <dl class="addresses">
              <div>
                <dt>${t(k("redeem.receiver"))}</dt>
                <dd><code data-testid="redeem-review-receiver">${r.receiver}</code></dd>
              </div>
            </dl>
            <p class="fine">${t(k("redeem.explain"))}</p>
            <${ErrorLine} id="redeem-error" error=${run.error.value} />
            ${run.steps.value.length ? html`<${Steps} steps=${run.steps.value} />` : null}
            ${
              paid.value !== null
                ? html`<p class="status confirmed" data-testid="redeem-paid" data-value=${fromUnits(paid.value, places)}>
                    ${t(k("redeem.paid"), { amount: settlementText(paid.value, props.pool), symbol })}
                  </p>`
                : null
            }
            <div class="actions">
              ${
                finished
                  ? null
                  : html`<button type="button" class="primary" data-testid="redeem-confirm" disabled=${run.busy.value} onClick=${confirm}>
                        ${t(k("redeem.confirm"))}
                      </button>
                      <button type="button" class="secondary" disabled=${run.busy.value} onClick=${() => (review.value = null)}>
                        ${t(k("back"))}
                      </button>`
              }
              <${Cancel} disabled=${run.busy.value} />
            </div>`
        : html`<form onSubmit=${toReview}>
            <label for="redeem-amount">
              ${t(k("redeem.amountLabel"))}
              <input
                id="redeem-amount"
                data-testid="redeem-amount"
                inputmode="decimal"
                autocomplete="off"
                required
                value=${amount.value}
                aria-describedby="redeem-amount-hint redeem-amount-error"
                onInput=${(e: Event) => (amount.value = (e.target as HTMLInputElement).value)}
              />
            </label>
            <p class="fine" id="redeem-amount-hint">${t(k("available"), { amount: gpText(props.held) })}</p>
            ${fe?.field === "amount" ? html`<p class="error" role="alert" id="redeem-amount-error" data-testid="redeem-amount-error">${fe.text}</p>` : null}
            <label for="redeem-receiver">
              ${t(k("redeem.receiverLabel"))}
              <input
                id="redeem-receiver"
                data-testid="redeem-receiver"
                autocomplete="off"
                spellcheck=${false}
                required
                value=${receiver.value}
                aria-describedby="redeem-receiver-error"
                onInput=${(e: Event) => (receiver.value = (e.target as HTMLInputElement).value)}
              />
            </label>
            ${fe?.field === "receiver" ? html`<p class="error" role="alert" id="redeem-receiver-error">${fe.text}</p>` : null}
            <${ErrorLine} id="redeem-error" error=${run.error.value} />
            <div class="actions">
              <button type="submit" class="primary" data-testid="redeem-review" disabled=${quoting.value}>${t(k("redeem.quote"))}</button>
              <${Cancel} />
            </div>
          </form>`
    }
  </div>`;
}

// ------------------------------------------------------------------ the tab

function WalletChooser() {
  const found = wallets.value;
  if (!discovered.value && found.length === 0) return html`<p aria-busy="true">${t(k("looking"))}</p>`;
  if (found.length === 0) return html`<p class="empty" data-testid="original-no-wallet">${t(k("noWallet"))}</p>`;
  return html`<div>
    <p>${t(found.length > 1 ? k("chooseWallet") : k("connectWallet"))}</p>
    <ul class="original-wallets" data-testid="original-wallets">
      ${found.map(
        (w) =>
          html`<li>
            <button
              type="button"
              class="secondary original-wallet"
              data-testid="original-wallet"
              data-uuid=${w.info.uuid}
              disabled=${connecting.value}
              onClick=${() => void connect(w)}
            >
              ${w.info.icon ? html`<img src=${w.info.icon} alt="" width="28" height="28" />` : null}
              <span>${w.info.uuid === LEGACY ? t(k("browserWallet")) : w.info.name}</span>
            </button>
          </li>`,
      )}
    </ul>
  </div>`;
}

function Connected(props: { me: Me; owner: string; wallet: FoundWallet; pool: PoolSummary }) {
  const { me, owner, wallet, pool: p } = props;
  const ok = onPoolChain();
  const linkedHere = sameAddress(me.original, owner);
  const held = heldGp.value;
  const linkState = linkedHere ? "this" : me.original ? "other" : "none";
  return html`<div class="card" data-testid="original-connected">
    <div class="row">
      <h2>${wallet.info.uuid === LEGACY ? t(k("browserWallet")) : wallet.info.name}</h2>
      <button type="button" class="secondary" data-testid="original-disconnect" onClick=${disconnect}>${t(k("disconnect"))}</button>
    </div>
    <dl class="addresses">
      <div>
        <dt>${t(k("address"))}</dt>
        <dd><code data-testid="original-address">${owner}</code></dd>
      </div>
    </dl>
    <p class=${ok ? "check ok" : "check bad"} data-testid="original-chain" data-ok=${String(ok)} aria-live="polite">
      ${ok ? t(k("chain.ok"), { chainId: p.chainId }) : t(k("chain.wrong"), { chainId: String(walletChain.value ?? "?"), expected: p.chainId })}
    </p>
    ${ok ? null : html`<div class="actions"><button type="button" class="primary" data-testid="original-switch-chain" onClick=${() => void switchChain()}>${t(k("chain.switch"))}</button></div>`}
    ${
      ok
        ? html`<dl class="figures">
            <${Fig}
              label=${t(k("heldGp"))}
              testId="original-gp"
              value=${held === null ? "" : fromUnits(held, GP_PLACES)}
              text=${held === null ? "…" : gpText(held)}
              unit="GP"
            />
            <div class="figure original-link-state">
              <dt>${t(k("linkState"))}</dt>
              <dd data-testid="original-link-state" data-value=${linkState}>${t(k(`linkState.${linkState}`))}</dd>
            </div>
          </dl>`
        : null
    }
    ${readError.value ? html`<p class="error" role="alert">${readError.value}</p>` : null}
    ${linkState === "other" ? html`<p class="fine">${t(k("linkedElsewhere"))} <code>${me.original}</code></p>` : null}
    ${
      ok
        ? html`<div class="actions">
            <button
              type="button"
              class="secondary"
              data-testid="original-refresh"
              onClick=${() => void Promise.all([refresh(), readChain()])}
            >
              ${t(k("refresh"))}
            </button>
            ${linkState === "none" ? html`<button type="button" class="primary" data-testid="original-link" onClick=${() => (panel.value = "link")}>${t(k("link.open"))}</button>` : null}
            <button
              type="button"
              class="primary"
              data-testid="original-deposit"
              disabled=${!held}
              onClick=${() => (panel.value = "deposit")}
            >
              ${t(k("deposit.open"))}
            </button>
            <button type="button" class="primary" data-testid="original-redeem" disabled=${!held} onClick=${() => (panel.value = "redeem")}>
              ${t(k("redeem.open"))}
            </button>
          </div>`
        : null
    }
  </div>`;
}

export function OriginalAccount(props: { me?: Me }) {
  discoverWallets();
  const me = props.me;
  const p = pool.value;
  if (!me || !p) return html`<p aria-busy="true">${t("common.loading")}</p>`;
  const wallet = chosen.value;
  const owner = address.value;
  const open = panel.value;
  const held = heldGp.value;
  return html`<div class="original" data-testid="original">
    <h2>${t(k("title"))}</h2>
    <p class="lead">${t(k("lead"))}</p>
    <div class="card" data-testid="original-linked">
      <dl class="addresses">
        <div>
          <dt>${t(k("linked"))}</dt>
          <dd data-testid="original-linked-address" data-value=${me.original ?? ""}>
            ${me.original ? html`<code>${me.original}</code>` : t(k("notLinked"))}
          </dd>
        </div>
      </dl>
      ${
        me.original && open !== "unlink"
          ? html`<div class="actions">
              <button type="button" class="secondary" data-testid="original-unlink" onClick=${() => (panel.value = "unlink")}>
                ${t(k("unlink.open"))}
              </button>
            </div>`
          : null
      }
    </div>
    ${wallet && owner ? html`<${Connected} me=${me} owner=${owner} wallet=${wallet} pool=${p} />` : html`<div class="card"><${WalletChooser} /></div>`}
    ${connectError.value ? html`<p class="error" role="alert" data-testid="original-connect-error">${connectError.value}</p>` : null}
    ${open === "unlink" ? html`<${UnlinkPanel} me=${me} />` : null}
    ${
      wallet && owner && onPoolChain()
        ? open === "link"
          ? html`<${LinkPanel} me=${me} owner=${owner} provider=${wallet.provider} />`
          : open === "deposit"
            ? html`<${DepositPanel} me=${me} owner=${owner} provider=${wallet.provider} pool=${p} held=${held ?? 0n} />`
            : open === "redeem"
              ? html`<${RedeemPanel} owner=${owner} provider=${wallet.provider} pool=${p} held=${held ?? 0n} />`
              : null
        : null
    }
  </div>`;
}
