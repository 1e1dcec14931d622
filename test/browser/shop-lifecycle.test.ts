/**
 * Issue 18 on the pages, in Debian's Chromium against `npm start`'s own server: a shop with a
 * pending window (set by the operator's API) sends an order for a shopper's phone; the wallet shows
 * it under pending points with its release date and the estimate `/v1/me` gives (nothing minted:
 * the chain's balance is unchanged); the operator's console reads the shop's statement (what it
 * owes equals the API's) and downloads its CSV, which names the order. Both languages; no console
 * error.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, pageCall, signInStaffInPage, signUpInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, postOrder } from "../helpers/relayer";

describe("pending points and the shop statement, in a real browser", function () {
  this.timeout(300_000);
  let stack: PagesStack;

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("shop-lifecycle");
    const set = await call(stack.server.url, "PUT", `/v1/admin/shops/${stack.shop.shopId}/funding`, {
      token: TEST_ADMIN_TOKEN,
      body: { pendingDays: 14 },
    });
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
  });

  after(async function () {
    await stack?.stop();
  });

  it("shows the shopper the order held for the window, with its release date and estimate (Chinese, phone)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet`);
    await signUpInPage(stack, page, "13800138077");
    const sent = await postOrder(stack.server.url, stack.shop, { orderId: "held-1", phone: "13800138077", amount: "80" });
    expect(sent.body).to.include({ state: "received", pending: true });
    await page.reload();
    await page.getByTestId("pending-held-1").waitFor();
    const me = (await pageCall(page, "GET", "/v1/me")).body;
    expect(me.points).to.equal("0");
    const [held] = me.pendingOrders;
    expect(held).to.include({ orderId: "held-1", amount: "80" });
    expect(await page.getByTestId("pending-held-1").getByTestId("pending-estimate").getAttribute("data-value")).to.equal(held.estimate);
    expect(await page.getByTestId("pending-held-1").textContent()).to.contain("held-1");
    expect(Date.parse(held.releaseAt) - Date.now()).to.be.closeTo(14 * 24 * 3600 * 1000, 120_000);
    await screenshot(page, "wallet-pending-zh-phone");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("lets the operator read the shop's statement and download its CSV (English, desktop)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: DESKTOP, locale: "en" });
    await page.goto(`${stack.server.url}/admin?lang=en`);
    const op = firstOperator(stack);
    await signInStaffInPage(page, op.login, op.password);
    await page.goto(`${stack.server.url}/admin?tab=shops`);
    const card = page.getByTestId(`shop-${stack.shop.shopId}`);
    // The order held for the window counts as not minted yet.
    expect(await card.getByTestId("shop-orders-waiting").getAttribute("data-value")).to.equal("1");
    await card.getByTestId("shop-manage").click();
    await card.getByTestId("shop-statement-read").click();
    await card.getByTestId("shop-statement-owes").waitFor();
    const statement = (await call(stack.server.url, "GET", `/v1/shops/${stack.shop.shopId}/statement`, { token: TEST_ADMIN_TOKEN })).body;
    expect(await card.getByTestId("shop-statement-owes").getAttribute("data-value")).to.equal(statement.owesPlatform);
    expect(await card.getByTestId("shop-statement-prepaid").getAttribute("data-value")).to.equal(statement.prepaid);
    const [download] = await Promise.all([page.waitForEvent("download"), card.getByTestId("shop-statement-csv").click()]);
    const csv = fs.readFileSync((await download.path())!, "utf8");
    expect(csv.split("\r\n")[0]).to.contain("orderId");
    expect(csv).to.contain("held-1");
    await screenshot(page, "admin-shop-statement-en");
    expect(errors).to.deep.equal([]);
    await context.close();
  });
});
