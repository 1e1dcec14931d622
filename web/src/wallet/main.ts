/**
 * The shopper's wallet at /wallet: signed out, sign-up and log-in by phone; signed in, the
 * account's parts as tabs. Each part is its own module; they share the account through state.ts.
 */
import { render } from "preact";
import { signal } from "@preact/signals";
import { html } from "../lib/html";
import { t } from "../lib/i18n";
import { Layout } from "../lib/layout";
import { me, ready, refresh } from "./state";
import { SignedOut, Settings } from "./auth";
import { Balances } from "./balances";
import { History } from "./history";
import { Actions } from "./actions";
import { OriginalAccount } from "./original";
import { Ads } from "./ads";
import { Referral } from "./referral";

const TABS = {
  overview: Balances,
  actions: Actions,
  history: History,
  original: OriginalAccount,
  ads: Ads,
  referral: Referral,
  settings: Settings,
} as const;
type Tab = keyof typeof TABS;

const initial = new URLSearchParams(window.location.search).get("tab");
const tab = signal<Tab>(initial && initial in TABS ? (initial as Tab) : "overview");

/** Shows a tab and keeps it in the address (?tab=), so a reload or a shared link opens it again. */
function choose(name: Tab) {
  tab.value = name;
  const url = new URL(window.location.href);
  url.searchParams.set("tab", name);
  window.history.replaceState(null, "", `${url.pathname}${url.search}`);
}

function Tabs() {
  return html`<div class="tabs" role="tablist" aria-label=${t("wallet.sections")}>
    ${(Object.keys(TABS) as Tab[]).map(
      (name) =>
        html`<button
          type="button"
          role="tab"
          id=${`tab-${name}`}
          aria-controls="tab-panel"
          aria-selected=${tab.value === name}
          data-tab=${name}
          onClick=${() => choose(name)}
        >
          ${t(`wallet.tab.${name}`)}
        </button>`,
    )}
  </div>`;
}

function Page() {
  if (!ready.value) return html`<${Layout} page="wallet"><p aria-busy="true">${t("common.loading")}</p><//>`;
  const account = me.value;
  if (!account) return html`<${Layout} page="wallet"><${SignedOut} /><//>`;
  const Part = TABS[tab.value];
  return html`<${Layout} page="wallet">
    <h1>${t("wallet.heading")}</h1>
    <${Tabs} />
    <section id="tab-panel" role="tabpanel" aria-labelledby=${`tab-${tab.value}`}><${Part} me=${account} /></section>
  <//>`;
}

render(html`<${Page} />`, document.getElementById("app")!);
void refresh();
