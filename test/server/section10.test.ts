/**
 * The fixed interface (docs/api.md) as an integrator reads it: every endpoint it names, called with only the
 * headers and fields it names (and the JSON content type of "JSON in and out"), no
 * Idempotency-Key, no X-GP-Shop where the path names the shop.
 */
import { expect } from "chai";
import { signPayload } from "../../server/domain/inbound-signature";
import { TEST_ADMIN_TOKEN, type TestRelayer, startTestRelayer } from "../helpers/relayer";

const DECIMAL = /^\d+(\.\d+)?$/;

describe("the fixed interface (docs/api.md), called exactly as written", function () {
  this.timeout(180_000);
  let relayer: TestRelayer;
  let shop: { shopId: string; webhookSecret: string };

  /** A request carrying only these headers (fetch adds its transport ones: host, length, accept, user agent). */
  async function send(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
    const res = await fetch(relayer.url + path, { method, headers, body });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get("content-type"), body: text ? JSON.parse(text) : undefined };
  }
  const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  const json = { "content-type": "application/json" };

  /** The order webhook with the three headers of section 10, signed as it says: HMAC(secret, timestamp + "." + raw body). */
  function order(body: Record<string, string>, s = shop) {
    const raw = JSON.stringify(body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    return send(
      "POST",
      "/v1/webhooks/orders",
      { ...json, "x-gp-shop": s.shopId, "x-gp-timestamp": timestamp, "x-gp-signature": signPayload(s.webhookSecret, timestamp, raw) },
      raw,
    );
  }

  before(async function () {
    relayer = await startTestRelayer();
  });
  after(async function () {
    await relayer?.stop();
  });

  it("POST /v1/admin/shops with Authorization and { name } creates a shop", async function () {
    const res = await send("POST", "/v1/admin/shops", { ...admin, ...json }, JSON.stringify({ name: "Section 10" }));
    expect(res.status).to.equal(201);
    expect(res.body.shopId).to.be.a("string").and.not.equal("");
    expect(res.body.webhookSecret).to.be.a("string").and.not.equal("");
    shop = { shopId: res.body.shopId, webhookSecret: res.body.webhookSecret };
  });

  it("POST /v1/webhooks/orders answers 202 { orderId, state } for a new order, with and without referrerId", async function () {
    const first = await order({ orderId: "s10-1", userId: "ana", amount: "100.00" });
    expect([first.status, first.body]).to.deep.equal([202, { orderId: "s10-1", state: "received" }]);
    const referred = await order({ orderId: "s10-2", userId: "ben", amount: "10", referrerId: "ana" });
    expect([referred.status, referred.body]).to.deep.equal([202, { orderId: "s10-2", state: "received" }]);
  });

  it("answers the same order again 200 with its current state, and the same order id with another body 409", async function () {
    const again = await order({ orderId: "s10-1", userId: "ana", amount: "100.00" });
    expect(again.status).to.equal(200);
    expect(again.body.orderId).to.equal("s10-1");
    expect(["received", "submitted", "confirmed"]).to.include(again.body.state);
    const other = await order({ orderId: "s10-1", userId: "ana", amount: "100.01" });
    expect(other.status).to.equal(409);
    expect(other.body.error.code).to.equal("ORDER_CONFLICT");
    expect(other.body.error.message).to.be.a("string").and.not.equal("");
    const kept = await send("GET", `/v1/shops/${shop.shopId}/orders/s10-1`, admin);
    expect(kept.body.amount, "the first body stands").to.equal("100");
  });

  it("GET /v1/shops/{shopId}/orders/{orderId} shows the states until confirmed, with gpMinted and txHash, to the admin", async function () {
    const seen = new Set<string>();
    const deadline = Date.now() + 30_000;
    let last;
    do {
      last = await send("GET", `/v1/shops/${shop.shopId}/orders/s10-1`, admin);
      expect(last.status).to.equal(200);
      seen.add(last.body.state);
      if (last.body.state === "confirmed") break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    expect(
      [...seen].every((s) => ["received", "submitted", "confirmed"].includes(s)),
      [...seen].join(),
    ).to.equal(true);
    expect(last.body.state).to.equal("confirmed");
    expect(last.body.gpMinted).to.match(DECIMAL);
    // The first order of a fresh pool is the worked example's first order (docs/rules.md).
    expect(last.body.gpMinted).to.equal("20.999999");
    expect(last.body.txHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("GET /v1/shops/{shopId}/orders/{orderId} answers the shop with its own key, no X-GP-Shop needed", async function () {
    const res = await send("GET", `/v1/shops/${shop.shopId}/orders/s10-1`, { authorization: `Bearer ${shop.webhookSecret}` });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ orderId: "s10-1", state: "confirmed" });
  });

  it("GET /v1/shops/{shopId}/orders/{orderId} refuses another shop's key, and the path's shop decides whose key counts", async function () {
    const made = await send("POST", "/v1/admin/shops", { ...admin, ...json }, JSON.stringify({ name: "Another shop" }));
    const other = { shopId: made.body.shopId as string, webhookSecret: made.body.webhookSecret as string };
    const theirs = await send("GET", `/v1/shops/${shop.shopId}/orders/s10-1`, { authorization: `Bearer ${other.webhookSecret}` });
    expect([theirs.status, theirs.body.error.code]).to.deep.equal([401, "UNAUTHORIZED"]);
    const named = await send("GET", `/v1/shops/${shop.shopId}/orders/s10-1`, {
      authorization: `Bearer ${other.webhookSecret}`,
      "x-gp-shop": other.shopId,
    });
    expect(named.status, "X-GP-Shop cannot point the path's shop at another key").to.equal(401);
  });

  it("GET /v1/pool is public: assets, supply, price to 18 places, maxIssuance, minted, params", async function () {
    const res = await send("GET", "/v1/pool");
    expect(res.status).to.equal(200);
    for (const field of ["assets", "supply", "maxIssuance", "minted"]) expect(res.body[field], field).to.match(DECIMAL);
    expect(res.body.price).to.match(/^\d+\.\d{18,}$/);
    expect(res.body.params).to.be.an("object").that.is.not.empty;
  });

  it("GET /healthz answers 200 once the server can take orders", async function () {
    expect((await send("GET", "/healthz")).status).to.equal(200);
  });

  it("GET /v1/openapi.json is an OpenAPI 3 document with these endpoints, the Idempotency-Key optional on them", async function () {
    const res = await send("GET", "/v1/openapi.json");
    expect(res.status).to.equal(200);
    expect(res.body.openapi).to.match(/^3\./);
    const operations: [string, string][] = [
      ["post", "/v1/admin/shops"],
      ["post", "/v1/webhooks/orders"],
      ["get", "/v1/shops/{shopId}/orders/{orderId}"],
      ["get", "/v1/pool"],
      ["get", "/healthz"],
    ];
    for (const [method, path] of operations) {
      const operation = res.body.paths[path]?.[method];
      expect(operation, `${method} ${path}`).to.be.an("object");
      const required = (operation.parameters ?? [])
        .filter((p: { in: string; required?: boolean }) => p.in === "header" && p.required)
        .map((p: { name: string }) => p.name);
      const expected = path === "/v1/webhooks/orders" ? ["x-gp-shop", "x-gp-timestamp", "x-gp-signature"] : [];
      expect(required.sort(), `${method} ${path}`).to.deep.equal(expected.sort());
    }
    // The order's states are the section's four, whatever a shop's terms (a pending order is received, flagged).
    expect(res.body.components.schemas.OrderState.enum).to.deep.equal(["received", "submitted", "confirmed", "rejected"]);
  });
});
