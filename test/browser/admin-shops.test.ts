/**
 * The operator console's shops, merchants and ad-networks tabs in Debian's Chromium against `npm
 * start`'s own server: the operator creates a shop and sees its webhook secret once, an order
 * signed with it is taken by the webhook and the shop's count shows it; a new secret replaces the
 * old one at once; a merchant is made with its owner (who can log in) and its API key, its ad
 * credit topped up and followed to the chain, a key issued and revoked; an HMAC ad network is
 * registered and its secret signs a callback the server counts, an Ed25519 one gets a key pair.
 * The audit log names the operator for each. Both languages, phone and desktop, no console error.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import { signPayload } from "../../server/domain/inbound-signature";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, pageCall, signInStaffInPage, startPagesStack } from "../helpers/pages";
import { call, postOrder, settledOrder } from "../helpers/relayer";

describe("the operator console's shops, merchants and ad-networks tabs, in a real browser", function () {
  this.timeout(300_000);
  let stack: PagesStack;

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("admin-shops");
  });
  after(async function () {
    await stack?.stop();
  });

  async function signedIn(viewport: { width: number; height: number }, locale: string, tab: string) {
    const watched = await openPage(stack.browser, { viewport, locale });
    await watched.page.goto(`${stack.server.url}/admin`);
    const op = firstOperator(stack);
    await signInStaffInPage(watched.page, op.login, op.password);
    await watched.page.goto(`${stack.server.url}/admin?tab=${tab}`);
    return watched;
  }
  const text = async (page: Page, testid: string) => ((await page.getByTestId(testid).textContent()) ?? "").trim();

  it("creates a shop whose secret signs orders, rotates it, makes a merchant, tops it up, manages keys and registers networks (English, desktop)", async function () {
    const { page, errors, context } = await signedIn(DESKTOP, "en", "shops");
    const me = (await pageCall(page, "GET", "/v1/staff/me")).body;
    const actor = `operator:${me.staffId}`;

    // A shop, its secret shown once.
    await page.getByTestId("shop-name").fill("Browser Grocer");
    await page.getByTestId("shop-create").click();
    await page.getByTestId("shop-made-secret").waitFor();
    const shop = { shopId: await text(page, "shop-made-id"), webhookSecret: await text(page, "shop-made-secret") };
    expect(shop.shopId).to.match(/^shop_[0-9a-f]{12}$/);
    expect(shop.webhookSecret).to.match(/^whsec_[0-9a-f]{48}$/);
    await screenshot(page, "admin-shops-created");

    // An order signed with it is taken, and the shop's count shows it.
    expect((await postOrder(stack.server.url, shop, { orderId: "b1", userId: "browser-alice", amount: "100" })).status).to.equal(202);
    expect((await settledOrder(stack.server.url, shop.shopId, "b1", 60_000)).state).to.equal("confirmed");
    await page.getByTestId("shown-once-done").click();
    expect(await page.getByTestId("shown-once").count()).to.equal(0);
    await page.reload();
    const card = page.getByTestId(`shop-${shop.shopId}`);
    await card.getByTestId("shop-orders-confirmed").waitFor();
    expect(await card.getByTestId("shop-orders-confirmed").getAttribute("data-value")).to.equal("1");
    expect(await card.getByTestId("shop-orders-waiting").getAttribute("data-value")).to.equal("0");
    // Shown once: nowhere on the page after.
    expect(await page.content()).to.not.include(shop.webhookSecret);
    await screenshot(page, "admin-shops-list");

    // A new secret: the old one stops at once.
    await card.getByTestId("shop-manage").click();
    await card.getByTestId("shop-rotate").click();
    await card.getByTestId("shop-rotate-send").click();
    await card.getByTestId("shop-rotated-secret").waitFor();
    const rotated = { shopId: shop.shopId, webhookSecret: await text(page, "shop-rotated-secret") };
    expect(rotated.webhookSecret)
      .to.match(/^whsec_/)
      .and.not.equal(shop.webhookSecret);
    expect((await postOrder(stack.server.url, shop, { orderId: "b2", userId: "browser-alice", amount: "10" })).status).to.equal(401);
    expect((await postOrder(stack.server.url, rotated, { orderId: "b2", userId: "browser-alice", amount: "10" })).status).to.equal(202);

    // Its per-order limit, then an order past it refused.
    await card.getByTestId("shop-limit-perOrder").fill("50");
    await card.getByTestId("shop-limits-save").click();
    await card.getByTestId("shop-limits-saved").waitFor();
    const refused = await postOrder(stack.server.url, rotated, { orderId: "b3", userId: "browser-alice", amount: "60" });
    expect(refused.status).to.equal(422);
    expect(refused.body.error.code).to.equal("SHOP_LIMIT_EXCEEDED");
    await screenshot(page, "admin-shops-manage");

    // A merchant with its owner; the key shown once, the chain's flag followed.
    await page.locator('[data-tab="merchants"]').click();
    await page.getByTestId("merchant-name").fill("Browser Bakery");
    await page.getByTestId("merchant-owner-login").fill("bakery.owner");
    await page.getByTestId("merchant-owner-password").fill("bakery-owner-password");
    await page.getByTestId("merchant-create").click();
    await page.getByTestId("merchant-made-key").waitFor();
    expect(await page.getByTestId("merchant-owner-password").inputValue()).to.equal("");
    const merchantId = await text(page, "merchant-made-id");
    const apiKey = await text(page, "merchant-made-key");
    await page.locator('[data-testid="merchant-flag-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    await screenshot(page, "admin-merchants-created");
    expect((await call(stack.server.url, "GET", "/v1/merchant", { token: apiKey })).body).to.include({ merchantId, merchantOnChain: true });
    const owner = await call(stack.server.url, "POST", "/v1/staff/sessions", {
      body: { login: "bakery.owner", password: "bakery-owner-password" },
    });
    expect(owner.status).to.equal(201);
    expect(owner.body).to.include({ kind: "merchant", role: "owner", merchantId });
    await page.getByTestId("shown-once-done").click();

    // Its ad credit, topped up from the operator's wallet and followed to the chain.
    const mcard = page.getByTestId(`merchant-${merchantId}`);
    await mcard.getByTestId("merchant-manage").click();
    await mcard.getByTestId("merchant-credit").waitFor();
    expect(await mcard.getByTestId("merchant-credit").getAttribute("data-value")).to.equal("0");
    await mcard.getByTestId("merchant-topup-amount").fill("25.5");
    await mcard.getByTestId("merchant-topup").click();
    await mcard.locator('[data-testid="merchant-topup-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    await mcard.locator('[data-testid="merchant-credit"][data-value="25.5"]').waitFor();
    expect((await call(stack.server.url, "GET", "/v1/merchant/ad-credit", { token: apiKey })).body.credit).to.equal("25.5");

    // A key issued (shown once, and it works), then revoked (and it stops).
    await mcard.getByTestId("merchant-key-issue").click();
    await mcard.getByTestId("merchant-issued-key").waitFor();
    const keyId = await text(page, "merchant-issued-key-id");
    const secondKey = await text(page, "merchant-issued-key");
    expect((await call(stack.server.url, "GET", "/v1/merchant", { token: secondKey })).status).to.equal(200);
    const keyRow = mcard.getByTestId(`merchant-key-${keyId}`);
    await keyRow.getByTestId("merchant-key-revoke").click();
    await keyRow.getByTestId("merchant-key-revoke-send").click();
    await mcard.locator(`[data-testid="merchant-key-${keyId}"][data-revoked="true"]`).waitFor();
    expect((await call(stack.server.url, "GET", "/v1/merchant", { token: secondKey })).status).to.equal(401);
    expect((await call(stack.server.url, "GET", "/v1/merchant", { token: apiKey })).status).to.equal(200);
    await mcard.getByTestId("merchant-staff-bakery.owner").waitFor();
    await screenshot(page, "admin-merchants-manage");

    // An HMAC network: its secret signs a callback the server counts.
    await page.locator('[data-tab="adNetworks"]').click();
    await page.getByTestId("network-name").fill("Browser Videos");
    await page.getByTestId("network-register").click();
    await page.getByTestId("network-made-secret").waitFor();
    const networkId = await text(page, "network-made-id");
    const secret = await text(page, "network-made-secret");
    const callbackPath = await text(page, "network-made-callback");
    expect(callbackPath).to.equal(`/v1/ads/callbacks/${networkId}`);
    const raw = JSON.stringify({ transactionId: "browser-tx-1", userId: "browser-alice" });
    const at = Math.floor(Date.now() / 1000);
    const counted = await call(stack.server.url, "POST", callbackPath, {
      body: raw,
      headers: { "content-type": "application/json", "x-gp-timestamp": String(at), "x-gp-signature": signPayload(secret, at, raw) },
    });
    expect(counted.status, JSON.stringify(counted.body)).to.equal(200);
    expect(counted.body).to.include({ counted: true, tasksToday: 1 });
    await screenshot(page, "admin-ad-networks-hmac");
    await page.getByTestId("shown-once-done").click();

    // An Ed25519 network without a key given: a trial key pair, its private key shown once.
    await page.getByTestId("network-name").fill("Browser Ed25519");
    await page.getByTestId("network-scheme").selectOption("ed25519");
    await page.getByTestId("network-public-key").waitFor();
    await page.getByTestId("network-register").click();
    await page.getByTestId("network-made-private-key").waitFor();
    expect(await text(page, "network-made-private-key")).to.match(/^-----BEGIN PRIVATE KEY-----/);
    const edId = await text(page, "network-made-id");
    await page.getByTestId(`network-${edId}`).waitFor();
    expect(await page.getByTestId(`network-${networkId}`).getByTestId("network-scheme-shown").textContent()).to.contain("HMAC-SHA256");
    await screenshot(page, "admin-ad-networks");

    // The audit log names the operator for each.
    const entries = (await pageCall(page, "GET", "/v1/admin/audit?limit=100")).body.entries as {
      actor: string;
      action: string;
      subject: string;
    }[];
    const by = (action: string, subject: string) => entries.filter((e) => e.action === action && e.subject === subject).map((e) => e.actor);
    expect(by("shop-created", `shop:${shop.shopId}`)).to.deep.equal([actor]);
    expect(by("shop-secret-rotated", `shop:${shop.shopId}`)).to.deep.equal([actor]);
    expect(by("shop-limits-set", `shop:${shop.shopId}`)).to.deep.equal([actor]);
    expect(by("merchant-created", `merchant:${merchantId}`)).to.deep.equal([actor]);
    expect(by("ad-credit-top-up", `merchant:${merchantId}`)).to.deep.equal([actor]);
    expect(by("merchant-key-issued", `merchant:${merchantId}`)).to.deep.equal([actor]);
    expect(by("merchant-key-revoked", `merchant:${merchantId}`)).to.deep.equal([actor]);
    expect(by("ad-network-registered", `ad-network:${networkId}`)).to.deep.equal([actor]);
    expect(entries.find((e) => e.action === "staff-created" && e.actor === actor)).to.not.equal(undefined);
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows each tab in Chinese on a phone, a new shop's secret once, and suspends a merchant", async function () {
    const { page, errors, context } = await signedIn(PHONE, "zh-CN", "shops");
    await page.getByTestId("shops").waitFor();
    expect(await page.locator('[data-tab="shops"]').textContent()).to.contain("门店");
    await page.getByTestId("shop-name").fill("手机门店");
    await page.getByTestId("shop-create").click();
    await page.getByTestId("shop-made-secret").waitFor();
    expect(await page.getByTestId("shown-once").textContent()).to.contain("仅显示一次");
    await screenshot(page, "admin-shops-zh-phone-created");
    await page.getByTestId("shown-once-done").click();
    const first = page.locator('[data-testid="shop-manage"]').first();
    await first.click();
    await page.getByTestId("shop-limits").first().waitFor();
    await page.getByTestId("shop-ad-merchants").first().waitFor();
    await screenshot(page, "admin-shops-zh-phone");

    await page.locator('[data-tab="merchants"]').click();
    await page.getByTestId("merchants").waitFor();
    const card = page.locator('[data-testid^="merchant-mer_"]').first();
    await card.waitFor();
    await card.getByTestId("merchant-manage").click();
    await card.getByTestId("merchant-suspension-reason").fill("核查退款");
    await card.getByTestId("merchant-suspension-send").click();
    await page.locator('[data-testid^="merchant-mer_"][data-suspended="true"]').first().waitFor();
    await card.locator('[data-testid="merchant-suspension-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    expect(await card.getByTestId("merchant-status").textContent()).to.contain("已暂停");
    await screenshot(page, "admin-merchants-zh-phone");
    // Resumed again, so the merchant stays as the first test left it.
    await card.getByTestId("merchant-suspension-reason").fill("已核查");
    await card.getByTestId("merchant-suspension-send").click();
    await page.locator('[data-testid^="merchant-mer_"][data-suspended="false"]').first().waitFor();

    await page.locator('[data-tab="adNetworks"]').click();
    await page.getByTestId("ad-networks").waitFor();
    await page.getByTestId("network-scheme").selectOption("ed25519");
    await page.getByTestId("network-public-key").waitFor();
    expect(await page.getByTestId("ad-networks").textContent()).to.contain("广告网络");
    await screenshot(page, "admin-ad-networks-zh-phone");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows the tabs in English on a phone and in Chinese on a desktop", async function () {
    for (const [viewport, locale, name] of [
      [PHONE, "en", "en-phone"],
      [DESKTOP, "zh-CN", "zh-desktop"],
    ] as const) {
      const { page, errors, context } = await signedIn(viewport, locale, "shops");
      for (const tab of ["shops", "merchants", "adNetworks"]) {
        await page.locator(`[data-tab="${tab}"]`).click();
        await page.locator('[role="tabpanel"] .console-part').waitFor();
        await page.locator('[role="tabpanel"] [aria-busy="true"]').waitFor({ state: "detached" });
        await screenshot(page, `admin-${tab}-${name}`);
      }
      expect(errors).to.deep.equal([]);
      await context.close();
    }
  });
});
