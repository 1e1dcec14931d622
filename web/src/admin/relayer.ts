/**
 * The relayer's health (GET /v1/admin/relayer): its wallet's balance against the minimum and its
 * nonces, the chain head and how many blocks the sender is behind, the work not yet on the chain,
 * whether new work waits and why, and the relayer steps' last errors. Read again every 10 seconds
 * while the tab is open, and on demand.
 */
import { useEffect } from "preact/hooks";
import { signal } from "@preact/signals";
import { api } from "../lib/api";
import { html } from "../lib/html";
import { formatAmount, formatDateTime, t } from "../lib/i18n";
import { Figure, Hex } from "../lib/layout";
import type { StaffMe } from "../lib/staff";
import { errorText } from "./follow";

interface RelayerStatus {
  wallet: { address: string; balance: string | null; minimumBalance: string; nonce: { latest: number; pending: number } | null };
  chain: {
    answers: boolean;
    error: string | null;
    head: number | null;
    blocksBehind: number | null;
    maxFeeGwei: string | null;
    feeCapGwei: string | null;
  };
  database: { answers: boolean; error: string | null };
  pending: { receivedOrders: number; queuedOperations: number; openTransactions: number } | null;
  waiting: boolean;
  waits: { reason: string; alert: string; message: string }[];
  lastRoundAt: string | null;
  lastErrors: { at: string; step: string; kind: "database" | "chain" | "other"; message: string }[];
}

const R = "admin-relayer";
const REFRESH_MS = 10_000;

const status = signal<RelayerStatus | null>(null);
const error = signal<string | null>(null);
const readAt = signal<string | null>(null);
const busy = signal(false);

async function load(): Promise<void> {
  busy.value = true;
  try {
    status.value = await api<RelayerStatus>("GET", "/v1/admin/relayer");
    readAt.value = new Date().toISOString();
    error.value = null;
  } catch (e) {
    error.value = errorText(R, e);
  } finally {
    busy.value = false;
  }
}

const unknown = () => t(`${R}.unknown`);

function Health(props: { s: RelayerStatus }) {
  const { s } = props;
  const low = s.wallet.balance !== null && s.wallet.minimumBalance !== "0" && s.waits.some((w) => w.reason === "gas-balance");
  return html`<section class="card" aria-labelledby="relayer-wallet" data-testid="relayer-wallet">
      <h2 id="relayer-wallet">${t(`${R}.walletHeading`)}</h2>
      <p><${Hex} value=${s.wallet.address} testId="relayer-address" /></p>
      <dl class="figures">
        <${Figure}
          label=${t(`${R}.balance`)}
          value=${s.wallet.balance === null ? unknown() : formatAmount(s.wallet.balance, 6)}
          unit="ETH"
          testId="relayer-balance"
          hint=${s.wallet.minimumBalance === "0" ? t(`${R}.notWatched`) : t(`${R}.minimum`, { value: formatAmount(s.wallet.minimumBalance, 6) })}
        />
        <${Figure}
          label=${t(`${R}.nonce`)}
          value=${s.wallet.nonce === null ? unknown() : String(s.wallet.nonce.latest)}
          testId="relayer-nonce"
          hint=${s.wallet.nonce === null ? undefined : t(`${R}.pendingNonce`, { value: s.wallet.nonce.pending })}
        />
        <${Figure}
          label=${t(`${R}.behind`)}
          value=${s.chain.blocksBehind === null ? unknown() : String(s.chain.blocksBehind)}
          testId="relayer-behind"
          hint=${s.chain.head === null ? undefined : t(`${R}.head`, { value: s.chain.head })}
        />
        <${Figure}
          label=${t(`${R}.fee`)}
          value=${s.chain.maxFeeGwei === null ? unknown() : formatAmount(s.chain.maxFeeGwei, 3)}
          unit="gwei"
          hint=${s.chain.feeCapGwei === null ? t(`${R}.noCap`) : t(`${R}.cap`, { value: formatAmount(s.chain.feeCapGwei, 3) })}
        />
      </dl>
      <span
        hidden
        data-testid="relayer-nonce-values"
        data-latest=${s.wallet.nonce?.latest ?? ""}
        data-pending=${s.wallet.nonce?.pending ?? ""}
        data-address=${s.wallet.address}
      ></span>
      ${low && html`<p class="check bad" role="alert">${t(`${R}.low`)}</p>`}
    </section>
    <section class="card" aria-labelledby="relayer-work" data-testid="relayer-work">
      <h2 id="relayer-work">${t(`${R}.workHeading`)}</h2>
      <p class=${s.chain.answers ? "check ok" : "check bad"} data-testid="relayer-chain">
        ${s.chain.answers ? t(`${R}.chainUp`) : t(`${R}.chainDown`, { error: s.chain.error ?? "" })}
      </p>
      <p class=${s.database.answers ? "check ok" : "check bad"} data-testid="relayer-database">
        ${s.database.answers ? t(`${R}.databaseUp`) : t(`${R}.databaseDown`, { error: s.database.error ?? "" })}
      </p>
      ${
        s.pending
          ? html`<dl class="figures">
              <${Figure} label=${t(`${R}.receivedOrders`)} value=${String(s.pending.receivedOrders)} testId="relayer-received" />
              <${Figure} label=${t(`${R}.queuedOperations`)} value=${String(s.pending.queuedOperations)} testId="relayer-queued" />
              <${Figure} label=${t(`${R}.openTransactions`)} value=${String(s.pending.openTransactions)} testId="relayer-open" />
            </dl>`
          : html`<p class="empty">${unknown()}</p>`
      }
      <p data-testid="relayer-waiting" data-waiting=${String(s.waiting)} class=${s.waiting ? "check bad" : ""}>
        ${s.waiting ? t(`${R}.waiting`) : t(`${R}.notWaiting`)}
      </p>
      ${
        s.waits.length > 0 &&
        html`<ul>
          ${s.waits.map((w) => html`<li key=${w.reason}>${t(`${R}.wait.${w.reason}`)} <span class="fine">${w.message}</span></li>`)}
        </ul>`
      }
      <p class="fine">${s.lastRoundAt ? t(`${R}.lastRound`, { at: formatDateTime(s.lastRoundAt) }) : t(`${R}.noRound`)}</p>
    </section>
    <section class="card" aria-labelledby="relayer-errors" data-testid="relayer-errors">
      <h2 id="relayer-errors">${t(`${R}.errorsHeading`)}</h2>
      ${
        s.lastErrors.length === 0
          ? html`<p class="empty" data-testid="relayer-no-errors">${t(`${R}.noErrors`)}</p>`
          : html`<div class="scroll">
              <table class="table stack">
                <thead>
                  <tr>
                    <th scope="col">${t(`${R}.time`)}</th>
                    <th scope="col">${t(`${R}.step`)}</th>
                    <th scope="col">${t(`${R}.message`)}</th>
                  </tr>
                </thead>
                <tbody>
                  ${s.lastErrors.map(
                    (e, i) =>
                      html`<tr key=${i} data-testid="relayer-error">
                        <td data-label=${t(`${R}.time`)}>${formatDateTime(e.at)}</td>
                        <td data-label=${t(`${R}.step`)}>${e.step}<br /><span class="fine">${t(`${R}.kind.${e.kind}`)}</span></td>
                        <td data-label=${t(`${R}.message`)} class="wrap">${e.message}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>`;
}

export function Relayer(_props: { me: StaffMe }) {
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const s = status.value;
  return html`<div class="relayer" data-testid="relayer">
    <div class="row">
      <p class="lead">${readAt.value ? t(`${R}.lead`, { at: formatDateTime(readAt.value) }) : t("common.loading")}</p>
      <button type="button" class="secondary" disabled=${busy.value} onClick=${() => void load()} data-testid="relayer-refresh">
        ${t(`${R}.refresh`)}
      </button>
    </div>
    ${error.value && html`<p class="error" role="alert" data-testid="relayer-load-error">${error.value}</p>`}
    ${s && html`<${Health} s=${s} />`}
  </div>`;
}
