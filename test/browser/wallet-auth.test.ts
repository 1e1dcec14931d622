/**
 * The wallet's way in and its settings in Debian's Chromium against `npm start`'s own server: a
 * shopper whose points a shop's order sent to their number signs up through the form with the code
 * from the SMS outbox and finds the points; logs out and in with the password, logs in with an SMS
 * code, resets the login password, sets, changes and resets the payment password, changes the
 * number; refusals shown
 * by their code in the page's language; the session cookie out of the page's reach.
 */
import { expect } from "chai";
import { JsonRpcProvider, formatUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, earn, nextOutboxCode, outboxCode, pageCall, startPagesStack } from "../helpers/pages";
import { call, settledOrder } from "../helpers/relayer";

/** The server lets one number have one code a minute (server/services/phone-codes.ts). */
const COOLDOWN_MS = 61_000;

/** Chromium's own console line for every answer of 400 and up. */
const REFUSED_LOAD = /^console: Failed to load resource: the server responded with a status of (\d{3})/;

/** No console error but Chromium's line for each refusal the test asked for, which are `statuses`, in order. */
function expectOnlyRefusals(errors: string[], statuses: number[]) {
  expect(errors.filter((e) => !REFUSED_LOAD.test(e))).to.deep.equal([]);
  expect(errors.map((e) => Number(REFUSED_LOAD.exec(e)![1]))).to.deep.equal(statuses);
}

describe("the wallet's sign-up, log-in and settings, in a real browser", function () {
  this.timeout(600_000);
  let stack: PagesStack;
  /** When each number was last sent a code, so a test asks for the next only after the server's cooldown. */
  const sentAt = new Map<string, number>();
  /** Shoppers signed up by the API before the tests: for the SMS login, the reset, the payment password's reset. */
  const made = new Map<string, { userId: string; token: string }>();

  const A = "13800000001"; // signs up through the form
  const B = "13800000002"; // logs in with an SMS code
  const C = "13800000003"; // resets the login password
  const D = "13800000004"; // resets the payment password
  const E = "13800000005"; // comes by a referral link
  const F = "13800000006"; // changes the number to G
  const G = "13800000007";
  const e164 = (local: string) => `+86${local}`;

  async function coolDown(local: string) {
    const wait = (sentAt.get(local) ?? 0) + COOLDOWN_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  async function signUpByApi(local: string, password: string, paymentPassword?: string) {
    const sent = await call(stack.server.url, "POST", "/v1/phone-codes", { body: { phone: local, purpose: "signup" } });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    sentAt.set(local, Date.now());
    const code = await nextOutboxCode(stack.dir, e164(local), "signup");
    const body = { phone: local, code, password, ...(paymentPassword ? { paymentPassword } : {}) };
    const signed = await call(stack.server.url, "POST", "/v1/phone/signup", { body });
    expect(signed.status, JSON.stringify(signed.body)).to.equal(201);
    made.set(local, { userId: signed.body.userId, token: signed.body.token });
  }

  /** Clicks a code field's send button for the number `local` and waits for the server's answer to show (the notice or the refusal). */
  async function sendCode(page: Page, local: string, form: string, field = "code") {
    await page.getByTestId(`${form}-${field}-send`).click();
    await page.locator(`[data-testid="${form}-notice"], [data-testid="${form}-error"]`).first().waitFor();
    if (await page.getByTestId(`${form}-notice`).isVisible()) sentAt.set(local, Date.now());
  }

  async function errorText(page: Page, form: string) {
    await page.getByTestId(`${form}-error`).waitFor();
    return (await page.getByTestId(`${form}-error`).textContent()) ?? "";
  }

  /** Waits for the signed-in wallet, in the page's language. */
  async function signedIn(page: Page, heading: string) {
    await page.locator("h1", { hasText: heading }).waitFor();
    await page.locator('[role="tablist"]').waitFor();
  }

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("wallet-auth");
    await signUpByApi(B, "B's first password");
    await signUpByApi(C, "C's old password");
    await signUpByApi(D, "D's login password", "D pay 111");
    await signUpByApi(F, "F's password");
  });

  after(async function () {
    await stack?.stop();
  });

  it("signs up through the form a shopper a shop's order paid, who then finds the points (in Chinese, by default, on a phone)", async function () {
    await earn(stack, A, "A-1", "100");
    const order = await settledOrder(stack.server.url, stack.shop.shopId, "A-1");
    expect(order.gpMinted).to.match(/^\d+(\.\d+)?$/);

    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet`);
    await page.getByTestId("login-form").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");
    expect(await page.locator("h1").textContent()).to.equal("你的绿色积分钱包");
    await screenshot(page, "wallet-auth-signed-out");

    await page.click('button[data-mode="signup"]');
    await page.getByTestId("signup-phone").fill(A);
    await sendCode(page, A, "signup");
    // npm start's outbox sender: the page says where the code went.
    expect(await page.getByTestId("signup-notice").textContent()).to.equal(
      "验证码已发送，5 分钟内有效。此服务器不发送短信（npm start）：验证码写在数据目录的 sms-outbox.log 中（默认 .data/sms-outbox.log）。",
    );
    // The button counts down the minute the server gives before another code.
    expect(await page.getByTestId("signup-code-send").isDisabled()).to.equal(true);
    expect(await page.getByTestId("signup-code-send").textContent()).to.match(/^\s*(60|59|58) 秒后可重发\s*$/);
    await screenshot(page, "wallet-auth-signup-form");

    // Every form counts down the same number's wait: the server sends one code a minute per number.
    await page.click('button[data-mode="login"]');
    await page.getByTestId("login-method-code").check();
    expect(await page.getByTestId("login-phone").inputValue()).to.equal(A);
    expect(await page.getByTestId("login-code-send").isDisabled()).to.equal(true);
    // A page that does not know (reloaded, another device) asks, and shows the server's refusal with its wait.
    await page.reload();
    await page.getByTestId("login-method-code").check();
    await page.getByTestId("login-phone").fill(A);
    await page.getByTestId("login-code-send").click();
    expect(await errorText(page, "login")).to.match(/^一分钟内已向此号码发送过验证码，请 \d{1,2} 秒后再试。$/);
    expect(await page.getByTestId("login-phone").getAttribute("aria-invalid")).to.equal("true");
    expect(await page.getByTestId("login-phone").getAttribute("aria-describedby")).to.contain("login-error");
    expect(await page.getByTestId("login-code-send").textContent()).to.match(/\d{1,2} 秒后可重发/);

    await page.click('button[data-mode="signup"]');
    const code = outboxCode(stack.dir, e164(A), "signup");
    await page.getByTestId("signup-code").fill(code);
    // A password too short: refused before the code is tried.
    await page.getByTestId("signup-password").fill("short");
    await page.getByTestId("signup-submit").click();
    expect(await errorText(page, "signup")).to.equal("密码太短：至少 8 个字符。");
    expect(await page.getByTestId("signup-password").inputValue()).to.equal("");
    // A wrong code.
    await page.getByTestId("signup-code").fill(code === "000000" ? "000001" : "000000");
    await page.getByTestId("signup-password").fill("A's password");
    await page.getByTestId("signup-submit").click();
    expect(await errorText(page, "signup")).to.equal("验证码错误、已过期或已使用。请核对，或重新获取。");
    expect(await page.getByTestId("signup-code").getAttribute("aria-invalid")).to.equal("true");
    // The right one.
    await page.getByTestId("signup-code").fill(code);
    await page.getByTestId("signup-password").fill("A's password");
    await page.getByTestId("signup-submit").click();
    await signedIn(page, "我的钱包");

    // The account the page now shows is the number's, with the order's points, as the chain holds them.
    const me = (await pageCall(page, "GET", "/v1/me")).body;
    expect(me.phone).to.equal(e164(A));
    expect(me.points).to.equal(order.gpMinted);
    expect(me.paymentPasswordSet).to.equal(false);
    const pool = (await call(stack.server.url, "GET", "/v1/pool")).body;
    const provider = new JsonRpcProvider(stack.chainUrl);
    const onChain = await Custody__factory.connect(pool.contracts.custody, provider).accountOf(me.account);
    provider.destroy();
    expect(formatUnits(onChain.points, 18).replace(/\.0$/, "")).to.equal(me.points);

    // The session cookie is httpOnly and SameSite=Strict: the page's scripts see only the CSRF token.
    const cookies = await context.cookies(stack.server.url);
    const session = cookies.find((c) => c.name === "gp_session");
    expect(session, JSON.stringify(cookies)).to.not.equal(undefined);
    expect(session!.httpOnly).to.equal(true);
    expect(session!.sameSite).to.equal("Strict");
    expect(session!.value).to.match(/^gps_/);
    const visible = await page.evaluate<string>("document.cookie");
    expect(visible).to.contain("gp_csrf=");
    expect(visible).to.not.contain("gp_session");
    expect(visible).to.not.contain(session!.value);

    // Settings: the number, then the payment password set (a mismatch refused first) and changed.
    await page.click('[data-tab="settings"]');
    expect(await page.getByTestId("settings-phone").getAttribute("data-value")).to.equal(e164(A));
    expect(await page.getByTestId("settings-phone").textContent()).to.equal("+86 138 0000 0001");
    expect(await page.getByTestId("settings-user-id").textContent()).to.equal(me.userId);
    expect(await page.getByTestId("payment-password-state").getAttribute("data-set")).to.equal("false");
    await screenshot(page, "wallet-auth-settings");

    await page.getByTestId("pay-set-paymentPassword").fill("A pay 123");
    await page.getByTestId("pay-set-repeat").fill("A pay 124");
    await page.getByTestId("pay-set-submit").click();
    expect(await errorText(page, "pay-set")).to.equal("两次输入的新支付密码不一致。");
    expect(await page.getByTestId("pay-set-paymentPassword").inputValue()).to.equal("");
    await page.getByTestId("pay-set-paymentPassword").fill("A pay 123");
    await page.getByTestId("pay-set-repeat").fill("A pay 123");
    await page.getByTestId("pay-set-submit").click();
    await page.locator('[data-testid="payment-password-state"][data-set="true"]').waitFor();
    expect(await page.getByTestId("payment-done").textContent()).to.equal("支付密码已设置。");

    await page.getByTestId("pay-change-current").fill("A pay 999");
    await page.getByTestId("pay-change-paymentPassword").fill("A pay 456");
    await page.getByTestId("pay-change-repeat").fill("A pay 456");
    await page.getByTestId("pay-change-submit").click();
    expect(await errorText(page, "pay-change")).to.equal("支付密码错误，再错 4 次将被锁定。");
    await page.getByTestId("pay-change-current").fill("A pay 123");
    await page.getByTestId("pay-change-paymentPassword").fill("A pay 456");
    await page.getByTestId("pay-change-repeat").fill("A pay 456");
    await page.getByTestId("pay-change-submit").click();
    await page.getByTestId("payment-done").filter({ hasText: "支付密码已修改。" }).waitFor();
    // The server holds the new one: it answers to it, and no longer to the first.
    const old = await pageCall(
      page,
      "PUT",
      "/v1/me/payment-password",
      { paymentPassword: "A pay 456" },
      { "X-GP-Payment-Password": "A pay 123" },
    );
    expect(old.status).to.equal(401);
    const kept = await pageCall(
      page,
      "PUT",
      "/v1/me/payment-password",
      { paymentPassword: "A pay 456" },
      { "X-GP-Payment-Password": "A pay 456" },
    );
    expect(kept.status).to.equal(200);
    await screenshot(page, "wallet-auth-settings-set");

    // Log out: the cookie is gone, the session no longer works, the page is signed out.
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    expect((await context.cookies(stack.server.url)).map((c) => c.name)).to.not.include("gp_session");
    expect((await call(stack.server.url, "GET", "/v1/me", { token: session!.value })).status).to.equal(401);

    // And in again with the password (a wrong one refused first).
    await page.getByTestId("login-phone").fill(A);
    await page.getByTestId("login-password").fill("not A's password");
    await page.getByTestId("login-submit").click();
    expect(await errorText(page, "login")).to.equal("手机号或密码错误。");
    await page.getByTestId("login-password").fill("A's password");
    await page.getByTestId("login-submit").click();
    await signedIn(page, "我的钱包");
    expect((await pageCall(page, "GET", "/v1/me")).body.userId).to.equal(me.userId);

    expectOnlyRefusals(errors, [429, 400, 401, 401, 401, 401]);
    await context.close();
  });

  it("logs in with an SMS code, in English", async function () {
    await coolDown(B);
    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet?lang=en`);
    await page.getByTestId("login-form").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    expect(await page.locator("h1").textContent()).to.equal("Your Green Points wallet");
    await screenshot(page, "wallet-auth-en-signed-out");
    await page.getByTestId("login-method-code").check();
    await page.getByTestId("login-phone").fill(B);
    await sendCode(page, B, "login");
    expect(await page.getByTestId("login-notice").textContent()).to.match(
      /^Code sent\. It works for 5 minutes\. This server sends no SMS \(npm start\)/,
    );
    expect(await page.getByTestId("login-code-send").textContent()).to.match(/Again in \d{1,2} s/);
    const code = await nextOutboxCode(stack.dir, e164(B), "login");
    await page.getByTestId("login-code").fill(code === "000000" ? "000001" : "000000");
    await page.getByTestId("login-submit").click();
    expect(await errorText(page, "login")).to.equal("The code is wrong, expired or already used. Check it, or ask for a new one.");
    await page.getByTestId("login-code").fill(code);
    await page.getByTestId("login-submit").click();
    await signedIn(page, "My wallet");
    expect((await pageCall(page, "GET", "/v1/me")).body.userId).to.equal(made.get(B)!.userId);
    await screenshot(page, "wallet-auth-en-signed-in");
    expectOnlyRefusals(errors, [401]);
    await context.close();
  });

  it("resets the login password by SMS code and logs in with the new one, in English", async function () {
    await coolDown(C);
    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet?lang=en`);
    await page.getByTestId("login-forgot").click();
    await page.getByTestId("reset-form").waitFor();
    await page.getByTestId("reset-phone").fill(C);
    await sendCode(page, C, "reset");
    const code = await nextOutboxCode(stack.dir, e164(C), "reset-password");
    await page.getByTestId("reset-code").fill(code);
    await page.getByTestId("reset-password").fill("C's new password");
    await screenshot(page, "wallet-auth-en-reset");
    await page.getByTestId("reset-submit").click();
    expect(await page.getByTestId("auth-flash").textContent()).to.equal("The new password is set. Log in with it.");
    // The reset ended the session the sign-up gave.
    expect((await call(stack.server.url, "GET", "/v1/me", { token: made.get(C)!.token })).status).to.equal(401);
    // The log-in form keeps the number; the old password no longer works, the new one does.
    expect(await page.getByTestId("login-phone").inputValue()).to.equal(C);
    await page.getByTestId("login-password").fill("C's old password");
    await page.getByTestId("login-submit").click();
    expect(await errorText(page, "login")).to.equal("Wrong number or password.");
    await page.getByTestId("login-password").fill("C's new password");
    await page.getByTestId("login-submit").click();
    await signedIn(page, "My wallet");
    expect((await pageCall(page, "GET", "/v1/me")).body.userId).to.equal(made.get(C)!.userId);
    expectOnlyRefusals(errors, [401]);
    await context.close();
  });

  it("resets a forgotten payment password by SMS code in the settings", async function () {
    await coolDown(D);
    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet?tab=settings`);
    await page.getByTestId("login-phone").fill(D);
    await page.getByTestId("login-password").fill("D's login password");
    await page.getByTestId("login-submit").click();
    await signedIn(page, "我的钱包");
    expect(await page.getByTestId("payment-password-state").getAttribute("data-set")).to.equal("true");
    expect(await page.getByTestId("payment-password-state").textContent()).to.contain("已设置");
    expect(await page.locator('[data-testid="pay-reset-form"] .fine').textContent()).to.equal("验证码将发送到 +86 138 0000 0004。");
    await page.getByTestId("pay-reset-code-send").click();
    await page.getByTestId("pay-reset-notice").waitFor();
    const code = await nextOutboxCode(stack.dir, e164(D), "reset-payment-password");
    await page.getByTestId("pay-reset-code").fill(code);
    await page.getByTestId("pay-reset-paymentPassword").fill("D pay 222");
    await page.getByTestId("pay-reset-repeat").fill("D pay 222");
    await page.getByTestId("pay-reset-submit").click();
    await page.getByTestId("payment-done").filter({ hasText: "支付密码已重置。" }).waitFor();
    expect(await page.getByTestId("pay-reset-paymentPassword").inputValue()).to.equal("");
    // The forgotten one no longer answers; the new one does.
    const forgotten = await pageCall(
      page,
      "PUT",
      "/v1/me/payment-password",
      { paymentPassword: "D pay 222" },
      { "X-GP-Payment-Password": "D pay 111" },
    );
    expect(forgotten.status).to.equal(401);
    const now = await pageCall(
      page,
      "PUT",
      "/v1/me/payment-password",
      { paymentPassword: "D pay 222" },
      { "X-GP-Payment-Password": "D pay 222" },
    );
    expect(now.status).to.equal(200);
    // Nothing of the passwords stays in the page's storage.
    expect(await page.evaluate("localStorage.length + sessionStorage.length")).to.equal(0);
    expectOnlyRefusals(errors, [401]);
    await context.close();
  });

  it("opens a referral link on the sign-up with its code, and the newcomer gets that referrer, in English", async function () {
    const login = await call(stack.server.url, "POST", "/v1/phone/sessions", { body: { phone: A, password: "A's password" } });
    expect(login.status).to.equal(201);
    const referral = (await call(stack.server.url, "GET", "/v1/me/referral", { token: login.body.token })).body;
    // npm start knows its public address, so the link is absolute.
    expect(referral.link).to.equal(`${stack.server.url}/wallet?ref=${referral.code}`);

    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "en-GB" });
    await page.goto(referral.link);
    await page.getByTestId("signup-form").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    expect(await page.getAttribute('button[data-mode="signup"]', "aria-pressed")).to.equal("true");
    expect(await page.getByTestId("signup-referralCode").inputValue()).to.equal(referral.code);
    await page.getByTestId("signup-phone").fill(E);
    await sendCode(page, E, "signup");
    const code = await nextOutboxCode(stack.dir, e164(E), "signup");
    await page.getByTestId("signup-code").fill(code);
    await page.getByTestId("signup-password").fill("E's password");
    // A code nobody has: refused, and the SMS code stays good.
    await page.getByTestId("signup-referralCode").fill("ABCDEFGH");
    await page.getByTestId("signup-submit").click();
    expect(await errorText(page, "signup")).to.equal("No one has this referral code. Check it, or leave it empty.");
    expect(await page.getByTestId("signup-referralCode").getAttribute("aria-invalid")).to.equal("true");
    await page.getByTestId("signup-referralCode").fill(referral.code.toLowerCase());
    await page.getByTestId("signup-password").fill("E's password");
    await page.getByTestId("signup-submit").click();
    await signedIn(page, "My wallet");
    // The referrer is the chain's, set by the registration: read once the chain has the account.
    let me = (await pageCall(page, "GET", "/v1/me")).body;
    for (let i = 0; !me.registeredOnChain && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      me = (await pageCall(page, "GET", "/v1/me")).body;
    }
    expect(me.phone).to.equal(e164(E));
    const referrer = (await call(stack.server.url, "GET", "/v1/me", { token: login.body.token })).body;
    expect(me.referrerId).to.equal(referrer.userId);
    const pool = (await call(stack.server.url, "GET", "/v1/pool")).body;
    const provider = new JsonRpcProvider(stack.chainUrl);
    expect((await Custody__factory.connect(pool.contracts.custody, provider).accountOf(me.account)).referrer).to.equal(referrer.account);
    provider.destroy();
    expectOnlyRefusals(errors, [404]);
    await context.close();
  });
  it("changes the number with a code to each, refusing one that has an account", async function () {
    await coolDown(F);
    await coolDown(A);
    const { page, context, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/wallet?tab=settings`);
    await page.getByTestId("login-phone").fill(F);
    await page.getByTestId("login-password").fill("F's password");
    await page.getByTestId("login-submit").click();
    await signedIn(page, "我的钱包");
    await sendCode(page, F, "phone-change", "oldCode");
    const oldCode = await nextOutboxCode(stack.dir, e164(F), "phone-change-old");
    await page.getByTestId("phone-change-oldCode").fill(oldCode);
    // A's number has an account: refused once both codes are right.
    await page.getByTestId("phone-change-phone").fill(A);
    await sendCode(page, A, "phone-change", "newCode");
    await page.getByTestId("phone-change-newCode").fill(await nextOutboxCode(stack.dir, e164(A), "phone-change-new"));
    await page.getByTestId("phone-change-submit").click();
    expect(await errorText(page, "phone-change")).to.equal("这个新号码已有账户，或有商家发给它的积分在等待领取，请换一个号码。");
    expect(await page.getByTestId("phone-change-phone").getAttribute("aria-invalid")).to.equal("true");
    // A free number: changed, the same account under it.
    await page.getByTestId("phone-change-phone").fill(G);
    await page.getByTestId("phone-change-newCode-send").click();
    await page.getByTestId("phone-change-notice").waitFor();
    await page.getByTestId("phone-change-newCode").fill(await nextOutboxCode(stack.dir, e164(G), "phone-change-new"));
    await page.getByTestId("phone-change-submit").click();
    await page.getByTestId("phone-change-notice").filter({ hasText: "你的手机号已更换为 +86 138 0000 0007。" }).waitFor();
    await page.locator(`[data-testid="settings-phone"][data-value="${e164(G)}"]`).waitFor();
    const me = (await pageCall(page, "GET", "/v1/me")).body;
    expect([me.userId, me.phone]).to.deep.equal([made.get(F)!.userId, e164(G)]);
    // The session the sign-up gave (another session) has ended; the new number logs in.
    expect((await call(stack.server.url, "GET", "/v1/me", { token: made.get(F)!.token })).status).to.equal(401);
    const again = await call(stack.server.url, "POST", "/v1/phone/sessions", { body: { phone: G, password: "F's password" } });
    expect([again.status, again.body.userId]).to.deep.equal([201, made.get(F)!.userId]);
    await page.setViewportSize(DESKTOP);
    await screenshot(page, "wallet-auth-settings-desktop");
    expectOnlyRefusals(errors, [409]);
    await context.close();
  });
});
