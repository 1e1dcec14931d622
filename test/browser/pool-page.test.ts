/**
 * The public pool page in Debian's Chromium against `npm start`'s own server (server/main.ts with
 * its embedded anvil and PGlite): its figures equal GET /v1/pool and the chain read directly, the
 * history and recent orders show the orders just confirmed, both languages, a phone and a desktop
 * viewport, and no console error.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, formatUnits } from "ethers";
import type { Browser } from "playwright-core";
import { Pool__factory, GreenPoints__factory, MockStablecoin__factory } from "../../typechain-types";
import { DESKTOP, PHONE, browserAvailable, launchBrowser, openPage, screenshot } from "../helpers/browser";
import { freePort } from "../helpers/net";
import { type RelayerProcess, killHard, startRelayerProcess } from "../helpers/process";
import { TEST_ADMIN_TOKEN, call, createShop, postOrder, settledOrder } from "../helpers/relayer";

describe("the public pool page, in a real browser", function () {
  this.timeout(300_000);
  let server: RelayerProcess;
  let browser: Browser;
  let dir: string;
  let chainUrl: string;

  before(async function () {
    if (!browserAvailable()) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-pages-"));
    const chainPort = await freePort();
    chainUrl = `http://127.0.0.1:${chainPort}`;
    server = await startRelayerProcess(dir, { GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN, GP_CHAIN_PORT: String(chainPort) });
    browser = await launchBrowser();
    const shop = await createShop(server.url, "Page shop");
    for (const id of ["A", "B", "C"])
      expect((await postOrder(server.url, shop, { orderId: id, userId: "alice", amount: "100" })).status).to.equal(202);
    for (const id of ["A", "B", "C"]) expect((await settledOrder(server.url, shop.shopId, id, 60_000)).state).to.equal("confirmed");
  });

  after(async function () {
    await browser?.close();
    if (server) {
      killHard(server.anvilPid());
      killHard(server.child.pid);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the indexer has reached the block the API reads the pool at, so the page shows the same state. */
  async function settledPool() {
    for (let i = 0; i < 100; i++) {
      const pool = (await call(server.url, "GET", "/v1/pool")).body;
      const history = (await call(server.url, "GET", "/v1/pool/history?range=all")).body;
      if (history.indexedBlock >= pool.block && history.points.at(-1)?.supply === pool.supply) return pool;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the indexer did not catch up");
  }

  it("shows the pool's figures as GET /v1/pool and the chain give them, in Chinese on a phone", async function () {
    const pool = await settledPool();
    // The chain itself, read here without the relayer: the figures and the backing check.
    const deployments = JSON.parse(fs.readFileSync(path.join(dir, "deployments.json"), "utf8"));
    const provider = new JsonRpcProvider(chainUrl);
    const at = { blockTag: pool.block };
    const onChain = {
      assets: formatUnits(await Pool__factory.connect(deployments.pool, provider).assets(at), deployments.settlementDecimals),
      supply: formatUnits(await GreenPoints__factory.connect(deployments.points, provider).totalSupply(at), 18),
      held: formatUnits(
        await MockStablecoin__factory.connect(deployments.settlement, provider).balanceOf(deployments.pool, at),
        deployments.settlementDecimals,
      ),
    };
    provider.destroy();
    expect([pool.assets, pool.supply, pool.minted]).to.deep.equal(["90", "48.195", "48.195"]);
    expect(onChain.assets.replace(/\.0$/, "")).to.equal(pool.assets);
    expect(onChain.supply).to.equal(pool.supply);
    expect(pool.backed).to.equal(true);
    expect(Number(onChain.held)).to.be.at.least(Number(onChain.assets));

    const { page, errors, bytes } = await openPage(browser, { viewport: PHONE, locale: "zh-CN" });
    await page.goto(`${server.url}/`);
    await page.getByTestId("price").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("zh-CN");
    expect(await page.title()).to.equal("绿色积分 — 资金池");
    // 1.867413 to 6 places, as zh-CN writes it.
    expect(await page.getByTestId("price").textContent()).to.contain(
      new Intl.NumberFormat("zh-CN", { maximumFractionDigits: 6 }).format(pool.price),
    );
    expect(await page.getByTestId("assets").textContent()).to.contain("90");
    expect(await page.getByTestId("supply").textContent()).to.contain("48.195");
    expect(await page.getByTestId("backing").textContent()).to.contain("支撑检查通过");
    expect(await page.getByTestId("contract-pool").textContent()).to.equal(deployments.pool);
    // Three orders, newest first, with their transactions.
    await page.getByTestId("activity").waitFor();
    expect(await page.locator('[data-testid="activity"] tbody tr[data-kind="order"]').count()).to.equal(3);
    expect(await page.locator(".uplot").count()).to.be.at.least(2);
    const shot = await screenshot(page, "pool-zh-CN-phone");
    console.log(`      first load ${bytes()} bytes; screenshot ${shot}`);
    expect(errors).to.deep.equal([]);
    await page.context().close();
  });

  it("speaks English by ?lang=en and keeps it, with a range picker, on a desktop", async function () {
    const { page, errors } = await openPage(browser, { viewport: DESKTOP, locale: "zh-CN" });
    await page.goto(`${server.url}/?lang=en`);
    await page.getByTestId("price").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    expect(await page.getByTestId("backing").textContent()).to.contain("Backing check passed");
    await page.click('button[data-range="day"]');
    await page.waitForSelector('button[data-range="day"][aria-pressed="true"]');
    await screenshot(page, "pool-en-desktop");
    // The cookie keeps the choice: the page without ?lang= is English still.
    await page.goto(`${server.url}/`);
    await page.getByTestId("price").waitFor();
    expect(await page.getAttribute("html", "lang")).to.equal("en");
    // And the link to the other language goes back to Chinese.
    await page.getByTestId("language").click();
    await page.waitForFunction('document.documentElement.lang === "zh-CN"');
    expect(errors).to.deep.equal([]);
    await page.context().close();
  });

  it("follows Accept-Language when no choice was made", async function () {
    const en = await call(server.url, "GET", "/", { headers: { "accept-language": "en-GB,en;q=0.9,zh;q=0.3" } });
    expect(en.body).to.contain('<html lang="en">');
    const zh = await call(server.url, "GET", "/wallet", { headers: { "accept-language": "fr, zh-TW;q=0.8" } });
    expect(zh.body).to.contain('<html lang="zh-CN">');
    const none = await call(server.url, "GET", "/");
    expect(none.body).to.contain('<html lang="zh-CN">');
    expect(none.headers.get("content-security-policy"))
      .to.match(/script-src 'self'/)
      .and.not.match(/unsafe-inline/);
  });
});
