/**
 * GET /metrics (issue 14): Prometheus text that a strict line check parses, figures that move when
 * orders confirm (checked against the database and the chain, not against the code that counts
 * them), a registry per relayer, and who may read it.
 */
import { expect } from "chai";
import { formatEther } from "ethers";
import { ConfigError, loadConfig } from "../../server/config";
import { bearerToken } from "../../server/http/auth";
import { withoutUrls } from "../../server/services/metrics";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, createShop, postOrder, settledOrder, startTestRelayer } from "../helpers/relayer";

const METRICS_TOKEN = "gpm_test_metrics_token_0123456789";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`);
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/**
 * Prometheus text exposition format 0.0.4, line by line: every line is empty, a HELP, a TYPE or a sample
 * of a declared metric; a histogram's buckets rise and its +Inf bucket is its count. Throws on the first bad line.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const lines = text.split("\n");
  expect(lines.pop(), "the text ends with a newline").to.equal("");
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (line === "") continue; // the format allows empty lines
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      expect(helps.has(m[1]), `one HELP for ${m[1]}`).to.equal(false);
      helps.add(m[1]);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      expect(types.has(m[1]), `one TYPE for ${m[1]}`).to.equal(false);
      types.set(m[1], m[2]);
    } else if ((m = SAMPLE.exec(line))) {
      expect(m[3], `the value of: ${line}`).to.match(VALUE);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      const family = m[1].replace(/_(bucket|sum|count)$/, "");
      expect(types.has(m[1]) || types.get(family) === "histogram", `the sample's metric is declared: ${line}`).to.equal(true);
      samples.push({ name: m[1], labels, value: Number(m[3].replace("Inf", "Infinity")) });
    } else {
      expect.fail(`not a line of the Prometheus text format: ${JSON.stringify(line)}`);
    }
  }
  for (const [name, type] of types) {
    if (type !== "histogram") continue;
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).to.be.at.least(buckets[i - 1].value);
    expect(buckets.at(-1)?.labels.le, `${name} ends with +Inf`).to.equal("+Inf");
    expect(buckets.at(-1)?.value).to.equal(samples.find((s) => s.name === `${name}_count`)?.value);
  }
  return { types, samples };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found, `one sample ${name}${JSON.stringify(labels)}`).to.have.length(1);
  return found[0].value;
};

async function scrape(url: string, token: string = METRICS_TOKEN) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).to.equal(200);
  expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe("GET /metrics", function () {
  this.timeout(180_000);
  let relayer: TestRelayer;
  let other: TestRelayer;
  let shop: { shopId: string; webhookSecret: string };

  before(async function () {
    relayer = await startTestRelayer({ metricsToken: METRICS_TOKEN });
    shop = await createShop(relayer.url, "Metrics");
  });
  after(async function () {
    await relayer?.stop();
    await other?.stop();
  });

  describe("who may read it", function () {
    it("refuses a caller without a token, with a wrong one, or with a shop's secret (401)", async function () {
      const refused: Record<string, string>[] = [
        {},
        { authorization: "Bearer gpm_not_the_metrics_token_000000" },
        { authorization: `Bearer ${shop.webhookSecret}` },
      ];
      for (const headers of refused) {
        const res = await call(relayer.url, "GET", "/metrics", { headers });
        expect([res.status, res.body.error?.code]).to.deep.equal([401, "UNAUTHORIZED"]);
        expect(JSON.stringify(res.body)).not.to.include("gp_orders");
      }
    });

    it("answers the metrics token and the admin token", async function () {
      await scrape(relayer.url, METRICS_TOKEN);
      await scrape(relayer.url, TEST_ADMIN_TOKEN);
    });

    it("takes the admin token in exactly the forms the admin API takes it", async function () {
      const forms = [
        `Bearer ${TEST_ADMIN_TOKEN}`,
        `bearer ${TEST_ADMIN_TOKEN}`,
        `Bearer  ${TEST_ADMIN_TOKEN}`,
        `Bearer ${TEST_ADMIN_TOKEN}x`,
        `Bearer ${TEST_ADMIN_TOKEN.padEnd(513, "x")}`,
        `Basic ${TEST_ADMIN_TOKEN}`,
        TEST_ADMIN_TOKEN,
      ];
      const statuses = [];
      for (const authorization of forms) {
        const metrics = await call(relayer.url, "GET", "/metrics", { headers: { authorization } });
        const admin = await call(relayer.url, "GET", "/v1/admin/relayer", { headers: { authorization } });
        expect(metrics.status, authorization).to.equal(admin.status);
        statuses.push(metrics.status);
      }
      expect(statuses).to.deep.equal([200, 401, 401, 401, 401, 401, 401]);
    });

    it("accepts as a bearer token every admin and metrics token the settings allow, and the settings allow no other", function () {
      const allowed = (name: string, token: string) => {
        try {
          loadConfig({ [name]: token }, "/srv/gp");
          return true;
        } catch (error) {
          if (error instanceof ConfigError) return false;
          throw error;
        }
      };
      const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
      const tokens = [
        "a".repeat(15),
        "a".repeat(16),
        "a".repeat(512),
        "a".repeat(513),
        visible,
        "gpa_with space_0123456789",
        "gpa_with\ttab_0123456789",
        "gpa_ünïcode_0123456789",
        "gpa_0123456789abcdef\n",
      ];
      for (const name of ["GP_ADMIN_TOKEN", "GP_METRICS_TOKEN"])
        for (const token of tokens) {
          const parsed = bearerToken(`Bearer ${token}`) === token;
          expect(allowed(name, token), `${name} ${JSON.stringify(token)}`).to.equal(parsed && token.length >= 16);
        }
    });

    it("gives the relayer's status to the admin only: anonymous callers, a shop's secret and its X-GP-Shop are refused", async function () {
      const refused: { headers?: Record<string, string>; token?: string }[] = [
        {},
        { token: shop.webhookSecret },
        { token: shop.webhookSecret, headers: { "x-gp-shop": shop.shopId } },
        { token: "gpa_not_the_admin_token_0000000000" },
      ];
      for (const as of refused) {
        const res = await call(relayer.url, "GET", "/v1/admin/relayer", as);
        expect(res.status, JSON.stringify(as)).to.be.oneOf([401, 403]);
        expect(JSON.stringify(res.body)).not.to.include(relayer.chain.sender.slice(2).toLowerCase());
        expect(JSON.stringify(res.body)).not.to.include(relayer.chain.sender.slice(2));
      }
    });

    it("gives the metrics token nothing else: the admin API refuses it", async function () {
      const res = await call(relayer.url, "GET", "/v1/admin/relayer", { token: METRICS_TOKEN });
      expect([res.status, res.body.error.code]).to.deep.equal([401, "UNAUTHORIZED"]);
    });
  });

  describe("when orders confirm", function () {
    const sent = ["m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7"];
    let first: Sample[];
    let last: Sample[];

    before(async function () {
      first = (await scrape(relayer.url)).samples;
      // Five at once (they may share a batch), then two one by one.
      const answers = await Promise.all(
        sent.slice(0, 5).map((orderId) => postOrder(relayer.url, shop, { orderId, userId: "mia", amount: "10" })),
      );
      expect(answers.map((r) => r.status)).to.deep.equal([202, 202, 202, 202, 202]);
      for (const orderId of sent.slice(0, 5)) await settledOrder(relayer.url, shop.shopId, orderId);
      for (const orderId of sent.slice(5)) {
        expect((await postOrder(relayer.url, shop, { orderId, userId: "mia", amount: "10" })).status).to.equal(202);
        await settledOrder(relayer.url, shop.shopId, orderId);
      }
      // A replay answers 200 and is timed too.
      expect((await postOrder(relayer.url, shop, { orderId: "m-1", userId: "mia", amount: "10" })).status).to.equal(200);
      last = (await scrape(relayer.url)).samples;
    });

    it("counts the orders by state, as the database holds them", async function () {
      expect(value(first, "gp_orders", { state: "confirmed" })).to.equal(0);
      expect(value(last, "gp_orders", { state: "confirmed" })).to.equal(sent.length);
      expect(value(last, "gp_orders", { state: "received" })).to.equal(0);
      expect(value(last, "gp_orders", { state: "rejected" })).to.equal(0);
      expect(value(last, "gp_open_transactions")).to.equal(0);
    });

    it("observes one batch size per batch transaction, summing to the orders sent", async function () {
      const [{ n }] = await relayer.db.query<{ n: number }>("SELECT count(*)::int AS n FROM transactions WHERE kind = 'orders'");
      expect(n).to.be.within(2, sent.length);
      expect(value(last, "gp_batch_orders_count")).to.equal(n);
      expect(value(last, "gp_batch_orders_sum")).to.equal(sent.length);
      expect(value(first, "gp_batch_orders_count")).to.equal(0);
    });

    it("observes the time from received to confirmed of each order", async function () {
      expect(value(last, "gp_order_confirmation_seconds_count")).to.equal(sent.length);
      const sum = value(last, "gp_order_confirmation_seconds_sum");
      expect(sum).to.be.greaterThan(0);
      expect(sum / sent.length).to.be.below(30);
    });

    it("counts and times the webhooks by status", async function () {
      expect(value(last, "gp_webhook_requests_total", { status: "202" })).to.equal(sent.length);
      expect(value(last, "gp_webhook_requests_total", { status: "200" })).to.equal(1);
      expect(value(last, "gp_webhook_duration_seconds_count")).to.equal(sent.length + 1);
    });

    it("shows the wallet's balance and nonces and the chain head as the chain answers them", async function () {
      const samples = (await scrape(relayer.url)).samples;
      const balance = await relayer.chain.custody.runner!.provider!.getBalance(relayer.chain.sender);
      expect(value(samples, "gp_relayer_balance_ether"), "gp_relayer_balance_ether").to.equal(Number(formatEther(balance)));
      expect(value(samples, "gp_relayer_nonce", { block: "latest" }), "gp_relayer_nonce").to.equal(await relayer.chain.minedNonce());
      expect(value(samples, "gp_relayer_nonce", { block: "pending" }), "gp_relayer_nonce").to.equal(await relayer.chain.pendingNonce());
      expect(value(samples, "gp_chain_head_block"), "gp_chain_head_block").to.equal(await relayer.chain.blockNumber());
      expect(value(samples, "gp_chain_up"), "gp_chain_up").to.equal(1);
      expect(value(samples, "gp_database_up"), "gp_database_up").to.equal(1);
      expect(value(samples, "gp_relayer_min_balance_ether"), "gp_relayer_min_balance_ether").to.equal(0.05);
      expect(value(samples, "gp_relayer_waiting", { reason: "gas-balance" }), "gp_relayer_waiting").to.equal(0);
      expect(value(samples, "gp_chain_blocks_behind"), "gp_chain_blocks_behind").to.be.within(0, 2);
    });
  });

  describe("with two relayers in one process", function () {
    it("keeps each relayer's figures in its own registry", async function () {
      other = await startTestRelayer({ metricsToken: METRICS_TOKEN });
      const samples = (await scrape(other.url)).samples;
      expect(samples.filter((s) => s.name === "gp_webhook_requests_total")).to.deep.equal([]);
      expect(value(samples, "gp_batch_orders_count")).to.equal(0);
      expect(value(samples, "gp_orders", { state: "confirmed" })).to.equal(0);
      expect(value((await scrape(relayer.url)).samples, "gp_orders", { state: "confirmed" })).to.equal(7);
    });
  });

  describe("the errors kept for the admin status", function () {
    it("keep of a URL its scheme and host only: no user, password, path or query", function () {
      const cases: [string, string][] = [
        [
          'server response 401 (request={ }, response={ }, error=null, info={ "requestUrl": "https://eth.example.io/v3/KEY1", "responseStatus": "401" })',
          'server response 401 (request={ }, response={ }, error=null, info={ "requestUrl": "https://eth.example.io", "responseStatus": "401" })',
        ],
        ["connect to http://127.0.0.1:8545/?apikey=KEY2 failed", "connect to http://127.0.0.1:8545 failed"],
        ["wss://user:KEY3@ws.example.io:8443/ws#x closed", "wss://ws.example.io:8443 closed"],
        ["postgres://gp:KEY4@db/gp refused", "postgres://db refused"],
        ["HTTPS://Node.Example.io/KEY5", "HTTPS://Node.Example.io"],
        ["no url here: ECONNREFUSED 127.0.0.1:8545", "no url here: ECONNREFUSED 127.0.0.1:8545"],
      ];
      for (const [message, kept] of cases) expect(withoutUrls(message)).to.equal(kept);
    });
  });
});
