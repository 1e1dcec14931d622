/**
 * Parts of a page as tabs: the open one is kept in the address (`?tab=`), so a reload or a shared
 * link opens it again.
 */
import type { ComponentType } from "preact";
import { signal } from "@preact/signals";
import { html } from "./html";
import { t } from "./i18n";

export function createTabs<P>(parts: Record<string, ComponentType<P>>, catalogue: string) {
  const names = Object.keys(parts);
  const initial = new URLSearchParams(window.location.search).get("tab");
  const tab = signal(initial && names.includes(initial) ? initial : names[0]);
  const choose = (name: string) => {
    tab.value = name;
    const url = new URL(window.location.href);
    url.searchParams.set("tab", name);
    window.history.replaceState(null, "", `${url.pathname}${url.search}`);
  };
  function Tabs(props: { visible?: (name: string) => boolean }) {
    return html`<div class="tabs" role="tablist" aria-label=${t(`${catalogue}.sections`)}>
      ${names
        .filter((name) => props.visible?.(name) ?? true)
        .map(
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
              ${t(`${catalogue}.tab.${name}`)}
            </button>`,
        )}
    </div>`;
  }
  function Panel(props: P) {
    const Part = parts[tab.value] as ComponentType<P>;
    return html`<section id="tab-panel" role="tabpanel" aria-labelledby=${`tab-${tab.value}`}><${Part} ...${props} /></section>`;
  }
  return { tab, choose, Tabs, Panel };
}
