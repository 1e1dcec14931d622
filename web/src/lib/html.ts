/** htm bound to Preact's h: components are tagged templates, so the pages need no JSX step. */
export { html } from "htm/preact";
