/**
 * A shopper's history end to end over HTTP: anvil, the real database code, the Express app and the
 * sender loop. Every kind of movement the helpers can make is made for real, then the history is
 * checked against the chain: its entries add up to the custodial balances, its pages visit every
 * entry once while new ones arrive, the CSV has the same rows, rejected entries count for nothing,
 * and nobody reads another user's history.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, formatUnits, parseEther, parseUnits, toBeHex } from "ethers";
import { jsonRpc } from "../../server/adapters/chain/anvil";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { Custody__factory, GreenPoints__factory } from "../../typechain-types";
import { freshPostgresDb } from "../helpers/postgres";
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
import { signDeposit, signPermit } from "../helpers/signatures";

const GP = (text: string) => parseUnits(text, 18);
const account = (userId: string) => custodialUserId(TEST_USER_SALT, userId);
/** A signed decimal string in base units. */
const units = (text: string, decimals: number) =>
  text.startsWith("-") ? -parseUnits(text.slice(1), decimals) : parseUnits(text, decimals);

function shouldServeHistory(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`a user's history over HTTP (${label})`, function () {
    this.timeout(300_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    let external = null as { db: Db; close(): Promise<void> } | null;
    let alice: string;
    let carol: string;
    const wallet = Wallet.createRandom();
    const key = () => ({ "idempotency-key": randomUUID() });
    const admin = (method: string, route: string, body?: unknown) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: key() });
    const pay = (token: string, route: string, body: unknown, password: string) =>
      call(base, "POST", route, { token, body, headers: { ...key(), "x-gp-payment-password": password } });
    const confirmed = async (token: string, res: { status: number; body: any }) => {
      expect(res.status, JSON.stringify(res.body)).to.be.oneOf([201, 202]);
      const done = await settledOperation(base, token, res.body.operationId ?? res.body.operation.operationId);
      expect(done.state, JSON.stringify(done)).to.equal("confirmed");
      return done;
    };
    const register = async (body: Record<string, string>) => confirmed(TEST_ADMIN_TOKEN, await admin("POST", "/v1/users", body));
    const login = async (userId: string, password: string) => {
      const res = await call(base, "POST", "/v1/sessions", { body: { userId, password } });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.token as string;
    };
    const order = async (orderId: string, userId: string, amount: string) => {
      expect((await postOrder(base, shop, { orderId, userId, amount })).status).to.equal(202);
      return (await settledOrder(base, shop.shopId, orderId)).state as string;
    };
    const history = async (token: string, query = "limit=200") => {
      const res = await call(base, "GET", `/v1/me/history?${query}`, { token });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body;
    };
    const sums = (entries: any[]) => ({
      points: entries.reduce((s, e) => s + units(e.points, 18), 0n),
      constantPoints: entries.reduce((s, e) => s + units(e.constantPoints, 6), 0n),
      settlement: entries.reduce((s, e) => s + units(e.settlement, 6), 0n),
    });
    const onChain = async (userId: string) => {
      const a = await relayer.chain.custody.accountOf(account(userId));
      return { points: a.points, constantPoints: a.constantPoints, settlement: a.settlement };
    };
    /** Waits until the relayer holds new chain work (its wallet below the minimum), or lets it go again. */
    const gas = async (holding: boolean) => {
      await jsonRpc(relayer.anvil.url, "anvil_setBalance", [relayer.chain.sender, toBeHex(parseEther(holding ? "0.5" : "100"))]);
      const deadline = Date.now() + 10_000;
      while ((await call(base, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN })).body.waiting !== holding) {
        if (Date.now() > deadline) throw new Error(`the relayer's gas watch did not turn ${holding ? "on" : "off"}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    before(async function () {
      external = database ? await database() : null;
      relayer = await startTestRelayer({ db: external?.db, minGasBalance: parseEther("1") });
      base = relayer.url;
      shop = await createShop(base, "History");
      const merchant = await admin("POST", "/v1/admin/merchants", { name: "History Café" });
      await confirmed(TEST_ADMIN_TOKEN, merchant);

      await register({ userId: "alice", password: "alice-login-pw", paymentPassword: "alice-pay" });
      await register({ userId: "bob", password: "bob-login-pw", referrerId: "alice" });
      await register({ userId: "carol", password: "carol-login-pw", paymentPassword: "carol-pay" });
      alice = await login("alice", "alice-login-pw");
      carol = await login("carol", "carol-login-pw");

      expect(await order("alice-1", "alice", "100.00")).to.equal("confirmed");
      expect(await order("alice-2", "alice", "50")).to.equal("confirmed");
      expect(await order("alice-dust", "alice", "0.000001")).to.equal("rejected");
      expect(await order("bob-1", "bob", "100")).to.equal("confirmed"); // alice's referral credit
      expect(await order("carol-1", "carol", "20")).to.equal("confirmed");
      // dave's first order pays bob on level 1 and alice on level 2, which pays 0 GP with the default referralShare2Bps of 0.
      await register({ userId: "dave", password: "dave-login-pw", referrerId: "bob" });
      expect(await order("dave-1", "dave", "10")).to.equal("confirmed");
      // The operator's backed grant and a removal: GP minted against settlement paid in, then GP retired.
      await confirmed(TEST_ADMIN_TOKEN, await admin("POST", "/v1/admin/users/carol/grants", { contribution: "2", reason: "goodwill" }));
      await confirmed(TEST_ADMIN_TOKEN, await admin("POST", "/v1/admin/users/carol/removals", { points: "0.5", reason: "error" }));

      await confirmed(alice, await pay(alice, "/v1/me/transfers", { toUserId: "carol", asset: "GP", amount: "1.5" }, "alice-pay"));
      await confirmed(carol, await pay(carol, "/v1/me/transfers", { toUserId: "alice", asset: "GP", amount: "0.75" }, "carol-pay"));
      const merchantId = merchant.body.merchantId;
      await confirmed(alice, await pay(alice, "/v1/me/payments", { merchantId, asset: "GP", amount: "0.25" }, "alice-pay"));
      await confirmed(alice, await pay(alice, "/v1/me/redemptions", { asset: "GP", amount: "2" }, "alice-pay"));
      await confirmed(alice, await pay(alice, "/v1/me/conversions", { points: "5" }, "alice-pay"));
      await confirmed(alice, await pay(alice, "/v1/me/payments", { merchantId, asset: "CP", amount: "1" }, "alice-pay"));
      await confirmed(alice, await pay(alice, "/v1/me/redemptions", { asset: "CP", amount: "0.5" }, "alice-pay"));
      await confirmed(
        alice,
        await pay(alice, "/v1/me/withdrawals/settlement", { to: Wallet.createRandom().address, amount: "0.1" }, "alice-pay"),
      );

      // The original account: linked, paid GP, and depositing back relayed (an operation) and by itself (only the chain knows).
      const request = (await call(base, "GET", `/v1/me/link-request?address=${wallet.address}`, { token: alice })).body;
      const signature = await wallet.signTypedData(request.domain, request.types, request.message);
      await confirmed(
        alice,
        await pay(alice, "/v1/me/link", { address: wallet.address, deadline: request.message.deadline, signature }, "alice-pay"),
      );
      await confirmed(alice, await pay(alice, "/v1/me/withdrawals/points", { points: "10" }, "alice-pay"));
      const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
      const relay = async (route: string, body: Record<string, string>) =>
        confirmed(
          alice,
          await call(base, "POST", `/v1/relay/${route}`, {
            token: alice,
            body: { owner: wallet.address, deadline: deadline.toString(), ...body },
            headers: key(),
          }),
        );
      const permit = await signPermit(wallet, relayer.chain.points, relayer.chain.deployments.custody, GP("2"), deadline);
      await relay("permits", { spender: relayer.chain.deployments.custody, value: "2", signature: permit.serialized });
      const chainId = BigInt(relayer.chain.deployments.chainId);
      await relay("deposits", {
        points: "2",
        signature: await signDeposit(wallet, relayer.chain.custody, account("alice"), GP("2"), deadline, { chainId }),
      });
      await jsonRpc(relayer.anvil.url, "anvil_setBalance", [wallet.address, toBeHex(parseEther("1"))]);
      const own = wallet.connect(new JsonRpcProvider(relayer.anvil.url, undefined, { cacheTimeout: -1 }));
      await (
        await GreenPoints__factory.connect(relayer.chain.deployments.points, own).approve(relayer.chain.deployments.custody, GP("1"))
      ).wait();
      await (await Custody__factory.connect(relayer.chain.deployments.custody, own).deposit(account("alice"), GP("1"))).wait();

      // Two transfers of all of alice's CP, both accepted while the relayer holds its work: the second is rejected when sent.
      const cp = (await onChain("alice")).constantPoints;
      const all = formatUnits(cp, 6);
      await gas(true);
      const first = await pay(alice, "/v1/me/transfers", { toUserId: "carol", asset: "CP", amount: all }, "alice-pay");
      const second = await pay(alice, "/v1/me/transfers", { toUserId: "carol", asset: "CP", amount: all }, "alice-pay");
      expect([first.status, second.status]).to.deep.equal([202, 202]);
      await gas(false);
      expect((await settledOperation(base, alice, first.body.operationId)).state).to.equal("confirmed");
      expect((await settledOperation(base, alice, second.body.operationId)).state).to.equal("rejected");
    });
    after(async function () {
      await relayer?.stop();
      await external?.close();
    });

    it("shows every kind of movement, newest first, with its amounts, price, transaction and state", async function () {
      const h = await history(alice);
      const kinds = new Set(h.entries.map((e: any) => e.kind));
      for (const kind of [
        "order",
        "referral",
        "transfer-in",
        "transfer-out",
        "payment",
        "redemption",
        "conversion",
        "withdrawal-points",
        "withdrawal-settlement",
        "deposit",
      ])
        expect(kinds, kind).to.include(kind);
      // The chain is read from alice's registration on, not from the deployment.
      const registered = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.UserRegistered(account("alice")));
      expect(h.fromBlock).to.equal(registered[0].blockNumber).and.be.greaterThan(relayer.chain.deployments.deployedAtBlock);
      expect(h.asOfBlock).to.be.at.least(Math.max(...h.entries.map((e: any) => e.blockNumber ?? 0)));
      const times = h.entries.map((e: any) => e.time);
      expect(times).to.deep.equal([...times].sort().reverse());

      const first = h.entries.find((e: any) => e.id === `order:${shop.shopId}:alice-1`);
      expect(first).to.include({ kind: "order", state: "confirmed", priceBasis: "pool-after" });
      expect(first.details).to.include({ shopId: shop.shopId, orderId: "alice-1", amount: "100", asset: "settlement" });
      expect(first.txHash).to.match(/^0x[0-9a-f]{64}$/);
      const minted = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.OrderCredited(undefined, account("alice")));
      expect(units(first.points, 18)).to.equal(minted[0].args.points);
      const referral = h.entries.find((e: any) => e.kind === "referral");
      expect(referral).to.include({ state: "confirmed", priceBasis: "pool-after" });
      expect(referral.details.level).to.equal("1");
      // The chain credited alice a level-2 referral of 0 GP on dave's order; it moved nothing, so it is no entry.
      const zero = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited(undefined, account("alice")));
      expect(zero.some((e) => e.args.level === 2n && e.args.points === 0n)).to.equal(true);
      expect(h.entries.filter((e: any) => e.kind === "referral").map((e: any) => e.details.level)).to.deep.equal(["1"]);

      const redemption = h.entries.find((e: any) => e.kind === "redemption" && e.details.asset === "GP");
      expect(redemption.priceBasis).to.equal("redemption");
      expect(units(redemption.details.gross, 6) - units(redemption.details.fee, 6)).to.equal(units(redemption.details.payout, 6));
      expect(units(redemption.settlement, 6)).to.equal(units(redemption.details.payout, 6));
      expect(units(redemption.points, 18)).to.equal(-GP("2"));
      expect(h.entries.find((e: any) => e.kind === "conversion").priceBasis).to.equal("conversion");

      const deposits = h.entries.filter((e: any) => e.kind === "deposit");
      expect(deposits.map((e: any) => [e.points, e.details.counterparty.toLowerCase(), e.operationId === null])).to.have.deep.members([
        ["2", wallet.address.toLowerCase(), false],
        ["1", wallet.address.toLowerCase(), true],
      ]);
    });

    it("adds up to the balances on the chain, GP, CP and settlement, and counts nothing rejected", async function () {
      for (const [userId, token] of [
        ["alice", alice],
        ["carol", carol],
      ] as const) {
        const h = await history(token);
        const chain = await onChain(userId);
        expect(sums(h.entries), userId).to.deep.equal(chain);
        expect({
          points: units(h.totals.held.points, 18),
          constantPoints: units(h.totals.held.constantPoints, 6),
          settlement: units(h.totals.held.settlement, 6),
        }).to.deep.equal(chain);
      }
      const carolsHistory = await history(carol);
      const byKind = (kind: string) => carolsHistory.entries.filter((e: any) => e.kind === kind);
      expect(byKind("grant").map((e: any) => e.state)).to.deep.equal(["confirmed"]);
      expect(units(byKind("grant")[0].points, 18) > 0n).to.equal(true);
      expect(byKind("removal").map((e: any) => [e.state, e.points])).to.deep.equal([["confirmed", "-0.5"]]);
      const h = await history(alice);
      const rejected = h.entries.filter((e: any) => e.state === "rejected");
      expect(rejected.map((e: any) => e.kind).sort()).to.deep.equal(["order", "transfer-out"]);
      for (const e of rejected) {
        expect([e.points, e.constantPoints, e.settlement]).to.deep.equal(["0", "0", "0"]);
        expect(e.reason).to.be.a("string").and.not.equal("");
      }
      const earned = h.entries
        .filter((e: any) => ["order", "referral"].includes(e.kind))
        .reduce((s: bigint, e: any) => s + units(e.points, 18), 0n);
      expect(units(h.totals.earned.points, 18)).to.equal(earned);
      expect(units(h.totals.redeemed.points, 18)).to.equal(GP("2"));
      expect(h.totals.redeemed.constantPoints).to.equal("0.5");
    });

    it("visits every entry exactly once, page by page, while new entries arrive", async function () {
      const whole = (await history(alice)).entries.map((e: any) => e.id);
      expect(whole.length).to.be.greaterThan(10);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: any = await history(alice, `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(page.entries.length).to.be.at.most(3);
        seen.push(...page.entries.map((e: any) => e.id));
        cursor = page.nextCursor;
        // A new order lands after the first page: it is newer than every entry paged, so it moves none of them.
        if (pages++ === 0) expect(await order("alice-late", "alice", "10")).to.equal("confirmed");
      } while (cursor);
      expect(seen).to.deep.equal(whole);
      expect(new Set(seen).size).to.equal(seen.length);
      const now = (await history(alice)).entries.map((e: any) => e.id);
      expect(now[0]).to.equal(`order:${shop.shopId}:alice-late`);
      expect(now.slice(1)).to.deep.equal(whole);
    });

    it("exports the same rows as CSV, and a period of them", async function () {
      const h = await history(alice);
      const csv = await call(base, "GET", "/v1/me/history?format=csv", { token: alice });
      expect(csv.status).to.equal(200);
      expect(csv.headers.get("content-type")).to.match(/^text\/csv/);
      const lines = (csv.body as string).trim().split("\r\n");
      const header = lines[0].split(",");
      expect(header.slice(0, 4)).to.deep.equal(["time", "id", "kind", "state"]);
      const rows = lines.slice(1).map((l) => l.split(","));
      expect(rows.map((r) => r[1])).to.deep.equal(h.entries.map((e: any) => e.id));
      const col = (name: string) => header.indexOf(name);
      expect(
        rows.map((r) => [r[col("kind")], r[col("state")], r[col("points")], r[col("constantPoints")], r[col("settlement")]]),
      ).to.deep.equal(h.entries.map((e: any) => [e.kind, e.state, e.points, e.constantPoints, e.settlement]));
      const middle = h.entries[Math.floor(h.entries.length / 2)].time;
      const since = await call(base, "GET", `/v1/me/history?format=csv&from=${encodeURIComponent(middle)}`, { token: alice });
      const expected = h.entries.filter((e: any) => e.time >= middle).map((e: any) => e.id);
      expect(
        (since.body as string)
          .trim()
          .split("\r\n")
          .slice(1)
          .map((l) => l.split(",")[1]),
      ).to.deep.equal(expected);
    });

    it("narrows the list and the CSV by kind and by asset, the same entries in both", async function () {
      const all = (await history(alice)).entries;
      const kinds: string[] = [...new Set<string>(all.map((e: any) => e.kind))];
      expect(kinds.length).to.be.greaterThan(3);
      for (const kind of kinds) {
        const only = (await history(alice, `limit=200&kind=${kind}`)).entries;
        expect(
          only.map((e: any) => e.id),
          kind,
        ).to.deep.equal(all.filter((e: any) => e.kind === kind).map((e: any) => e.id));
      }
      for (const [asset, field] of [
        ["GP", "points"],
        ["CP", "constantPoints"],
        ["settlement", "settlement"],
      ]) {
        const only = (await history(alice, `limit=200&asset=${asset}`)).entries;
        expect(only.length, asset).to.be.greaterThan(0);
        expect(only.length, asset).to.be.lessThan(all.length);
        for (const e of only) expect(e[field] !== "0" || e.details?.asset === asset, `${asset} ${e.id}`).to.equal(true);
        // Every entry that moved the asset is in.
        const ids = new Set(only.map((e: any) => e.id));
        for (const e of all) if (e[field] !== "0") expect(ids.has(e.id), `${asset} misses ${e.id}`).to.equal(true);
      }
      const csv = await call(base, "GET", "/v1/me/history?format=csv&kind=order", { token: alice });
      const ids = (csv.body as string)
        .trim()
        .split("\r\n")
        .slice(1)
        .map((l) => l.split(",")[1]);
      expect(ids).to.deep.equal(all.filter((e: any) => e.kind === "order").map((e: any) => e.id));
      for (const query of ["kind=gift", "asset=USDT", "asset=gp"]) {
        const res = await call(base, "GET", `/v1/me/history?${query}`, { token: alice });
        expect([res.status, res.body.error?.code], query).to.deep.equal([400, "VALIDATION_FAILED"]);
      }
    });

    it("shows a user only their own history", async function () {
      const mine = new Set((await history(alice)).entries.map((e: any) => e.id));
      const theirs = (await history(carol)).entries;
      // Only the transfers between them are in both, each on its own side.
      for (const e of theirs.filter((x: any) => mine.has(x.id))) expect(e.kind).to.be.oneOf(["transfer-in", "transfer-out"]);
      expect(theirs.map((e: any) => e.id)).to.not.include(`order:${shop.shopId}:alice-1`);
      expect(theirs.some((e: any) => e.kind === "referral" || e.kind === "deposit")).to.equal(false);
      // No user id is taken from the request: a query naming alice changes nothing for carol.
      const named = await call(base, "GET", "/v1/me/history?userId=alice", { token: carol });
      expect([named.status, named.body.userId]).to.deep.equal([200, "carol"]);
      expect((await call(base, "GET", "/v1/me/history")).status).to.equal(401);
      expect((await call(base, "GET", "/v1/me/history", { token: TEST_ADMIN_TOKEN })).status).to.equal(401);
      expect((await call(base, "GET", "/v1/me/history", { token: shop.webhookSecret })).status).to.equal(401);
    });

    it("refuses a limit out of 1..200 and a cursor it did not give", async function () {
      for (const query of ["limit=0", "limit=201", "limit=ten", "cursor=not-a-cursor", "format=xml", "from=yesterday"]) {
        const res = await call(base, "GET", `/v1/me/history?${query}`, { token: alice });
        expect([res.status, res.body.error?.code], query).to.deep.equal([400, "VALIDATION_FAILED"]);
      }
    });
  });
}

shouldServeHistory("PGlite");
if (process.env.DATABASE_URL) {
  shouldServeHistory("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
