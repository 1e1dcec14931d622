/**
 * The operator console at /admin: operators sign in with their login, then the console's parts
 * as tabs, each its own module. Every change an operator makes is in the audit log under their
 * name (the server records it).
 */
import { render } from "preact";
import { html } from "../lib/html";
import { t } from "../lib/i18n";
import { Layout } from "../lib/layout";
import { StaffBar, StaffSignIn, refreshStaff, staff, staffReady } from "../lib/staff";
import { createTabs } from "../lib/tabs";
import { AdNetworks } from "./ad-networks";
import { Dashboard } from "./dashboard";
import { Members } from "./members";
import { Merchants } from "./merchants";
import { Notifications } from "./notifications";
import { Orders } from "./orders";
import { Parameters } from "./parameters";
import { Relayer } from "./relayer";
import { Shops } from "./shops";

const { Tabs, Panel } = createTabs(
  {
    dashboard: Dashboard,
    members: Members,
    orders: Orders,
    shops: Shops,
    merchants: Merchants,
    adNetworks: AdNetworks,
    notifications: Notifications,
    parameters: Parameters,
    relayer: Relayer,
  },
  "admin",
);

function Page() {
  if (!staffReady.value) return html`<${Layout} page="admin"><p aria-busy="true">${t("common.loading")}</p><//>`;
  const me = staff.value;
  if (!me) return html`<${Layout} page="admin"><${StaffSignIn} kind="operator" heading=${t("admin.signIn")} /><//>`;
  return html`<${Layout} page="admin">
    <h1>${t("admin.heading")}</h1>
    <${StaffBar} me=${me} />
    <${Tabs} />
    <${Panel} me=${me} />
  <//>`;
}

render(html`<${Page} />`, document.getElementById("app")!);
void refreshStaff("operator");
