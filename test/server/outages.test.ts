/**
 * Outages: with the chain node down, orders are still recorded and answered 202, the pool view
 * says UNAVAILABLE, and minting resumes by itself when the node returns. With the database down
 * (PostgreSQL behind a proxy whose link is cut), orders are refused 503 and nothing is accepted;
 * when it returns, the shop's retry is taken and minted.
 */
import { expect } from "chai";
import { parseUnits } from "ethers";
import { type RelayerBehindCuttableDatabase, relayerBehindCuttableDatabase } from "../helpers/database-outage";
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

describe("outages", function () {
  this.timeout(180_000);

  describe("when the chain node is down", function () {
    let relayer: TestRelayer;
    before(async function () {
      relayer = await startTestRelayer();
    });
    after(async function () {
      await relayer?.stop();
    });

    it("records orders, says the pool is unavailable, and mints them when the node is back", async function () {
      const shop = await createShop(relayer.url, "Chain outage");
      expect((await postOrder(relayer.url, shop, { orderId: "before", userId: "ann", amount: "100" })).status).to.equal(202);
      expect((await settledOrder(relayer.url, shop.shopId, "before")).gpMinted).to.equal("20.999999");

      await relayer.stopChain();
      for (const id of ["during-1", "during-2"]) {
        const res = await postOrder(relayer.url, shop, { orderId: id, userId: "ann", amount: "100" });
        expect(res.status).to.equal(202);
      }
      const pool = await call(relayer.url, "GET", "/v1/pool");
      expect([pool.status, pool.body.error.code]).to.deep.equal([503, "UNAVAILABLE"]);
      const health = await call(relayer.url, "GET", "/healthz");
      expect([health.status, health.body.chainBlock]).to.deep.equal([200, null]);
      // An operation the chain must first run is refused as an outage (not as the chain's refusal),
      // and nothing is queued; a registration, queued without the chain, waits for it.
      const pause = await call(relayer.url, "POST", "/v1/admin/pause", {
        token: TEST_ADMIN_TOKEN,
        headers: { "idempotency-key": "pause-in-outage" },
      });
      expect([pause.status, pause.body.error.code]).to.deep.equal([503, "UNAVAILABLE"]);
      expect(await relayer.db.query("SELECT id FROM operations WHERE kind = 'pause'")).to.deep.equal([]);
      const registered = await call(relayer.url, "POST", "/v1/users", {
        token: TEST_ADMIN_TOKEN,
        body: { userId: "ann", password: "ann-login-pw" },
        headers: { "idempotency-key": "register-in-outage" },
      });
      expect(registered.status).to.equal(201);
      await new Promise((r) => setTimeout(r, 1_500)); // the relayer fails a few rounds meanwhile
      expect(
        (await call(relayer.url, "GET", `/v1/operations/${registered.body.operation.operationId}`, { token: TEST_ADMIN_TOKEN })).body.state,
      ).to.equal("queued");
      expect(
        (await call(relayer.url, "GET", `/v1/shops/${shop.shopId}/orders/during-1`, { token: shop.webhookSecret })).body.state,
      ).to.equal("received");

      await relayer.startChain();
      const minted = [
        await settledOrder(relayer.url, shop.shopId, "during-1", 60_000),
        await settledOrder(relayer.url, shop.shopId, "during-2", 60_000),
      ];
      expect(minted.map((o) => [o.state, o.gpMinted])).to.deep.equal([
        ["confirmed", "14.7"],
        ["confirmed", "12.495"],
      ]);
      expect((await call(relayer.url, "GET", "/v1/pool")).body.supply).to.equal("48.195");
      const done = await settledOperation(relayer.url, TEST_ADMIN_TOKEN, registered.body.operation.operationId, 60_000);
      expect(done.state).to.equal("confirmed");
    });
  });

  describe("when the database is down (PostgreSQL)", function () {
    let relayer: TestRelayer;
    let proxy: RelayerBehindCuttableDatabase["proxy"];
    let stack: RelayerBehindCuttableDatabase | undefined;
    before(async function () {
      if (!process.env.DATABASE_URL) this.skip();
      stack = await relayerBehindCuttableDatabase(process.env.DATABASE_URL);
      ({ relayer, proxy } = stack);
    });
    after(async function () {
      await stack?.close();
    });

    it("refuses orders with 503 UNAVAILABLE, accepts nothing, and takes the retry once it is back", async function () {
      const shop = await createShop(relayer.url, "Database outage");
      expect((await postOrder(relayer.url, shop, { orderId: "before", userId: "ben", amount: "100" })).status).to.equal(202);
      await settledOrder(relayer.url, shop.shopId, "before");
      const supply = await relayer.chain.points.totalSupply();

      await proxy.cut();
      const refused = await postOrder(relayer.url, shop, { orderId: "during", userId: "ben", amount: "100" });
      expect([refused.status, refused.body.error.code]).to.deep.equal([503, "UNAVAILABLE"]);
      expect((await call(relayer.url, "GET", "/healthz")).status).to.equal(503);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await relayer.chain.points.totalSupply()).to.equal(supply);

      await proxy.restore();
      const retried = await postOrder(relayer.url, shop, { orderId: "during", userId: "ben", amount: "100" });
      expect(retried.status).to.equal(202);
      const order = await settledOrder(relayer.url, shop.shopId, "during", 60_000);
      expect(order.gpMinted).to.equal("14.7");
      expect((await relayer.chain.points.totalSupply()) - supply).to.equal(parseUnits("14.7", 18));
    });
  });
});
