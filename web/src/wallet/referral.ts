/**
 * The wallet's invite tab: the user's referral code and link (GET /v1/me/referral) with copy
 * buttons, the reward rule in plain words with the live figures (the pool's poolShare and
 * referralShare1/2 from GET /v1/pool, the custody's referral mode), and the users who signed up
 * with it (GET /v1/me/referrals: a masked phone or id, the date, and the GP they earned the user).
 */
import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { fromUnits } from "../lib/decimal";
import { html } from "../lib/html";
import { boot, formatAmount, formatBps, formatDateTime, t } from "../lib/i18n";
import { type Me, type PoolSummary, pool } from "./state";

interface MyReferral {
  code: string;
  link: string;
}

interface MyReferrals {
  mode: "firstOrder" | "perOrder";
  referrals: { who: string; signedUpAt: string; registration: "queued" | "submitted" | "confirmed" | "rejected"; earned: string }[];
  earned: string;
}

/** GET /v1/pool answers the referral shares too (server/http/pool.ts); state.ts types only what the other parts read. */
type PoolWithReferral = PoolSummary & { params: PoolSummary["params"] & { referralShare1Bps: number; referralShare2Bps: number } };

const referral = signal<MyReferral | null>(null);
const referrals = signal<MyReferrals | null>(null);
const failure = signal<ApiError | null>(null);
/** What the last copy did, said in the live region. */
const copied = signal<{ what: "link" | "code"; ok: boolean } | null>(null);

async function load() {
  try {
    const [r, list] = await Promise.all([api<MyReferral>("GET", "/v1/me/referral"), api<MyReferrals>("GET", "/v1/me/referrals")]);
    referral.value = r;
    referrals.value = list;
    failure.value = null;
  } catch (error) {
    failure.value = error instanceof ApiError ? error : new ApiError(0, "INTERNAL", String(error));
  }
}

function errorText(error: ApiError): string {
  const key = `wallet-referral.error.${error.code}`;
  return key in (boot.messages ?? {}) ? t(key) : t("common.loadFailed", { reason: error.message });
}

/** The link as a friend opens it: absolute on this page's origin when the server answered a path. */
const absolute = (link: string) => new URL(link, window.location.origin).toString();

function CopyField(props: { what: "link" | "code"; value: string; label: string }) {
  const input = useRef<HTMLInputElement>(null);
  const id = `referral-${props.what}`;
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
      copied.value = { what: props.what, ok: true };
    } catch {
      // Refused (no permission, or not a secure context): the text is selected for the user to copy.
      input.current?.focus();
      input.current?.select();
      copied.value = { what: props.what, ok: false };
    }
  }
  return html`<div class="referral-field">
    <label for=${id}>${props.label}</label>
    <div class="referral-copy">
      <input
        id=${id}
        ref=${input}
        type="text"
        readonly
        value=${props.value}
        data-testid=${id}
        aria-describedby="referral-copied"
        onFocus=${(e: FocusEvent) => (e.currentTarget as HTMLInputElement).select()}
      />
      <button type="button" class="secondary" data-testid=${`${id}-copy`} onClick=${() => void copy()}>
        ${t(`wallet-referral.copy.${props.what}`)}
      </button>
    </div>
  </div>`;
}

function Invite({ r }: { r: MyReferral }) {
  const c = copied.value;
  return html`<section class="card" aria-labelledby="referral-invite">
    <h2 id="referral-invite">${t("wallet-referral.invite")}</h2>
    <p class="lead">${t("wallet-referral.inviteLead")}</p>
    <${CopyField} what="link" value=${absolute(r.link)} label=${t("wallet-referral.link")} />
    <${CopyField} what="code" value=${r.code} label=${t("wallet-referral.code")} />
    <p
      id="referral-copied"
      class=${c && !c.ok ? "referral-live error" : "referral-live"}
      role="status"
      aria-live="polite"
      data-testid="referral-copied"
    >
      ${c ? t(c.ok ? `wallet-referral.copied.${c.what}` : "wallet-referral.copyRefused") : null}
    </p>
  </section>`;
}

function Rule({ p, mode }: { p: PoolWithReferral; mode: MyReferrals["mode"] }) {
  const { poolShareBps, referralShare1Bps: s1, referralShare2Bps: s2 } = p.params;
  const symbol = p.settlement.symbol;
  // An example order of 100: its contribution is 100 × poolShare, the reward that × referralShare1 (exact, in bps²).
  const example = "100";
  const contribution = fromUnits(100n * BigInt(poolShareBps), 4);
  const reward = fromUnits(100n * BigInt(poolShareBps) * BigInt(s1), 8);
  const reward2 = fromUnits(100n * BigInt(poolShareBps) * BigInt(s2), 8);
  const vars = {
    share1: formatBps(s1),
    share2: formatBps(s2),
    poolShare: formatBps(poolShareBps),
    amount: formatAmount(example, 2),
    contribution: formatAmount(contribution, 6),
    reward: formatAmount(reward, 6),
    reward2: formatAmount(reward2, 6),
    symbol,
  };
  return html`<section class="card" aria-labelledby="referral-rule">
    <h2 id="referral-rule">${t("wallet-referral.rule")}</h2>
    <dl class="figures">
      <div class="figure">
        <dt>${t("wallet-referral.share1")}</dt>
        <dd data-testid="referral-share1" data-value=${s1}>${formatBps(s1)}</dd>
      </div>
      <div class="figure">
        <dt>${t("wallet-referral.poolShare")}</dt>
        <dd data-testid="referral-pool-share" data-value=${poolShareBps}>${formatBps(poolShareBps)}</dd>
      </div>
      ${
        s2 > 0
          ? html`<div class="figure">
              <dt>${t("wallet-referral.share2")}</dt>
              <dd data-testid="referral-share2" data-value=${s2}>${formatBps(s2)}</dd>
            </div>`
          : null
      }
    </dl>
    <p data-testid="referral-rule-text" data-mode=${mode}>${t(`wallet-referral.rule.${mode}`, vars)}</p>
    <p data-testid="referral-example">${t(`wallet-referral.example.${mode}`, vars)}</p>
    ${s2 > 0 ? html`<p data-testid="referral-rule-second">${t("wallet-referral.rule.second", vars)}</p>` : null}
    <p class="fine">${t("wallet-referral.ruleFine")}</p>
  </section>`;
}

function Referees({ list }: { list: MyReferrals }) {
  return html`<section class="card" aria-labelledby="referral-people">
    <div class="row">
      <h2 id="referral-people">${t("wallet-referral.people")}</h2>
      <span>
        ${t("wallet-referral.earnedTotal")}${" "}<strong data-testid="referral-earned" data-value=${list.earned}
          >${formatAmount(list.earned, 6)} GP</strong
        >
      </span>
    </div>
    ${
      list.referrals.length === 0
        ? html`<p class="empty" data-testid="referral-none">${t("wallet-referral.none")}</p>`
        : html`<ul class="referral-people" data-testid="referral-list">
            ${list.referrals.map(
              (r) =>
                html`<li data-testid="referral-person" data-state=${r.registration}>
                  <span class="referral-who" data-testid="referral-who">${r.who}</span>
                  <span class=${`status ${r.registration}`}>${t(`wallet-referral.registration.${r.registration}`)}</span>
                  <span class="fine" data-testid="referral-when"
                    >${t("wallet-referral.signedUp", { date: formatDateTime(r.signedUpAt) })}</span
                  >
                  <span data-testid="referral-person-earned" data-value=${r.earned}>
                    ${t("wallet-referral.earnedFrom", { points: formatAmount(r.earned, 6) })}
                  </span>
                </li>`,
            )}
          </ul>`
    }
  </section>`;
}

export function Referral(_props: { me?: Me }) {
  useEffect(() => {
    copied.value = null;
    void load();
  }, []);
  const r = referral.value;
  const list = referrals.value;
  const p = pool.value as PoolWithReferral | null;
  return html`<div class="referral">
    <h2>${t("wallet-referral.title")}</h2>
    ${failure.value ? html`<p class="error" role="alert" data-testid="referral-error">${errorText(failure.value)}</p>` : null}
    ${!r && !failure.value ? html`<p aria-busy="true">${t("common.loading")}</p>` : null} ${r ? html`<${Invite} r=${r} />` : null}
    ${p && list ? html`<${Rule} p=${p} mode=${list.mode} />` : null} ${list ? html`<${Referees} list=${list} />` : null}
  </div>`;
}
