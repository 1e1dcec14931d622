/**
 * Debian's Chromium driven by playwright-core, for the pages' tests: never a downloaded browser.
 * Where /usr/bin/chromium is missing the browser tests skip, and say how to run them. Each page
 * opened here records its console errors and uncaught exceptions, so a test can require none.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";

export const CHROMIUM = process.env.GP_CHROMIUM ?? "/usr/bin/chromium";
/** Where the pages' tests write their screenshots (printed by the tests, kept out of git). */
export const SCREENSHOTS = path.resolve(__dirname, "..", "..", "test-results", "screenshots");

/** A phone's viewport (a 390 px wide phone), the layout the pages are made for first. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

let warned = false;
/** Whether the browser tests can run; the first time it says no, it prints why and how to enable them. */
export function browserAvailable(): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (!warned) {
    warned = true;
    console.log(
      `\n    ** The browser tests were SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's with ` +
        "`sudo apt-get install -y chromium` (or set GP_CHROMIUM to a Chromium binary), then run npm test again. " +
        "CI (.ci/run) installs it and always runs them. **\n",
    );
  }
  return false;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags Chromium keeps trying Google's hosts, which this
    // machine's closed network refuses.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
  /** Bytes received so far, headers and bodies as sent (what the first load transferred). */
  bytes(): number;
}

export async function openPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; locale?: string; context?: BrowserContext } = {},
): Promise<WatchedPage> {
  const context = options.context ?? (await browser.newContext({ viewport: options.viewport ?? PHONE, locale: options.locale ?? "zh-CN" }));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`exception: ${error.message}`));
  let bytes = 0;
  page.on("requestfinished", (request) => {
    void request
      .sizes()
      .then((sizes) => (bytes += sizes.responseBodySize + sizes.responseHeadersSize))
      .catch(() => undefined);
  });
  return { page, context, errors, bytes: () => bytes };
}

/** A screenshot of the whole page into SCREENSHOTS/<name>.png; answers its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
