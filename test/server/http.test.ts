/**
 * The relayer end to end over real HTTP: anvil, the real database code (PGlite), the Express
 * app and the sender loop, as npm start assembles them.
 */
import { expect } from "chai";
import Decimal from "decimal.js";
import { parseUnits } from "ethers";
import type { Express } from "express";
import { custodialUserId } from "../../server/adapters/chain/ids";
import { countByState } from "../../server/adapters/db/orders";
import { signedInboundOrder } from "../helpers/inbound-orders";
import {
  TEST_ADMIN_TOKEN,
  TEST_USER_SALT,
  type TestRelayer,
  call,
  createShop,
  postOrder,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

const now = () => Math.floor(Date.now() / 1000);

/** Every "METHOD /path" the Express app serves, in OpenAPI's `{param}` form. */
function servedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          found.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, "{$1}")}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as any).router.stack);
  return found;
}

describe("the relayer over HTTP", function () {
  this.timeout(180_000);
  let relayer: TestRelayer;
  let base: string;
  let shop: { shopId: string; webhookSecret: string };
  const totals = async () => ({ orders: await countByState(relayer.db), supply: await relayer.chain.points.totalSupply() });

  before(async function () {
    relayer = await startTestRelayer();
    base = relayer.url;
    shop = await createShop(base, "Worked example");
  });
  after(async function () {
    await relayer?.stop();
  });

  describe("the worked example of docs/rules.md, sent as webhooks", function () {
    it("mints 21, 14.7 and 12.495 GP for three orders of 100, and the pool shows 90 backing 48.195 GP", async function () {
      for (const id of ["A", "B", "C"]) {
        const res = await postOrder(base, shop, { orderId: id, userId: "alice", amount: "100.00" });
        expect(res.status).to.equal(202);
        expect(res.body).to.deep.equal({ orderId: id, state: "received" });
      }
      const settled = [];
      for (const id of ["A", "B", "C"]) settled.push(await settledOrder(base, shop.shopId, id));
      expect(settled.map((o) => [o.state, o.gpMinted])).to.deep.equal([
        ["confirmed", "20.999999"],
        ["confirmed", "14.7"],
        ["confirmed", "12.495"],
      ]);
      expect(settled[0].txHash).to.match(/^0x[0-9a-f]{64}$/);
      const pool = await call(base, "GET", "/v1/pool");
      expect(pool.status).to.equal(200);
      expect(pool.body).to.deep.include({ assets: "90", supply: "48.195", minted: "48.195", paused: false });
      // The price is assets / supply, rounded to 18 places, computed here from the worked example's
      // figures (docs/rules.md, "The worked example").
      expect(pool.body.price).to.equal(Decimal.clone({ precision: 60 }).div(90, "48.195").toFixed(18));
    });

    it("gives an unknown user a custodial account holding the GP", async function () {
      const res = await postOrder(base, shop, { orderId: "new-user-1", userId: "newcomer", amount: "10" });
      expect(res.status).to.equal(202);
      const order = await settledOrder(base, shop.shopId, "new-user-1");
      const account = await relayer.chain.custody.accountOf(custodialUserId(TEST_USER_SALT, "newcomer"));
      expect(order.state).to.equal("confirmed");
      expect(account.points).to.equal(parseUnits(order.gpMinted, 18));
    });
  });

  describe("duplicates", function () {
    it("answers a repeated webhook 200 with the order's state, and mints once", async function () {
      const body = { orderId: "dup-seq", userId: "bob", amount: "25" };
      expect((await postOrder(base, shop, body)).status).to.equal(202);
      const settled = await settledOrder(base, shop.shopId, "dup-seq");
      const supply = await relayer.chain.points.totalSupply();
      const again = await postOrder(base, shop, body);
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.equal({ orderId: "dup-seq", state: "confirmed" });
      await new Promise((r) => setTimeout(r, 300));
      expect(await relayer.chain.points.totalSupply()).to.equal(supply);
      expect((await settledOrder(base, shop.shopId, "dup-seq")).txHash).to.equal(settled.txHash);
    });

    it("takes 20 identical webhooks at once: one 202, nineteen 200, one order, one mint", async function () {
      const body = { orderId: "dup-burst", userId: "carol", amount: "40" };
      const supplyBefore = await relayer.chain.points.totalSupply();
      const answers = await Promise.all(Array.from({ length: 20 }, () => postOrder(base, shop, body)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 202)).to.have.length(1);
      expect(statuses.filter((s) => s === 200)).to.have.length(19);
      const order = await settledOrder(base, shop.shopId, "dup-burst");
      await new Promise((r) => setTimeout(r, 300));
      const minted = (await relayer.chain.points.totalSupply()) - supplyBefore;
      expect(order.state).to.equal("confirmed");
      // The buyer's GP plus nothing else: carol has no referrer, so the supply grew by her GP only.
      expect(minted).to.equal(parseUnits(order.gpMinted, 18));
    });

    it("refuses the same order id with a different body (409 ORDER_CONFLICT) and keeps the first", async function () {
      const res = await postOrder(base, shop, { orderId: "dup-seq", userId: "bob", amount: "26" });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal("ORDER_CONFLICT");
      expect((await call(base, "GET", `/v1/shops/${shop.shopId}/orders/dup-seq`, { token: TEST_ADMIN_TOKEN })).body.amount).to.equal("25");
    });
  });

  describe("bad webhooks are refused with their code and change nothing", function () {
    const good = () => ({ orderId: `bad-${Math.random()}`, userId: "mallory", amount: "10" });
    const cases: [string, () => { headers: Record<string, string>; body: string }, number, string][] = [
      ["an unknown shop", () => sign({ ...shop, shopId: "shop_nope" }, good()), 401, "UNKNOWN_SHOP"],
      ["no shop header", () => drop(sign(shop, good()), "x-gp-shop"), 401, "UNKNOWN_SHOP"],
      ["a signature made with another secret", () => sign({ ...shop, webhookSecret: "whsec_wrong" }, good()), 401, "BAD_SIGNATURE"],
      ["no signature", () => drop(sign(shop, good()), "x-gp-signature"), 401, "BAD_SIGNATURE"],
      [
        "a body changed after signing",
        () => ({ ...sign(shop, good()), body: JSON.stringify({ ...good(), amount: "9999" }) }),
        401,
        "BAD_SIGNATURE",
      ],
      ["a timestamp 301 s old", () => sign(shop, good(), now() - 301), 401, "STALE_TIMESTAMP"],
      // The server reads its clock a moment after the signing: 301 s ahead at signing can be 300 s
      // by then (the exact boundary is checked with a fixed clock in inbound-signature.test.ts).
      ["a timestamp 310 s ahead", () => sign(shop, good(), now() + 310), 401, "STALE_TIMESTAMP"],
      ["no timestamp", () => drop(sign(shop, good()), "x-gp-timestamp"), 401, "STALE_TIMESTAMP"],
      ["a body that is not JSON", () => sign(shop, "{orderId: A"), 400, "INVALID_JSON"],
      ["a missing amount", () => sign(shop, { orderId: "x1", userId: "u" }), 400, "VALIDATION_FAILED"],
      ["an amount as a JSON number", () => sign(shop, { orderId: "x2", userId: "u", amount: 100 }), 400, "VALIDATION_FAILED"],
      ["an amount in exponent form", () => sign(shop, { orderId: "x3", userId: "u", amount: "1e5" }), 400, "VALIDATION_FAILED"],
      ["a negative amount", () => sign(shop, { orderId: "x4", userId: "u", amount: "-5" }), 400, "VALIDATION_FAILED"],
      [
        "more places than the settlement token has",
        () => sign(shop, { orderId: "x5", userId: "u", amount: "1.0000001" }),
        400,
        "VALIDATION_FAILED",
      ],
      ["a zero amount", () => sign(shop, { orderId: "x6", userId: "u", amount: "0.00" }), 400, "AMOUNT_OUT_OF_RANGE"],
      [
        "an amount above the pool's largest order",
        () => sign(shop, { orderId: "x7", userId: "u", amount: "1000000000001" }),
        400,
        "AMOUNT_OUT_OF_RANGE",
      ],
      ["an unknown field", () => sign(shop, { ...good(), price: "1" }), 400, "VALIDATION_FAILED"],
      ["an empty order id", () => sign(shop, { orderId: "", userId: "u", amount: "1" }), 400, "VALIDATION_FAILED"],
    ];
    function sign(s: { shopId: string; webhookSecret: string }, body: unknown, at = now()) {
      const signed = signedInboundOrder(s.shopId, s.webhookSecret, body, at);
      return {
        headers: {
          "content-type": "application/json",
          "x-gp-shop": signed.shopId,
          "x-gp-timestamp": signed.timestamp,
          "x-gp-signature": signed.signature,
        },
        body: signed.rawBody.toString("utf8"),
      };
    }
    function drop(r: { headers: Record<string, string>; body: string }, header: string) {
      const headers = { ...r.headers };
      delete headers[header];
      return { ...r, headers };
    }

    for (const [what, make, status, code] of cases) {
      it(`${what}: ${status} ${code}`, async function () {
        const before = await totals();
        const request = make();
        const res = await call(base, "POST", "/v1/webhooks/orders", { headers: request.headers, body: request.body });
        expect(res.status).to.equal(status);
        expect(res.body.error.code).to.equal(code);
        expect(res.body.error.message).to.be.a("string").and.not.equal("");
        expect(await totals()).to.deep.equal(before);
      });
    }
  });

  describe("order state", function () {
    it("is shown to the shop with its own secret, and to no other shop", async function () {
      const other = await createShop(base, "Other");
      const path = `/v1/shops/${shop.shopId}/orders/A`;
      expect((await call(base, "GET", path, { token: shop.webhookSecret })).body.state).to.equal("confirmed");
      const refused = await call(base, "GET", path, { token: other.webhookSecret });
      expect(refused.status).to.equal(401);
      expect(refused.body.error.code).to.equal("UNAUTHORIZED");
      expect((await call(base, "GET", path)).status).to.equal(401);
    });

    it("is 404 NOT_FOUND for an order the shop never sent", async function () {
      const res = await call(base, "GET", `/v1/shops/${shop.shopId}/orders/never`, { token: shop.webhookSecret });
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal("NOT_FOUND");
    });
  });

  describe("admin", function () {
    it("refuses calls without the admin token", async function () {
      const res = await call(base, "POST", "/v1/admin/shops", {
        token: "gpa_wrong_token_abcdefghijkl",
        body: { name: "x" },
        headers: { "idempotency-key": "k-unauth-1" },
      });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal("UNAUTHORIZED");
    });

    it("replays a shop creation with the same Idempotency-Key, and refuses the key for another body", async function () {
      const headers = { "idempotency-key": "create-shop-replay" };
      const first = await call(base, "POST", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN, body: { name: "Replay" }, headers });
      const second = await call(base, "POST", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN, body: { name: "Replay" }, headers });
      expect(first.status).to.equal(201);
      expect(second.status).to.equal(201);
      expect(second.body).to.deep.equal(first.body);
      expect(second.headers.get("idempotent-replayed")).to.equal("true");
      const other = await call(base, "POST", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN, body: { name: "Another" }, headers });
      expect(other.status).to.equal(409);
      expect(other.body.error.code).to.equal("IDEMPOTENCY_CONFLICT");
      const listed = await call(base, "GET", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN });
      expect(listed.body.shops.filter((s: { name: string }) => s.name === "Replay")).to.have.length(1);
    });

    it("creates a shop without an Idempotency-Key (the fixed interface), refuses a malformed key, and needs a name", async function () {
      const noKey = await call(base, "POST", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN, body: { name: "x" } });
      expect(noKey.status).to.equal(201);
      expect(noKey.headers.get("idempotent-replayed")).to.equal(null);
      for (const key of ["", "k".repeat(256), "has space", "clé"]) {
        const bad = await call(base, "POST", "/v1/admin/shops", {
          token: TEST_ADMIN_TOKEN,
          body: { name: "y" },
          headers: { "idempotency-key": key },
        });
        expect([bad.status, bad.body.error.code], JSON.stringify(key)).to.deep.equal([400, "VALIDATION_FAILED"]);
      }
      for (const key of ["k", "k".repeat(255)]) {
        const ok = await call(base, "POST", "/v1/admin/shops", {
          token: TEST_ADMIN_TOKEN,
          body: { name: `key ${key.length}` },
          headers: { "idempotency-key": key },
        });
        expect(ok.status, `a key of ${key.length}`).to.equal(201);
      }
      const noName = await call(base, "POST", "/v1/admin/shops", {
        token: TEST_ADMIN_TOKEN,
        body: {},
        headers: { "idempotency-key": "k-no-name-1" },
      });
      expect([noName.status, noName.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
      const badJson = await call(base, "POST", "/v1/admin/shops", {
        token: TEST_ADMIN_TOKEN,
        body: "{",
        headers: { "idempotency-key": "k-bad-json-1" },
      });
      expect([badJson.status, badJson.body.error.code]).to.deep.equal([400, "INVALID_JSON"]);
    });

    it("rotates a webhook secret: the old one stops working at once", async function () {
      const s = await createShop(base, "Rotating");
      const rotated = await call(base, "POST", `/v1/admin/shops/${s.shopId}/rotate-secret`, {
        token: TEST_ADMIN_TOKEN,
        headers: { "idempotency-key": "rotate-1" },
      });
      expect(rotated.status).to.equal(200);
      expect(rotated.body.webhookSecret).to.not.equal(s.webhookSecret);
      expect((await postOrder(base, s, { orderId: "r1", userId: "u", amount: "1" })).body.error.code).to.equal("BAD_SIGNATURE");
      expect(
        (
          await postOrder(
            base,
            { shopId: s.shopId, webhookSecret: rotated.body.webhookSecret },
            { orderId: "r1", userId: "u", amount: "1" },
          )
        ).status,
      ).to.equal(202);
    });

    it("looks orders up by shop and state", async function () {
      const res = await call(base, "GET", `/v1/admin/orders?shopId=${shop.shopId}&state=confirmed&limit=500`, { token: TEST_ADMIN_TOKEN });
      expect(res.status).to.equal(200);
      expect(res.body.orders.map((o: { orderId: string }) => o.orderId)).to.include.members(["A", "B", "C"]);
      const bad = await call(base, "GET", "/v1/admin/orders?state=lost", { token: TEST_ADMIN_TOKEN });
      expect([bad.status, bad.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
    });
  });

  describe("the API's description", function () {
    it("documents every endpoint the server serves in /v1/openapi.json", async function () {
      const doc = (await call(base, "GET", "/v1/openapi.json")).body;
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
      );
      const own = new Set(["GET /v1/openapi.json", "GET /v1/docs", "GET /v1/docs/init.js"]);
      const served = servedRoutes(relayer.app).filter((r) => !own.has(r));
      expect(served.length).to.be.greaterThan(5);
      expect([...documented].sort()).to.deep.equal([...served].sort());
      expect(doc.openapi).to.match(/^3\./);
    });

    it("documents the headers each call really needs, and the statement's CSV answer", async function () {
      const doc = (await call(base, "GET", "/v1/openapi.json")).body;
      const headers = (method: string, path: string) =>
        Object.fromEntries(
          (doc.paths[path][method].parameters ?? [])
            .filter((p: { in: string }) => p.in === "header")
            .map((p: { name: string; required?: boolean }) => [p.name, p.required === true]),
        );
      expect(headers("post", "/v1/admin/shops")).to.deep.equal({ "idempotency-key": false });
      expect(headers("post", "/v1/me/transfers")).to.deep.equal({ "idempotency-key": true, "x-gp-payment-password": true });
      expect(headers("put", "/v1/me/payment-password")).to.deep.equal({ "x-gp-payment-password": false });
      expect(headers("post", "/v1/merchant/withdrawals")).to.deep.equal({ "idempotency-key": true });
      // A shop calling with its secret names itself; the operator's token needs no shop.
      expect(headers("post", "/v1/users")).to.deep.equal({ "x-gp-shop": false, "idempotency-key": false });
      expect(headers("get", "/v1/shops/{shopId}/orders/{orderId}")).to.deep.equal({});
      expect(headers("post", "/v1/ads/callbacks/{networkId}")).to.deep.equal({ "x-gp-timestamp": true, "x-gp-signature": true });
      expect(Object.keys(doc.paths["/v1/merchant/statement"].get.responses["200"].content)).to.deep.equal(["application/json", "text/csv"]);
    });

    it("serves a browsable docs page", async function () {
      const page = await call(base, "GET", "/v1/docs");
      expect(page.status).to.equal(200);
      expect(page.body).to.contain("swagger-ui-bundle.js");
      const asset = await fetch(`${base}/v1/docs/assets/swagger-ui-bundle.js`);
      expect(asset.status).to.equal(200);
      await asset.arrayBuffer();
    });

    it("serves the docs page under a Content-Security-Policy with no inline script, and its scripts and styles from itself", async function () {
      const page = await fetch(`${base}/v1/docs`);
      const html = await page.text();
      const csp = Object.fromEntries(
        page.headers
          .get("content-security-policy")!
          .split(";")
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
      expect(csp["script-src"]).to.deep.equal(["'self'"]);
      expect(csp["script-src-attr"]).to.deep.equal(["'none'"]);
      expect(csp["default-src"]).to.deep.equal(["'self'"]);
      expect(csp["img-src"]).to.include("data:"); // Swagger UI's icons are data: URLs
      expect(csp).to.not.have.property("upgrade-insecure-requests"); // npm start serves plain HTTP
      const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts).to.have.length(2);
      for (const [, attributes, inline] of scripts) {
        expect(inline.trim(), "inline script").to.equal("");
        const src = /src="([^"]+)"/.exec(attributes)![1];
        expect(src.startsWith("/v1/")).to.equal(true);
        const script = await fetch(base + src);
        expect(script.status).to.equal(200);
        expect(script.headers.get("content-type")).to.match(/^(text|application)\/javascript; charset=utf-8$/);
        await script.arrayBuffer();
      }
      const css = await fetch(`${base}/v1/docs/assets/swagger-ui.css`);
      expect([css.status, css.headers.get("content-type")]).to.deep.equal([200, "text/css; charset=utf-8"]);
      await css.arrayBuffer();
    });

    it("sends the security headers on every answer, and no-store on every answer to an authenticated request", async function () {
      const pool = await call(base, "GET", "/v1/pool");
      expect(pool.headers.get("x-content-type-options")).to.equal("nosniff");
      expect(pool.headers.get("x-frame-options")).to.equal("SAMEORIGIN");
      expect(pool.headers.get("referrer-policy")).to.equal("no-referrer");
      expect(pool.headers.get("content-security-policy")).to.contain("default-src 'self'");
      expect(pool.headers.get("cache-control")).to.equal(null);
      const authenticated = [
        await call(base, "GET", "/v1/admin/shops", { token: TEST_ADMIN_TOKEN }),
        await call(base, "GET", `/v1/shops/${shop.shopId}/orders/A`, { token: shop.webhookSecret }),
        await call(base, "GET", "/v1/me", { token: "gps_not_a_session" }),
        await call(base, "GET", "/v1/merchant", { token: "gpk_not_a_key" }),
        await call(base, "GET", "/v1/pool", { token: TEST_ADMIN_TOKEN }),
      ];
      expect(authenticated.map((a) => a.status)).to.deep.equal([200, 200, 401, 401, 200]);
      for (const answer of authenticated) expect(answer.headers.get("cache-control")).to.equal("no-store");
      expect((await call(base, "GET", "/v1/nothing")).headers.get("x-content-type-options")).to.equal("nosniff");
    });

    it("answers an unknown endpoint 404 NOT_FOUND in the error shape", async function () {
      const res = await call(base, "GET", "/v1/nothing");
      expect(res.status).to.equal(404);
      expect(res.body).to.have.nested.property("error.code", "NOT_FOUND");
    });

    it("answers /healthz 200 when it can take orders", async function () {
      const res = await call(base, "GET", "/healthz");
      expect(res.status).to.equal(200);
      expect(res.body.status).to.equal("ok");
    });
  });
});
