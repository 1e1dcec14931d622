/**
 * The operator console's members, orders and relayer tabs in Debian's Chromium against `npm
 * start`'s own server: a shopper signs up by phone (the code read from the SMS outbox) and earns
 * by orders for the number; the operator finds them by the number as typed, sees the balances the
 * chain holds, grants points with a reason (previewed as the pool previews them, followed to
 * confirmed, the chain's balance up by what the Granted event says) and removes some (followed
 * to confirmed, the chain's balance down by as much); then finds the shopper's rejected order and
 * reads why in plain words, and the relayer tab's nonce is the chain's. Both languages, phone and
 * desktop, a screenshot of each tab, no console error but the 404 of a number nobody has.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, formatUnits, parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory, Pool__factory } from "../../typechain-types";
import { DESKTOP, PHONE, SCREENSHOTS, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, earn, firstOperator, pageCall, signInStaffInPage, signUpInPage, startPagesStack } from "../helpers/pages";
import { postOrder, settledOrder } from "../helpers/relayer";

const SHOPPER = "13800138301";
const E164 = `+86${SHOPPER}`;
const STRANGER = "13800138399";
const units = (value: bigint, decimals: number) => formatUnits(value, decimals).replace(/\.0$/, "");

describe("the operator console's members, orders and relayer tabs, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  let provider: JsonRpcProvider;
  let deployments: { pool: string; custody: string; settlementDecimals: number };
  let shopperId: string;

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("admin-members");
    deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    provider = new JsonRpcProvider(stack.chainUrl);
    const shopper = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
    await shopper.page.goto(`${stack.server.url}/wallet`);
    shopperId = await signUpInPage(stack, shopper.page, SHOPPER);
    await earn(stack, SHOPPER, "members-1", "100");
    await earn(stack, SHOPPER, "members-2", "50");
    // An order too small to mint one GP base unit: the pool refuses it (PoolOrderTooSmall).
    expect(
      (await postOrder(stack.server.url, stack.shop, { orderId: "members-dust", phone: SHOPPER, amount: "0.000001" })).status,
    ).to.equal(202);
    expect((await settledOrder(stack.server.url, stack.shop.shopId, "members-dust", 60_000)).state).to.equal("rejected");
    await shopper.context.close();
  });

  after(async function () {
    provider?.destroy();
    await stack?.stop();
  });

  const custody = () => Custody__factory.connect(deployments.custody, provider);
  const pool = () => Pool__factory.connect(deployments.pool, provider);

  async function signedIn(viewport: { width: number; height: number }, locale: string, tab: string) {
    const watched = await openPage(stack.browser, { viewport, locale });
    await watched.page.goto(`${stack.server.url}/admin`);
    const op = firstOperator(stack);
    await signInStaffInPage(watched.page, op.login, op.password);
    await watched.page.goto(`${stack.server.url}/admin?tab=${tab}`);
    return watched;
  }

  async function find(page: Page, by: "phone" | "userId", value: string) {
    await page.getByTestId("members-by").selectOption(by);
    await page.getByTestId("members-q").fill(value);
    await page.getByTestId("members-find").click();
  }

  /** The balances the page shows, and the block it read them at. */
  async function shown(page: Page) {
    const el = page.getByTestId("member-balances-values");
    return {
      block: Number(await el.getAttribute("data-block")),
      points: (await el.getAttribute("data-points"))!,
      constantPoints: (await el.getAttribute("data-cp"))!,
      settlement: (await el.getAttribute("data-settlement"))!,
    };
  }

  async function chainBalances(account: string, blockTag?: number) {
    const a = await custody().accountOf(account, { blockTag });
    const d = deployments.settlementDecimals;
    return { points: units(a.points, 18), constantPoints: units(a.constantPoints, d), settlement: units(a.settlement, d), raw: a.points };
  }

  it("finds the shopper by phone, grants and removes points with a reason, the chain agrees (English, desktop)", async function () {
    const { page, errors, context } = await signedIn(DESKTOP, "en", "members");
    await page.getByTestId("members-search").waitFor();
    await screenshot(page, "admin-members-search");

    // A number nobody has: a clear refusal, and no profile.
    await find(page, "phone", STRANGER);
    await page.locator('[data-testid="members-search-error"]:has-text("No account has the number")').waitFor();
    expect(await page.getByTestId("members-search-error").textContent()).to.contain(`+86${STRANGER}`);
    expect(await page.getByTestId("member-profile").count()).to.equal(0);

    // The number as the shopper writes it, with spaces.
    await find(page, "phone", `${SHOPPER.slice(0, 3)} ${SHOPPER.slice(3, 7)} ${SHOPPER.slice(7)}`);
    await page.locator(`[data-testid="member-profile"][data-user="${shopperId}"]`).waitFor();
    expect(await page.getByTestId("member-phone").textContent()).to.contain(E164);
    const account = (await page.getByTestId("member-account").getAttribute("data-value"))!;
    const before = await shown(page);
    const onChain = await chainBalances(account, before.block);
    expect({ points: before.points, constantPoints: before.constantPoints, settlement: before.settlement }).to.deep.equal({
      points: onChain.points,
      constantPoints: onChain.constantPoints,
      settlement: onChain.settlement,
    });
    expect(onChain.raw).to.be.greaterThan(0n);
    expect(await page.locator('[data-testid="member-order"]').count()).to.equal(3);
    await page.locator('[data-testid="member-order"][data-order="members-dust"] [data-testid="order-reason"]').waitFor();
    await page.locator('[data-testid="member-history-entry"][data-kind="order"]').first().waitFor();
    await screenshot(page, "admin-members-profile");

    // A grant of 10 USDT: previewed as the pool previews it, confirmed, sent, followed to confirmed.
    await page.getByTestId("member-kind-grant").check();
    await page.getByTestId("member-amount").fill("10");
    await page.getByTestId("member-reason").fill("goodwill for a late delivery");
    await page.getByTestId("member-preview").click();
    await page.getByTestId("member-preview-text").waitFor();
    const expected = await pool().previewContribution(parseUnits("10", deployments.settlementDecimals));
    expect(await page.getByTestId("member-preview-text").getAttribute("data-points")).to.equal(units(expected, 18));
    await screenshot(page, "admin-members-grant-preview");
    await page.getByTestId("member-continue").click();
    await page.getByTestId("member-confirm").waitFor();
    expect(await page.getByTestId("member-confirm").textContent()).to.contain("goodwill for a late delivery");
    const chainBefore = await chainBalances(account);
    await page.getByTestId("member-send").click();
    await page.locator('[data-testid="member-adjust-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    const granted = BigInt((await page.getByTestId("member-adjust-done").getAttribute("data-points"))!);
    expect(granted).to.equal(expected);
    const chainAfterGrant = await chainBalances(account);
    expect(chainAfterGrant.raw - chainBefore.raw).to.equal(granted);
    expect(await page.getByTestId("member-adjust-tx").getAttribute("data-value")).to.match(/^0x[0-9a-f]{64}$/);
    await page.locator(`[data-testid="member-balances-values"][data-points="${chainAfterGrant.points}"]`).waitFor({ state: "attached" });
    await page.locator('[data-testid="member-history-entry"][data-kind="grant"]').waitFor();
    await screenshot(page, "admin-members-granted");

    // A removal of 1 GP, followed to confirmed: the chain's balance is down by exactly 1 GP.
    await page.getByTestId("member-adjust-again").click();
    await page.getByTestId("member-kind-removal").check();
    await page.getByTestId("member-amount").fill("1");
    await page.getByTestId("member-reason").fill("duplicate grant corrected");
    await page.getByTestId("member-preview").click();
    await page.getByTestId("member-preview-text").waitFor();
    expect(await page.getByTestId("member-preview-text").textContent()).to.contain("Removes 1 GP");
    await page.getByTestId("member-continue").click();
    await page.getByTestId("member-send").click();
    await page.locator('[data-testid="member-adjust-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("member-adjust-done").getAttribute("data-points")).to.equal(parseUnits("1", 18).toString());
    const chainAfterRemoval = await chainBalances(account);
    expect(chainAfterGrant.raw - chainAfterRemoval.raw).to.equal(parseUnits("1", 18));
    await page.locator(`[data-testid="member-balances-values"][data-points="${chainAfterRemoval.points}"]`).waitFor({ state: "attached" });
    await page.locator('[data-testid="member-history-entry"][data-kind="removal"]').waitFor();
    await screenshot(page, "admin-members-removed");

    // The audit log names the operator and keeps both reasons.
    const audit = (await pageCall(page, "GET", "/v1/admin/audit?limit=10")).body;
    const reasons = audit.entries
      .filter((e: { subject: string }) => e.subject === `user:${shopperId}`)
      .map((e: { reason: string }) => e.reason);
    expect(reasons).to.deep.equal(["duplicate grant corrected", "goodwill for a late delivery"]);

    // The orders tab finds the rejected order by the shopper's number and says why.
    await page.locator('[role="tab"][data-tab="orders"]').click();
    await page.getByTestId("orders-search").waitFor();
    await page.getByTestId("orders-user").fill(SHOPPER);
    await page.getByTestId("orders-state").selectOption("rejected");
    await page.getByTestId("orders-find").click();
    const row = page.locator('[data-testid="orders-row"][data-order="members-dust"]');
    await row.waitFor();
    expect(await page.locator('[data-testid="orders-row"]').count()).to.equal(1);
    expect(await row.getAttribute("data-state")).to.equal("rejected");
    expect(await row.getByTestId("orders-reason").getAttribute("data-code")).to.equal("PoolOrderTooSmall");
    expect(await row.getByTestId("orders-reason").textContent()).to.contain("too small to mint any GP");
    await screenshot(page, "admin-orders-rejected");
    // The operations view finds the grant and the removal.
    await page.getByTestId("orders-view-operations").click();
    await page.getByTestId("orders-user").fill(E164);
    await page.getByTestId("operations-find").click();
    await page.locator('[data-testid="operations-row"][data-kind="grant"][data-state="confirmed"]').waitFor();
    await page.locator('[data-testid="operations-row"][data-kind="removal"][data-state="confirmed"]').waitFor();
    await screenshot(page, "admin-orders-operations");

    // The relayer tab: the wallet's mined nonce is the chain's.
    await page.locator('[role="tab"][data-tab="relayer"]').click();
    await expectChainNonce(page);
    await screenshot(page, "admin-relayer");

    expect(errors).to.deep.equal(["console: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
    await context.close();
  });

  /** The tab's mined nonce equals the chain's; read again while a transaction of the relayer's is still landing. */
  async function expectChainNonce(page: Page) {
    const values = page.getByTestId("relayer-nonce-values");
    await values.waitFor({ state: "attached" });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const address = (await values.getAttribute("data-address"))!;
      const latest = await values.getAttribute("data-latest");
      const chain = await provider.getTransactionCount(address, "latest");
      if (latest === String(chain)) break;
      if (Date.now() > deadline) expect(latest).to.equal(String(chain));
      await page.getByTestId("relayer-refresh").click();
      await page.waitForTimeout(500);
    }
    expect(Number(await values.getAttribute("data-latest"))).to.be.greaterThan(0);
  }

  it("shows the member, the orders and the relayer in Chinese on a phone", async function () {
    const { page, errors, context } = await signedIn(PHONE, "zh-CN", "members");
    await find(page, "phone", E164);
    await page.locator(`[data-testid="member-profile"][data-user="${shopperId}"]`).waitFor();
    expect(await page.getByTestId("member-balances").textContent()).to.contain("绿色积分");
    const s = await shown(page);
    expect(s.points).to.equal(
      (await chainBalances((await page.getByTestId("member-account").getAttribute("data-value"))!, s.block)).points,
    );
    await page.locator('[data-testid="member-history-entry"]').first().waitFor();
    await screenshot(page, "admin-members-zh-phone");
    // The parts one by one too: a whole phone page is too tall to read in one picture.
    for (const part of ["members-search", "member-who", "member-balances", "member-adjust", "member-orders", "member-history"])
      await page.getByTestId(part).screenshot({ path: path.join(SCREENSHOTS, `admin-members-zh-phone-${part}.png`) });

    // A search for a number nobody has takes the member shown before off the page.
    await find(page, "phone", STRANGER);
    await page.locator('[data-testid="members-search-error"]:has-text("没有账户使用号码")').waitFor();
    expect(await page.getByTestId("member-profile").count()).to.equal(0);

    await page.locator('[role="tab"][data-tab="orders"]').click();
    await page.getByTestId("orders-state").selectOption("rejected");
    await page.getByTestId("orders-find").click();
    const reason = page.locator('[data-testid="orders-row"][data-order="members-dust"] [data-testid="orders-reason"]');
    await reason.waitFor();
    expect(await reason.textContent()).to.contain("订单金额太小");
    await screenshot(page, "admin-orders-zh-phone");

    await page.locator('[role="tab"][data-tab="relayer"]').click();
    await expectChainNonce(page);
    expect(await page.getByTestId("relayer-wallet").textContent()).to.contain("中继钱包");
    await screenshot(page, "admin-relayer-zh-phone");
    expect(errors).to.deep.equal(["console: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
    await context.close();
  });
});
