/**
 * The wallet's original-account tab in Debian's Chromium against `npm start`'s own server, with a
 * browser wallet injected into the page and answered in this process by an ethers Wallet
 * (test/helpers/injected-wallet.ts): the shopper picks it among two announced by EIP-6963,
 * connects, links it (the account and the custody contract record it), sees the GP withdrawn to it
 * as the chain's balanceOf gives them, deposits some into the custodial account with a permit and
 * a signed Deposit, redeems some at the pool by a signed Redeem (the quote shown first equals the
 * pool's, the payout arrives at the receiver the Redeemed event names), and unlinks. In English a
 * wallet found only as window.ethereum starts on another chain and is switched; a wrong payment
 * password is refused and the same signed link then goes through. A phone's viewport, no console
 * errors, screenshots of each step.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, ZeroAddress, formatUnits, parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory, GreenPoints__factory, MockStablecoin__factory, Pool__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { injectWallet } from "../helpers/injected-wallet";
import { type PagesStack, earn, pageCall, signUpInPage, startPagesStack } from "../helpers/pages";

const PAYMENT_PASSWORD = "pay-246810";
/** A base-unit amount as the API writes it: no trailing ".0". */
const decimal = (units: bigint, places: number) => formatUnits(units, places).replace(/\.0$/, "");

describe("the wallet's original-account tab, in a real browser", function () {
  this.timeout(600_000);
  let stack: PagesStack;
  let chain: JsonRpcProvider;
  let deployments: { pool: string; points: string; custody: string; settlement: string; settlementDecimals: number };

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("original");
    deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    chain = new JsonRpcProvider(stack.chainUrl);
  });

  after(async function () {
    chain?.destroy();
    await stack?.stop();
  });

  const contracts = () => ({
    points: GreenPoints__factory.connect(deployments.points, chain),
    custody: Custody__factory.connect(deployments.custody, chain),
    pool: Pool__factory.connect(deployments.pool, chain),
    settlement: MockStablecoin__factory.connect(deployments.settlement, chain),
  });

  /** Signs a shopper up with a payment password and `earned` GP from one order, and opens the tab. */
  async function shopper(page: Page, phone: string, language: "zh-CN" | "en", orderAmount?: string) {
    await page.goto(`${stack.server.url}/wallet?lang=${language}`);
    const userId = await signUpInPage(stack, page, phone);
    const set = await pageCall(page, "PUT", "/v1/me/payment-password", { paymentPassword: PAYMENT_PASSWORD });
    expect(set.status, JSON.stringify(set.body)).to.equal(200);
    if (orderAmount) await earn(stack, phone, `${phone}-order`, orderAmount);
    await page.goto(`${stack.server.url}/wallet?tab=original`);
    await page.getByTestId("original").waitFor();
    return userId;
  }

  const me = async (page: Page) => (await pageCall(page, "GET", "/v1/me")).body;
  const value = (page: Page, testId: string) => page.getByTestId(testId).getAttribute("data-value");
  const waitValue = (page: Page, testId: string, expected: string) =>
    page.waitForFunction(
      // Runs in the page, where document is; this file is compiled without the DOM's types.
      ([id, v]) =>
        (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document
          .querySelector(`[data-testid="${id}"]`)
          ?.getAttribute("data-value") === v,
      [testId, expected] as const,
      { timeout: 30_000 },
    );
  /** Waits for a step to reach the chain's answer and requires it confirmed; answers its transaction hash. */
  async function confirmedStep(page: Page, id: string): Promise<string> {
    await page.waitForSelector(`[data-testid="step-${id}"][data-state="confirmed"], [data-testid="step-${id}"][data-state="rejected"]`, {
      timeout: 90_000,
    });
    const state = await page.getByTestId(`step-${id}`).getAttribute("data-state");
    expect(state, (await page.getByTestId(`step-${id}`).textContent()) ?? "").to.equal("confirmed");
    const tx = await value(page, `step-${id}-tx`);
    expect(tx).to.match(/^0x[0-9a-f]{64}$/);
    return tx!;
  }

  it("links the wallet, shows its GP, deposits by permit, redeems by signature and unlinks, in Chinese on a phone", async function () {
    const { custody, points, pool, settlement } = contracts();
    const context = await stack.browser.newContext({ viewport: PHONE, locale: "zh-CN" });
    const mine = await injectWallet(context, { chainUrl: stack.chainUrl, name: "Test Wallet" });
    const other = await injectWallet(context, { chainUrl: stack.chainUrl, name: "Other Wallet" });
    const { page, errors } = await openPage(stack.browser, { context });
    await shopper(page, "13800138101", "zh-CN", "100");
    expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");

    // Two wallets announced by EIP-6963: each by its name and icon; the shopper picks one.
    await page.getByTestId("original-wallets").waitFor();
    const choices = page.getByTestId("original-wallet");
    expect(await choices.count()).to.equal(2);
    expect((await choices.allTextContents()).map((s) => s.trim()).sort()).to.deep.equal(["Other Wallet", "Test Wallet"]);
    expect(await page.locator('[data-testid="original-wallet"] img').first().getAttribute("src")).to.match(/^data:image\/svg\+xml;base64,/);
    await screenshot(page, "wallet-original-choose-zh-CN");
    await page.click(`[data-testid="original-wallet"][data-uuid="${mine.uuid}"]`);

    await page.getByTestId("original-connected").waitFor();
    expect(await page.getByTestId("original-address").textContent()).to.equal(mine.address);
    expect(await page.getByTestId("original-chain").getAttribute("data-ok")).to.equal("true");
    await waitValue(page, "original-gp", "0");
    expect(await value(page, "original-link-state")).to.equal("none");
    expect(other.requests).to.deep.equal([]);
    expect(mine.requests.map((r) => r.method)).to.include.members(["eth_requestAccounts", "eth_chainId", "eth_call"]);

    // Link: the wallet signs the server's EIP-712 Link, the payment password confirms it.
    await page.getByTestId("original-link").click();
    expect(await page.getByTestId("link-address").textContent()).to.equal(mine.address);
    await page.getByTestId("link-password").fill(PAYMENT_PASSWORD);
    await screenshot(page, "wallet-original-link-zh-CN");
    await page.getByTestId("link-confirm").click();
    await confirmedStep(page, "link");
    expect(await page.getByTestId("link-password").count()).to.equal(0);
    expect(mine.signed.map((s) => s.primaryType)).to.deep.equal(["Link"]);
    const account = await me(page);
    expect(account.original).to.equal(mine.address);
    expect((await custody.accountOf(account.account)).original).to.equal(mine.address);
    expect(await custody.userOf(mine.address)).to.equal(account.account);
    await waitValue(page, "original-link-state", "this");
    expect(await value(page, "original-linked-address")).to.equal(mine.address);
    await screenshot(page, "wallet-original-linked-zh-CN");

    // GP onto the address: a withdrawal from the custodial account to the linked original account.
    const withdrawal = await pageCall(
      page,
      "POST",
      "/v1/me/withdrawals/points",
      { points: "10" },
      { "X-GP-Payment-Password": PAYMENT_PASSWORD, "Idempotency-Key": "original-withdrawal-1" },
    );
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).to.equal(202);
    for (let state = withdrawal.body.state; state !== "confirmed";) {
      expect(state).to.not.equal("rejected");
      await new Promise((r) => setTimeout(r, 300));
      state = (await pageCall(page, "GET", `/v1/operations/${withdrawal.body.operationId}`)).body.state;
    }
    const held = await points.balanceOf(mine.address);
    expect(held > 0n && held <= parseUnits("10", 18)).to.equal(true);
    await page.getByTestId("original-refresh").click();
    await waitValue(page, "original-gp", decimal(held, 18));
    expect(await page.getByTestId("original-gp").textContent()).to.contain(
      new Intl.NumberFormat("zh-CN", { maximumFractionDigits: 6 }).format(Number(formatUnits(held, 18))),
    );

    // Deposit 3 GP: the figures first, then a permit for the custody and the signed Deposit.
    const before = { custody: (await custody.accountOf(account.account)).points, api: (await me(page)).points };
    await page.getByTestId("original-deposit").click();
    await page.getByTestId("deposit-amount").fill("3");
    await page.getByTestId("deposit-review").click();
    expect(await value(page, "deposit-review-amount")).to.equal("3");
    expect(await value(page, "deposit-review-fee")).to.equal("0");
    expect(await value(page, "deposit-review-address-after")).to.equal(decimal(held - parseUnits("3", 18), 18));
    expect(await value(page, "deposit-review-custody-after")).to.equal(decimal(parseUnits(before.api, 18) + parseUnits("3", 18), 18));
    await screenshot(page, "wallet-original-deposit-review-zh-CN");
    await page.getByTestId("deposit-confirm").click();
    await confirmedStep(page, "permit");
    await confirmedStep(page, "deposit");
    await screenshot(page, "wallet-original-deposit-done-zh-CN");
    expect(mine.signed.map((s) => s.primaryType)).to.deep.equal(["Link", "Permit", "Deposit"]);
    expect(mine.signed[1].domain).to.deep.include({
      name: "Green Points",
      version: "1",
      verifyingContract: deployments.points.toLowerCase(),
    });
    expect((await custody.accountOf(account.account)).points - before.custody).to.equal(parseUnits("3", 18));
    expect(held - (await points.balanceOf(mine.address))).to.equal(parseUnits("3", 18));
    expect(await points.allowance(mine.address, deployments.custody)).to.equal(0n);
    expect(parseUnits((await me(page)).points, 18) - parseUnits(before.api, 18)).to.equal(parseUnits("3", 18));
    await waitValue(page, "original-gp", decimal(held - parseUnits("3", 18), 18));
    await page.getByRole("button", { name: "关闭" }).click();

    // Redeem 2 GP by a signed Redeem: the pool's quote first, the minimum payout under it.
    const gpBefore = await points.balanceOf(mine.address);
    const settlementBefore = await settlement.balanceOf(mine.address);
    await page.getByTestId("original-redeem").click();
    await page.getByTestId("redeem-amount").fill("2");
    expect(await page.getByTestId("redeem-receiver").inputValue()).to.equal(mine.address);
    await page.getByTestId("redeem-review").click();
    await page.getByTestId("redeem-review-payout").waitFor();
    const quote = await pool.previewRedeem(parseUnits("2", 18));
    const d = deployments.settlementDecimals;
    expect(await value(page, "redeem-review-gross")).to.equal(decimal(quote.gross, d));
    expect(await value(page, "redeem-review-fee")).to.equal(decimal(quote.fee, d));
    expect(await value(page, "redeem-review-payout")).to.equal(decimal(quote.payout, d));
    expect(await value(page, "redeem-review-min-payout")).to.equal(decimal((quote.payout * 9950n) / 10000n, d));
    expect(quote.fee > 0n).to.equal(true);
    await screenshot(page, "wallet-original-redeem-review-zh-CN");
    await page.getByTestId("redeem-confirm").click();
    const redeemTx = await confirmedStep(page, "redeem");
    const receipt = await chain.getTransactionReceipt(redeemTx);
    const redeemed = receipt!.logs.map((log) => pool.interface.parseLog(log)).find((e) => e?.name === "Redeemed");
    expect(redeemed!.args.holder).to.equal(mine.address);
    expect(redeemed!.args.receiver).to.equal(mine.address);
    expect(redeemed!.args.points).to.equal(parseUnits("2", 18));
    expect(redeemed!.args.payout).to.equal(quote.payout);
    expect((await settlement.balanceOf(mine.address)) - settlementBefore).to.equal(quote.payout);
    expect(gpBefore - (await points.balanceOf(mine.address))).to.equal(parseUnits("2", 18));
    expect(await value(page, "redeem-paid")).to.equal(decimal(quote.payout, d));
    expect(mine.signed.at(-1)!.primaryType).to.equal("Redeem");
    await waitValue(page, "original-gp", decimal(gpBefore - parseUnits("2", 18), 18));
    await screenshot(page, "wallet-original-redeem-done-zh-CN");
    await page.getByRole("button", { name: "关闭" }).click();

    // Unlink, with the payment password.
    await page.getByTestId("original-unlink").click();
    expect(await page.getByTestId("unlink-address").textContent()).to.equal(mine.address);
    await page.getByTestId("unlink-password").fill(PAYMENT_PASSWORD);
    await page.getByTestId("unlink-confirm").click();
    await confirmedStep(page, "unlink");
    expect((await me(page)).original).to.equal(null);
    expect((await custody.accountOf(account.account)).original).to.equal(ZeroAddress);
    await waitValue(page, "original-linked-address", "");
    await waitValue(page, "original-link-state", "none");
    await screenshot(page, "wallet-original-unlinked-zh-CN");
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("switches a window.ethereum wallet to the pool's chain, refuses a wrong payment password and links, in English on a phone (and a desktop)", async function () {
    const { custody } = contracts();
    const context = await stack.browser.newContext({ viewport: PHONE, locale: "en-GB" });
    const mine = await injectWallet(context, { chainUrl: stack.chainUrl, announce: false, asWindowEthereum: true, startChainId: 1n });
    const { page, errors } = await openPage(stack.browser, { context });
    await shopper(page, "13800138102", "en");
    expect(await page.getAttribute("html", "lang")).to.equal("en");

    // No announcement: window.ethereum is found and offered under the page's own name for it.
    await page.getByTestId("original-wallets").waitFor();
    expect((await page.getByTestId("original-wallet").allTextContents()).map((s) => s.trim())).to.deep.equal(["Browser wallet"]);
    await page.getByTestId("original-wallet").click();
    await page.getByTestId("original-connected").waitFor();
    expect(await page.getByTestId("original-chain").getAttribute("data-ok")).to.equal("false");
    const pool = (await pageCall(page, "GET", "/v1/pool")).body;
    expect(await page.getByTestId("original-chain").textContent()).to.contain(`chain 1, but the pool is on chain ${pool.chainId}`);
    expect(await page.getByTestId("original-link").count()).to.equal(0);
    await screenshot(page, "wallet-original-wrong-chain-en");
    await page.getByTestId("original-switch-chain").click();
    await page.waitForSelector('[data-testid="original-chain"][data-ok="true"]');
    expect(mine.chainId()).to.equal(BigInt(pool.chainId));
    await waitValue(page, "original-gp", "0");

    // Declined in the wallet: said so, nothing sent.
    await page.getByTestId("original-link").click();
    mine.refuseNext("eth_signTypedData_v4");
    await page.getByTestId("link-password").fill(PAYMENT_PASSWORD);
    await page.getByTestId("link-confirm").click();
    await page.getByTestId("link-error").waitFor();
    expect(await page.getByTestId("link-error").getAttribute("data-code")).to.equal("4001");
    expect(await page.getByTestId("link-error").textContent()).to.equal("You declined the request in your wallet. Nothing was sent.");
    expect(await page.getByTestId("step-sign").getAttribute("data-state")).to.equal("failed");
    expect(mine.signed).to.deep.equal([]);
    expect((await me(page)).original).to.equal(null);

    // A wrong payment password: refused by its code; the same signed request then goes through.
    await page.getByTestId("link-password").fill("not the password");
    await page.getByTestId("link-confirm").click();
    await page.getByTestId("link-error").waitFor();
    expect(await page.getByTestId("link-error").getAttribute("data-code")).to.equal("BAD_CREDENTIALS");
    expect(await page.getByTestId("link-error").textContent()).to.equal("Wrong payment password.");
    expect(await page.getByTestId("link-password").inputValue()).to.equal("");
    expect(await page.getByTestId("step-sign").getAttribute("data-state")).to.equal("signed");
    expect(await page.getByTestId("step-link").getAttribute("data-state")).to.equal("failed");
    await screenshot(page, "wallet-original-wrong-password-en");
    await page.getByTestId("link-password").fill(PAYMENT_PASSWORD);
    await page.getByTestId("link-confirm").click();
    await confirmedStep(page, "link");
    expect(mine.signed.map((s) => s.primaryType)).to.deep.equal(["Link"]);
    const account = await me(page);
    expect(account.original).to.equal(mine.address);
    expect((await custody.accountOf(account.account)).original).to.equal(mine.address);
    await waitValue(page, "original-link-state", "this");
    await screenshot(page, "wallet-original-linked-en");
    await page.setViewportSize(DESKTOP);
    await screenshot(page, "wallet-original-linked-en-desktop");

    // The refused call's 401 is the one console line the browser writes for it.
    expect(errors.filter((e) => !/status of 401/.test(e))).to.deep.equal([]);
    expect(errors.length).to.equal(1);
    await context.close();
  });
});
