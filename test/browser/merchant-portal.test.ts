/**
 * The merchant portal in Debian's Chromium against `npm start`'s own server. The operator (the
 * first start's login, through the API) makes a merchant, its owner and a staff member; a shopper
 * with orders pays the merchant in GP and in CP through the API. The owner signs in on the page,
 * sees the payments, redeems GP with the chain's figures confirmed first and follows it to the
 * chain (whose balances moved by exactly the payout shown), downloads the period's statement as
 * CSV, creates an API key that is shown once and works, and revokes it. Staff sign in and find
 * no withdrawal button, no keys (and the server refuses both, 403), but exchange CP for GP. Both
 * languages, a phone and a desktop, a screenshot of every tab, no console error.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, Wallet, formatUnits, parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory, IERC20__factory, Pool__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, signInStaffInPage, startPagesStack } from "../helpers/pages";
import { call, postOrder, settledOperation, settledOrder } from "../helpers/relayer";

const TABS = ["overview", "payments", "statement", "ads", "keys", "staff"] as const;
const plain = (v: bigint, decimals: number) => formatUnits(v, decimals).replace(/\.0$/, "");

describe("the merchant portal, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  let provider: JsonRpcProvider;
  let deployments: { pool: string; custody: string; adCredit: string; settlement: string };
  let operator: string;
  let merchant: { merchantId: string; keyId: string; apiKey: string; account: string };
  let gpPayment: string;
  let cpPayment: string;
  const SHOPPER = "tea-lover";

  const as = (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(stack.server.url, method, route, { token, body, headers: { "idempotency-key": randomUUID(), ...headers } });

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("merchant-portal");
    deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    provider = new JsonRpcProvider(stack.chainUrl);
    const first = firstOperator(stack);
    const session = await call(stack.server.url, "POST", "/v1/staff/sessions", { body: first });
    expect(session.status, JSON.stringify(session.body)).to.equal(201);
    operator = session.body.token;

    // The operator makes the merchant, its owner and a staff member.
    const made = await as(operator, "POST", "/v1/admin/merchants", { name: "Tea House" });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(stack.server.url, operator, made.body.operation.operationId, 60_000)).state).to.equal("confirmed");
    merchant = made.body;
    for (const [login, role] of [
      ["tea-owner", "owner"],
      ["tea-till", "staff"],
    ])
      expect(
        (await as(operator, "POST", `/v1/admin/merchants/${merchant.merchantId}/staff`, { login, password: `${login}-password`, role }))
          .status,
      ).to.equal(201);

    // A shopper with orders pays the merchant 2 GP, and 1.5 CP converted from GP.
    const user = await as(operator, "POST", "/v1/users", {
      userId: SHOPPER,
      password: "tea-lover-login",
      paymentPassword: "tea-lover-pay",
    });
    expect(user.status, JSON.stringify(user.body)).to.equal(201);
    expect((await settledOperation(stack.server.url, operator, user.body.operation.operationId, 60_000)).state).to.equal("confirmed");
    for (const orderId of ["tea-1", "tea-2"]) {
      expect((await postOrder(stack.server.url, stack.shop, { orderId, userId: SHOPPER, amount: "100" })).status).to.equal(202);
      expect((await settledOrder(stack.server.url, stack.shop.shopId, orderId, 60_000)).state).to.equal("confirmed");
    }
    const shopper = (await call(stack.server.url, "POST", "/v1/sessions", { body: { userId: SHOPPER, password: "tea-lover-login" } })).body
      .token as string;
    const pay = (route: string, body: unknown) => as(shopper, "POST", route, body, { "x-gp-payment-password": "tea-lover-pay" });
    const settle = async (res: { status: number; body: any }) => {
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect((await settledOperation(stack.server.url, shopper, res.body.operationId, 60_000)).state).to.equal("confirmed");
      return res.body.operationId as string;
    };
    gpPayment = await settle(await pay("/v1/me/payments", { merchantId: merchant.merchantId, asset: "GP", amount: "2" }));
    await settle(await pay("/v1/me/conversions", { points: "3" }));
    cpPayment = await settle(await pay("/v1/me/payments", { merchantId: merchant.merchantId, asset: "CP", amount: "1.5" }));
    merchant.account = (await as(merchant.apiKey, "GET", "/v1/merchant")).body.account;
  });

  after(async function () {
    provider?.destroy();
    await stack?.stop();
  });

  const custody = () => Custody__factory.connect(deployments.custody, provider);
  const pool = () => Pool__factory.connect(deployments.pool, provider);

  async function openTab(page: Page, tab: string) {
    await page.locator(`[role="tab"][data-tab="${tab}"]`).click();
    await page.getByTestId(tab).waitFor();
  }

  it("lets the owner see a payment, redeem it to the chain, download the statement, and make and revoke a key (English, desktop)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: DESKTOP, locale: "en" });
    await page.goto(`${stack.server.url}/merchant?lang=en`);
    // The page's own sign-in form.
    await page.getByTestId("staff-signin").waitFor();
    await screenshot(page, "merchant-signin-en-desktop");
    await page.getByTestId("staff-login").fill("tea-owner");
    await page.getByTestId("staff-password").fill("tea-owner-password");
    await page.getByTestId("staff-submit").click();
    await page.getByTestId("overview").waitFor();
    expect(await page.getByTestId("merchant-name").textContent()).to.equal("Tea House");
    expect(await page.getByTestId("balance-points").textContent()).to.contain("2");
    expect(await page.getByTestId("balance-cp").textContent()).to.contain("1.5");
    const [, , allPayout] = await pool().previewRedeem(parseUnits("2", 18));
    expect(await page.getByTestId("redeemable-points").textContent()).to.contain(plain(allPayout, 6).slice(0, 4));
    await screenshot(page, "merchant-overview-en-desktop");

    // The shopper's payments, who paid and in what, confirmed.
    await openTab(page, "payments");
    await page.getByTestId("payment-row").first().waitFor();
    const rows = page.getByTestId("payment-row");
    expect(await rows.count()).to.equal(2);
    expect(await rows.nth(0).getAttribute("data-operation")).to.equal(cpPayment);
    expect(await rows.nth(1).getAttribute("data-operation")).to.equal(gpPayment);
    expect(await rows.nth(1).getByTestId("payment-from").textContent()).to.equal(SHOPPER);
    expect(await rows.nth(1).getByTestId("payment-amount").getAttribute("data-value")).to.equal("2");
    expect(await rows.nth(1).getByTestId("payment-amount").getAttribute("data-asset")).to.equal("GP");
    expect(await rows.nth(1).getAttribute("data-state")).to.equal("confirmed");
    await page.getByTestId("daily-chart").locator("canvas").waitFor();
    await screenshot(page, "merchant-payments-en-desktop");
    // Narrowed to CP only.
    await page.getByTestId("payments-asset").selectOption("CP");
    await page.getByTestId("payments-apply").click();
    await page.waitForFunction(`document.querySelectorAll('[data-testid="payment-row"]').length === 1`);
    expect(await rows.nth(0).getAttribute("data-operation")).to.equal(cpPayment);

    // Redeem 1 GP: the figures shown are the pool's own preview, and the chain moves by them.
    await openTab(page, "overview");
    const before = await custody().accountOf(merchant.account);
    await page.getByTestId("redeem-amount").fill("1");
    await page.getByTestId("redeem-review").click();
    await page.getByTestId("redeem-confirm").waitFor();
    const [gross, fee, payout] = await pool().previewRedeem(parseUnits("1", 18));
    expect(await page.getByTestId("redeem-fig-gross").getAttribute("data-value")).to.equal(plain(gross, 6));
    expect(await page.getByTestId("redeem-fig-fee").getAttribute("data-value")).to.equal(plain(fee, 6));
    expect(await page.getByTestId("redeem-fig-payout").getAttribute("data-value")).to.equal(plain(payout, 6));
    await screenshot(page, "merchant-redeem-confirm-en-desktop");
    await page.getByTestId("redeem-send").click();
    await page.locator('[data-testid="redeem-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("redeem-done-paid").getAttribute("data-value")).to.equal(plain(payout, 6));
    const after = await custody().accountOf(merchant.account);
    expect(after.points).to.equal(before.points - parseUnits("1", 18));
    expect(after.settlement).to.equal(before.settlement + payout);
    const shown = plain(after.settlement, 6).slice(0, 4);
    await page.getByTestId("balance-settlement").filter({ hasText: shown }).waitFor();
    await screenshot(page, "merchant-redeem-confirmed-en-desktop");

    // Withdraw 0.5 of that settlement to an address: the figures first, then the token lands there.
    const payee = Wallet.createRandom().address;
    await page.locator('[data-action="withdraw"]').click();
    await page.getByTestId("withdraw-to").fill(payee);
    await page.getByTestId("withdraw-amount").fill("0.5");
    await page.getByTestId("withdraw-review").click();
    await page.getByTestId("withdraw-confirm").waitFor();
    expect(await page.getByTestId("withdraw-fig-to").getAttribute("data-value")).to.equal(payee);
    expect(await page.getByTestId("withdraw-fig-left").getAttribute("data-value")).to.equal(
      plain(after.settlement - parseUnits("0.5", 6), 6),
    );
    await screenshot(page, "merchant-withdraw-confirm-en-desktop");
    await page.getByTestId("withdraw-send").click();
    await page.locator('[data-testid="withdraw-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    expect(await IERC20__factory.connect(deployments.settlement, provider).balanceOf(payee)).to.equal(parseUnits("0.5", 6));
    expect((await custody().accountOf(merchant.account)).settlement).to.equal(after.settlement - parseUnits("0.5", 6));

    // The statement of this month, and its CSV.
    await openTab(page, "statement");
    await page.getByTestId("statement-table").waitFor();
    expect(await page.getByTestId("statement-row").count()).to.equal(4);
    expect(await page.getByTestId("total-withdrawn").textContent()).to.contain("0.5");
    expect(await page.getByTestId("total-receivedGP").textContent()).to.contain("2");
    expect(await page.getByTestId("total-redeemedGP").textContent()).to.contain("1");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("statement-download").click()]);
    expect(download.suggestedFilename()).to.equal(`statement-${merchant.merchantId}.csv`);
    const csv = fs.readFileSync((await download.path())!, "utf8").split("\r\n");
    expect(csv[0]).to.equal("time,operationId,type,asset,amount,payout,fee,counterparty,txHash");
    const byOperation = (id: string) => csv.find((l) => l.includes(`,${id},`))!.split(",");
    expect(byOperation(gpPayment).slice(2, 8)).to.deep.equal(["payment-received", "GP", "2", "", "", SHOPPER]);
    expect(byOperation(cpPayment).slice(2, 8)).to.deep.equal(["payment-received", "CP", "1.5", "", "", SHOPPER]);
    const redemption = csv.find((l) => l.includes(",redemption,"))!.split(",");
    expect(redemption.slice(3, 7)).to.deep.equal(["GP", "1", plain(payout, 6), plain(fee, 6)]);
    const withdrawal = csv.find((l) => l.includes(",withdrawal,"))!.split(",");
    expect(withdrawal.slice(3, 8)).to.deep.equal(["settlement", "0.5", "", "", payee]);
    expect(csv.filter((l) => l !== "").length).to.equal(5);
    await screenshot(page, "merchant-statement-en-desktop");

    await openTab(page, "ads");
    expect(await page.getByTestId("ad-contract").getAttribute("data-value")).to.equal(deployments.adCredit);
    expect(await page.getByTestId("ad-merchant").textContent()).to.equal(merchant.account);
    expect(await page.getByTestId("ad-notice").textContent()).to.match(/notice period of \d/);
    await screenshot(page, "merchant-ads-en-desktop");

    // A key made here is shown once, works, and is revoked here.
    await openTab(page, "keys");
    await page.getByTestId("key-row").first().waitFor();
    await page.getByTestId("key-create").click();
    await page.getByTestId("key-secret").waitFor();
    const apiKey = await page.getByTestId("key-secret").inputValue();
    expect(apiKey).to.match(/^gpk_/);
    const keyId = (await page.getByTestId("key-new").getAttribute("data-key"))!;
    expect((await as(apiKey, "GET", "/v1/merchant")).body.merchantId).to.equal(merchant.merchantId);
    await screenshot(page, "merchant-keys-created-en-desktop");
    await page.getByTestId("key-hide").click();
    expect(await page.getByTestId("key-secret").count()).to.equal(0);
    await page.reload();
    await page.getByTestId("key-row").nth(1).waitFor();
    expect(await page.content()).to.not.contain(apiKey);
    const row = page.locator(`[data-testid="key-row"][data-key="${keyId}"]`);
    await row.getByTestId("key-revoke").click();
    await row.getByTestId("key-revoke-send").click();
    await page.locator(`[data-testid="key-row"][data-key="${keyId}"][data-revoked="true"]`).waitFor();
    expect((await as(apiKey, "GET", "/v1/merchant")).status).to.equal(401);
    expect((await as(merchant.apiKey, "GET", "/v1/merchant")).status).to.equal(200);
    await screenshot(page, "merchant-keys-en-desktop");

    await openTab(page, "staff");
    await page.locator('[data-testid="staff-row"][data-login="tea-till"]').waitFor();
    await screenshot(page, "merchant-staff-en-desktop");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows staff no withdrawal and no keys, which the server refuses them, and lets them exchange CP (Chinese, phone)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/merchant?lang=zh-CN`);
    await signInStaffInPage(page, "tea-till", "tea-till-password");
    await page.getByTestId("overview").waitFor();
    expect(await page.getByTestId("staff-bar").textContent()).to.contain("tea-till");
    expect(await page.locator('[role="tab"][data-tab="keys"]').count()).to.equal(0);
    expect(await page.locator('[role="tab"][data-tab="staff"]').count()).to.equal(0);
    await screenshot(page, "merchant-overview-zh-phone-staff");

    await page.locator('[data-action="withdraw"]').click();
    await page.getByTestId("withdraw-owner-only").waitFor();
    expect(await page.getByTestId("withdraw-review").count()).to.equal(0);
    await screenshot(page, "merchant-withdraw-zh-phone-staff");
    // The server refuses them whatever a page shows (asked from here with a staff bearer session, so the page's console stays clean).
    const till = (
      await call(stack.server.url, "POST", "/v1/staff/sessions", { body: { login: "tea-till", password: "tea-till-password" } })
    ).body.token as string;
    for (const [method, route, body] of [
      ["POST", "/v1/merchant/withdrawals", { to: deployments.pool, amount: "0.01" }],
      ["GET", "/v1/merchant/keys"],
      ["POST", "/v1/merchant/keys"],
    ] as [string, string, unknown?][]) {
      const refused = await as(till, method, route, body);
      expect([refused.status, refused.body.error.code, refused.body.error.details], route).to.deep.equal([
        403,
        "FORBIDDEN",
        { role: "staff" },
      ]);
    }
    await page.goto(`${stack.server.url}/merchant?tab=keys`);
    await page.getByTestId("keys-owner-only").waitFor();
    expect(await page.getByTestId("key-create").count()).to.equal(0);
    await screenshot(page, "merchant-keys-zh-phone-staff");

    // Exchanging is staff's to do: 0.5 CP for GP of equal value.
    await page.goto(`${stack.server.url}/merchant?tab=overview`);
    await page.locator('[data-action="exchange"]').click();
    const before = await custody().accountOf(merchant.account);
    await page.getByTestId("exchange-amount").fill("0.5");
    await page.getByTestId("exchange-review").click();
    await page.getByTestId("exchange-confirm").waitFor();
    const shownPoints = (await page.getByTestId("exchange-fig-receive").getAttribute("data-value"))!;
    await screenshot(page, "merchant-exchange-confirm-zh-phone-staff");
    await page.getByTestId("exchange-send").click();
    await page.locator('[data-testid="exchange-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    const after = await custody().accountOf(merchant.account);
    expect(after.constantPoints).to.equal(before.constantPoints - parseUnits("0.5", 6));
    // The price never falls between the quote and the chain, so the GP received are at most those shown.
    const received = after.points - before.points;
    expect(received > 0n && received <= parseUnits(shownPoints, 18)).to.equal(true);
    expect(await page.getByTestId("exchange-done-received").getAttribute("data-value")).to.equal(plain(received, 18));
    await screenshot(page, "merchant-exchange-confirmed-zh-phone-staff");

    for (const tab of ["payments", "statement", "ads"]) {
      await openTab(page, tab);
      if (tab === "payments") await page.getByTestId("payment-row").first().waitFor();
      if (tab === "ads") expect(await page.getByTestId("ad-owner-only").count()).to.equal(1);
      await screenshot(page, `merchant-${tab}-zh-phone-staff`);
    }
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  for (const [locale, viewport, size] of [
    ["zh-CN", PHONE, "phone"],
    ["en", PHONE, "phone"],
    ["zh-CN", DESKTOP, "desktop"],
  ] as const)
    it(`shows the owner every tab in ${locale} on a ${size}`, async function () {
      const { page, errors, context } = await openPage(stack.browser, { viewport, locale });
      await page.goto(`${stack.server.url}/merchant?lang=${locale}`);
      await signInStaffInPage(page, "tea-owner", "tea-owner-password");
      await page.getByTestId("overview").waitFor();
      expect(await page.locator("html").getAttribute("lang")).to.equal(locale);
      for (const tab of TABS) {
        await openTab(page, tab);
        if (tab === "payments") await page.getByTestId("payment-row").first().waitFor();
        if (tab === "statement") await page.getByTestId("statement-table").waitFor();
        if (tab === "keys") await page.getByTestId("key-row").first().waitFor();
        if (tab === "staff") await page.getByTestId("staff-row").first().waitFor();
        if (tab === "ads") await page.getByTestId("ad-credit").waitFor();
        await screenshot(page, `merchant-${tab}-${locale}-${size}`);
      }
      if (locale === "zh-CN") expect(await page.locator('[role="tab"][data-tab="statement"]').textContent()).to.contain("对账单");
      expect(errors).to.deep.equal([]);
      await context.close();
    });
});
