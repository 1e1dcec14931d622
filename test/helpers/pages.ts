/**
 * What the wallet's browser tests share: `npm start`'s own server (server/main.ts with its embedded
 * anvil and PGlite) with a shop, Debian's Chromium, the SMS code read from the outbox file the way
 * a newcomer reads it, and a shopper signed in by the API from inside the page (so the browser
 * holds the same httpOnly session cookie the wallet's own log-in would give it).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./browser";
import { freePort } from "./net";
import { type RelayerProcess, killHard, startRelayerProcess } from "./process";
import { TEST_ADMIN_TOKEN, createShop, postOrder, settledOrder } from "./relayer";

export interface PagesStack {
  server: RelayerProcess;
  browser: Browser;
  dir: string;
  /** The embedded anvil's JSON-RPC address, for reading the chain directly. */
  chainUrl: string;
  shop: { shopId: string; webhookSecret: string };
  stop(): Promise<void>;
}

export async function startPagesStack(prefix: string, env: Record<string, string> = {}): Promise<PagesStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gp-${prefix}-`));
  const chainPort = await freePort();
  const server = await startRelayerProcess(dir, { GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN, GP_CHAIN_PORT: String(chainPort), ...env });
  const browser = await launchBrowser();
  const shop = await createShop(server.url, `${prefix} shop`);
  return {
    server,
    browser,
    dir,
    chainUrl: `http://127.0.0.1:${chainPort}`,
    shop,
    async stop() {
      await browser.close().catch(() => undefined);
      killHard(server.anvilPid());
      killHard(server.child.pid);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The latest SMS code the outbox sender wrote for `phone` (E.164, e.g. +8613800138000) and purpose. */
export function outboxCode(dir: string, phone: string, purpose: string): string {
  const file = path.join(dir, "sms-outbox.log");
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const codes = [...text.matchAll(/to (\+\d+) code (\d{6}) \((\w[\w-]*)/g)].filter((m) => m[1] === phone && m[3] === purpose);
  if (codes.length === 0) throw new Error(`no ${purpose} code for ${phone} in the outbox:\n${text}`);
  return codes.at(-1)![2];
}

/** Waits for the outbox to hold a new code (after `before` codes) for `phone` and purpose. */
export async function nextOutboxCode(dir: string, phone: string, purpose: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return outboxCode(dir, phone, purpose);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A fetch from inside the page, as the wallet makes it (cookie session, CSRF header echoed). */
export async function pageCall(page: Page, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  return page.evaluate(
    async ({ method, route, body, headers }) => {
      // Runs in the page: its document (this file is compiled without the DOM's types).
      const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
      const csrf = /(?:^|; )gp_csrf=([^;]+)/.exec(cookie)?.[1];
      const response = await fetch(route, {
        method,
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "X-GP-Session": "cookie",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(csrf && method !== "GET" ? { "X-GP-CSRF": decodeURIComponent(csrf) } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, route, body, headers },
  );
}

/**
 * Signs a shopper up by phone from inside `page` (which must be on the server's origin): asks for
 * the code, reads it from the outbox, signs up with `password`. The browser then holds the session
 * cookie; the page is reloaded so the wallet shows the account. Answers the user id.
 */
export async function signUpInPage(stack: PagesStack, page: Page, localPhone: string, password = "a shopper's password"): Promise<string> {
  const e164 = `+86${localPhone}`;
  const sent = await pageCall(page, "POST", "/v1/phone-codes", { phone: localPhone, purpose: "signup" });
  if (sent.status !== 202) throw new Error(`asking for a code: ${sent.status} ${JSON.stringify(sent.body)}`);
  const code = await nextOutboxCode(stack.dir, e164, "signup");
  const signed = await pageCall(page, "POST", "/v1/phone/signup", { phone: localPhone, code, password });
  if (signed.status !== 201) throw new Error(`signing up: ${signed.status} ${JSON.stringify(signed.body)}`);
  await page.reload();
  return signed.body.userId as string;
}

/** Sends an order for the shopper with that phone by the shop's signed webhook and waits for the chain. */
export async function earn(stack: PagesStack, localPhone: string, orderId: string, amount: string): Promise<void> {
  const sent = await postOrder(stack.server.url, stack.shop, { orderId, phone: localPhone, amount });
  if (sent.status !== 202) throw new Error(`order ${orderId}: ${sent.status} ${JSON.stringify(sent.body)}`);
  const settled = await settledOrder(stack.server.url, stack.shop.shopId, orderId, 60_000);
  if (settled.state !== "confirmed") throw new Error(`order ${orderId} ${settled.state}: ${JSON.stringify(settled)}`);
}

/** The first operator's login and password, as `npm start` printed them on the start that made it. */
export function firstOperator(stack: PagesStack): { login: string; password: string } {
  const match = /operator login: (\S+) \/ (\S+)/.exec(stack.server.output());
  if (!match) throw new Error(`the server printed no operator login:\n${stack.server.output()}`);
  return { login: match[1], password: match[2] };
}

/**
 * Signs a staff account (an operator, or a merchant's owner or staff) in from inside `page` (on
 * the server's origin), as the console's and portal's own sign-in does, then reloads the page.
 */
export async function signInStaffInPage(page: Page, login: string, password: string): Promise<void> {
  const signed = await pageCall(page, "POST", "/v1/staff/sessions", { login, password });
  if (signed.status !== 201) throw new Error(`staff sign-in: ${signed.status} ${JSON.stringify(signed.body)}`);
  await page.reload();
}
