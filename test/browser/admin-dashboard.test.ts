/**
 * The operator console's dashboard tab in Debian's Chromium against `npm start`'s own server:
 * after orders, a backed grant and a removal, the operator signs in and the console opens on the
 * dashboard; each figure card shows what GET /v1/admin/dashboard answers, and those of the chain
 * equal the chain's own (read directly); the ledger lists the days the API lists, today's row
 * with the GP minted by orders and by the grant as the chain's events have them; a shorter period
 * narrows it; the CSV the page downloads is the API's, line for line. Both languages, phone and
 * desktop, no console error.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, formatUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory, GreenPoints__factory, Pool__factory } from "../../typechain-types";
import { DESKTOP, PHONE, SCREENSHOTS, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, pageCall, signInStaffInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, postOrder, settledOperation, settledOrder } from "../helpers/relayer";

const units = (value: bigint, decimals: number) => formatUnits(value, decimals).replace(/\.0$/, "");

/** A GET from inside the page with the session cookie, answered as text (the CSV). */
const pageText = (page: Page, route: string) =>
  page.evaluate(async (route) => {
    const response = await fetch(route, { credentials: "same-origin" });
    return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
  }, route);

describe("the operator console's dashboard tab, in a real browser", function () {
  this.timeout(300_000);
  let stack: PagesStack;
  let provider: JsonRpcProvider;
  let deployments: { pool: string; points: string; custody: string };
  let granted: bigint;
  let orderPoints: bigint;

  const admin = (method: string, route: string, body?: unknown) =>
    call(stack.server.url, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
  const pool = () => Pool__factory.connect(deployments.pool, provider);
  const points = () => GreenPoints__factory.connect(deployments.points, provider);

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("admin-dashboard");
    deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    provider = new JsonRpcProvider(stack.chainUrl);
    orderPoints = 0n;
    for (const [orderId, userId, amount] of [
      ["d-1", "alice", "100"],
      ["d-2", "bob", "40"],
    ]) {
      expect((await postOrder(stack.server.url, stack.shop, { orderId, userId, amount })).status).to.equal(202);
      const settled = await settledOrder(stack.server.url, stack.shop.shopId, orderId, 60_000);
      expect(settled.state).to.equal("confirmed");
    }
    for (const [route, body] of [
      ["/v1/admin/users/alice/grants", { contribution: "3", reason: "goodwill" }],
      ["/v1/admin/users/alice/removals", { points: "1", reason: "correction" }],
    ] as const) {
      const res = await admin("POST", route, body);
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect((await settledOperation(stack.server.url, TEST_ADMIN_TOKEN, res.body.operationId)).state).to.equal("confirmed");
    }
    const custody = Custody__factory.connect(deployments.custody, provider);
    granted = (await custody.queryFilter(custody.filters.Granted()))[0].args.points;
    for (const e of await pool().queryFilter(pool().filters.OrderRecorded())) orderPoints += e.args.points;
    // Wait for the index to reach the head and agree with the chain there.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const d = (await call(stack.server.url, "GET", "/v1/admin/dashboard", { token: TEST_ADMIN_TOKEN })).body;
      if (d.indexedBlock >= (await provider.getBlockNumber()) && d.check.agrees === true) break;
      if (Date.now() > deadline) throw new Error(`the index did not catch up: ${JSON.stringify(d)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async function () {
    provider?.destroy();
    await stack?.stop();
  });

  async function signedIn(viewport: { width: number; height: number }, locale: string) {
    const watched = await openPage(stack.browser, { viewport, locale });
    await watched.page.goto(`${stack.server.url}/admin`);
    const op = firstOperator(stack);
    await signInStaffInPage(watched.page, op.login, op.password);
    // The console opens on the dashboard, its first tab.
    await watched.page.getByTestId("kpi-outstanding-now").waitFor();
    await watched.page.locator('[data-testid="dash-ledger"] tbody tr').first().waitFor();
    expect(await watched.page.locator('[role="tab"]').first().getAttribute("data-tab")).to.equal("dashboard");
    return watched;
  }

  /** The cards show what the API answers; the chain's figures are the chain's. */
  async function checkFigures(page: Page) {
    const api = (await pageCall(page, "GET", "/v1/admin/dashboard")).body;
    for (const k of api.kpis) {
      expect(await page.getByTestId(`kpi-${k.name}-now`).getAttribute("data-value"), k.name).to.equal(k.now ?? "");
      expect(await page.getByTestId(`kpi-${k.name}-change`).getAttribute("data-value"), k.name).to.equal(k.change ?? "");
      expect(await page.getByTestId(`kpi-${k.name}-change`).getAttribute("data-before"), k.name).to.equal(k.before ?? "");
    }
    const value = async (name: string) => (await page.getByTestId(`kpi-${name}-now`).getAttribute("data-value"))!;
    expect(await value("outstanding")).to.equal(units(await points().totalSupply(), 18));
    expect(await value("minted")).to.equal(units(await points().totalMinted(), 18));
    expect(await value("assets")).to.equal(units(await pool().assets(), 6));
    const pooled = (await pageCall(page, "GET", "/v1/pool")).body;
    expect(Number(await value("price"))).to.equal(Number(pooled.price));
    expect(await value("ordersPerDay")).to.equal("2");
    expect(await page.getByTestId("dash-check").getAttribute("data-agrees")).to.equal("true");
    return api;
  }

  /** The table's rows are the API's days, newest first, and today's holds the chain's mints. */
  async function checkLedger(page: Page, query: string) {
    const api = (await pageCall(page, "GET", `/v1/admin/ledger?${query}`)).body;
    const rows = page.locator('[data-testid="dash-ledger"] tbody tr');
    expect(await rows.count()).to.equal(api.days.length);
    const days = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector("th")!.textContent!.trim()));
    expect(days).to.deep.equal(api.days.map((d: { day: string }) => d.day).reverse());
    const today = api.days.at(-1);
    const cell = (col: string) => page.locator(`[data-testid="dash-day-${today.day}"] td[data-col="${col}"]`).getAttribute("data-value");
    for (const col of [
      "mintedByOrders",
      "mintedByAds",
      "mintedByGrants",
      "redeemed",
      "retired",
      "outstanding",
      "assetsIn",
      "assetsOut",
      "assets",
    ])
      expect(await cell(col), col).to.equal(today[col]);
    // The first mint locks LOCKED_POINTS in the pool, minted by that order.
    expect(await cell("mintedByOrders")).to.equal(units(orderPoints + (await pool().LOCKED_POINTS()), 18));
    expect(await cell("mintedByGrants")).to.equal(units(granted, 18));
    expect(await cell("retired")).to.equal("1");
    expect(await cell("outstanding")).to.equal(units(await points().totalSupply(), 18));
    return api;
  }

  /** The CSV the page downloads is the API's, one line per day after the header. */
  async function checkCsv(page: Page, days: number) {
    const href = (await page.getByTestId("dash-csv").getAttribute("href"))!;
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("dash-csv").click()]);
    const saved = fs.readFileSync((await download.path())!, "utf8");
    const fromApi = await pageText(page, href);
    expect(fromApi.status).to.equal(200);
    expect(fromApi.type).to.equal("text/csv; charset=utf-8");
    expect(saved).to.equal(fromApi.text);
    expect(download.suggestedFilename()).to.match(/^green-points-ledger-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
    const lines = saved.split("\r\n");
    expect(lines[0]).to.equal(
      "day,mintedByOrders,mintedByAds,mintedByGrants,redeemed,retired,outstanding,assetsIn,assetsOut,assets,exitFees,orders",
    );
    expect(lines.length).to.equal(days + 2); // the header, the days, and the empty string after the last CRLF
    return lines;
  }

  it("shows the figures, the ledger and its CSV as the API and the chain have them (English, desktop)", async function () {
    const { page, errors, context } = await signedIn(DESKTOP, "en");
    await checkFigures(page);
    expect(await page.getByTestId("kpi-outstanding").textContent()).to.contain("GP outstanding");
    const ledger = await checkLedger(page, "");
    expect(ledger.days).to.have.length(30);
    await screenshot(page, "admin-dashboard-en-desktop");
    const lines = await checkCsv(page, 30);
    const today = ledger.days.at(-1);
    expect(lines.at(-2)).to.equal(
      [
        today.day,
        today.mintedByOrders,
        today.mintedByAds,
        today.mintedByGrants,
        today.redeemed,
        today.retired,
        today.outstanding,
        today.assetsIn,
        today.assetsOut,
        today.assets,
        today.exitFees,
        today.orders,
      ].join(","),
    );

    // A period of today alone: one row, and the CSV link follows it.
    await page.getByTestId("dash-from").fill(today.day);
    await page.getByTestId("dash-to").fill(today.day);
    await page.getByTestId("dash-show").click();
    await page.locator('[data-testid="dash-ledger"] tbody tr').nth(1).waitFor({ state: "detached" });
    await checkLedger(page, `from=${today.day}&to=${today.day}`);
    expect(await page.getByTestId("dash-csv").getAttribute("href")).to.equal(
      `/v1/admin/ledger?from=${today.day}&to=${today.day}&format=csv`,
    );
    await checkCsv(page, 1);
    // A period that ends before it starts is refused before anything is asked, and the ledger shown stays.
    await page.getByTestId("dash-from").fill(today.day);
    await page.getByTestId("dash-to").fill("2020-01-01");
    await page.getByTestId("dash-show").click();
    await page.locator('[data-testid="dash-ledger-error"]:not(:empty)').waitFor();
    expect(await page.getByTestId("dash-ledger-error").textContent()).to.contain("The first day is after the last");
    expect(await page.locator('[data-testid="dash-ledger"] tbody tr').count()).to.equal(1);
    await screenshot(page, "admin-dashboard-en-desktop-period");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows the same in Chinese on a phone", async function () {
    const { page, errors, context } = await signedIn(PHONE, "zh-CN");
    await checkFigures(page);
    expect(await page.getByTestId("kpi-members").textContent()).to.contain("会员数");
    expect(await page.getByTestId("dash-ledger").textContent()).to.contain("赠送发放");
    const ledger = await checkLedger(page, "");
    await screenshot(page, "admin-dashboard-zh-phone");
    // What a phone shows at once: the first cards, then the ledger's top.
    await page.screenshot({ path: path.join(SCREENSHOTS, "admin-dashboard-zh-phone-top.png") });
    await page.getByTestId("dash-ledger").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, "admin-dashboard-zh-phone-ledger.png") });
    await checkCsv(page, ledger.days.length);
    expect(errors).to.deep.equal([]);
    await context.close();
  });
});
