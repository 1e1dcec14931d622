/**
 * Notification endpoints on the pages, in Debian's Chromium against `npm start`'s own server
 * (loopback endpoints allowed, the retry schedule shrunk). The merchant's owner registers an
 * endpoint on a receiver at 127.0.0.1 in the portal (the secret shown once), a shopper pays the
 * merchant, and the receiver verifies `payment.received` with the `standardwebhooks` package; the
 * delivery log shows it and "send again" delivers the same webhook-id again. Staff see the
 * endpoint and log with no buttons. The operator registers a shop's endpoint in the console; an
 * order's `order.confirmed` arrives and shows in the log. Both languages, a phone and a desktop,
 * screenshots, no console error.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, signInStaffInPage, startPagesStack } from "../helpers/pages";
import { call, postOrder, settledOperation, settledOrder } from "../helpers/relayer";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

describe("notification endpoints on the pages, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  let operator: string;
  let merchant: { merchantId: string; apiKey: string };
  let shopper: string;
  let receiverUrl: string;
  let receiver: http.Server;
  const received: Received[] = [];
  const at = (p: string) => received.filter((r) => r.path === p);
  const as = (token: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(stack.server.url, method, route, { token, body, headers: { "idempotency-key": randomUUID(), ...headers } });
  const until = async <T>(what: string, probe: () => T | null | undefined | false, ms = 30_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async function () {
    if (!browserAvailable()) this.skip();
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
        received.push({ path: req.url ?? "/", headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    stack = await startPagesStack("notifications", { GP_WEBHOOK_ALLOW_PRIVATE: "loopback", GP_WEBHOOK_RETRY_SCALE: "0.001" });
    const session = await call(stack.server.url, "POST", "/v1/staff/sessions", { body: firstOperator(stack) });
    expect(session.status, JSON.stringify(session.body)).to.equal(201);
    operator = session.body.token;
    const made = await as(operator, "POST", "/v1/admin/merchants", { name: "Noodle Bar" });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(stack.server.url, operator, made.body.operation.operationId, 60_000)).state).to.equal("confirmed");
    merchant = made.body;
    for (const [login, role] of [
      ["noodle-owner", "owner"],
      ["noodle-till", "staff"],
    ])
      expect(
        (await as(operator, "POST", `/v1/admin/merchants/${merchant.merchantId}/staff`, { login, password: `${login}-password`, role }))
          .status,
      ).to.equal(201);
    const user = await as(operator, "POST", "/v1/users", { userId: "noodle-fan", password: "noodle-login", paymentPassword: "noodle-pay" });
    expect((await settledOperation(stack.server.url, operator, user.body.operation.operationId, 60_000)).state).to.equal("confirmed");
    expect((await postOrder(stack.server.url, stack.shop, { orderId: "noodle-1", userId: "noodle-fan", amount: "100" })).status).to.equal(
      202,
    );
    expect((await settledOrder(stack.server.url, stack.shop.shopId, "noodle-1", 60_000)).state).to.equal("confirmed");
    shopper = (await call(stack.server.url, "POST", "/v1/sessions", { body: { userId: "noodle-fan", password: "noodle-login" } })).body
      .token;
  });

  after(async function () {
    await stack?.stop();
    receiver?.close();
  });

  async function openTab(page: Page, tab: string) {
    await page.locator(`[role="tab"][data-tab="${tab}"]`).click();
    await page.getByTestId(tab).waitFor();
  }

  it("lets the merchant's owner register an endpoint, receive a verified payment.received, read the log and send it again (English, desktop)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: DESKTOP, locale: "en" });
    await page.goto(`${stack.server.url}/merchant?lang=en`);
    await signInStaffInPage(page, "noodle-owner", "noodle-owner-password");
    await page.getByTestId("overview").waitFor();
    await page.locator('[role="tab"][data-tab="notifications"]').click();
    await page.getByTestId("endpoint-form").waitFor();
    await page.getByTestId("endpoints-none").waitFor();
    await page.getByLabel("Endpoint URL").fill(`${receiverUrl}/merchant`);
    await page.getByTestId("endpoint-type-ad_credit.low").uncheck();
    await page.getByTestId("endpoint-create").click();
    const secret = await page.getByTestId("endpoint-secret").inputValue();
    expect(secret).to.match(/^whsec_/);
    await page.getByTestId("endpoint-row").waitFor();
    await screenshot(page, "merchant-notifications-en-desktop");
    await page.getByTestId("endpoint-secret-hide").click();

    const paid = await as(
      shopper,
      "POST",
      "/v1/me/payments",
      { merchantId: merchant.merchantId, asset: "GP", amount: "1.25" },
      { "x-gp-payment-password": "noodle-pay" },
    );
    expect(paid.status, JSON.stringify(paid.body)).to.equal(202);
    expect((await settledOperation(stack.server.url, shopper, paid.body.operationId, 60_000)).state).to.equal("confirmed");
    const [got] = await until("payment.received", () => at("/merchant").length > 0 && at("/merchant"));
    const payload = new Webhook(secret).verify(got.body, got.headers) as { type: string; data: Record<string, string> };
    expect(payload.type).to.equal("payment.received");
    expect(payload.data).to.include({ paymentId: paid.body.operationId, merchantId: merchant.merchantId, asset: "GP", amount: "1.25" });

    await page.getByTestId("endpoint-log").click();
    await page
      .locator('[data-testid="delivery-row"][data-state="delivered"]')
      .waitFor({ timeout: 15_000 })
      .catch(async () => {
        await page.getByTestId("deliveries-refresh").click();
        await page.locator('[data-testid="delivery-row"][data-state="delivered"]').waitFor();
      });
    await page.getByTestId("delivery-attempts").locator("summary").click();
    await screenshot(page, "merchant-notifications-log-en-desktop");
    await page.getByTestId("delivery-redeliver").click();
    await page.getByTestId("notifications-notice").filter({ hasText: "sent again" }).waitFor();
    await until("the redelivery", () => at("/merchant").length > 1);
    const again = at("/merchant")[1];
    expect(again.headers["webhook-id"]).to.equal(got.headers["webhook-id"]);
    new Webhook(secret).verify(again.body, again.headers);
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows staff the endpoints and log without any button (Chinese, phone)", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/merchant`);
    await signInStaffInPage(page, "noodle-till", "noodle-till-password");
    await page.getByTestId("overview").waitFor();
    await openTab(page, "notifications");
    await page.getByTestId("notifications-read-only").waitFor();
    await page.getByTestId("endpoint-row").waitFor();
    expect(await page.getByTestId("endpoint-form").count()).to.equal(0);
    expect(await page.getByTestId("endpoint-rotate").count()).to.equal(0);
    await page.getByTestId("endpoint-log").click();
    await page.getByTestId("delivery-row").first().waitFor();
    expect(await page.getByTestId("delivery-redeliver").count()).to.equal(0);
    await screenshot(page, "merchant-notifications-staff-zh-phone");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  for (const [locale, viewport, label] of [
    ["zh-CN", PHONE, "zh-phone"],
    ["en", DESKTOP, "en-desktop"],
  ] as const)
    it(`lets the operator register a shop's endpoint and see its order.confirmed delivered (${label})`, async function () {
      const { page, errors, context } = await openPage(stack.browser, { viewport, locale });
      await page.goto(`${stack.server.url}/admin?lang=${locale}`);
      const first = firstOperator(stack);
      await signInStaffInPage(page, first.login, first.password);
      await page.locator('[role="tab"][data-tab="notifications"]').click();
      await page.getByTestId("admin-notifications").waitFor();
      await page.getByTestId("notifications-owner").selectOption(`shop:${stack.shop.shopId}`);
      await page.getByTestId("endpoint-form").waitFor();
      const p = `/shop-${label}`;
      await page.getByTestId("endpoint-url").fill(`${receiverUrl}${p}`);
      await page.getByTestId("endpoint-create").click();
      const secret = await page.getByTestId("endpoint-secret").inputValue();
      await page.getByTestId("endpoint-secret-hide").click();
      const orderId = `noodle-admin-${label}`;
      expect((await postOrder(stack.server.url, stack.shop, { orderId, userId: "noodle-fan", amount: "20" })).status).to.equal(202);
      expect((await settledOrder(stack.server.url, stack.shop.shopId, orderId, 60_000)).state).to.equal("confirmed");
      const [got] = await until("order.confirmed", () => at(p).length > 0 && at(p));
      const payload = new Webhook(secret).verify(got.body, got.headers) as { type: string; data: Record<string, string> };
      expect(payload).to.deep.include({ type: "order.confirmed" });
      expect(payload.data.orderId).to.equal(orderId);
      const row = page.locator(`[data-testid="endpoint-row"]`).filter({ hasText: p });
      await row.getByTestId("endpoint-log").click();
      await page.getByTestId("deliveries-refresh").click();
      await page.locator('[data-testid="delivery-row"][data-state="delivered"]').first().waitFor();
      await screenshot(page, `admin-notifications-${label}`);
      expect(errors).to.deep.equal([]);
      await context.close();
    });
});
