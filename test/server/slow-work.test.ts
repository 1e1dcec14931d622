/**
 * Slow work stays out of database transactions: argon2id hashing and the chain simulations that
 * refuse what the chain would refuse run before a route's idempotency transaction opens. On
 * PGlite, with one connection, anything done inside a transaction holds up every other request
 * (webhooks included), so the check is made where it matters: each hash and each simulation is
 * seen, and none of them runs inside a transaction.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Db } from "../../server/adapters/db/db";
import { openPglite } from "../../server/adapters/db/pglite";
import * as credentials from "../../server/services/credentials";
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

describe("slow work outside database transactions", function () {
  this.timeout(120_000);
  const insideTransaction = new AsyncLocalStorage<true>();
  const seen: { what: string; inTransaction: boolean }[] = [];
  let inner: Db;
  let relayer: TestRelayer;
  let base: string;
  const originalHash = credentials.hashPassword;
  const key = () => ({ "idempotency-key": randomUUID() });

  before(async function () {
    inner = await openPglite(null);
    // Every transaction's work runs in this async context, so a hash or a simulation started from
    // inside one (and only from inside one) sees it.
    const db: Db = {
      kind: inner.kind,
      query: (sql, params) => inner.query(sql, params),
      transaction: (work) => inner.transaction((tx) => insideTransaction.run(true, () => work(tx))),
      close: () => inner.close(),
    };
    relayer = await startTestRelayer({ db });
    base = relayer.url;
    const simulate = relayer.chain.simulateCall.bind(relayer.chain);
    // The relayer's own rounds simulate under their claim locks; only requests' simulations are counted here.
    relayer.chain.simulateCall = (c) => {
      if (/server[\\/]http[\\/]/.test(new Error().stack ?? ""))
        seen.push({ what: "simulation", inTransaction: insideTransaction.getStore() === true });
      return simulate(c);
    };
    (credentials as { hashPassword: typeof originalHash }).hashPassword = (password: string) => {
      seen.push({ what: "argon2id", inTransaction: insideTransaction.getStore() === true });
      return originalHash(password);
    };
  });
  after(async function () {
    (credentials as { hashPassword: typeof originalHash }).hashPassword = originalHash;
    await relayer?.stop();
    await inner?.close();
  });

  it("hashes a shop's registration passwords and simulates value moves, merchants and parameters before the transaction opens", async function () {
    const shop = await createShop(base, "Registering shop");
    const registered = await call(base, "POST", "/v1/users", {
      token: shop.webhookSecret,
      body: { userId: "sam", password: "sam-login-pw", paymentPassword: "sam-pay" },
      headers: { ...key(), "x-gp-shop": shop.shopId },
    });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, registered.body.operation.operationId)).state).to.equal("confirmed");
    expect((await postOrder(base, shop, { orderId: "sam-1", userId: "sam", amount: "100" })).status).to.equal(202);
    expect((await settledOrder(base, shop.shopId, "sam-1")).state).to.equal("confirmed");

    const merchant = await call(base, "POST", "/v1/admin/merchants", {
      token: TEST_ADMIN_TOKEN,
      body: { name: "Slow-work café" },
      headers: key(),
    });
    expect(merchant.status, JSON.stringify(merchant.body)).to.equal(201);
    expect((await settledOperation(base, TEST_ADMIN_TOKEN, merchant.body.operation.operationId)).state).to.equal("confirmed");
    const token = (await call(base, "POST", "/v1/sessions", { body: { userId: "sam", password: "sam-login-pw" } })).body.token;
    const paid = await call(base, "POST", "/v1/me/payments", {
      token,
      body: { merchantId: merchant.body.merchantId, asset: "GP", amount: "1" },
      headers: { ...key(), "x-gp-payment-password": "sam-pay" },
    });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(202);
    const fee = await call(base, "PUT", "/v1/admin/pool/parameters/exitFee", {
      token: TEST_ADMIN_TOKEN,
      body: { value: "2000" },
      headers: key(),
    });
    expect(fee.status, JSON.stringify(fee.body)).to.equal(202);

    expect(seen.filter((s) => s.what === "argon2id")).to.have.length(2);
    expect(seen.filter((s) => s.what === "simulation").length).to.be.at.least(3);
    expect(seen.filter((s) => s.inTransaction)).to.deep.equal([]);
  });
});
