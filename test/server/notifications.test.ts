/**
 * Signed notifications end to end (issue 18): endpoints registered over HTTP, events written in
 * the transaction of their change, delivered by the relayer's round to a receiver on 127.0.0.1
 * that verifies each with the `standardwebhooks` package (an independent implementation of the
 * specification), through failures, Retry-After, 410, redirects and secret rotation; who may see
 * what; and a relayer killed between the change and the delivery. With PGlite, and with
 * PostgreSQL when DATABASE_URL is set.
 *
 * The retry schedule is shrunk for the tests (retryScale 0.001: 5 s becomes 5 ms, 5 min 300 ms);
 * Retry-After is honoured as given.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { Webhook } from "standardwebhooks";
import type { Db } from "../../server/adapters/db/db";
import { markConfirmed } from "../../server/adapters/db/orders";
import { checkEndpointUrl, createNotifications } from "../../server/services/notifications";
import { addressAllowed, classifyAddress } from "../../server/domain/endpoint-addresses";
import { createNotificationDelivery, nextDelayMs, retryAfterMs } from "../../server/services/notification-delivery";
import { insertEndpoint, insertEvent } from "../../server/adapters/db/notifications";
import { migrate } from "../../server/adapters/db/migrations";
import { openPglite } from "../../server/adapters/db/pglite";
import pino from "pino";
import { freshPostgresDb } from "../helpers/postgres";
import { killHard, startRelayerProcess } from "../helpers/process";
import {
  TEST_ADMIN_TOKEN,
  type TestRelayer,
  call,
  createShop,
  postOrder,
  settledOperation,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/**
 * A receiver on 127.0.0.1: answers each path with what `script[path]` says for the n-th request
 * there; `hang` holds the answer (the request stays open, in `held`) until `release()`.
 */
async function startReceiver() {
  const received: Received[] = [];
  const held: { path: string; open: boolean; answer(): void }[] = [];
  const script = new Map<string, (n: number) => { status: number; headers?: Record<string, string>; hang?: true }>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const p = req.url ?? "/";
      received.push({ path: p, headers, body, at: Date.now() });
      const n = received.filter((r) => r.path === p).length;
      const answer = script.get(p)?.(n) ?? { status: 200 };
      const reply = () => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end("ok");
      };
      if (!answer.hang) return reply();
      const h = { path: p, open: true, answer: reply };
      res.on("close", () => (h.open = false));
      held.push(h);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    script,
    held,
    at: (p: string) => received.filter((r) => r.path === p),
    release: () => held.splice(0).forEach((h) => h.open && h.answer()),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Verifies a delivery with the independent library; returns the parsed payload. */
function verified(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, string> } {
  return new Webhook(secret).verify(r.body, r.headers) as never;
}

function shouldDeliverSignedNotifications(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`signed notifications (${label})`, function () {
    this.timeout(240_000);
    let relayer: TestRelayer;
    let base: string;
    let receiver: Receiver;
    let external = null as { db: Db; close(): Promise<void> } | null;
    const key = () => ({ "idempotency-key": randomUUID() });
    const asShop = (shop: { shopId: string; webhookSecret: string }, method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: shop.webhookSecret, body, headers: { ...key(), "x-gp-shop": shop.shopId } });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
    let orderN = 0;
    /** A shop with one endpoint at `path` taking order.confirmed and order.rejected. */
    async function shopWithEndpoint(p: string) {
      const shop = await createShop(base, `Shop ${p}`);
      const made = await asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, {
        url: receiver.url + p,
        eventTypes: ["order.confirmed", "order.rejected"],
      });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect(made.body.secret).to.match(/^whsec_[A-Za-z0-9+/]+=*$/);
      return { shop, endpoint: made.body as { endpointId: string; secret: string } };
    }
    async function confirmedOrder(shop: { shopId: string; webhookSecret: string }) {
      const orderId = `n-${++orderN}`;
      expect((await postOrder(base, shop, { orderId, userId: `buyer-${orderN}`, amount: "10" })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, orderId)).state).to.equal("confirmed");
      return orderId;
    }
    const log = async (shop: { shopId: string; webhookSecret: string }, endpointId: string) =>
      (await asShop(shop, "GET", `/v1/shops/${shop.shopId}/notification-endpoints/${endpointId}/deliveries`)).body.deliveries as any[];

    before(async function () {
      external = database ? await database() : null;
      receiver = await startReceiver();
      relayer = await startTestRelayer({ db: external?.db, notifications: { allowance: "loopback", retryScale: 0.001, timeoutMs: 5_000 } });
      base = relayer.url;
    });
    after(async function () {
      await relayer?.stop();
      await receiver?.stop();
      await external?.close();
    });

    it("delivers order.confirmed, verified by standardwebhooks, with the order's figures", async function () {
      const { shop, endpoint } = await shopWithEndpoint("/confirmed");
      const orderId = await confirmedOrder(shop);
      const [got] = await until("the delivery", () => receiver.at("/confirmed").length > 0 && receiver.at("/confirmed"));
      const payload = verified(endpoint.secret, got);
      expect(payload.type).to.equal("order.confirmed");
      // Amounts in base units (the settlement token has 6 decimals here), as integer strings.
      expect(payload.data).to.include({ shopId: shop.shopId, orderId, amount: "10000000" });
      expect(payload.data.gpMinted).to.match(/^\d+$/);
      expect(got.headers["webhook-id"]).to.match(/^msg_/);
      expect(() => verified(`whsec_${Buffer.from("another key of 32 bytes........").toString("base64")}`, got)).to.throw();
      const deliveries = await until("the log", async () => {
        const d = await log(shop, endpoint.endpointId);
        return d[0]?.state === "delivered" && d;
      });
      expect(deliveries[0]).to.include({ webhookId: got.headers["webhook-id"], type: "order.confirmed" });
      expect(deliveries[0].attempts).to.have.length(1);
      expect(deliveries[0].attempts[0]).to.include({ status: 200, outcome: "delivered" });
    });

    it("confirms orders while a receiver holds its answer: delivery does not hold up the round", async function () {
      receiver.script.set("/hang", () => ({ status: 200, hang: true }));
      const { shop } = await shopWithEndpoint("/hang");
      await confirmedOrder(shop);
      const [first] = await until("the held delivery", () => receiver.held.length > 0 && receiver.held);
      // Another order of the same shop, and one of a shop with no endpoint, while the first delivery is held.
      await confirmedOrder(shop);
      await confirmedOrder(await createShop(base, "Shop beside the hang"));
      expect(first.open, "the first delivery is still waiting for its answer").to.equal(true);
      // The second delivery to the endpoint is under way too (two per endpoint at once).
      await until("the second held delivery", () => receiver.held.length === 2);
      receiver.release();
      const l = await until("both delivered", async () => {
        const d = await log(
          shop,
          (await asShop(shop, "GET", `/v1/shops/${shop.shopId}/notification-endpoints`)).body.endpoints[0].endpointId,
        );
        return d.length === 2 && d.every((x: any) => x.state === "delivered") && d;
      });
      expect(l.map((d: any) => d.attempts.length)).to.deep.equal([1, 1]);
    });

    it("retries a receiver that fails (500) for a while, then delivers once, with the same webhook-id each time", async function () {
      receiver.script.set("/flaky", (n) => ({ status: n <= 3 ? 500 : 200 }));
      const { shop, endpoint } = await shopWithEndpoint("/flaky");
      await confirmedOrder(shop);
      await until("four attempts", () => receiver.at("/flaky").length >= 4);
      const d = await until("delivered", async () => (await log(shop, endpoint.endpointId)).find((x) => x.state === "delivered"));
      const got = receiver.at("/flaky");
      expect(new Set(got.map((r) => r.headers["webhook-id"])).size).to.equal(1);
      for (const r of got) verified(endpoint.secret, r);
      expect(d.attempts.map((a: any) => a.status)).to.deep.equal([500, 500, 500, 200]);
      // Waits grow along the schedule (scaled): the third retry waited the 30-minute step's 1.8 s (less 10% jitter).
      expect(got[3].at - got[2].at).to.be.greaterThan(1_500);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.at("/flaky")).to.have.length(4);
    });

    it("honours Retry-After on 429", async function () {
      receiver.script.set("/busy", (n) => (n === 1 ? { status: 429, headers: { "retry-after": "2" } } : { status: 204 }));
      const { shop } = await shopWithEndpoint("/busy");
      await confirmedOrder(shop);
      await until("the retry", () => receiver.at("/busy").length >= 2);
      const got = receiver.at("/busy");
      // The schedule alone would wait 5 ms here.
      expect(got[1].at - got[0].at).to.be.at.least(1_900);
    });

    it("disables the endpoint on 410 Gone, and sends it nothing more", async function () {
      receiver.script.set("/gone", () => ({ status: 410 }));
      const { shop, endpoint } = await shopWithEndpoint("/gone");
      await confirmedOrder(shop);
      const now = await until("disabled", async () => {
        const e = await asShop(shop, "GET", `/v1/shops/${shop.shopId}/notification-endpoints/${endpoint.endpointId}`);
        return e.body.enabled === false && e.body;
      });
      expect(now.disabledReason).to.match(/410/);
      await confirmedOrder(shop);
      await new Promise((r) => setTimeout(r, 500));
      expect(receiver.at("/gone")).to.have.length(1);
    });

    it("counts a redirect as a failure and does not follow it", async function () {
      receiver.script.set("/moved", (n) =>
        n === 1 ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : { status: 200 },
      );
      const { shop, endpoint } = await shopWithEndpoint("/moved");
      await confirmedOrder(shop);
      const d = await until("delivered after the redirect", async () =>
        (await log(shop, endpoint.endpointId)).find((x) => x.state === "delivered"),
      );
      expect(d.attempts[0]).to.include({ status: 302, outcome: "failed" });
      expect(d.attempts[0].error).to.match(/redirect/);
      expect(receiver.at("/elsewhere")).to.have.length(0);
    });

    it("signs with the old and the new secret during a rotation's overlap, then the new alone", async function () {
      const { shop, endpoint } = await shopWithEndpoint("/rotated");
      const rotated = await asShop(
        shop,
        "POST",
        `/v1/shops/${shop.shopId}/notification-endpoints/${endpoint.endpointId}/secret-rotations`,
        { overlapSeconds: 3600 },
      );
      expect(rotated.status, JSON.stringify(rotated.body)).to.equal(201);
      expect(rotated.body.secret).to.not.equal(endpoint.secret);
      await confirmedOrder(shop);
      const [got] = await until("the delivery", () => receiver.at("/rotated").length > 0 && receiver.at("/rotated"));
      expect(got.headers["webhook-signature"].split(" ")).to.have.length(2);
      verified(endpoint.secret, got);
      verified(rotated.body.secret, got);
      const again = await asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints/${endpoint.endpointId}/secret-rotations`, {
        overlapSeconds: 0,
      });
      await confirmedOrder(shop);
      const second = await until("the second", () => receiver.at("/rotated").length > 1 && receiver.at("/rotated")[1]);
      expect(second.headers["webhook-signature"].split(" ")).to.have.length(1);
      verified(again.body.secret, second);
      expect(() => verified(rotated.body.secret, second)).to.throw();
    });

    it("redelivers a delivery on request, with the same webhook-id", async function () {
      const { shop, endpoint } = await shopWithEndpoint("/again");
      await confirmedOrder(shop);
      const [d] = await until("delivered", async () => {
        const l = await log(shop, endpoint.endpointId);
        return l[0]?.state === "delivered" && l;
      });
      const res = await asShop(
        shop,
        "POST",
        `/v1/shops/${shop.shopId}/notification-endpoints/${endpoint.endpointId}/deliveries/${d.deliveryId}/redeliver`,
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      await until("the second", () => receiver.at("/again").length >= 2);
      const [a, b] = receiver.at("/again");
      expect(b.headers["webhook-id"]).to.equal(a.headers["webhook-id"]);
      verified(endpoint.secret, b);
    });

    it("refuses private, link-local and mapped addresses at registration (422 ENDPOINT_ADDRESS_REFUSED)", async function () {
      const shop = await createShop(base, "Shop private");
      for (const url of [
        "http://10.0.0.7/h",
        "http://169.254.169.254/latest",
        "http://[fe80::1]/h",
        "http://[::ffff:192.168.1.1]/h",
        "http://192.168.0.1/",
      ]) {
        const res = await asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, { url, eventTypes: ["order.confirmed"] });
        expect(res.status, url).to.equal(422);
        expect(res.body.error.code).to.equal("ENDPOINT_ADDRESS_REFUSED");
      }
      const bad = await asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, {
        url: "ftp://example.com/",
        eventTypes: ["order.confirmed"],
      });
      expect(bad.status).to.equal(400);
      const wrongType = await asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, {
        url: `${receiver.url}/x`,
        eventTypes: ["payment.received"],
      });
      expect(wrongType.status).to.equal(400);
      expect((await asShop(shop, "GET", `/v1/shops/${shop.shopId}/notification-endpoints`)).body.endpoints).to.have.length(0);
    });

    it("lets exactly 10 of 20 registrations at once through (the limit per owner holds under concurrency)", async function () {
      const shop = await createShop(base, "Shop many");
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          asShop(shop, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, {
            url: `${receiver.url}/many-${i}`,
            eventTypes: ["order.confirmed"],
          }),
        ),
      );
      const statuses = answers.map((a) => a.status);
      expect(
        statuses.filter((s) => s === 201),
        JSON.stringify(statuses),
      ).to.have.length(10);
      expect(statuses.filter((s) => s === 400)).to.have.length(10);
      expect((await asShop(shop, "GET", `/v1/shops/${shop.shopId}/notification-endpoints`)).body.endpoints).to.have.length(10);
    });

    it("writes no event for a change that rolled back, and one per change written twice", async function () {
      const { shop } = await shopWithEndpoint("/rollback");
      const orderId = await confirmedOrder(shop);
      const o = (await relayer.db.query<any>("SELECT user_id FROM orders WHERE shop_id = $1 AND order_id = $2", [shop.shopId, orderId]))[0];
      const count = async () =>
        (await relayer.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notification_events WHERE owner_id = $1", [shop.shopId]))[0]
          .n;
      const before = await count();
      const record = { shopId: shop.shopId, orderId: "never", userId: o.user_id, amount: 1n } as never;
      await relayer.db
        .transaction(async (tx) => {
          await tx.query(
            "INSERT INTO orders (shop_id, order_id, user_id, amount, body_hash, chain_order_id, state) VALUES ($1, 'never', $2, 1, 'x', $3, 'received')",
            [shop.shopId, o.user_id, `0x${"ab".repeat(32)}`],
          );
          await markConfirmed(tx, record, 5n, null);
          throw new Error("rolled back");
        })
        .catch(() => undefined);
      expect(await count()).to.equal(before);
      expect(await relayer.db.query("SELECT 1 FROM orders WHERE shop_id = $1 AND order_id = 'never'", [shop.shopId])).to.have.length(0);
      // The same order confirmed again (a reorg settled from the chain): still one event.
      const same = { shopId: shop.shopId, orderId, userId: o.user_id, amount: 10n } as never;
      await relayer.db.transaction((tx) => markConfirmed(tx, same, 5n, null));
      expect(await count()).to.equal(before);
    });

    describe("who reaches what", function () {
      let merchantA: { merchantId: string; apiKey: string };
      let merchantB: { merchantId: string; apiKey: string };
      let staffA: string;
      async function makeMerchant(name: string) {
        const made = await admin("POST", "/v1/admin/merchants", { name });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, made.body.operation.operationId)).state).to.equal("confirmed");
        return made.body as { merchantId: string; apiKey: string };
      }
      before(async function () {
        merchantA = await makeMerchant(`Notify A ${label}`);
        merchantB = await makeMerchant(`Notify B ${label}`);
        const login = `notify-till-${label.toLowerCase().replace(/\W/g, "")}`;
        const made = await admin("POST", `/v1/admin/merchants/${merchantA.merchantId}/staff`, {
          login,
          password: `${login}-pw`,
          role: "staff",
        });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        staffA = (await call(base, "POST", "/v1/staff/sessions", { body: { login, password: `${login}-pw` } })).body.token;
      });

      it("sends the merchant payment.received, redemption.paid, and ad_credit.low once when its credit falls below the mark", async function () {
        const made = await call(base, "POST", "/v1/merchant/notification-endpoints", {
          token: merchantB.apiKey,
          body: { url: `${receiver.url}/merchant-b`, eventTypes: ["payment.received", "redemption.paid", "ad_credit.low"] },
        });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        const secret = made.body.secret as string;
        const events = () => receiver.at("/merchant-b").map((r) => verified(secret, r));
        const shop = await createShop(base, `Ad shop ${label}`);
        expect((await call(base, "PUT", `/v1/merchant/shops/${shop.shopId}`, { token: merchantB.apiKey })).status).to.equal(200);
        const userId = `events-buyer-${label.toLowerCase()}`;
        const user = await admin("POST", "/v1/users", { userId, password: "buyer-login-pw", paymentPassword: "buyer-pay" });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, user.body.operation.operationId)).state).to.equal("confirmed");
        expect((await postOrder(base, shop, { orderId: "ev-1", userId, amount: "100" })).status).to.equal(202);
        expect((await settledOrder(base, shop.shopId, "ev-1")).state).to.equal("confirmed");
        const session = (await call(base, "POST", "/v1/sessions", { body: { userId, password: "buyer-login-pw" } })).body.token;
        const paid = await call(base, "POST", "/v1/me/payments", {
          token: session,
          body: { merchantId: merchantB.merchantId, asset: "GP", amount: "3" },
          headers: { ...key(), "x-gp-payment-password": "buyer-pay" },
        });
        expect(paid.status, JSON.stringify(paid.body)).to.equal(202);
        expect((await settledOperation(base, session, paid.body.operationId)).state).to.equal("confirmed");
        const redeemed = await call(base, "POST", "/v1/merchant/redemptions", {
          token: merchantB.apiKey,
          body: { asset: "GP", amount: "1" },
          headers: key(),
        });
        expect(redeemed.status, JSON.stringify(redeemed.body)).to.equal(202);
        const op = await settledOperation(base, merchantB.apiKey, redeemed.body.operationId);
        expect(op.state).to.equal("confirmed");
        // The payment was a sale too: refused (no credit yet) before the credit arrives, so it spends none.
        await until("the payment's sale refused", async () => {
          const [row] = await relayer.db.query<{ state: string }>("SELECT state FROM voucher_sales WHERE payment_id = $1", [
            paid.body.operationId,
          ]);
          return row?.state === "refused";
        });
        // Credit 150; each order of 200 naming the merchant spends 15% of it (30), and the mark is 100.
        const topUp = await admin("POST", `/v1/admin/merchants/${merchantB.merchantId}/ad-credit`, { amount: "150" });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, topUp.body.operationId)).state).to.equal("confirmed");
        const issued = async () =>
          (
            await relayer.db.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM voucher_sales WHERE merchant_id = $1 AND order_id IS NOT NULL AND state = 'issued'",
              [merchantB.merchantId],
            )
          )[0].n;
        for (const [i, orderId] of ["ev-ad-1", "ev-ad-2", "ev-ad-3"].entries()) {
          expect((await postOrder(base, shop, { orderId, userId, amount: "200", adMerchantId: merchantB.merchantId })).status).to.equal(
            202,
          );
          expect((await settledOrder(base, shop.shopId, orderId)).state).to.equal("confirmed");
          // One sale at a time, so the credit is read after each: 120, 90, 60.
          await until(`sale ${orderId} issued`, async () => (await issued()) === i + 1);
        }
        await until("ad_credit.low", () => events().some((e) => e.type === "ad_credit.low"), 30_000);
        await new Promise((r) => setTimeout(r, 800));
        const got = events();
        const payment = got.find((e) => e.type === "payment.received")!;
        expect(payment.data).to.include({
          paymentId: paid.body.operationId,
          merchantId: merchantB.merchantId,
          asset: "GP",
          amount: "3",
          userId,
        });
        const redemption = got.find((e) => e.type === "redemption.paid")!;
        expect(redemption.data).to.include({ redemptionId: redeemed.body.operationId, asset: "GP", amount: "1" });
        expect(redemption.data.payout).to.match(/^[1-9]\d*$/);
        const low = got.filter((e) => e.type === "ad_credit.low");
        // 150 - 30 = 120 (not low), - 30 = 90 (low: one event), - 30 = 60 (still low: none).
        expect(low.map((e) => e.data.credit)).to.deep.equal(["90000000"]);
        expect(low[0].data).to.include({ merchantId: merchantB.merchantId, threshold: "100000000" });
      });

      it("keeps a shop's endpoints and log from another shop (401 on its path, 404 by id under its own)", async function () {
        const { shop, endpoint } = await shopWithEndpoint("/private-a");
        const other = await createShop(base, "Shop other");
        expect((await asShop(other, "GET", `/v1/shops/${shop.shopId}/notification-endpoints`)).status).to.equal(401);
        for (const suffix of ["", "/deliveries"]) {
          const res = await asShop(other, "GET", `/v1/shops/${other.shopId}/notification-endpoints/${endpoint.endpointId}${suffix}`);
          expect(res.status).to.equal(404);
        }
        const rotate = await asShop(
          other,
          "POST",
          `/v1/shops/${other.shopId}/notification-endpoints/${endpoint.endpointId}/secret-rotations`,
          {},
        );
        expect(rotate.status).to.equal(404);
      });

      it("lets a merchant register with its API key, reads only for its staff (403), and 404 for another merchant", async function () {
        const as = (token: string, method: string, route: string, body?: unknown) =>
          call(base, method, route, { token, body, headers: key() });
        const made = await as(merchantA.apiKey, "POST", "/v1/merchant/notification-endpoints", {
          url: `${receiver.url}/merchant-a`,
          eventTypes: ["payment.received", "redemption.paid"],
        });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        const refused = await as(staffA, "POST", "/v1/merchant/notification-endpoints", {
          url: `${receiver.url}/m`,
          eventTypes: ["payment.received"],
        });
        expect(refused.status).to.equal(403);
        expect(refused.body.error.code).to.equal("FORBIDDEN");
        const read = await as(staffA, "GET", "/v1/merchant/notification-endpoints");
        expect(read.status).to.equal(200);
        expect(read.body.endpoints.map((e: any) => e.endpointId)).to.deep.equal([made.body.endpointId]);
        expect(read.body.endpoints[0]).to.not.have.property("secret");
        const rot = await as(staffA, "POST", `/v1/merchant/notification-endpoints/${made.body.endpointId}/secret-rotations`, {});
        expect(rot.status).to.equal(403);
        for (const suffix of ["", "/deliveries"])
          expect(
            (await as(merchantB.apiKey, "GET", `/v1/merchant/notification-endpoints/${made.body.endpointId}${suffix}`)).status,
          ).to.equal(404);
        // The operator sees it under the merchant, and the audit log names who made it.
        const byOperator = await admin("GET", `/v1/admin/merchants/${merchantA.merchantId}/notification-endpoints`);
        expect(byOperator.body.endpoints.map((e: any) => e.endpointId)).to.deep.equal([made.body.endpointId]);
        const audit = await relayer.db.query<{ actor: string }>(
          "SELECT actor FROM audit_log WHERE action = 'notification-endpoint-created' AND subject = $1",
          [`merchant:${merchantA.merchantId}`],
        );
        expect(audit.map((a) => a.actor)).to.deep.equal([`merchant:${merchantA.merchantId}:${(merchantA as any).keyId}`]);
      });
    });
  });
}

describe("notification endpoint addresses", function () {
  it("classifies loopback, private, link-local and embedded IPv4 addresses", function () {
    // Every way of writing IPv4 loopback inside IPv6 (the URL parser turns [::127.0.0.1] into ::7f00:1).
    for (const a of [
      "127.0.0.1",
      "127.9.9.9",
      "::1",
      "::ffff:127.0.0.1",
      "::127.0.0.1",
      "::7f00:1",
      "::ffff:0:7f00:1",
      "64:ff9b::7f00:1",
      new URL("http://[::127.0.0.1]/").hostname,
    ])
      expect(classifyAddress(a), a).to.equal("loopback");
    for (const a of [
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "fe80::1",
      "fd00::1",
      "::ffff:10.0.0.1",
      "::ffff:a00:1",
      "64:ff9b::10.0.0.1",
      "::",
      "64:ff9b:1::a00:1",
      "2002:a00:1::1",
      "2001::1",
      "fec0::1",
    ])
      expect(classifyAddress(a), a).to.equal("private");
    for (const a of ["93.184.216.34", "2606:4700::1111", "8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808"])
      expect(classifyAddress(a), a).to.equal("public");
    // Link-local, where clouds answer their metadata service, is refused even when every range is allowed.
    for (const a of ["169.254.169.254", "::ffff:169.254.169.254", "fe80::1"]) expect(addressAllowed(a, "all"), a).to.equal(false);
    expect(addressAllowed("10.0.0.1", "all")).to.equal(true);
  });
  it("refuses a host name that resolves to a private address, and loopback unless allowed", async function () {
    const resolve = async (host: string) =>
      host === "inside.example" ? ["10.0.0.5"] : host === "both.example" ? ["93.184.216.34", "127.0.0.1"] : ["93.184.216.34"];
    for (const [url, allowance] of [
      ["https://inside.example/h", "loopback"],
      ["https://both.example/h", "none"],
      ["http://127.0.0.1:9/h", "none"],
    ] as const) {
      const error = await checkEndpointUrl(url, allowance, resolve).catch((e) => e);
      expect(error.code, url).to.equal("ENDPOINT_ADDRESS_REFUSED");
      // A name's answer is not told to the caller: neither the address nor whether it resolved.
      if (!url.includes("127.0.0.1")) {
        expect(JSON.stringify({ message: error.message, details: error.details }), url).to.not.match(
          /10\.0\.0\.5|127\.0\.0\.1|private|loopback/,
        );
        expect(error.details).to.deep.equal({ host: new URL(url).hostname });
      }
    }
    const unresolved = await checkEndpointUrl("https://nowhere.example/h", "none", async () => {
      throw new Error("ENOTFOUND");
    }).catch((e) => e);
    const inside = await checkEndpointUrl("https://inside.example/h", "none", resolve).catch((e) => e);
    expect(unresolved.message.replace("nowhere", "inside")).to.equal(inside.message);
    expect((await checkEndpointUrl("https://both.example/h", "loopback", resolve)).hostname).to.equal("both.example");
    expect((await checkEndpointUrl("https://inside.example/h", "all", resolve)).hostname).to.equal("inside.example");
  });
  it("follows the specification's schedule with jitter, and reads Retry-After", function () {
    expect(nextDelayMs(1, 1, () => 0.5)).to.equal(5_000);
    expect(nextDelayMs(2, 1, () => 0)).to.equal(270_000);
    expect(nextDelayMs(7, 1, () => 1)).to.equal(39_600_000);
    expect(nextDelayMs(8, 1)).to.equal(null);
    expect(retryAfterMs("120")).to.equal(120_000);
    expect(retryAfterMs(new Date(Date.now() + 60_000).toUTCString())).to.be.within(58_000, 60_000);
    expect(retryAfterMs("soon")).to.equal(null);
  });
});

function shouldNeverSendOneAttemptTwiceAtOnce(label: string, open: () => Promise<{ db: Db; close(): Promise<void> }>) {
  it(`two relayers' delivery steps on one database send each message once (${label})`, async function () {
    this.timeout(60_000);
    const { db, close } = await open();
    const receiver = await startReceiver();
    try {
      await migrate(db);
      const owner = { kind: "shop" as const, id: `two-${randomUUID()}` };
      const secret = "whsec_" + Buffer.alloc(32, 7).toString("base64");
      await insertEndpoint(db, {
        id: `nep_${randomUUID().slice(0, 8)}`,
        owner,
        url: `${receiver.url}/two`,
        eventTypes: ["order.confirmed"],
        secret,
        createdBy: "test",
      });
      await db.transaction(async (tx) => {
        for (let i = 0; i < 60; i++)
          await insertEvent(tx, { type: "order.confirmed", owner, dedupeKey: `two:${owner.id}:${i}`, data: { orderId: `o-${i}` } });
      });
      const step = () => createNotificationDelivery({ db, log: pino({ level: "silent" }), options: { allowance: "loopback", batch: 7 } });
      const [a, b] = [step(), step()];
      const run = async (d: ReturnType<typeof step>) => {
        while (receiver.at("/two").length < 60) if ((await d.tick()) === 0) await new Promise((r) => setTimeout(r, 10));
      };
      await Promise.race([
        Promise.all([run(a), run(b)]),
        new Promise((_, reject) => setTimeout(() => reject(new Error("too slow")), 30_000)),
      ]);
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all([a.settled(), b.settled()]);
      const ids = receiver.at("/two").map((r) => verified(secret, r) && r.headers["webhook-id"]);
      expect(ids).to.have.length(60);
      expect(new Set(ids).size).to.equal(60);
    } finally {
      await receiver.stop();
      await close();
    }
  });
}

describe("delivery to a host name", function () {
  it("resolves it when connecting and refuses an address the allowance does not let through", async function () {
    this.timeout(60_000);
    const db = await openPglite(null);
    const receiver = await startReceiver();
    try {
      await migrate(db);
      const port = new URL(receiver.url).port;
      const secret = "whsec_" + Buffer.alloc(32, 9).toString("base64");
      for (const [name, allowance] of [
        ["refused", "none"],
        ["allowed", "loopback"],
      ] as const) {
        const owner = { kind: "shop" as const, id: `named-${name}` };
        const url = `http://localhost:${port}/${name}`;
        await insertEndpoint(db, { id: `nep_${name}`, owner, url, eventTypes: ["order.confirmed"], secret, createdBy: "test" });
        await db.transaction((tx) => insertEvent(tx, { type: "order.confirmed", owner, dedupeKey: `named:${name}`, data: {} }));
        const delivery = createNotificationDelivery({ db, log: pino({ level: "silent" }), options: { allowance } });
        await delivery.tick();
        await delivery.settled();
      }
      expect(receiver.at("/refused")).to.have.length(0);
      expect(receiver.at("/allowed")).to.have.length(1);
      const outcomes = await db.query<{ outcome: string; endpoint_id: string }>(
        "SELECT a.outcome, d.endpoint_id FROM notification_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id ORDER BY d.endpoint_id",
      );
      expect(outcomes).to.deep.equal([
        { outcome: "delivered", endpoint_id: "nep_allowed" },
        { outcome: "refused-address", endpoint_id: "nep_refused" },
      ]);
    } finally {
      await receiver.stop();
      await db.close();
    }
  });
});

describe("sends under way", function () {
  it("keeps to the caps (in the process, per endpoint), and stop() cuts what is under way and records it for a retry", async function () {
    this.timeout(60_000);
    const db = await openPglite(null);
    const receiver = await startReceiver();
    try {
      await migrate(db);
      const secret = "whsec_" + Buffer.alloc(32, 5).toString("base64");
      for (const name of ["a", "b"]) {
        receiver.script.set(`/cap-${name}`, () => ({ status: 200, hang: true }));
        const owner = { kind: "shop" as const, id: `cap-${name}` };
        await insertEndpoint(db, {
          id: `nep_cap_${name}`,
          owner,
          url: `${receiver.url}/cap-${name}`,
          eventTypes: ["order.confirmed"],
          secret,
          createdBy: "test",
        });
        await db.transaction(async (tx) => {
          for (let i = 0; i < 4; i++) await insertEvent(tx, { type: "order.confirmed", owner, dedupeKey: `cap:${name}:${i}`, data: {} });
        });
      }
      const delivery = createNotificationDelivery({
        db,
        log: pino({ level: "silent" }),
        options: { allowance: "loopback", maxInFlight: 3, maxPerEndpoint: 2, timeoutMs: 20_000 },
      });
      let started = 0;
      for (let i = 0; i < 5; i++) started += await delivery.tick();
      expect(started).to.equal(3);
      expect(delivery.inFlight()).to.equal(3);
      await until("three held", () => receiver.held.length === 3);
      const perPath = (p: string) => receiver.held.filter((h) => h.path === p).length;
      expect(perPath("/cap-a")).to.be.at.most(2);
      expect(perPath("/cap-b")).to.be.at.most(2);
      // The given-back claims are due again as they were: no attempt counted for them.
      const counted = await db.query<{ n: number }>("SELECT coalesce(sum(attempts), 0)::int AS n FROM notification_deliveries");
      expect(counted[0].n).to.equal(3);
      await delivery.stop();
      expect(delivery.inFlight()).to.equal(0);
      expect(await delivery.tick()).to.equal(0);
      const attempts = await db.query<{ outcome: string; error: string }>("SELECT outcome, error FROM notification_attempts");
      expect(attempts).to.have.length(3);
      for (const a of attempts) expect(a).to.deep.equal({ outcome: "failed", error: "the relayer stopped before the receiver answered" });
      const states = await db.query<{ state: string }>("SELECT DISTINCT state FROM notification_deliveries");
      expect(states).to.deep.equal([{ state: "pending" }]);
    } finally {
      await receiver.stop();
      await db.close();
    }
  });
});

describe("redelivery requests", function () {
  it("queue one redelivery at a time per delivery, and at most 5 requests a minute per owner", async function () {
    this.timeout(60_000);
    const db = await openPglite(null);
    const receiver = await startReceiver();
    try {
      await migrate(db);
      const owner = { kind: "shop" as const, id: "again-owner" };
      const secret = "whsec_" + Buffer.alloc(32, 3).toString("base64");
      await insertEndpoint(db, {
        id: "nep_again",
        owner,
        url: `${receiver.url}/re`,
        eventTypes: ["order.confirmed"],
        secret,
        createdBy: "t",
      });
      await db.transaction((tx) => insertEvent(tx, { type: "order.confirmed", owner, dedupeKey: "re:1", data: {} }));
      const delivery = createNotificationDelivery({ db, log: pino({ level: "silent" }), options: { allowance: "loopback" } });
      const deliver = async () => {
        await delivery.tick();
        await delivery.settled();
      };
      await deliver();
      const [{ id }] = await db.query<{ id: string }>("SELECT id::text AS id FROM notification_deliveries");
      const service = createNotifications({ allowance: "loopback" });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => "queued",
          (e: { code: string }) => e.code,
        );
      expect(await code(service.redeliver(db, owner, "nep_again", id))).to.equal("queued");
      expect(await code(service.redeliver(db, owner, "nep_again", id))).to.equal("DELIVERY_IN_FLIGHT");
      await deliver();
      expect(receiver.at("/re")).to.have.length(2);
      expect(await code(service.redeliver(db, owner, "nep_again", id))).to.equal("queued");
      expect(await code(service.redeliver(db, owner, "nep_again", id))).to.equal("DELIVERY_IN_FLIGHT");
      expect(await code(service.redeliver(db, owner, "nep_again", "99"))).to.equal("NOT_FOUND");
      expect(await code(service.redeliver(db, owner, "nep_again", id))).to.equal("RATE_LIMITED");
      // Another owner's requests are counted apart.
      expect(await code(service.redeliver(db, { kind: "shop", id: "other" }, "nep_again", id))).to.equal("NOT_FOUND");
      await deliver();
      expect(receiver.at("/re")).to.have.length(3);
    } finally {
      await receiver.stop();
      await db.close();
    }
  });
});

describe("deliveries claimed by several relayers", function () {
  shouldNeverSendOneAttemptTwiceAtOnce("PGlite", async () => {
    const db = await openPglite(null);
    return { db, close: () => db.close() };
  });
  if (process.env.DATABASE_URL) shouldNeverSendOneAttemptTwiceAtOnce("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
});

shouldDeliverSignedNotifications("PGlite");
if (process.env.DATABASE_URL) shouldDeliverSignedNotifications("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));

describe("a relayer killed between the change and the delivery", function () {
  this.timeout(300_000);
  it("delivers the event once after the restart", async function () {
    const receiver = await startReceiver();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-notify-kill-"));
    const env = { GP_WEBHOOK_ALLOW_PRIVATE: "loopback", GP_WEBHOOK_TIMEOUT_MS: "1000", GP_CONFIRMATIONS: "0" };
    let proc = await startRelayerProcess(dir, { ...env, GP_FAULT: "crash-before-delivery" });
    try {
      const token = proc.adminToken;
      const shop = (
        await call(proc.url, "POST", "/v1/admin/shops", {
          token,
          body: { name: "Kill shop" },
          headers: { "idempotency-key": randomUUID() },
        })
      ).body;
      const made = await call(proc.url, "POST", `/v1/shops/${shop.shopId}/notification-endpoints`, {
        token: shop.webhookSecret,
        body: { url: `${receiver.url}/kill`, eventTypes: ["order.confirmed"] },
      });
      expect(made.status, JSON.stringify(made.body)).to.equal(201);
      expect((await postOrder(proc.url, shop, { orderId: "k-1", userId: "kill-buyer", amount: "10" })).status).to.equal(202);
      // The order is confirmed and its event written; the process kills itself on claiming the delivery.
      expect(await proc.exited).to.equal("SIGKILL");
      killHard(proc.anvilPid());
      expect(receiver.at("/kill")).to.have.length(0);
      proc = await startRelayerProcess(dir, env);
      const order = await settledOrder(proc.url, shop.shopId, "k-1", 30_000, proc.adminToken);
      expect(order.state).to.equal("confirmed");
      await until("the delivery after the restart", () => receiver.at("/kill").length > 0, 60_000);
      await new Promise((r) => setTimeout(r, 1_500));
      const got = receiver.at("/kill");
      expect(got).to.have.length(1);
      expect(new Webhook(made.body.secret).verify(got[0].body, got[0].headers)).to.deep.include({ type: "order.confirmed" });
    } finally {
      proc.child.kill("SIGTERM");
      await proc.exited;
      killHard(proc.anvilPid());
      await receiver.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
