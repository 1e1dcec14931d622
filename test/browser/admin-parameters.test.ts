/**
 * The operator console's parameters tab in Debian's Chromium against `npm start`'s own server:
 * the operator signs in, sees every parameter with the chain's value and bounds, previews a
 * pool-share change on one order, confirms and sends it, follows it to the chain and sees the new
 * value read back; the chain (read directly) holds it, the audit log names the operator, and the
 * next order mints what the preview said. Pausing refuses order mints (the webhook's order waits,
 * `received`), unpausing sends it. Both languages, no console error.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, formatUnits, parseUnits } from "ethers";
import { GreenPoints__factory, Pool__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, firstOperator, pageCall, signInStaffInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, postOrder, settledOrder } from "../helpers/relayer";

describe("the operator console's parameters tab, in a real browser", function () {
  this.timeout(300_000);
  let stack: PagesStack;
  let provider: JsonRpcProvider;
  let deployments: { pool: string; points: string };

  before(async function () {
    if (!browserAvailable()) this.skip();
    stack = await startPagesStack("admin-parameters");
    // One order first, so GP circulate and the price is the pool's own.
    expect((await postOrder(stack.server.url, stack.shop, { orderId: "seed", userId: "alice", amount: "100" })).status).to.equal(202);
    expect((await settledOrder(stack.server.url, stack.shop.shopId, "seed", 60_000)).state).to.equal("confirmed");
    deployments = JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));
    provider = new JsonRpcProvider(stack.chainUrl);
  });

  after(async function () {
    provider?.destroy();
    await stack?.stop();
  });

  const pool = () => Pool__factory.connect(deployments.pool, provider);
  const points = () => GreenPoints__factory.connect(deployments.points, provider);

  async function signedIn(viewport: { width: number; height: number }, locale: string) {
    const watched = await openPage(stack.browser, { viewport, locale });
    await watched.page.goto(`${stack.server.url}/admin`);
    const op = firstOperator(stack);
    await signInStaffInPage(watched.page, op.login, op.password);
    await watched.page.goto(`${stack.server.url}/admin?tab=parameters`);
    await watched.page.getByTestId("param-row-poolShare").waitFor();
    return watched;
  }

  it("previews a pool-share change, sends it, reads it back; the chain and the next order agree (English, desktop)", async function () {
    const { page, errors, context } = await signedIn(DESKTOP, "en");
    const before = await pool().parameters();
    // Every row shows the chain's value and bounds.
    expect(await page.getByTestId("param-value-poolShare").getAttribute("data-value")).to.equal(String(before.poolShare));
    expect(await page.getByTestId("param-value-exitFee").getAttribute("data-value")).to.equal(String(before.exitFee));
    expect(await page.getByTestId("param-bounds-exitFee").getAttribute("data-max")).to.equal(String(await pool().MAX_EXIT_FEE()));
    const [min, max] = await pool().parameterBounds(0);
    expect(await page.getByTestId("param-bounds-poolShare").getAttribute("data-min")).to.equal(String(min));
    expect(await page.getByTestId("param-bounds-poolShare").getAttribute("data-max")).to.equal(String(max));
    expect(await page.getByTestId("param-row-withdrawalFee").isVisible()).to.equal(true);
    expect(await page.getByTestId("param-paused").getAttribute("data-paused")).to.equal("false");
    await screenshot(page, "admin-parameters-list");

    // An out-of-bounds value is refused by the preview before anything is sent.
    await page.getByTestId("param-edit-poolShare").click();
    await page.getByTestId("param-value").fill("10001");
    await page.getByTestId("param-preview-button").click();
    await page.getByTestId("param-refusal").waitFor();
    expect(await page.getByTestId("param-continue").count()).to.equal(0);

    const proposed = String(Number(before.poolShare) + 500);
    await page.getByTestId("param-value").fill(proposed);
    await page.getByTestId("param-amount").fill("100");
    await page.getByTestId("param-preview-button").click();
    await page.getByTestId("param-summary").waitFor();
    const [contributionNow, pointsNow] = await pool().previewOrder(parseUnits("100", 6));
    expect(await page.getByTestId("param-now-contribution").getAttribute("data-value")).to.equal(
      formatUnits(contributionNow, 6).replace(/\.0$/, ""),
    );
    expect(await page.getByTestId("param-now-buyerPoints").getAttribute("data-value")).to.equal(
      formatUnits(pointsNow, 18).replace(/\.0$/, ""),
    );
    const previewedPoints = (await page.getByTestId("param-new-buyerPoints").getAttribute("data-value"))!;
    const previewedContribution = (await page.getByTestId("param-new-contribution").getAttribute("data-value"))!;
    expect(previewedContribution).to.not.equal(formatUnits(contributionNow, 6).replace(/\.0$/, ""));
    expect(await page.getByTestId("param-summary").textContent()).to.contain("An order of 100 now mints");
    await screenshot(page, "admin-parameters-preview");

    await page.getByTestId("param-continue").click();
    await page.getByTestId("param-confirm").waitFor();
    await screenshot(page, "admin-parameters-confirm");
    await page.getByTestId("param-send").click();
    await page.locator('[data-testid="param-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    await page.getByTestId("param-readback").waitFor();
    expect(await page.getByTestId("param-tx").textContent()).to.match(/^0x[0-9a-f]{64}$/);
    expect(await page.getByTestId("param-value-poolShare").getAttribute("data-value")).to.equal(proposed);
    await screenshot(page, "admin-parameters-confirmed");

    // The chain itself holds the new value.
    expect(String((await pool().parameters()).poolShare)).to.equal(proposed);
    // The audit log names the operator.
    const me = (await pageCall(page, "GET", "/v1/staff/me")).body;
    const audit = (await pageCall(page, "GET", "/v1/admin/audit?action=pool-parameter")).body;
    expect(audit.entries[0]).to.deep.include({ actor: `operator:${me.staffId}`, subject: "pool:poolShare" });
    expect(await page.getByTestId("param-audit").textContent()).to.contain(`operator:${me.staffId}`);

    // The next order mints what the preview said.
    const supplyBefore = await points().totalSupply();
    expect((await postOrder(stack.server.url, stack.shop, { orderId: "after-change", userId: "carol", amount: "100" })).status).to.equal(
      202,
    );
    const settled = await settledOrder(stack.server.url, stack.shop.shopId, "after-change", 60_000);
    expect(settled.state).to.equal("confirmed");
    expect(settled.gpMinted).to.equal(previewedPoints);
    expect(formatUnits((await points().totalSupply()) - supplyBefore, 18).replace(/\.0$/, "")).to.equal(previewedPoints);

    // Pause: the order webhook is taken but its order waits, unminted.
    await page.getByTestId("param-pause-button").click();
    await page.getByTestId("param-pause-send").click();
    await page.locator('[data-testid="param-pause-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="param-paused"][data-paused="true"]').waitFor();
    expect(await pool().paused()).to.equal(true);
    await screenshot(page, "admin-parameters-paused");
    const supplyPaused = await points().totalSupply();
    expect((await postOrder(stack.server.url, stack.shop, { orderId: "while-paused", userId: "dave", amount: "100" })).status).to.equal(
      202,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const waiting = await call(stack.server.url, "GET", `/v1/shops/${stack.shop.shopId}/orders/while-paused`, { token: TEST_ADMIN_TOKEN });
    expect(waiting.body.state).to.equal("received");
    expect(await points().totalSupply()).to.equal(supplyPaused);

    // Unpause: the waiting order is sent and mints.
    await page.getByTestId("param-pause-button").click();
    await page.getByTestId("param-pause-send").click();
    await page.locator('[data-testid="param-pause-state"][data-state="confirmed"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="param-paused"][data-paused="false"]').waitFor();
    expect(await pool().paused()).to.equal(false);
    expect((await settledOrder(stack.server.url, stack.shop.shopId, "while-paused", 60_000)).state).to.equal("confirmed");
    expect(await points().totalSupply()).to.be.greaterThan(supplyPaused);
    const actions = (await pageCall(page, "GET", "/v1/admin/audit?limit=10")).body.entries.map((e: { action: string; actor: string }) => [
      e.action,
      e.actor,
    ]);
    expect(actions).to.deep.include(["pause", `operator:${me.staffId}`]);
    expect(actions).to.deep.include(["unpause", `operator:${me.staffId}`]);
    expect(errors).to.deep.equal([]);
    await context.close();
  });

  it("shows the parameters and an exit-fee preview in Chinese on a phone", async function () {
    const { page, errors, context } = await signedIn(PHONE, "zh-CN");
    expect(await page.getByTestId("param-row-poolShare").textContent()).to.contain("入池比例");
    await page.getByTestId("param-edit-exitFee").click();
    await page.getByTestId("param-value").fill("4000");
    await page.getByTestId("param-amount").fill("10");
    await page.getByTestId("param-preview-button").click();
    await page.getByTestId("param-summary").waitFor();
    const [, fee] = await pool().previewRedeem(parseUnits("10", 18));
    expect(await page.getByTestId("param-now-exitFee").getAttribute("data-value")).to.equal(formatUnits(fee, 6).replace(/\.0$/, ""));
    expect(await page.getByTestId("param-summary").textContent()).to.contain("赎回");
    await screenshot(page, "admin-parameters-zh-phone");
    expect(errors).to.deep.equal([]);
    await context.close();
  });
});
