/**
 * The wallet's actions tab in Debian's Chromium against `npm start`'s own server: a shopper with GP
 * from orders redeems, transfers, pays a merchant, converts to CP and withdraws settlement from the
 * page. Each review's figures are checked against what the chain then did (the operation's events,
 * GET /v1/me before and after, the settlement token read directly), a double click sends once, a
 * wrong payment password moves nothing, both languages, a phone's viewport, no console error.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, Wallet, parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory, GreenPoints__factory, MockStablecoin__factory } from "../../typechain-types";
import { Rounding, exitFee, toAssets } from "../../server/domain/points-math";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, earn, pageCall, signUpInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, settledOperation, settledOrder } from "../helpers/relayer";

const SHOPPER = "13800138101";
const FRIEND = "13800138102";
const PAYMENT_PASSWORD = "pay-123456";

describe("the wallet's actions, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  let page: Page;
  let errors: string[];
  let friendId: string;
  let merchant: { merchantId: string; apiKey: string };
  let decimals: number;

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("actions");
    decimals = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8")).settlementDecimals;
    ({ page, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" }));
    await page.goto(`${stack.server.url}/wallet`);
    await signUpInPage(stack, page, SHOPPER);
    await earn(stack, SHOPPER, "shopper-1", "100");
    await earn(stack, SHOPPER, "shopper-2", "100");
    const set = await pageCall(page, "PUT", "/v1/me/payment-password", { paymentPassword: PAYMENT_PASSWORD });
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
    // The friend's account is made by an order for their phone; its user id is the order's.
    await earn(stack, FRIEND, "friend-1", "10");
    friendId = (await settledOrder(stack.server.url, stack.shop.shopId, "friend-1")).userId;
    expect(friendId).to.match(/^ph_/);
    const made = await call(stack.server.url, "POST", "/v1/admin/merchants", {
      token: TEST_ADMIN_TOKEN,
      body: { name: "Corner Café" },
      headers: { "idempotency-key": randomUUID() },
    });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    expect((await settledOperation(stack.server.url, TEST_ADMIN_TOKEN, made.body.operation.operationId, 60_000)).state).to.equal(
      "confirmed",
    );
    merchant = made.body;
  });

  after(async function () {
    await stack?.stop();
  });

  const me = async (p = page) => (await pageCall(p, "GET", "/v1/me")).body;
  const operations = async (p = page) => (await pageCall(p, "GET", "/v1/me/operations")).body.operations as { kind: string }[];

  async function openAction(kind: string, lang?: "en" | "zh-CN") {
    await page.goto(`${stack.server.url}/wallet?tab=actions${lang ? `&lang=${lang}` : ""}`);
    await page.click(`[data-action="${kind}"]`);
    await page.waitForSelector(`section[data-kind="${kind}"]`);
  }

  /** The review's figures by name, as the exact decimal strings the page computed. */
  async function review(): Promise<Record<string, string>> {
    await page.getByTestId("review-step").waitFor();
    const figures = await page.$$eval('[data-testid="review-step"] [data-value]', (nodes) =>
      nodes.map((n) => [n.getAttribute("data-testid")!.replace(/^review-/, ""), n.getAttribute("data-value")!]),
    );
    return Object.fromEntries(figures);
  }

  /** Waits for the operation shown to be confirmed; answers it as the API gives it. */
  async function confirmedOperation() {
    const state = page.locator('[data-testid="op-state"][data-state="confirmed"]');
    await state.waitFor({ timeout: 60_000 });
    const id = (await state.getAttribute("data-operation"))!;
    const op = (await pageCall(page, "GET", `/v1/operations/${id}`)).body;
    expect(op.state).to.equal("confirmed");
    expect(await page.getByTestId("op-tx").getAttribute("data-value")).to.equal(op.txHash);
    expect(op.txHash).to.match(/^0x[0-9a-f]{64}$/);
    return op as { kind: string; details: Record<string, string>; events: { name: string; args: Record<string, string> }[] };
  }

  const event = (op: { events: { name: string; args: Record<string, string> }[] }, name: string) => {
    const found = op.events.find((e) => e.name === name);
    if (!found) throw new Error(`no ${name} event in ${JSON.stringify(op.events)}`);
    return found.args;
  };

  it("redeems GP in Chinese: the review's fee and payout are what the chain pays, and a double click sends once", async function () {
    const before = await me();
    const pool = (await pageCall(page, "GET", "/v1/pool")).body;
    await openAction("redeem");
    expect(await page.getByRole("heading", { level: 2 }).textContent()).to.equal("使用积分");
    await page.fill("#amount", "5");
    await page.getByTestId("review").click();
    const shown = await review();
    // What points-math (the contracts' mirror) gives at the pool's price read just before.
    const [assets, supply] = [BigInt(pool.priceRatio.assets), BigInt(pool.priceRatio.supply)];
    const gross = toAssets(parseUnits("5", 18), assets, supply, Rounding.Floor);
    const fee = exitFee(gross, BigInt(pool.params.exitFeeBps));
    expect(parseUnits(shown.gross, decimals)).to.equal(gross);
    expect(parseUnits(shown.fee, decimals)).to.equal(fee);
    expect(parseUnits(shown.payout, decimals)).to.equal(gross - fee);
    // The default protection is 0.5% below the payout shown.
    expect(parseUnits(shown.minPayout, decimals)).to.equal(((gross - fee) * 9950n) / 10_000n);
    expect(await page.getByTestId("review-fee").textContent()).to.contain(
      new Intl.NumberFormat("zh-CN", { maximumFractionDigits: decimals }).format(shown.fee as unknown as number),
    );
    console.log(`      review ${await screenshot(page, "wallet-actions-redeem-review-zh-CN")}`);

    await page.fill("#payment-password", PAYMENT_PASSWORD);
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/v1/me/redemptions")) posts.push(r.headers()["idempotency-key"]);
    });
    // Two clicks in one tick, before the page can re-render the button disabled.
    await page.getByTestId("confirm").evaluate((button: { click(): void }) => {
      button.click();
      button.click();
    });
    const op = await confirmedOperation();
    console.log(`      confirmed ${await screenshot(page, "wallet-actions-redeem-confirmed-zh-CN")}`);
    const redeemed = event(op, "Redeemed");
    expect(redeemed.fee).to.equal(parseUnits(shown.fee, decimals).toString());
    expect(redeemed.payout).to.equal(parseUnits(shown.payout, decimals).toString());
    expect(op.details).to.deep.equal({ asset: "GP", amount: "5", minPayout: shown.minPayout });
    expect(await page.getByTestId("result-payout").getAttribute("data-value")).to.equal(shown.payout);
    expect((await operations()).filter((o) => o.kind === "redeem")).to.have.length(1);
    expect(posts, "one request, under one key").to.have.length(1);
    expect(posts[0]).to.match(/^[0-9a-f-]{36}$/);

    const after = await me();
    expect(parseUnits(after.settlement, decimals) - parseUnits(before.settlement, decimals)).to.equal(parseUnits(shown.payout, decimals));
    expect(parseUnits(before.points, 18) - parseUnits(after.points, 18)).to.equal(parseUnits("5", 18));
    expect(await page.locator('[data-testid="op-state"]').textContent()).to.contain("已在链上确认");
    expect(errors).to.deep.equal([]);
  });

  it("refuses a wrong payment password with its message and moves nothing, then transfers GP to another user", async function () {
    // The friend signs up on their own phone: the account the order made is theirs, without a payment password yet.
    const friend = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await friend.page.goto(`${stack.server.url}/wallet`);
    expect(await signUpInPage(stack, friend.page, FRIEND)).to.equal(friendId);
    await friend.page.goto(`${stack.server.url}/wallet?tab=actions`);
    expect(await friend.page.getByTestId("no-payment-password").textContent()).to.contain("请先设置支付密码");
    const friendBefore = await me(friend.page);

    const before = await me();
    const opsBefore = (await operations()).length;
    await openAction("transfer");
    await page.fill("#to-user", friendId);
    await page.fill("#amount", "2");
    await page.getByTestId("review").click();
    const shown = await review();
    expect(shown.amount).to.equal("2");
    expect(parseUnits(shown.balanceAfter, 18)).to.equal(parseUnits(before.points, 18) - parseUnits("2", 18));

    await page.fill("#payment-password", "not-the-password");
    const logged = errors.length;
    await page.getByTestId("confirm").click();
    const refusal = page.getByTestId("send-error");
    await refusal.waitFor();
    // Chromium logs every refused fetch; this one, the 401 of the wrong password, is the refusal under test.
    expect(errors.splice(logged)).to.deep.equal([
      "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]);
    expect(await refusal.textContent()).to.equal("支付密码错误，未提交任何操作。再错 4 次将被锁定。");
    expect(await page.getAttribute("#payment-password", "aria-describedby")).to.equal("send-error");
    expect(await page.inputValue("#payment-password")).to.equal("");
    console.log(`      refused ${await screenshot(page, "wallet-actions-wrong-password-zh-CN")}`);
    expect(await me()).to.deep.equal(before);
    expect(await operations()).to.have.length(opsBefore);

    await page.fill("#payment-password", PAYMENT_PASSWORD);
    await page.getByTestId("confirm").click();
    const op = await confirmedOperation();
    expect(op.kind).to.equal("transfer");
    expect(event(op, "Transferred").amount).to.equal(parseUnits("2", 18).toString());
    const after = await me();
    expect(parseUnits(before.points, 18) - parseUnits(after.points, 18)).to.equal(parseUnits("2", 18));
    const friendAfter = await me(friend.page);
    expect(parseUnits(friendAfter.points, 18) - parseUnits(friendBefore.points, 18)).to.equal(parseUnits("2", 18));
    expect(errors).to.deep.equal([]);
    expect(friend.errors).to.deep.equal([]);
    await friend.context.close();
  });

  it("pays a merchant and converts GP to CP, in English", async function () {
    await openAction("pay", "en");
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    expect(await page.getByRole("heading", { level: 2 }).textContent()).to.equal("Use my points");
    await page.fill("#merchant", "mer_nobody");
    await page.fill("#amount", "1.5");
    await page.getByTestId("review").click();
    await page.fill("#payment-password", PAYMENT_PASSWORD);
    const logged = errors.length;
    await page.getByTestId("confirm").click();
    await page.getByTestId("send-error").waitFor();
    expect(await page.getByTestId("send-error").textContent()).to.equal("No such user or merchant.");
    expect(errors.splice(logged)).to.deep.equal([
      "console: Failed to load resource: the server responded with a status of 404 (Not Found)",
    ]);
    await page.getByTestId("back").click();
    expect(await page.inputValue("#amount"), "going back keeps the form").to.equal("1.5");
    await page.fill("#merchant", merchant.merchantId);
    await page.getByTestId("review").click();
    expect((await review()).amount).to.equal("1.5");
    await page.fill("#payment-password", PAYMENT_PASSWORD);
    await page.getByTestId("confirm").click();
    const paid = await confirmedOperation();
    expect(paid.kind).to.equal("pay-merchant");
    expect(await page.locator('[data-testid="op-state"]').textContent()).to.contain("Confirmed on the chain.");
    const account = await call(stack.server.url, "GET", "/v1/merchant", { token: merchant.apiKey });
    expect(account.body.points).to.equal("1.5");

    const before = await me();
    await page.click('[data-action="convert"]');
    await page.fill("#amount", "3");
    await page.getByTestId("review").click();
    const shown = await review();
    const pool = (await pageCall(page, "GET", "/v1/pool")).body;
    const expected = toAssets(parseUnits("3", 18), BigInt(pool.priceRatio.assets), BigInt(pool.priceRatio.supply), Rounding.Floor);
    expect(parseUnits(shown.constantPoints, decimals)).to.equal(expected);
    console.log(`      review ${await screenshot(page, "wallet-actions-convert-review-en")}`);
    await page.fill("#payment-password", PAYMENT_PASSWORD);
    await page.getByTestId("confirm").click();
    const converted = await confirmedOperation();
    console.log(`      confirmed ${await screenshot(page, "wallet-actions-convert-confirmed-en")}`);
    await page.setViewportSize(DESKTOP);
    console.log(`      on a desktop ${await screenshot(page, "wallet-actions-convert-confirmed-en-desktop")}`);
    await page.setViewportSize(PHONE);
    expect(event(converted, "ConvertedToConstant").constantPoints).to.equal(expected.toString());
    expect(await page.getByTestId("result-constantPoints").getAttribute("data-value")).to.equal(shown.constantPoints);
    const after = await me();
    expect(parseUnits(after.constantPoints, decimals) - parseUnits(before.constantPoints, decimals)).to.equal(expected);
    expect(parseUnits(before.points, 18) - parseUnits(after.points, 18)).to.equal(parseUnits("3", 18));
    expect(errors).to.deep.equal([]);
  });

  it("withdraws settlement to an address, which the chain then holds", async function () {
    const before = await me();
    const to = Wallet.createRandom().address;
    await openAction("withdrawSettlement", "zh-CN");
    expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");
    await page.fill("#address", "0x1234");
    await page.fill("#amount", "2.5");
    await page.getByTestId("review").click();
    expect(await page.getByTestId("form-error").textContent()).to.equal("请输入地址：0x 后跟 40 位十六进制字符。");
    expect(await page.getAttribute("#address", "aria-describedby")).to.contain("withdrawSettlement-form-error");
    await page.fill("#address", to);
    await page.getByTestId("review").click();
    const shown = await review();
    expect(shown.amount).to.equal("2.5");
    await page.fill("#payment-password", PAYMENT_PASSWORD);
    await page.getByTestId("confirm").click();
    const op = await confirmedOperation();
    expect(event(op, "SettlementWithdrawn").amount).to.equal(parseUnits("2.5", decimals).toString());

    const deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    const provider = new JsonRpcProvider(stack.chainUrl);
    const held = await MockStablecoin__factory.connect(deployments.settlement, provider).balanceOf(to);
    provider.destroy();
    expect(held).to.equal(parseUnits("2.5", decimals));
    const after = await me();
    expect(parseUnits(before.settlement, decimals) - parseUnits(after.settlement, decimals)).to.equal(parseUnits("2.5", decimals));
    expect(errors).to.deep.equal([]);
  });

  it("explains that GP cannot go to an original account before one is linked", async function () {
    await openAction("withdrawPoints");
    expect((await me()).original).to.equal(null);
    expect(await page.getByTestId("disabled-reason").textContent()).to.contain("尚未关联自有钱包");
    expect(await page.getByTestId("review").isDisabled()).to.equal(true);
    expect(errors).to.deep.equal([]);
  });

  it("withdraws GP to the linked original account, the fee shown being the one the custody takes", async function () {
    const own = Wallet.createRandom();
    const request = (await pageCall(page, "GET", `/v1/me/link-request?address=${own.address}`)).body;
    const signature = await own.signTypedData(request.domain, request.types, request.message);
    const link = await pageCall(
      page,
      "POST",
      "/v1/me/link",
      { address: own.address, deadline: request.message.deadline, signature },
      { "X-GP-Payment-Password": PAYMENT_PASSWORD, "Idempotency-Key": randomUUID() },
    );
    expect(link.status, JSON.stringify(link.body)).to.equal(202);
    for (let i = 0; (await me()).original !== own.address; i++) {
      if (i > 300) throw new Error("the link was not confirmed");
      await new Promise((r) => setTimeout(r, 100));
    }

    const deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    const provider = new JsonRpcProvider(stack.chainUrl);
    const feeBps = (await Custody__factory.connect(deployments.custody, provider).parameters()).withdrawalFee;
    const before = await me();
    await openAction("withdrawPoints", "zh-CN");
    expect(await page.getByTestId("original").getAttribute("data-value")).to.equal(own.address);
    await page.fill("#amount", "4");
    await page.getByTestId("review").click();
    const shown = await review();
    const fee = (parseUnits("4", 18) * feeBps + 9_999n) / 10_000n;
    expect(parseUnits(shown.withdrawalFee, 18)).to.equal(fee);
    expect(parseUnits(shown.received, 18)).to.equal(parseUnits("4", 18) - fee);
    await page.fill("#payment-password", PAYMENT_PASSWORD);
    await page.getByTestId("confirm").click();
    const op = await confirmedOperation();
    expect(event(op, "WithdrawnToOriginal").fee).to.equal(fee.toString());
    expect(await GreenPoints__factory.connect(deployments.points, provider).balanceOf(own.address)).to.equal(
      parseUnits(shown.received, 18),
    );
    provider.destroy();
    const after = await me();
    expect(parseUnits(before.points, 18) - parseUnits(after.points, 18)).to.equal(parseUnits("4", 18));
    expect(errors).to.deep.equal([]);
  });
});
