/** What every page has around it: the header with the two pages and the language switch, and the footer. */
import type { ComponentChildren } from "preact";
import { html } from "./html";
import { language, languageHref, t } from "./i18n";

export function Layout(props: { page: "pool" | "wallet" | "admin" | "merchant"; children: ComponentChildren }) {
  const other = language === "zh-CN" ? "en" : "zh-CN";
  return html`
    <a class="skip" href="#main">${t("common.skip")}</a>
    <header class="top">
      <a class="brand" href="/">${t("common.brand")}</a>
      <nav aria-label=${t("common.nav")}>
        <a href="/" aria-current=${props.page === "pool" ? "page" : undefined}>${t("common.nav.pool")}</a>
        <a href="/wallet" aria-current=${props.page === "wallet" ? "page" : undefined}>${t("common.nav.wallet")}</a>
        <a href=${languageHref(other)} hreflang=${other} lang=${other} data-testid="language">${t("common.otherLanguage")}</a>
      </nav>
    </header>
    <main id="main" tabindex="-1">${props.children}</main>
    <footer class="bottom"><p>${t("common.footer")}</p></footer>
  `;
}

/** A figure with its label, for the cards of figures. */
export function Figure(props: { label: string; value: string; unit?: string; testId?: string; hint?: string }) {
  return html`<div class="figure">
    <dt>${props.label}</dt>
    <dd data-testid=${props.testId}>${props.value}${props.unit ? html` <span class="unit">${props.unit}</span>` : null}</dd>
    ${props.hint ? html`<dd class="hint">${props.hint}</dd>` : null}
  </div>`;
}

/** A shortened address or hash, whole in its title, with a copy button. */
export function Hex(props: { value: string; testId?: string }) {
  const short = props.value.length > 14 ? `${props.value.slice(0, 8)}…${props.value.slice(-6)}` : props.value;
  return html`<code class="hex" title=${props.value} data-testid=${props.testId} data-value=${props.value}>${short}</code>`;
}
