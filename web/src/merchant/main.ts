/**
 * The merchant portal at /merchant: a merchant's owner or staff signs in with a login, then the
 * portal's parts as tabs, each its own module. Staff see all but the keys and staff tabs and the
 * withdrawals, which are the owner's (the server refuses them to staff whatever the page shows).
 */
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { html } from "../lib/html";
import { t } from "../lib/i18n";
import { Layout } from "../lib/layout";
import { type StaffMe, StaffBar, StaffSignIn, refreshStaff, staff, staffReady } from "../lib/staff";
import { createTabs } from "../lib/tabs";
import { Ads } from "./ads";
import { Keys } from "./keys";
import { Notifications } from "./notifications";
import { Overview } from "./overview";
import { Payments } from "./payments";
import { Staff } from "./staff";
import { StatementTab } from "./statement";
import { account, accountError, errorText, readSettlement, refreshAccount } from "./state";

const OWNER_ONLY = new Set(["keys", "staff"]);
const { Tabs, Panel } = createTabs(
  { overview: Overview, payments: Payments, statement: StatementTab, ads: Ads, notifications: Notifications, keys: Keys, staff: Staff },
  "merchant",
);

function Portal(props: { me: StaffMe }) {
  const { me } = props;
  useEffect(() => {
    account.value = null;
    void refreshAccount();
    readSettlement().catch((e) => (accountError.value = errorText(e)));
  }, [me.staffId]);
  return html`<h1 data-testid="merchant-name">${account.value ? account.value.name : t("merchant.heading")}</h1>
    <${StaffBar} me=${me} />
    ${accountError.value ? html`<p class="error" role="alert">${accountError.value}</p>` : null}
    <${Tabs} visible=${(name: string) => me.role === "owner" || !OWNER_ONLY.has(name)} />
    <${Panel} me=${me} />`;
}

function Page() {
  if (!staffReady.value) return html`<${Layout} page="merchant"><p aria-busy="true">${t("common.loading")}</p><//>`;
  const me = staff.value;
  if (!me) return html`<${Layout} page="merchant"><${StaffSignIn} kind="merchant" heading=${t("merchant.signIn")} /><//>`;
  return html`<${Layout} page="merchant"><${Portal} me=${me} /><//>`;
}

render(html`<${Page} />`, document.getElementById("app")!);
void refreshStaff("merchant");
