/**
 * Who pays, pending points and refunds, end to end over HTTP (issue 18): anvil with the embedded
 * deployment, the real database code (PGlite, and PostgreSQL when DATABASE_URL is set), the
 * Express app and the relayer's loop. The chain's clock and the relayer's move together
 * (evm_increaseTime and the relayer's nowSeconds). Every figure is read back from the chain.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager, Wallet, parseUnits } from "ethers";
import { jsonRpc } from "../../server/adapters/chain/anvil";
import { chainOrderId, custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { contribution as poolContribution } from "../../server/domain/points-math";
import { MockStablecoin__factory } from "../../typechain-types";
import { freshPostgresDb } from "../helpers/postgres";
import { signedInboundOrder } from "../helpers/inbound-orders";
import {
  TEST_ADMIN_TOKEN,
  TEST_USER_SALT,
  type TestRelayer,
  call,
  createShop,
  postOrder,
  settledOperation,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

const DAY = 86_400;
const USD = (text: string) => parseUnits(text, 6);
const GP = (text: string) => parseUnits(text, 18);
/** Anvil's second dev account: the prefunded shop's payer. */
const PAYER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
type Shop = { shopId: string; webhookSecret: string };

/** Gas figures of this run, printed at the end (the issue's closing note asks for them). */
const gasReport: Record<string, bigint> = {};

function shouldHandleRefunds(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`who pays, pending points and refunds (${label})`, function () {
    this.timeout(300_000);
    let relayer: TestRelayer;
    let base: string;
    let offset = 0;
    const clock = () => Math.floor(Date.now() / 1000) + offset;
    let external = null as { db: Db; close(): Promise<void> } | null;
    let provider: JsonRpcProvider;
    const shops: Record<"invoiced" | "prefunded" | "pending" | "clawback" | "other", Shop> = {} as never;

    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": randomUUID() } });
    const order = (shop: Shop, body: Record<string, unknown>) => postOrder(base, shop, body, clock());
    const refund = (shop: Shop, body: unknown, signAs: Shop = shop) => {
      const signed = signedInboundOrder(shop.shopId, signAs.webhookSecret, body, clock());
      return call(base, "POST", "/v1/webhooks/refunds", {
        body: signed.rawBody.toString("utf8"),
        headers: {
          "x-gp-shop": signed.shopId,
          "x-gp-timestamp": signed.timestamp,
          "x-gp-signature": signed.signature,
          "content-type": "application/json",
        },
      });
    };
    const getOrder = async (shop: Shop, orderId: string) =>
      (await call(base, "GET", `/v1/shops/${shop.shopId}/orders/${orderId}`, { token: shop.webhookSecret })).body;
    const until = async <T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, ms = 30_000): Promise<T> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await read();
        if (done(v)) return v;
        if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const price = async (blockTag?: number) => {
      const c = relayer.chain;
      const [assets, supply] = blockTag === undefined ? await c.pool.priceRatio() : await c.pool.priceRatio({ blockTag });
      return { assets, supply };
    };
    /** The price rule, as an integer cross-product: `after` is not below `before`. */
    const notLower = (before: { assets: bigint; supply: bigint }, after: typeof before) =>
      after.assets * before.supply >= before.assets * after.supply;
    const higher = (before: { assets: bigint; supply: bigint }, after: typeof before) =>
      after.assets * before.supply > before.assets * after.supply;
    const accountOf = (userId: string) => relayer.chain.custody.accountOf(custodialUserId(TEST_USER_SALT, userId));
    const mined = async (txHash: string) => (await provider.getTransactionReceipt(txHash))!;
    const poolShare = async () => (await relayer.chain.pool.parameters()).poolShare;

    before(async function () {
      if (database) external = await database();
      relayer = await startTestRelayer({ db: external?.db, nowSeconds: clock });
      base = relayer.url;
      provider = new JsonRpcProvider(relayer.anvil.url);
      for (const name of Object.keys({ invoiced: 0, prefunded: 0, pending: 0, clawback: 0, other: 0 }) as (keyof typeof shops)[])
        shops[name] = await createShop(base, `Refunds ${name}`);
      // The first order of the pool mints its locked GP; later ones are ordinary.
      expect((await order(shops.invoiced, { orderId: "warm-up", userId: "walt", amount: "100" })).status).to.equal(202);
      expect((await settledOrder(base, shops.invoiced.shopId, "warm-up")).state).to.equal("confirmed");
    });
    after(async function () {
      provider?.destroy();
      await relayer?.stop();
      await external?.close();
      if (label === "PGlite")
        console.log(
          `      gas: ${Object.entries(gasReport)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}`,
        );
    });

    describe("the operator's terms", function () {
      it("are the operator's alone, audit-logged, and refuse a prefunded shop without a payer or with another shop's", async function () {
        const route = `/v1/admin/shops/${shops.pending.shopId}/funding`;
        const body = { pendingDays: 2, refundPolicy: "none" };
        const byShop = await call(base, "PUT", route, { token: shops.pending.webhookSecret, body });
        expect(byShop.status).to.equal(401);
        const anonymous = await call(base, "PUT", route, { body });
        expect(anonymous.status).to.equal(401);
        // A shopper's session is no operator, for the terms nor for a shop's statement.
        expect((await admin("POST", "/v1/users", { userId: "terry", password: "terry-login-pw" })).status).to.equal(201);
        const shopper = (await call(base, "POST", "/v1/sessions", { body: { userId: "terry", password: "terry-login-pw" } })).body.token;
        expect((await call(base, "PUT", route, { token: shopper, body })).status).to.be.oneOf([401, 403]);
        expect((await call(base, "GET", `/v1/shops/${shops.pending.shopId}/statement`, { token: shopper })).status).to.be.oneOf([401, 403]);
        const before = await admin("GET", route);
        expect(before.body).to.include({ funding: "invoiced", pendingSeconds: 0, refundPolicy: "none", payer: null });
        const set = await admin("PUT", route, body);
        expect(set.status, JSON.stringify(set.body)).to.equal(200);
        expect(set.body).to.include({ funding: "invoiced", pendingDays: 2, pendingSeconds: 2 * DAY });
        const audit = await admin("GET", "/v1/admin/audit?limit=5");
        const entry = audit.body.entries.find((e: { action: string }) => e.action === "shop-funding-set");
        expect(entry, JSON.stringify(audit.body)).to.include({ subject: `shop:${shops.pending.shopId}`, actor: "admin-token" });

        const noPayer = await admin("PUT", `/v1/admin/shops/${shops.prefunded.shopId}/funding`, { funding: "prefunded" });
        expect([noPayer.status, noPayer.body.error.code]).to.deep.equal([422, "PAYER_REQUIRED"]);
        const payer = new Wallet(PAYER_KEY).address;
        const ok = await admin("PUT", `/v1/admin/shops/${shops.prefunded.shopId}/funding`, { funding: "prefunded", payer });
        expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
        const taken = await admin("PUT", `/v1/admin/shops/${shops.other.shopId}/funding`, { funding: "prefunded", payer });
        expect([taken.status, taken.body.error.code]).to.deep.equal([409, "PAYER_IN_USE"]);
        expect((await admin("GET", `/v1/admin/shops/${shops.other.shopId}/funding`)).body.funding).to.equal("invoiced");
        const tooLong = await admin("PUT", route, { pendingDays: 91 });
        expect([tooLong.status, tooLong.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
        const claw = await admin("PUT", `/v1/admin/shops/${shops.clawback.shopId}/funding`, { refundPolicy: "clawback" });
        expect(claw.body.refundPolicy).to.equal("clawback");
      });
    });

    describe("a prefunded shop", function () {
      it("pays from its deposits seen on the chain: an order beyond them waits (shop balance too low), then goes on after a top-up", async function () {
        const terms = (await admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`)).body;
        const payer = new NonceManager(new Wallet(PAYER_KEY, provider));
        const payerAddress = await payer.getAddress();
        const token = MockStablecoin__factory.connect(relayer.chain.deployments.settlement, payer);
        await (await token.mint(payerAddress, USD("1000"))).wait();
        const need = poolContribution(USD("100"), await poolShare());
        // A deposit short of the order's contribution.
        await (await token.transfer(terms.depositAddress, need - 1n)).wait();
        await until(
          () => admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`).then((r) => r.body.balance.deposited),
          (v) => USD(v) === need - 1n,
          "the deposit seen",
        );
        expect((await order(shops.prefunded, { orderId: "P-1", userId: "pia", amount: "100" })).status).to.equal(202);
        const waiting = await until(
          () => getOrder(shops.prefunded, "P-1"),
          (o) => o.reasonCode === "SHOP_BALANCE_TOO_LOW",
          "waits",
        );
        expect(waiting).to.include({ state: "received", reason: "shop balance too low" });
        await new Promise((r) => setTimeout(r, 1500));
        expect((await getOrder(shops.prefunded, "P-1")).state, "still waiting a while later").to.equal("received");
        const assetsBefore = await relayer.chain.pool.assets();
        // The top-up: the order goes on by itself.
        await (await token.transfer(terms.depositAddress, 1n)).wait();
        const done = await settledOrder(base, shops.prefunded.shopId, "P-1");
        expect(done.state).to.equal("confirmed");
        expect(USD(done.contribution)).to.equal(need);
        const after = (await admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`)).body;
        expect(after.balance).to.deep.equal({ deposited: done.contribution, spent: done.contribution, available: "0" });
        // The deposit address is the treasury the relayer's float is refilled from: it got the shop's settlement, and the pool the contribution.
        expect(terms.depositAddress.toLowerCase()).to.equal(relayer.chain.deployments.treasury!.toLowerCase());
        expect((await relayer.chain.pool.assets()) - assetsBefore).to.equal(need);
        const statement = (
          await call(base, "GET", `/v1/shops/${shops.prefunded.shopId}/statement`, { token: shops.prefunded.webhookSecret })
        ).body;
        // Paid from its deposit: nothing of it is owed to the platform, nor counted in its outstanding limit.
        expect(statement).to.include({ funding: "prefunded", prepaid: "0", owesPlatform: "0", outstanding: "0" });
        expect(statement.totals).to.include({ paidByShop: done.contribution, paidByPlatform: "0" });
        const deposits = statement.rows.filter((r: { type: string }) => r.type === "deposit");
        expect(deposits.map((r: { amount: string }) => USD(r.amount))).to.deep.equal([need - 1n, 1n]);
        // Each one is the payer's transaction on the chain.
        for (const r of deposits) expect((await provider.getTransaction(r.txHash))!.from).to.equal(payerAddress);
        const row = statement.rows.find((r: { orderId: string }) => r.orderId === "P-1");
        expect(row).to.include({ paidBy: "shop", state: "confirmed", gpMinted: done.gpMinted });
      });

      it("a refund of a waiting order (not sent) reduces it, and what is left goes on when the balance covers it", async function () {
        const payer = new NonceManager(new Wallet(PAYER_KEY, provider));
        const token = MockStablecoin__factory.connect(relayer.chain.deployments.settlement, payer);
        const terms = (await admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`)).body;
        const half = poolContribution(USD("50"), await poolShare());
        await (await token.transfer(terms.depositAddress, half)).wait();
        await until(
          () => admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`).then((r) => USD(r.body.balance.available)),
          (v) => v === half,
          "the deposit seen",
        );
        expect((await order(shops.prefunded, { orderId: "P-2", userId: "pia", amount: "100" })).status).to.equal(202);
        await until(
          () => getOrder(shops.prefunded, "P-2"),
          (o) => o.reasonCode === "SHOP_BALANCE_TOO_LOW",
          "waits",
        );
        const res = await refund(shops.prefunded, { refundId: "RP-2", orderId: "P-2", amount: "50" });
        expect(res.body).to.include({ outcome: "reduced", orderState: "received", orderRefunded: "50" });
        const done = await settledOrder(base, shops.prefunded.shopId, "P-2");
        expect([done.state, USD(done.contribution), done.refunded]).to.deep.equal(["confirmed", half, "50"]);
        expect((await admin("GET", `/v1/admin/shops/${shops.prefunded.shopId}/funding`)).body.balance.available).to.equal("0");
      });

      it("an invoiced shop's statement says what it owes the platform, as JSON and CSV, by period; no other shop reads it", async function () {
        const route = `/v1/shops/${shops.invoiced.shopId}/statement`;
        const json = (await call(base, "GET", route, { token: shops.invoiced.webhookSecret })).body;
        const warm = await getOrder(shops.invoiced, "warm-up");
        expect(json).to.include({ funding: "invoiced", owesPlatform: warm.contribution, prepaid: "0" });
        const csv = await call(base, "GET", `${route}?format=csv`, { token: TEST_ADMIN_TOKEN });
        expect(csv.headers.get("content-type")).to.match(/^text\/csv/);
        expect((csv.body as string).split("\r\n")[0]).to.equal(
          "time,type,orderId,refundId,state,amount,contribution,gpMinted,refunded,clawback,spent,paidBy,txHash",
        );
        expect(csv.body as string).to.include(`,order,warm-up,,confirmed,100,${warm.contribution},${warm.gpMinted},`);
        const future = new Date((clock() + DAY) * 1000).toISOString();
        const empty = (await call(base, "GET", `${route}?from=${encodeURIComponent(future)}`, { token: TEST_ADMIN_TOKEN })).body;
        expect(empty.rows).to.deep.equal([]);
        const foreign = await call(base, "GET", route, { token: shops.other.webhookSecret });
        expect(foreign.status).to.be.oneOf([401, 403]);
      });
    });

    describe("a pending window", function () {
      let session: string;
      let estimateAtFirst: bigint;
      before(async function () {
        const made = await admin("POST", "/v1/users", { userId: "penny", password: "penny-login-pw" });
        expect(made.status, JSON.stringify(made.body)).to.equal(201);
        session = (await call(base, "POST", "/v1/sessions", { body: { userId: "penny", password: "penny-login-pw" } })).body.token;
      });

      it("holds the order pending out of the pool, with its release date and an estimate in the shop's view, /v1/me and /v1/me/history", async function () {
        const before = await relayer.chain.pool.assets();
        const res = await order(shops.pending, { orderId: "Q-1", userId: "penny", amount: "100" });
        // The fixed interface keeps its four states: a pending order is received, flagged pending.
        expect([res.status, res.body.state, res.body.pending]).to.deep.equal([202, "received", true]);
        expect((await order(shops.pending, { orderId: "Q-2", userId: "penny", amount: "30" })).body).to.include({
          state: "received",
          pending: true,
        });
        const shown = await getOrder(shops.pending, "Q-1");
        estimateAtFirst = (await relayer.chain.pool.previewOrder(USD("100"))).points_;
        expect(shown).to.include({ state: "received", pending: true, estimate: formatGp(estimateAtFirst) });
        expect(Date.parse(shown.releaseAt) / 1000).to.be.closeTo(clock() + 2 * DAY, 5);
        const me = (await call(base, "GET", "/v1/me", { token: session })).body;
        expect(me.pendingOrders.map((o: { orderId: string }) => o.orderId)).to.deep.equal(["Q-1", "Q-2"]);
        expect(me.pendingOrders[0]).to.include({ shopId: shops.pending.shopId, amount: "100", estimate: formatGp(estimateAtFirst) });
        const history = (await call(base, "GET", "/v1/me/history", { token: session })).body;
        const entry = history.entries.find((e: { id: string }) => e.id === `order:${shops.pending.shopId}:Q-1`);
        expect(entry.state).to.equal("pending");
        expect(entry.details).to.include({ releaseAt: shown.releaseAt, estimate: formatGp(estimateAtFirst) });
        await new Promise((r) => setTimeout(r, 1200));
        expect(await relayer.chain.pool.assets(), "nothing paid into the pool").to.equal(before);
        expect(await relayer.chain.isOrderRecorded(chainOrderId(shops.pending.shopId, "Q-1"))).to.equal(false);
      });

      it("takes a partial refund (its estimate falls in proportion) and a whole one (cancelled); nothing goes to the chain", async function () {
        const ops = (await relayer.db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations"))[0].n;
        const part = await refund(shops.pending, { refundId: "RQ-1", orderId: "Q-1", amount: "40" });
        expect(part.status, JSON.stringify(part.body)).to.equal(201);
        expect(part.body).to.include({ outcome: "reduced", orderState: "pending", orderRefunded: "40" });
        const shown = await getOrder(shops.pending, "Q-1");
        expect(shown).to.include({ refunded: "40", estimate: formatGp((await relayer.chain.pool.previewOrder(USD("60"))).points_) });
        const whole = await refund(shops.pending, { refundId: "RQ-2", orderId: "Q-2", amount: "30" });
        expect(whole.body).to.include({ outcome: "cancelled", orderState: "cancelled" });
        expect(await getOrder(shops.pending, "Q-2")).to.include({ state: "rejected", cancelled: true, reason: "refunded while pending" });
        const me = (await call(base, "GET", "/v1/me", { token: session })).body;
        expect(me.pendingOrders.map((o: { orderId: string; amount: string }) => [o.orderId, o.amount])).to.deep.equal([["Q-1", "60"]]);
        expect((await relayer.db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations"))[0].n).to.equal(ops);
        // Each change wrote its notification in its own transaction (the outbox): held, then refunded.
        const events = await relayer.db.query<{ type: string; payload: string }>(
          "SELECT type, payload FROM notification_events WHERE owner_id = $1 AND type IN ('order.pending', 'order.refunded') ORDER BY created_at, id",
          [shops.pending.shopId],
        );
        const data = events.map((e) => [e.type, JSON.parse(e.payload).data] as const);
        expect(data.filter(([type]) => type === "order.pending").map(([, d]) => d.orderId)).to.deep.equal(["Q-1", "Q-2"]);
        expect(data.find(([type, d]) => type === "order.pending" && d.orderId === "Q-1")![1].releaseAt).to.equal(
          (await getOrder(shops.pending, "Q-1")).releaseAt,
        );
        const refunds = data.filter(([type]) => type === "order.refunded").map(([, d]) => [d.refundId, d.outcome, d.refunded]);
        expect(refunds).to.deep.equal([
          ["RQ-1", "reduced", USD("40").toString()],
          ["RQ-2", "cancelled", USD("30").toString()],
        ]);
      });

      it("refuses over-refunds, unknown, another shop's and cancelled orders, and a replay with another body; a replay answers 200", async function () {
        const rows = async () => (await relayer.db.query<{ n: number }>("SELECT count(*)::int AS n FROM refunds"))[0].n;
        const before = await rows();
        const over = await refund(shops.pending, { refundId: "RQ-3", orderId: "Q-1", amount: "60.000001" });
        expect([over.status, over.body.error.code]).to.deep.equal([422, "REFUND_EXCEEDS_ORDER"]);
        const unknown = await refund(shops.pending, { refundId: "RQ-4", orderId: "nope", amount: "1" });
        expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "ORDER_UNKNOWN"]);
        // Another shop, signing with its own secret, names my order: not its order.
        const foreign = await refund(shops.other, { refundId: "RQ-1", orderId: "Q-1", amount: "1" });
        expect([foreign.status, foreign.body.error.code]).to.deep.equal([404, "ORDER_UNKNOWN"]);
        // ... or signs as my shop with its own secret.
        const forged = await refund(shops.pending, { refundId: "RQ-5", orderId: "Q-1", amount: "1" }, shops.other);
        expect([forged.status, forged.body.error.code]).to.deep.equal([401, "BAD_SIGNATURE"]);
        const cancelled = await refund(shops.pending, { refundId: "RQ-6", orderId: "Q-2", amount: "1" });
        expect([cancelled.status, cancelled.body.error.code]).to.deep.equal([409, "ORDER_REJECTED"]);
        const replay = await refund(shops.pending, { refundId: "RQ-1", orderId: "Q-1", amount: "40" });
        expect([replay.status, replay.body.outcome, replay.body.orderRefunded]).to.deep.equal([200, "reduced", "40"]);
        const changed = await refund(shops.pending, { refundId: "RQ-1", orderId: "Q-1", amount: "41" });
        expect([changed.status, changed.body.error.code]).to.deep.equal([409, "REFUND_CONFLICT"]);
        const zero = await refund(shops.pending, { refundId: "RQ-7", orderId: "Q-1", amount: "0" });
        expect([zero.status, zero.body.error.code]).to.deep.equal([400, "AMOUNT_OUT_OF_RANGE"]);
        expect(await rows()).to.equal(before);
        expect((await getOrder(shops.pending, "Q-1")).refunded).to.equal("40");
      });

      it("refuses a refund of an order the chain rejected", async function () {
        // One base unit: its contribution mints no GP, so the pool refuses the order.
        expect((await order(shops.invoiced, { orderId: "dust", userId: "dusty", amount: "0.000001" })).status).to.equal(202);
        expect((await settledOrder(base, shops.invoiced.shopId, "dust")).state).to.equal("rejected");
        const res = await refund(shops.invoiced, { refundId: "R-dust", orderId: "dust", amount: "0.000001" });
        expect([res.status, res.body.error.code]).to.deep.equal([409, "ORDER_REJECTED"]);
      });

      it("releases the order when the window ends and mints at the price of that moment, not the earlier one", async function () {
        // Other orders raise the price while Q-1 waits.
        for (const id of ["raise-1", "raise-2"]) {
          expect((await order(shops.invoiced, { orderId: id, userId: "walt", amount: "500" })).status).to.equal(202);
          expect((await settledOrder(base, shops.invoiced.shopId, id)).state).to.equal("confirmed");
        }
        expect((await getOrder(shops.pending, "Q-1")).pending, "not yet").to.equal(true);
        // Four more pending orders, received after Q-1: released with it, in one batch behind it.
        for (const n of [3, 4, 5, 6]) {
          expect((await order(shops.pending, { orderId: `Q-${n}`, userId: `pat-${n}`, amount: "20" })).body.pending).to.equal(true);
        }
        // Two days later, by the chain's clock and the relayer's.
        await jsonRpc(relayer.anvil.url, "evm_increaseTime", [2 * DAY + 60]);
        await jsonRpc(relayer.anvil.url, "evm_mine");
        offset += 2 * DAY + 60;
        const held = (await accountOf("penny")).points;
        const done = await settledOrder(base, shops.pending.shopId, "Q-1");
        expect(done.state).to.equal("confirmed");
        const receipt = await mined(done.txHash);
        const credited = receipt.logs.filter((l) => l.topics[0] === relayer.chain.custody.interface.getEvent("OrderCredited")!.topicHash);
        expect(credited, "the five released orders share one batch").to.have.length(5);
        gasReport.releaseBatchOf5 = receipt.gasUsed;
        gasReport.releasePerOrder = receipt.gasUsed / 5n;
        for (const n of [3, 4, 5, 6]) expect((await getOrder(shops.pending, `Q-${n}`)).txHash).to.equal(done.txHash);
        const then = await price(receipt.blockNumber - 1);
        // What the pool quoted for 60 (100 less the refund) just before the release's block.
        const quote = (await relayer.chain.pool.previewOrder(USD("60"), { blockTag: receipt.blockNumber - 1 })).points_;
        expect(GP(done.gpMinted)).to.equal(quote);
        expect((await accountOf("penny")).points - held).to.equal(quote);
        expect(USD(done.contribution)).to.equal(poolContribution(USD("60"), await poolShare()));
        expect(quote * 100n < estimateAtFirst * 60n, "fewer GP per unit than at the first estimate: the price rose meanwhile").to.equal(
          true,
        );
        expect(notLower(then, await price(receipt.blockNumber)), "the price did not fall").to.equal(true);
        const statement = (await call(base, "GET", `/v1/shops/${shops.pending.shopId}/statement`, { token: TEST_ADMIN_TOKEN })).body;
        expect(statement.rows.filter((r: { type: string }) => r.type === "refund").map((r: { state: string }) => r.state)).to.deep.equal([
          "reduced",
          "cancelled",
        ]);
        expect(statement.totals).to.include({ refunded: "70", orders: "210" });
        // Invoiced: the platform paid the contributions of what was left (60 + 4 × 20), and that is what it owes.
        const paid = USD(done.contribution) + 4n * poolContribution(USD("20"), await poolShare());
        expect(statement).to.include({ owesPlatform: formatUsd(paid), outstanding: "140", prepaid: "0" });
      });
    });

    describe("a refund after minting", function () {
      it("under policy none keeps the GP; under clawback retires the buyer's GP in proportion, the price rises, what was spent is reported", async function () {
        // Policy none (the pending shop): recorded, nothing on the chain.
        const kept = await refund(shops.pending, { refundId: "RQ-8", orderId: "Q-1", amount: "10" });
        expect(kept.body).to.include({ outcome: "kept", orderState: "confirmed" });

        expect((await order(shops.clawback, { orderId: "C-1", userId: "cara", amount: "200" })).status).to.equal(202);
        const minted = GP((await settledOrder(base, shops.clawback.shopId, "C-1")).gpMinted);
        const before = await price();
        const [supplyBefore, assetsBefore] = [await relayer.chain.points.totalSupply(), await relayer.chain.pool.assets()];
        const held = (await accountOf("cara")).points;
        const part = await refund(shops.clawback, { refundId: "RC-1", orderId: "C-1", amount: "50" });
        expect(part.status, JSON.stringify(part.body)).to.equal(201);
        expect(part.body).to.include({ outcome: "clawback", clawback: formatGp(minted / 4n), alreadySpent: "0" });
        const op = await settledOperation(base, TEST_ADMIN_TOKEN, part.body.operationId);
        expect(op.state, JSON.stringify(op)).to.equal("confirmed");
        gasReport.clawback = (await mined(op.txHash)).gasUsed;
        expect(held - (await accountOf("cara")).points).to.equal(minted / 4n);
        expect(supplyBefore - (await relayer.chain.points.totalSupply())).to.equal(minted / 4n);
        expect(await relayer.chain.pool.assets(), "the contribution stays in the pool").to.equal(assetsBefore);
        expect(higher(before, await price()), "the price rose").to.equal(true);

        // The buyer spends most of what is left; the next refund takes what it still holds and reports the rest.
        const left = (await accountOf("cara")).points;
        const spend = await admin("POST", "/v1/admin/users/cara/removals", {
          points: formatGp(left - GP("1")),
          reason: "spent at a merchant",
        });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, spend.body.operationId)).state).to.equal("confirmed");
        const rest = await refund(shops.clawback, { refundId: "RC-2", orderId: "C-1", amount: "150" });
        const wanted = minted - minted / 4n;
        expect(rest.body).to.include({ outcome: "clawback", clawback: "1", alreadySpent: formatGp(wanted - GP("1")) });
        expect((await settledOperation(base, TEST_ADMIN_TOKEN, rest.body.operationId)).state).to.equal("confirmed");
        expect((await accountOf("cara")).points, "never negative").to.equal(0n);
        const over = await refund(shops.clawback, { refundId: "RC-3", orderId: "C-1", amount: "0.000001" });
        expect(over.body.error.code).to.equal("REFUND_EXCEEDS_ORDER");
        const statement = (await call(base, "GET", `/v1/shops/${shops.clawback.shopId}/statement`, { token: shops.clawback.webhookSecret }))
          .body;
        expect(statement.totals).to.include({
          refunded: "200",
          clawedBack: formatGp(minted / 4n + GP("1")),
          alreadySpent: formatGp(wanted - GP("1")),
        });
      });
    });
  });
}

const formatUsd = (units: bigint) => {
  const whole = units / 10n ** 6n;
  const frac = (units % 10n ** 6n).toString().padStart(6, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
};
const formatGp = (units: bigint) => {
  const whole = units / 10n ** 18n;
  const frac = (units % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
};

shouldHandleRefunds("PGlite");
if (process.env.DATABASE_URL) {
  shouldHandleRefunds("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
