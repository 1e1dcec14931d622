/**
 * Liveness and readiness (issue 14): /livez answers while the process does; /readyz answers 503
 * naming the failing check while the chain node or the database is down, and 200 again when it is
 * back; /healthz keeps SPEC section 10's meaning (the database answers) and its answers.
 */
import { expect } from "chai";
import { openPostgres } from "../../server/adapters/db/postgres";
import { freshSchema } from "../helpers/postgres";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, startTestRelayer } from "../helpers/relayer";
import { startTcpProxy } from "../helpers/tcp-proxy";

/** Polls /readyz until it answers `status`. */
async function readyz(url: string, status: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(url, "GET", "/readyz");
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("health", function () {
  this.timeout(180_000);

  describe("when the chain node is down", function () {
    let relayer: TestRelayer;
    before(async function () {
      relayer = await startTestRelayer();
    });
    after(async function () {
      await relayer?.stop();
    });

    it("is live and ready while everything answers, each check named", async function () {
      expect(await call(relayer.url, "GET", "/livez")).to.deep.include({ status: 200, body: { status: "alive" } });
      const ready = await readyz(relayer.url, 200);
      expect(ready.status).to.equal(200);
      expect(ready.body.status).to.equal("ready");
      expect(Object.keys(ready.body.checks)).to.deep.equal(["database", "chain", "gas"]);
      expect([ready.body.checks.database.ok, ready.body.checks.chain.ok, ready.body.checks.gas.ok]).to.deep.equal([true, true, true]);
      expect(ready.body.checks.chain.detail).to.match(/^answers at block \d+$/);
      const health = await call(relayer.url, "GET", "/healthz");
      expect(health.status).to.equal(200);
      expect(health.body).to.deep.equal({ status: "ok", chainBlock: await relayer.chain.blockNumber() });
    });

    it("answers /readyz 503 naming the chain, /healthz as before, and is ready again when the node is back", async function () {
      await relayer.stopChain();
      const down = await call(relayer.url, "GET", "/readyz");
      expect(down.status).to.equal(503);
      expect(down.body.status).to.equal("unavailable");
      expect(down.body.checks.chain.ok).to.equal(false);
      expect(down.body.checks.chain.detail).to.match(/^does not answer/);
      expect(down.body.checks.database.ok).to.equal(true);
      expect(await call(relayer.url, "GET", "/healthz")).to.deep.include({ status: 200, body: { status: "ok", chainBlock: null } });
      expect((await call(relayer.url, "GET", "/livez")).status).to.equal(200);
      // The admin status still answers, naming the chain, and keeps the relayer's failed rounds.
      const deadline = Date.now() + 10_000;
      let status = await call(relayer.url, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN });
      while (!status.body.lastErrors?.some((e: { kind: string }) => e.kind === "chain") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = await call(relayer.url, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN });
      }
      expect(status.status).to.equal(200);
      expect([status.body.chain.answers, status.body.chain.head, status.body.wallet.balance]).to.deep.equal([false, null, null]);
      expect(status.body.database.answers).to.equal(true);
      expect(status.body.pending).to.deep.equal({ receivedOrders: 0, queuedOperations: 0, openTransactions: 0 });
      expect(status.body.lastErrors.map((e: { kind: string }) => e.kind)).to.include("chain");

      await relayer.startChain();
      const back = await readyz(relayer.url, 200);
      expect([back.status, back.body.checks.chain.ok]).to.deep.equal([200, true]);
    });
  });

  describe("when the database is down (PostgreSQL)", function () {
    let relayer: TestRelayer;
    let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
    let schema: Awaited<ReturnType<typeof freshSchema>>;
    before(async function () {
      if (!process.env.DATABASE_URL) this.skip(); // needs a PostgreSQL server behind the cuttable proxy
      schema = await freshSchema(process.env.DATABASE_URL);
      const target = new URL(schema.url);
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(schema.url);
      viaProxy.hostname = "127.0.0.1";
      viaProxy.port = String(proxy.port);
      relayer = await startTestRelayer({ db: await openPostgres(viaProxy.toString()) });
    });
    after(async function () {
      await relayer?.stop();
      await relayer?.db.close();
      await proxy?.close();
      await schema?.drop();
    });

    it("answers /readyz 503 naming the database, /healthz 503 as before, and is ready again when it is back", async function () {
      expect((await readyz(relayer.url, 200)).status).to.equal(200);
      await proxy.cut();
      const down = await call(relayer.url, "GET", "/readyz");
      expect(down.status).to.equal(503);
      expect([down.body.checks.database.ok, down.body.checks.chain.ok]).to.deep.equal([false, true]);
      expect(down.body.checks.database.detail).to.match(/^does not answer/);
      expect(await call(relayer.url, "GET", "/healthz")).to.deep.include({ status: 503, body: { status: "unavailable" } });
      expect((await call(relayer.url, "GET", "/livez")).status).to.equal(200);

      await proxy.restore();
      const back = await readyz(relayer.url, 200);
      expect([back.status, back.body.checks.database.ok]).to.deep.equal([200, true]);
    });
  });
});
