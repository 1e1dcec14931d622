/**
 * Liveness and readiness (issue 14): /livez answers while the process does; /readyz answers 503
 * naming the failing check while the chain node or the database is down, and 200 again when it is
 * back; /healthz keeps SPEC section 10's meaning (the database answers) and its answers. Anonymous
 * answers carry fixed words, never an error message (a node's error names the RPC URL and its key),
 * and a flood of them costs the chain node at most a call or two. /metrics drops the figures of a
 * dependency that does not answer.
 */
import { ORDER_STATES } from "../../server/adapters/db/orders";
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { type RelayerBehindCuttableDatabase, relayerBehindCuttableDatabase } from "../helpers/database-outage";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, startTestRelayer } from "../helpers/relayer";

/** Polls /readyz until it answers `status`. */
async function readyz(url: string, status: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(url, "GET", "/readyz");
    if (res.status === status || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The samples of `name` (any labels) in a /metrics scrape read with the admin token. */
async function metricSamples(url: string, name: string): Promise<string[]> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  expect(res.status).to.equal(200);
  return (await res.text()).split("\n").filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
}

/** Polls /metrics until `name`'s one sample is `line` (a scrape's reading may be half a second old); returns the last samples. */
async function untilSample(url: string, name: string, line: string, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await metricSamples(url, name);
    if ((samples.length === 1 && samples[0] === line) || Date.now() > deadline) return samples;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A paid RPC's stand-in in front of anvil: it serves only the path and query carrying the API key,
 * counts the JSON-RPC methods it is asked (ethers sends one call per request here), and answers
 * 401 while `refusing`, as a node whose quota or key ran out does.
 */
async function startKeyedRpc(key: string) {
  let target = "";
  let refusing = false;
  const methods: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      for (const message of [JSON.parse(body) as { method: string } | { method: string }[]].flat()) methods.push(message.method);
      if (refusing || req.url !== `/v3/${key}?apikey=${key}`) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":"invalid API key"}');
        return;
      }
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        async (upstream) => res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text()),
        () => res.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    /** The relayer's RPC URL for anvil at `anvilUrl`: the key in the path and in the query. */
    urlFor(anvilUrl: string) {
      target = anvilUrl;
      return `http://127.0.0.1:${port}/v3/${key}?apikey=${key}`;
    },
    set refusing(value: boolean) {
      refusing = value;
    },
    /** How many times `method` was asked since the start. */
    count: (method: string) => methods.filter((m) => m === method).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The admin status, asked again until it keeps a failed round of kind "chain" (at most 10 s). */
async function statusOnceAChainErrorIsKept(url: string) {
  const deadline = Date.now() + 10_000;
  let status = await call(url, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN });
  while (!status.body.lastErrors?.some((e: { kind: string }) => e.kind === "chain") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    status = await call(url, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN });
  }
  return status;
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
      // From a reading at most a second old: the head then, at most the head now.
      const head = await relayer.chain.blockNumber();
      expect(health.body.status).to.equal("ok");
      expect(health.body.chainBlock)
        .to.be.a("number")
        .and.within(head - 1, head);
    });

    it("answers /readyz 503 naming the chain, /healthz as before, and is ready again when the node is back", async function () {
      await relayer.stopChain();
      // Answers come from a reading at most a second old: the next one names the chain.
      const down = await readyz(relayer.url, 503, 5_000);
      expect(down.status).to.equal(503);
      expect(down.body.status).to.equal("unavailable");
      expect(down.body.checks.chain.ok).to.equal(false);
      expect(down.body.checks.chain.detail).to.match(/^does not answer/);
      expect(down.body.checks.database.ok).to.equal(true);
      expect(await call(relayer.url, "GET", "/healthz")).to.deep.include({ status: 200, body: { status: "ok", chainBlock: null } });
      expect((await call(relayer.url, "GET", "/livez")).status).to.equal(200);
      // The admin status still answers, naming the chain, and keeps the relayer's failed rounds.
      const status = await statusOnceAChainErrorIsKept(relayer.url);
      expect(status.status).to.equal(200);
      expect([status.body.chain.answers, status.body.chain.head, status.body.wallet.balance]).to.deep.equal([false, null, null]);
      expect(status.body.database.answers).to.equal(true);
      expect(status.body.pending).to.deep.equal({ receivedOrders: 0, queuedOperations: 0, openTransactions: 0 });
      expect(status.body.lastErrors.map((e: { kind: string }) => e.kind)).to.include("chain");
      // /metrics: the chain's figures are absent (not their last values), the database's are there.
      expect(await untilSample(relayer.url, "gp_chain_up", "gp_chain_up 0")).to.deep.equal(["gp_chain_up 0"]);
      for (const name of ["gp_relayer_balance_ether", "gp_relayer_nonce", "gp_chain_head_block", "gp_chain_blocks_behind"])
        expect(await metricSamples(relayer.url, name), name).to.deep.equal([]);
      expect(await metricSamples(relayer.url, "gp_database_up")).to.deep.equal(["gp_database_up 1"]);
      expect(await metricSamples(relayer.url, "gp_orders")).to.have.length(ORDER_STATES.length);

      await relayer.startChain();
      const back = await readyz(relayer.url, 200);
      expect([back.status, back.body.checks.chain.ok]).to.deep.equal([200, true]);
      expect(await untilSample(relayer.url, "gp_chain_up", "gp_chain_up 1")).to.deep.equal(["gp_chain_up 1"]);
      expect(await metricSamples(relayer.url, "gp_relayer_balance_ether")).to.have.length(1);
    });
  });

  describe("when the chain node refuses the relayer (401) and the RPC URL carries an API key", function () {
    const key = `k3y${randomBytes(12).toString("hex")}`;
    let rpc: Awaited<ReturnType<typeof startKeyedRpc>>;
    let relayer: TestRelayer;
    before(async function () {
      rpc = await startKeyedRpc(key);
      relayer = await startTestRelayer({ rpcUrl: (anvilUrl) => rpc.urlFor(anvilUrl) });
    });
    after(async function () {
      rpc.refusing = false;
      await relayer?.stop();
      await rpc?.close();
    });

    /** 50 /readyz at once; how many head reads the node saw meanwhile. */
    async function flood(status: number) {
      const before = rpc.count("eth_blockNumber");
      const answers = await Promise.all(Array.from({ length: 50 }, () => call(relayer.url, "GET", "/readyz")));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(50).fill(status));
      return { answers, reads: rpc.count("eth_blockNumber") - before };
    }

    it("answers a flood of /readyz from one reading while the node answers", async function () {
      expect((await readyz(relayer.url, 200)).status).to.equal(200);
      // The relayer's own rounds read the head too (each ~50 ms): compare with as long a time without floods.
      const startedAt = Date.now();
      let reads = 0;
      for (let wave = 0; wave < 10; wave++) reads += (await flood(200)).reads;
      const took = Date.now() - startedAt;
      const idleFrom = rpc.count("eth_blockNumber");
      await new Promise((r) => setTimeout(r, took));
      const idle = rpc.count("eth_blockNumber") - idleFrom;
      // At most one reading a second is ours (500 /readyz without the shared reading would be 500 more).
      expect(reads, `head reads for 10 floods of 50 /readyz in ${took} ms (${idle} without them)`).to.be.at.most(
        idle + Math.ceil(took / 1_000) + 2,
      );
    });

    it("answers /readyz 503 without the key, costs the node at most a call or two per flood, and shows the key nowhere", async function () {
      rpc.refusing = true;
      // What ethers says of a refused call names the whole URL, key included: what must not get out.
      const raw = await relayer.chain.blockNumber().then(
        () => "",
        (error: Error) => error.message,
      );
      expect(raw).to.include(key);

      const down = await readyz(relayer.url, 503);
      expect(down.status).to.equal(503);
      expect(down.body.checks.chain).to.deep.equal({ ok: false, detail: "does not answer" });
      expect(down.body.checks.database).to.deep.equal({ ok: true, detail: "answers" });
      const { answers, reads } = await flood(503);
      expect(reads, "head reads for 50 /readyz").to.be.at.most(2);
      for (const a of answers) expect(JSON.stringify(a.body)).not.to.include(key);
      const health = await call(relayer.url, "GET", "/healthz");
      expect([health.status, health.body]).to.deep.equal([200, { status: "ok", chainBlock: null }]);

      const status = await statusOnceAChainErrorIsKept(relayer.url);
      expect(status.body.chain.answers).to.equal(false);
      // The messages are kept, with the URL cut to its scheme and host.
      expect(status.body.chain.error).to.include(rpc.origin);
      expect(status.body.lastErrors.find((e: { kind: string }) => e.kind === "chain").message).to.include(rpc.origin);
      expect(JSON.stringify(status.body)).not.to.include(key);
      const metrics = await fetch(`${relayer.url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      const text = await metrics.text();
      expect(text).to.include("gp_chain_up 0");
      expect(text).not.to.include(key);

      rpc.refusing = false;
      expect((await readyz(relayer.url, 200)).status).to.equal(200);
    });
  });

  describe("when the database is down (PostgreSQL)", function () {
    let relayer: TestRelayer;
    let proxy: RelayerBehindCuttableDatabase["proxy"];
    let stack: RelayerBehindCuttableDatabase | undefined;
    before(async function () {
      if (!process.env.DATABASE_URL) this.skip(); // needs a PostgreSQL server behind the cuttable proxy
      stack = await relayerBehindCuttableDatabase(process.env.DATABASE_URL);
      ({ relayer, proxy } = stack);
    });
    after(async function () {
      await stack?.close();
    });

    it("answers /readyz 503 naming the database, /healthz 503 as before, and is ready again when it is back", async function () {
      expect((await readyz(relayer.url, 200)).status).to.equal(200);
      expect(await metricSamples(relayer.url, "gp_orders")).to.have.length(ORDER_STATES.length);
      expect(await metricSamples(relayer.url, "gp_open_transactions")).to.deep.equal(["gp_open_transactions 0"]);
      await proxy.cut();
      const down = await readyz(relayer.url, 503, 5_000);
      expect(down.status).to.equal(503);
      expect([down.body.checks.database.ok, down.body.checks.chain.ok]).to.deep.equal([false, true]);
      expect(down.body.checks.database.detail).to.equal("does not answer");
      expect(await call(relayer.url, "GET", "/healthz")).to.deep.include({ status: 503, body: { status: "unavailable" } });
      expect((await call(relayer.url, "GET", "/livez")).status).to.equal(200);
      // /metrics: the database's figures are absent, not their last values; the chain's are there.
      expect(await untilSample(relayer.url, "gp_database_up", "gp_database_up 0")).to.deep.equal(["gp_database_up 0"]);
      for (const name of ["gp_orders", "gp_operations", "gp_open_transactions"])
        expect(await metricSamples(relayer.url, name), name).to.deep.equal([]);
      expect(await metricSamples(relayer.url, "gp_chain_up")).to.deep.equal(["gp_chain_up 1"]);
      expect(await metricSamples(relayer.url, "gp_chain_head_block")).to.have.length(1);

      await proxy.restore();
      const back = await readyz(relayer.url, 200);
      expect([back.status, back.body.checks.database.ok]).to.deep.equal([200, true]);
    });
  });
});
