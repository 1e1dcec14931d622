/**
 * The wallet's balances and history tabs in Debian's Chromium against `npm start`'s own server: a
 * shopper signed up by phone receives three orders by the shop's signed webhook (and an
 * operator's grant, a second kind of entry); the balances shown equal GET /v1/me and the chain's
 * custody, the GP's value equals GP × the pool's price worked out here in bigint, the history
 * lists the orders with their transactions, a filter narrows it, and the CSV the page downloads
 * is the API's, row for row. Both languages, a phone and a desktop, no console error.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, formatUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, earn, pageCall, signUpInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, settledOperation } from "../helpers/relayer";

const PHONE_NUMBER = "13800138021";

/** A decimal string as base units, and back: the test's own exact arithmetic, apart from the page's. */
function units(value: string, places: number): bigint {
  const [whole, fraction = ""] = value.split(".");
  return BigInt(whole) * 10n ** BigInt(places) + BigInt((fraction + "0".repeat(places)).slice(0, places) || "0");
}
function decimal(value: bigint, places: number): string {
  const scale = 10n ** BigInt(places);
  const fraction = (value % scale).toString().padStart(places, "0").replace(/0+$/, "");
  return `${value / scale}${fraction ? `.${fraction}` : ""}`;
}

const format = (language: string, value: string, digits = 6) =>
  new Intl.NumberFormat(language, { maximumFractionDigits: digits }).format(value as unknown as number);

/** Waits until the history lists `n` entries. */
const entriesShown = (page: Page, n: number) =>
  page.waitForFunction(
    // Runs in the page (this file is compiled without the DOM's types; the CSP allows no string to evaluate).
    (count) =>
      (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll(
        '[data-testid="entry"]',
      ).length === count,
    n,
  );

/** The API's CSV read from inside the page, with its session cookie. */
const csvOf = (page: Page, query: string) =>
  page.evaluate(async (q) => (await fetch(`/v1/me/history?${q}`, { credentials: "same-origin" })).text(), query);

describe("the wallet's balances and history, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  let userId: string;
  const orders = ["money-1", "money-2", "money-3"];

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("money");
    const { page, context } = await openPage(stack.browser, { viewport: PHONE });
    await page.goto(`${stack.server.url}/wallet`);
    userId = await signUpInPage(stack, page, PHONE_NUMBER);
    await context.close();
    for (const [i, id] of orders.entries()) await earn(stack, PHONE_NUMBER, id, `${100 + 50 * i}`);
    // A second kind of entry: the operator grants the shopper GP for a contribution of 5.
    const grant = await call(stack.server.url, "POST", `/v1/admin/users/${userId}/grants`, {
      token: TEST_ADMIN_TOKEN,
      body: { contribution: "5", reason: "goodwill for a late parcel" },
      headers: { "idempotency-key": randomUUID() },
    });
    expect(grant.status, JSON.stringify(grant.body)).to.equal(202);
    const op = await settledOperation(stack.server.url, TEST_ADMIN_TOKEN, grant.body.operationId, 60_000);
    expect(op.state, JSON.stringify(op)).to.equal("confirmed");
  });

  after(async function () {
    await stack?.stop();
  });

  /** A page signed in as the shopper (the session cookie from a log-in made inside the page). */
  async function signedIn(viewport: { width: number; height: number }, lang: "zh-CN" | "en") {
    const watched = await openPage(stack.browser, { viewport, locale: lang });
    const { page } = watched;
    await page.goto(`${stack.server.url}/wallet?lang=${lang}`);
    const login = await pageCall(page, "POST", "/v1/phone/sessions", { phone: PHONE_NUMBER, password: "a shopper's password" });
    expect(login.status, JSON.stringify(login.body)).to.equal(201);
    await page.reload();
    return watched;
  }

  async function checkBalances(page: Page, lang: "zh-CN" | "en") {
    await page.getByTestId("gp").waitFor();
    const me = (await pageCall(page, "GET", "/v1/me")).body;
    const pool = (await pageCall(page, "GET", "/v1/pool")).body;
    const places = pool.settlement.decimals as number;
    // The chain's own custody, read here without the relayer.
    const deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    const provider = new JsonRpcProvider(stack.chainUrl);
    const account = await Custody__factory.connect(deployments.custody, provider).accountOf(me.account);
    provider.destroy();
    expect(formatUnits(account.points, 18).replace(/\.0$/, "")).to.equal(me.points);
    expect(formatUnits(account.constantPoints, places).replace(/\.0$/, "")).to.equal(me.constantPoints);
    expect(formatUnits(account.settlement, places).replace(/\.0$/, "")).to.equal(me.settlement);
    expect(units(me.points, 18) > 0n, "the orders credited GP").to.equal(true);

    // GP × price, rounded down to the settlement's places, in bigint.
    const value = decimal((units(me.points, 18) * units(pool.price, 18)) / 10n ** BigInt(36 - places), places);
    expect(await page.getByTestId("gp").textContent()).to.equal(`${format(lang, me.points)} GP`);
    expect(await page.getByTestId("gp-value").textContent()).to.equal(`${format(lang, value)} ${pool.settlement.symbol}`);
    expect(await page.getByTestId("redeemable").textContent()).to.equal(`${format(lang, me.redeemableNow)} ${pool.settlement.symbol}`);
    expect(await page.getByTestId("cp").textContent()).to.equal(`${format(lang, me.constantPoints)} CP`);
    expect(await page.getByTestId("settlement").textContent()).to.equal(`${format(lang, me.settlement)} ${pool.settlement.symbol}`);
    const total = decimal(units(value, places) + units(me.constantPoints, places) + units(me.settlement, places), places);
    expect(await page.getByTestId("total").getAttribute("data-value")).to.equal(total);
    // Redeeming pays less than the value (the exit fee), never more.
    expect(units(me.redeemableNow, places) < units(value, places)).to.equal(true);
    expect(await page.getByTestId("to-actions").getAttribute("href")).to.equal("/wallet?tab=actions");

    // The chart: the GP held after each of the account's entries (summed here, oldest first) times
    // the pool's price after it, rounded down, is among the values drawn, and it ends at the value now.
    await page.getByTestId("value-chart").waitFor();
    expect(await page.locator('[data-testid="value-chart"] .uplot').count()).to.equal(1);
    expect(await page.getByTestId("chart-entries-only").count(), "the pool's history was read").to.equal(0);
    const drawn = (await page.getByTestId("value-chart").getAttribute("data-values"))!.split(" ");
    const history = (await pageCall(page, "GET", "/v1/me/history?limit=200")).body;
    let held = 0n;
    const expected: string[] = [];
    for (const e of [...history.entries].reverse()) {
      held += units(e.points, 18);
      expect(e.priceBasis).to.equal("pool-after");
      expected.push(decimal((held * units(e.price, 18)) / 10n ** BigInt(36 - places), places));
    }
    expect(held).to.equal(units(me.points, 18));
    expect(drawn).to.include.members(expected);
    expect(drawn.at(-1)).to.equal(value);
    return { me, pool, value };
  }

  async function checkHistory(page: Page) {
    await page.click('button[data-tab="history"]');
    await page.waitForSelector('[data-testid="entry"]');
    const api = (await pageCall(page, "GET", "/v1/me/history?limit=20")).body;
    expect(api.entries.map((e: { kind: string }) => e.kind)).to.deep.equal(["grant", "order", "order", "order"]);
    const rows = page.getByTestId("entry");
    expect(await rows.count()).to.equal(api.entries.length);
    // Each entry shown as the API has it: its id, kind, state, GP and transaction, newest first.
    for (const [i, e] of api.entries.entries()) {
      const row = rows.nth(i);
      expect(await row.getAttribute("data-id")).to.equal(e.id);
      expect(await row.getAttribute("data-kind")).to.equal(e.kind);
      expect(await row.getAttribute("data-state")).to.equal("confirmed");
      expect(await row.getByTestId("amount-GP").getAttribute("data-value")).to.equal(e.points);
      expect(e.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(await row.getByTestId("tx").getAttribute("data-value")).to.equal(e.txHash);
    }
    const orderIds = api.entries
      .filter((e: { kind: string }) => e.kind === "order")
      .map((e: { details: { orderId: string } }) => e.details.orderId);
    expect(orderIds.sort()).to.deep.equal(orders);

    // A filter narrows the list (and the CSV link with it) to the grant.
    await page.getByTestId("filter-kind").selectOption("grant");
    await page.getByTestId("filter-apply").click();
    await entriesShown(page, 1);
    expect(await rows.first().getAttribute("data-kind")).to.equal("grant");
    expect(await page.getByTestId("csv").getAttribute("href")).to.equal("/v1/me/history?kind=grant&format=csv");

    // By asset: the GP moved in every entry; no CP moved in any.
    await page.getByTestId("filter-kind").selectOption("");
    await page.getByTestId("filter-asset").selectOption("CP");
    await page.getByTestId("filter-apply").click();
    await page.getByTestId("history-empty").waitFor();
    await page.getByTestId("filter-asset").selectOption("GP");
    await page.getByTestId("filter-apply").click();
    await entriesShown(page, api.entries.length);
    await page.getByTestId("filter-asset").selectOption("");

    // A period that ended before the orders: nothing.
    await page.getByTestId("filter-to").fill("2020-01-31");
    await page.getByTestId("filter-apply").click();
    await page.getByTestId("history-empty").waitFor();
    await page.getByTestId("filter-clear").click();
    await entriesShown(page, api.entries.length);
    return api;
  }

  /** Clicks the CSV link, and compares the file the browser saved with the API's CSV for the same filter. */
  async function checkCsv(page: Page, query: string, expectedRows: number) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("csv").click()]);
    expect(download.suggestedFilename()).to.equal("green-points-history.csv");
    const saved = fs.readFileSync((await download.path())!, "utf8");
    const fromApi = await csvOf(page, query);
    expect(saved).to.equal(fromApi);
    const lines = saved.trimEnd().split("\r\n");
    expect(lines[0].split(",").slice(0, 4)).to.deep.equal(["time", "id", "kind", "state"]);
    expect(lines).to.have.length(expectedRows + 1);
    return lines;
  }

  it("shows the balances as GET /v1/me and the chain have them, and the history with its CSV, in Chinese on a phone", async function () {
    const { page, context, errors } = await signedIn(PHONE, "zh-CN");
    expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");
    await checkBalances(page, "zh-CN");
    expect(await page.locator("#balances-title").textContent()).to.equal("我的余额");
    console.log(`      screenshot ${await screenshot(page, "wallet-money-balances-zh-CN-phone")}`);
    const api = await checkHistory(page);
    const lines = await checkCsv(page, "format=csv", api.entries.length);
    for (const e of api.entries) expect(lines.some((l) => l.includes(e.id) && l.includes(e.txHash))).to.equal(true);
    expect(await page.getByTestId("entry").first().textContent()).to.contain("平台发放");
    console.log(`      screenshot ${await screenshot(page, "wallet-money-history-zh-CN-phone")}`);
    // The filtered CSV: the orders only.
    await page.getByTestId("filter-kind").selectOption("order");
    await page.getByTestId("filter-apply").click();
    await entriesShown(page, 3);
    const orderLines = await checkCsv(page, "kind=order&format=csv", 3);
    expect(orderLines.slice(1).every((l) => l.split(",")[2] === "order")).to.equal(true);
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("says the same in English on a desktop", async function () {
    const { page, context, errors } = await signedIn(DESKTOP, "en");
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    await checkBalances(page, "en");
    expect(await page.locator("#balances-title").textContent()).to.equal("My balances");
    console.log(`      screenshot ${await screenshot(page, "wallet-money-balances-en-desktop")}`);
    await checkHistory(page);
    expect(await page.getByTestId("entry").first().textContent()).to.contain("Grant");
    console.log(`      screenshot ${await screenshot(page, "wallet-money-history-en-desktop")}`);
    expect(errors).to.deep.equal([]);
    await context.close();
  });
});
