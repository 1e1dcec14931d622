/**
 * A staff account's own password, changed from the page in Debian's Chromium against `npm start`'s
 * own server: the operator signs in through the console's form with the printed first password,
 * is told when the two new ones differ and when the current one is wrong (nothing changes), then
 * changes it; the account's other session ends, this one stays; after signing out the old password
 * is refused and the new one signs in. Both languages; no console error but the wrong password's
 * one 401.
 */
import { expect } from "chai";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, startPagesStack } from "../helpers/pages";
import { call } from "../helpers/relayer";

describe("a staff account's own password, in a real browser", function () {
  this.timeout(300_000);
  let stack: PagesStack;

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("staff-password");
  });

  after(async function () {
    await stack?.stop();
  });

  async function signInByForm(page: import("playwright-core").Page, login: string, password: string) {
    await page.getByTestId("staff-login").fill(login);
    await page.getByTestId("staff-password").fill(password);
    await page.getByTestId("staff-submit").click();
  }

  it("is changed from the console's bar: mismatch and wrong current password refused, other sessions ended, the new one signs in", async function () {
    const op = firstOperator(stack);
    const next = "a new operator password";
    // Another session of the same account, by bearer token: it must end when the password changes.
    const other = await call(stack.server.url, "POST", "/v1/staff/sessions", { body: { login: op.login, password: op.password } });
    expect(other.status).to.equal(201);
    const otherToken = other.body.token as string;
    expect((await call(stack.server.url, "GET", "/v1/staff/me", { token: otherToken })).status).to.equal(200);

    const { page, errors, context } = await openPage(stack.browser, { viewport: DESKTOP, locale: "en" });
    await page.goto(`${stack.server.url}/admin?lang=en`);
    await signInByForm(page, op.login, op.password);
    await page.getByTestId("staff-bar").waitFor();
    await page.getByTestId("staff-password-change").locator("summary").click();

    await page.getByTestId("staff-current").fill(op.password);
    await page.getByTestId("staff-next").fill(next);
    await page.getByTestId("staff-again").fill(`${next}!`);
    await page.getByTestId("staff-password-submit").click();
    await page.getByText("The two new passwords differ.").waitFor();
    expect(await page.getByTestId("staff-current").inputValue()).to.equal("");

    await page.getByTestId("staff-current").fill("not the password");
    await page.getByTestId("staff-next").fill(next);
    await page.getByTestId("staff-again").fill(next);
    await page.getByTestId("staff-password-submit").click();
    await page.getByText("Wrong login or password.").waitFor();
    expect((await call(stack.server.url, "GET", "/v1/staff/me", { token: otherToken })).status).to.equal(200);

    await page.getByTestId("staff-current").fill(op.password);
    await page.getByTestId("staff-next").fill(next);
    await page.getByTestId("staff-again").fill(next);
    await page.getByTestId("staff-password-submit").click();
    await page.getByText("Password changed.", { exact: false }).waitFor();
    await screenshot(page, "staff-password-changed-en");
    // This session stays, the other one ended.
    await page.reload();
    await page.getByTestId("staff-bar").waitFor();
    expect((await call(stack.server.url, "GET", "/v1/staff/me", { token: otherToken })).status).to.equal(401);

    await page.getByTestId("staff-signout").click();
    await page.getByTestId("staff-signin").waitFor();
    const old = await call(stack.server.url, "POST", "/v1/staff/sessions", { body: { login: op.login, password: op.password } });
    expect(old.status).to.equal(401);
    expect(old.body.error.code).to.equal("BAD_CREDENTIALS");
    await signInByForm(page, op.login, next);
    await page.getByTestId("staff-bar").waitFor();
    expect(errors).to.deep.equal(["console: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]);
    await context.close();
  });

  it("speaks Chinese on a phone, the form folded until opened", async function () {
    const { page, errors, context } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${stack.server.url}/admin?lang=zh-CN`);
    await signInByForm(page, firstOperator(stack).login, "a new operator password");
    await page.getByTestId("staff-bar").waitFor();
    expect(await page.getByTestId("staff-current").isVisible()).to.equal(false);
    await page.getByTestId("staff-password-change").locator("summary").click();
    await page.getByText("修改我的密码").first().waitFor();
    expect(await page.getByTestId("staff-current").isVisible()).to.equal(true);
    await screenshot(page, "staff-password-zh-phone");
    expect(errors).to.deep.equal([]);
    await context.close();
  });
});
