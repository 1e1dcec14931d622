/**
 * The wallet's ads and invite tabs in Debian's Chromium against `npm start`'s own server
 * (startPagesStack): an invitation link copied to the clipboard (and selected when the clipboard
 * is refused), a friend signing up with the code and listed masked with what their first order
 * earned, as the chain's ReferralCredited event says; and an ad merchant's vouchers, tasks counted
 * by the network's signed callbacks against the daily cap, the next conversion estimated and then
 * made on the chain, every figure equal to the API's. Both languages, a phone, no console error.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, formatUnits, parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { Custody__factory } from "../../typechain-types";
import { signPayload } from "../../server/domain/inbound-signature";
import { DESKTOP, PHONE, browserAvailable, openPage, screenshot } from "../helpers/browser";
import { type PagesStack, earn, nextOutboxCode, pageCall, signUpInPage, startPagesStack } from "../helpers/pages";
import { TEST_ADMIN_TOKEN, call, postOrder, settledOperation, settledOrder } from "../helpers/relayer";

/** As the page formats a decimal string (web/src/lib/i18n.ts formatAmount). */
const fmt = (lang: string, value: string, digits: number) =>
  new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value as unknown as number);
const text = async (page: Page, testId: string) => (await page.getByTestId(testId).first().innerText()).trim();
const value = (page: Page, testId: string) => page.getByTestId(testId).first().getAttribute("data-value");

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the wallet's ads and invite tabs, in a real browser", function () {
  this.timeout(400_000);
  let stack: PagesStack;
  const deployments = () => JSON.parse(fs.readFileSync(path.join(stack.dir, "deployments.json"), "utf8"));

  before(async function () {
    if (!browserAvailable()) this.skip();
    // Every 2 completed tasks release 5 vouchers; 3 tasks a day are counted.
    stack = await startPagesStack("wallet-ads", { GP_AD_POLICY: "fixed:2:5", GP_AD_DAILY_TASK_CAP: "3" });
  });
  after(async function () {
    await stack?.stop();
  });

  describe("invite", function () {
    it("copies the link, lists a friend who signed up with the code (masked) and what their first order earned", async function () {
      const url = stack.server.url;
      const context = await stack.browser.newContext({ viewport: PHONE, locale: "zh-CN" });
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
      const { page, errors } = await openPage(stack.browser, { context });
      await page.goto(`${url}/wallet`);
      const phoneA = "13800138001";
      await signUpInPage(stack, page, phoneA);
      await page.goto(`${url}/wallet?tab=referral`);
      const mine = (await pageCall(page, "GET", "/v1/me/referral")).body as { code: string; link: string };
      const link = new URL(mine.link, url).toString();
      expect(link).to.equal(`${url}/wallet?ref=${mine.code}`);
      await page.getByTestId("referral-none").waitFor();
      expect(await page.getByTestId("referral-link").inputValue()).to.equal(link);
      expect(await page.getByTestId("referral-code").inputValue()).to.equal(mine.code);

      // The rule with the pool's live shares.
      const poolAnswer = (await call(url, "GET", "/v1/pool")).body;
      const { referralShare1Bps, poolShareBps } = poolAnswer.params;
      expect(referralShare1Bps).to.be.greaterThan(0);
      expect(await value(page, "referral-share1")).to.equal(String(referralShare1Bps));
      const pct = (bps: number, lang: string) =>
        new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 2 }).format(bps / 10_000);
      expect(await text(page, "referral-share1")).to.equal(pct(referralShare1Bps, "zh-CN"));
      const rule = await text(page, "referral-rule-text");
      expect(rule).to.contain(pct(referralShare1Bps, "zh-CN")).and.contain(pct(poolShareBps, "zh-CN")).and.contain("第一笔订单");
      // 100 × poolShare × share1, worked out here independently of the page.
      const reward = (100 * poolShareBps * referralShare1Bps) / 1e8;
      expect(await text(page, "referral-example")).to.contain(String(reward));

      // Copy: the clipboard holds the link, and the live region says so.
      await page.getByTestId("referral-link-copy").click();
      await page.getByTestId("referral-copied").filter({ hasText: "链接已复制" }).waitFor();
      expect(await page.getByTestId("referral-copied").getAttribute("aria-live")).to.equal("polite");
      expect(await page.evaluate<string>("navigator.clipboard.readText()")).to.equal(link);
      await page.getByTestId("referral-code-copy").click();
      await page.getByTestId("referral-copied").filter({ hasText: "邀请码已复制" }).waitFor();
      expect(await page.evaluate<string>("navigator.clipboard.readText()")).to.equal(mine.code);
      await screenshot(page, "wallet-referral-copied-zh");

      // Friend B signs up in a browser of their own with A's code (the field the sign-up accepts).
      const b = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
      await b.page.goto(`${url}/wallet?ref=${mine.code}`);
      const phoneB = "13900139002";
      expect((await pageCall(b.page, "POST", "/v1/phone-codes", { phone: phoneB, purpose: "signup" })).status).to.equal(202);
      const code = await nextOutboxCode(stack.dir, `+86${phoneB}`, "signup");
      const signed = await pageCall(b.page, "POST", "/v1/phone/signup", {
        phone: phoneB,
        code,
        password: "friend's password",
        referralCode: mine.code,
      });
      expect(signed.status, JSON.stringify(signed.body)).to.equal(201);
      await until(
        async () => (await pageCall(b.page, "GET", `/v1/operations/${signed.body.operation.operationId}`)).body.state,
        (s) => s === "confirmed",
        "B's registration",
      );
      expect((await pageCall(b.page, "GET", "/v1/me")).body.referrerId).to.equal((await pageCall(page, "GET", "/v1/me")).body.userId);

      // A's page lists B, masked.
      await page.reload();
      await page.getByTestId("referral-person").first().waitFor();
      const masked = `+86 ${phoneB.slice(0, 3)}****${phoneB.slice(7)}`;
      expect(await page.getByTestId("referral-who").allInnerTexts()).to.deep.equal([masked]);
      expect(await page.getByTestId("referral-person").first().getAttribute("data-state")).to.equal("confirmed");
      const listText = await page.getByTestId("referral-list").innerText();
      expect(listText).to.not.contain(phoneB);
      expect(listText).to.contain("已注册");
      expect(await value(page, "referral-person-earned")).to.equal("0");

      // B's first order credits A: the page's figure is the API's, which is the chain's event.
      await earn(stack, phoneB, `ref-${randomUUID()}`, "100");
      const api = await until(
        async () => (await pageCall(page, "GET", "/v1/me/referrals")).body,
        (v) => v.earned !== "0",
        "A's referral credit",
      );
      const d = deployments();
      const provider = new JsonRpcProvider(stack.chainUrl);
      const custody = Custody__factory.connect(d.custody, provider);
      const accountA = (await pageCall(page, "GET", "/v1/me")).body.account;
      const credited = await custody.queryFilter(custody.filters.ReferralCredited(undefined, accountA));
      provider.destroy();
      expect(credited).to.have.length(1);
      const points = formatUnits(credited[0].args.points, 18).replace(/\.0$/, "");
      expect(api.earned).to.equal(points);
      expect(api.referrals).to.have.length(1);
      expect(api.referrals[0]).to.include({ who: masked, earned: points, registration: "confirmed" });
      await page.reload();
      await page
        .getByTestId("referral-earned")
        .filter({ hasText: fmt("zh-CN", points, 6) })
        .waitFor();
      expect(await value(page, "referral-person-earned")).to.equal(points);
      expect(await text(page, "referral-person-earned")).to.contain(fmt("zh-CN", points, 6));
      await screenshot(page, "wallet-referral-list-zh");

      // English, the same figures.
      await page.goto(`${url}/wallet?tab=referral&lang=en`);
      await page.getByTestId("referral-person").first().waitFor();
      expect(await text(page, "referral-rule-text"))
        .to.contain("first order")
        .and.contain(pct(referralShare1Bps, "en"));
      expect(await page.getByTestId("referral-who").allInnerTexts()).to.deep.equal([masked]);
      expect(await text(page, "referral-earned")).to.equal(`${fmt("en", points, 6)} GP`);
      await page.getByTestId("referral-link-copy").click();
      await page.getByTestId("referral-copied").filter({ hasText: "Link copied." }).waitFor();
      await screenshot(page, "wallet-referral-list-en");
      await page.setViewportSize(DESKTOP);
      await screenshot(page, "wallet-referral-desktop-en");
      expect(errors).to.deep.equal([]);
      expect(b.errors).to.deep.equal([]);
      await context.close();
      await b.context.close();
    });

    it("selects the link for the user to copy when the browser refuses the clipboard", async function () {
      const url = stack.server.url;
      const context = await stack.browser.newContext({ viewport: PHONE, locale: "en" });
      // The refusal a browser gives without the permission, made certain for the test.
      await context.addInitScript(
        'navigator.clipboard.writeText = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));',
      );
      const { page, errors } = await openPage(stack.browser, { context });
      await page.goto(`${url}/wallet?lang=en`);
      await signUpInPage(stack, page, "13700137003");
      await page.goto(`${url}/wallet?tab=referral&lang=en`);
      await page.getByTestId("referral-link-copy").click();
      await page.getByTestId("referral-copied").filter({ hasText: "did not let the page copy" }).waitFor();
      const selection = await page.evaluate<{ id: string; start: number; end: number; length: number }>(
        "({ id: document.activeElement.dataset.testid, start: document.activeElement.selectionStart, " +
          "end: document.activeElement.selectionEnd, length: document.activeElement.value.length })",
      );
      expect(selection.id).to.equal("referral-link");
      expect([selection.start, selection.end]).to.deep.equal([0, selection.length]);
      await screenshot(page, "wallet-referral-refused-en");
      expect(errors).to.deep.equal([]);
      await context.close();
    });
  });

  describe("ads", function () {
    it("shows the vouchers, the tasks against the cap, the next conversion and the conversion itself, as the API has them", async function () {
      const url = stack.server.url;
      const admin = (method: string, route: string, body?: unknown) =>
        call(url, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
      const { page, errors } = await openPage(stack.browser, { viewport: PHONE, locale: "zh-CN" });
      await page.goto(`${url}/wallet`);
      const phone = "13600136004";
      const userId = await signUpInPage(stack, page, phone);

      // A merchant the shop may name, with ad credit; an ad network.
      const merchant = await admin("POST", "/v1/admin/merchants", { name: "Ad merchant" });
      expect(merchant.status, JSON.stringify(merchant.body)).to.equal(201);
      expect((await settledOperation(url, TEST_ADMIN_TOKEN, merchant.body.operation.operationId)).state).to.equal("confirmed");
      const allowed = await call(url, "PUT", `/v1/merchant/shops/${stack.shop.shopId}`, { token: merchant.body.apiKey });
      expect(allowed.status, JSON.stringify(allowed.body)).to.equal(200);
      const topUp = await admin("POST", `/v1/admin/merchants/${merchant.body.merchantId}/ad-credit`, { amount: "100" });
      expect(topUp.status, JSON.stringify(topUp.body)).to.equal(202);
      expect((await settledOperation(url, TEST_ADMIN_TOKEN, topUp.body.operationId, 60_000)).state).to.equal("confirmed");
      const network = await admin("POST", "/v1/admin/ad-networks", { name: "Video network", scheme: "hmac-sha256" });
      expect(network.status, JSON.stringify(network.body)).to.equal(201);
      const callback = (transactionId: string) => {
        const raw = JSON.stringify({ transactionId, userId });
        const ts = Math.floor(Date.now() / 1000);
        return call(url, "POST", network.body.callbackPath, {
          body: raw,
          headers: {
            "content-type": "application/json",
            "x-gp-timestamp": String(ts),
            "x-gp-signature": signPayload(network.body.secret, ts, raw),
          },
        });
      };

      // The empty tab first, with the plain line on how a task is done.
      await page.goto(`${url}/wallet?tab=ads`);
      await page.getByTestId("ads-no-vouchers").waitFor();
      expect(await text(page, "ads-how"))
        .to.contain("激励广告")
        .and.contain("无需任何操作");
      expect(await page.getByTestId("ads-next-none").innerText()).to.contain("你还没有广告券");

      // A sale of 200 by the ad merchant gives 200 vouchers.
      const orderId = `ad-${randomUUID()}`;
      expect((await postOrder(url, stack.shop, { orderId, phone, amount: "200", adMerchantId: merchant.body.merchantId })).status).to.equal(
        202,
      );
      expect((await settledOrder(url, stack.shop.shopId, orderId, 60_000)).state).to.equal("confirmed");
      const myAds = async () => (await pageCall(page, "GET", "/v1/me/ads")).body;
      let ads = await until(myAds, (v) => v.vouchers !== "0", "vouchers issued");
      expect(ads).to.deep.include({ vouchers: "200", tasksToday: 0, dailyTaskCap: 3 });
      expect(ads.byMerchant).to.deep.equal([{ merchantId: merchant.body.merchantId, vouchers: "200" }]);
      expect(ads.nextCompletion).to.deep.equal({ converts: "0", tasksUntilRelease: 2 });
      expect(ads.nextRelease).to.include({ inTasks: 2, vouchers: "5", backing: "0.75" }); // 5 of 200 vouchers carry 5/200 of 30

      /** The page's figures against the API's answer `a`, in `lang`. */
      const samePage = async (a: typeof ads, lang: string) => {
        await page
          .getByTestId("ads-tasks")
          .filter({ hasText: fmt(lang, String(a.tasksToday), 0) })
          .waitFor();
        expect(await value(page, "ads-tasks")).to.equal(`${a.tasksToday}/${a.dailyTaskCap}`);
        expect(await value(page, "ads-vouchers")).to.equal(a.vouchers);
        expect(await text(page, "ads-vouchers")).to.equal(fmt(lang, a.vouchers, 6));
        expect(await value(page, "ads-converting")).to.equal(a.converting);
        expect(await value(page, "ads-next-converts")).to.equal(a.nextCompletion.converts);
        expect(
          await page.getByTestId("ads-merchant-vouchers").evaluateAll((els) => els.map((e) => e.getAttribute("data-value"))),
        ).to.deep.equal(a.byMerchant.map((m: { vouchers: string }) => m.vouchers));
        if (a.nextRelease) {
          expect(await value(page, "ads-next-in")).to.equal(String(a.nextRelease.inTasks));
          expect(await value(page, "ads-next-vouchers")).to.equal(a.nextRelease.vouchers);
          expect(await value(page, "ads-next-points")).to.equal(a.nextRelease.points);
          expect(await text(page, "ads-next-points")).to.equal(`${fmt(lang, a.nextRelease.points, 6)} GP`);
          expect(await value(page, "ads-next-value")).to.equal(a.nextRelease.value);
          expect(await text(page, "ads-next-line")).to.contain(fmt(lang, a.nextRelease.points, 6));
        } else expect(await page.getByTestId("ads-next-points").count()).to.equal(0);
      };
      await page.getByTestId("ads-refresh").click();
      await page.getByTestId("ads-by-merchant").waitFor();
      await samePage(ads, "zh-CN");
      expect(await text(page, "ads-tasks")).to.equal("0 / 3");
      expect(await page.getByTestId("ads-by-merchant").innerText()).to.contain(merchant.body.merchantId);
      await screenshot(page, "wallet-ads-vouchers-zh");

      const pointsBefore = parseUnits((await pageCall(page, "GET", "/v1/me")).body.points, 18);
      // The first task: counted by the network's callback, the next one converts 5.
      const first = await callback(`tx-${randomUUID()}`);
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.body).to.include({ tasksToday: 1, released: "0" });
      ads = await myAds();
      expect(ads.nextCompletion).to.deep.equal({ converts: "5", tasksUntilRelease: 1 });
      const estimate = ads.nextRelease;
      expect(Number(estimate.points)).to.be.greaterThan(0);
      await page.getByTestId("ads-refresh").click();
      await samePage(ads, "zh-CN");
      expect(await text(page, "ads-next-line")).to.contain("下一个任务");

      // The second task releases 5 vouchers; the relayer converts them on the chain, minting what was estimated.
      const second = await callback(`tx-${randomUUID()}`);
      expect(second.body).to.include({ tasksToday: 2, released: "5" });
      ads = await until(myAds, (v) => v.conversions[0]?.state === "confirmed", "the conversion confirmed");
      const conversion = ads.conversions[0];
      expect(conversion).to.include({ vouchers: "5", backing: estimate.backing, points: estimate.points });
      expect(ads).to.deep.include({ vouchers: "195", converting: "0", tasksToday: 2 });
      // The GP reached the custodial account on the chain: the account's points are the conversion's.
      const me = (await pageCall(page, "GET", "/v1/me")).body;
      const provider = new JsonRpcProvider(stack.chainUrl);
      const onChain = await Custody__factory.connect(deployments().custody, provider).accountOf(me.account);
      provider.destroy();
      expect(onChain.points - pointsBefore).to.equal(parseUnits(conversion.points, 18));
      expect(parseUnits(me.points, 18)).to.equal(onChain.points);
      await page.getByTestId("ads-refresh").click();
      await page.locator('[data-state="confirmed"][data-conversion]').waitFor();
      await samePage(ads, "zh-CN");
      expect(await value(page, "ads-conversion-points")).to.equal(conversion.points);
      expect(await value(page, "ads-conversion-backing")).to.equal(conversion.backing);
      expect(await value(page, "ads-conversion-vouchers")).to.equal("5");
      expect(await text(page, "ads-conversion-state")).to.equal("已确认");
      // 2 tasks to the next conversion with 1 left under today's cap: the page says the rest comes on later days.
      expect(await text(page, "ads-next-later")).to.contain("只能再计入 1 个");
      await screenshot(page, "wallet-ads-converted-zh");

      // The third task reaches the cap; a fourth is refused by the server and the page says the day is done.
      expect((await callback(`tx-${randomUUID()}`)).body).to.include({ tasksToday: 3 });
      const refused = await callback(`tx-${randomUUID()}`);
      expect(refused.status).to.equal(422);
      expect(refused.body.error.code).to.equal("DAILY_TASK_CAP");
      ads = await myAds();
      expect(ads).to.deep.include({ tasksToday: 3, nextRelease: null });
      expect(ads.nextCompletion).to.deep.equal({ converts: "0", tasksUntilRelease: null });

      // English, on the same phone.
      await page.goto(`${url}/wallet?tab=ads&lang=en`);
      await page.getByTestId("ads-capped").waitFor();
      await samePage(ads, "en");
      expect(await text(page, "ads-tasks")).to.equal("3 of 3");
      expect(await text(page, "ads-how"))
        .to.contain("rewarded ad")
        .and.contain("nothing to press");
      expect(await text(page, "ads-next-none")).to.contain("3 tasks a day");
      expect(await text(page, "ads-conversion-points")).to.equal(`${fmt("en", conversion.points, 6)} GP`);
      expect(await text(page, "ads-conversion-state")).to.equal("Confirmed");
      await screenshot(page, "wallet-ads-capped-en");
      await page.setViewportSize(DESKTOP);
      await screenshot(page, "wallet-ads-desktop-en");
      expect(errors).to.deep.equal([]);
      await page.context().close();
    });
  });
});
