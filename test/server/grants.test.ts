/**
 * The operator's grants and removals, the audit log and the first-order referral reward, end to
 * end over HTTP: anvil with the embedded deployment, the real database code (PGlite, and
 * PostgreSQL when DATABASE_URL is set), the Express app and the sender loop. Every figure is read
 * back from the chain.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { formatUnits, parseUnits } from "ethers";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
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

const GP = (text: string) => parseUnits(text, 18);
const USD = (text: string) => parseUnits(text, 6);
const account = (userId: string) => custodialUserId(TEST_USER_SALT, userId);

function shouldServeGrants(label: string, database?: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`operator grants and removals over HTTP (${label})`, function () {
    this.timeout(240_000);
    let relayer: TestRelayer;
    let base: string;
    let shop: { shopId: string; webhookSecret: string };
    let external = null as { db: Db; close(): Promise<void> } | null;
    let session: string;
    const admin = (method: string, route: string, body?: unknown, idempotencyKey: string = randomUUID()) =>
      call(base, method, route, { token: TEST_ADMIN_TOKEN, body, headers: { "idempotency-key": idempotencyKey } });
    const accountOf = (userId: string) => relayer.chain.custody.accountOf(account(userId));
    const mint = async (orderId: string, userId: string, amount: string, referrerId?: string) => {
      expect((await postOrder(base, shop, { orderId, userId, amount, ...(referrerId ? { referrerId } : {}) })).status).to.equal(202);
      expect((await settledOrder(base, shop.shopId, orderId)).state).to.equal("confirmed");
    };
    /** What the pool, the relayer's wallet and the custody hold now. */
    const figures = async () => {
      const c = relayer.chain;
      const [assets, supply, [priceAssets, priceSupply], poolHeld, relayerHeld, custodyHeld] = await Promise.all([
        c.pool.assets(),
        c.points.totalSupply(),
        c.pool.priceRatio(),
        c.settlement.balanceOf(c.deployments.pool),
        c.settlement.balanceOf(c.sender),
        c.settlement.balanceOf(c.deployments.custody),
      ]);
      return { assets, supply, priceAssets, priceSupply, poolHeld, relayerHeld, custodyHeld };
    };
    const priceNotLower = (before: { priceAssets: bigint; priceSupply: bigint }, after: typeof before) =>
      after.priceAssets * before.priceSupply >= before.priceAssets * after.priceSupply;
    const priceHigher = (before: { priceAssets: bigint; priceSupply: bigint }, after: typeof before) =>
      after.priceAssets * before.priceSupply > before.priceAssets * after.priceSupply;
    const eventOf = (op: { events?: { name: string; args: Record<string, string> }[] }, name: string) => {
      const found = (op.events ?? []).filter((e) => e.name === name);
      expect(found, `${name} in ${JSON.stringify(op.events)}`).to.have.length(1);
      return found[0].args;
    };
    const auditRows = async () => (await relayer.db.query<{ n: string | number }>("SELECT count(*) AS n FROM audit_log"))[0].n;
    const operationRows = async () => (await relayer.db.query<{ n: string | number }>("SELECT count(*) AS n FROM operations"))[0].n;

    before(async function () {
      if (database) external = await database();
      relayer = await startTestRelayer({ db: external?.db });
      base = relayer.url;
      shop = await createShop(base, "Grants");
      await mint("g-alice-1", "alice", "100.00");
      const bob = await admin("POST", "/v1/users", { userId: "bob", password: "bob-login-pw" });
      expect(bob.status, JSON.stringify(bob.body)).to.equal(201);
      expect((await settledOperation(base, TEST_ADMIN_TOKEN, bob.body.operation.operationId)).state).to.equal("confirmed");
      const login = await call(base, "POST", "/v1/sessions", { body: { userId: "bob", password: "bob-login-pw" } });
      session = login.body.token;
    });
    after(async function () {
      await relayer?.stop();
      await external?.close();
    });

    describe("a grant", function () {
      it("mints the GP the pool previewed, paid by the relayer's settlement into the pool; the price does not fall", async function () {
        const before = await figures();
        const held = (await accountOf("alice")).points;
        const preview = await relayer.chain.pool.previewContribution(USD("10"));
        const res = await admin("POST", "/v1/admin/users/alice/grants", { contribution: "10.00", reason: "refund of order 1042" });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        expect(res.body).to.include({ kind: "grant", state: "queued" });
        expect(res.body.details).to.deep.equal({ userId: "alice", contribution: "10", reason: "refund of order 1042" });
        expect(GP(res.body.preview.points)).to.equal(preview);
        const op = await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId);
        expect(op.state, JSON.stringify(op)).to.equal("confirmed");
        const granted = eventOf(op, "Granted");
        expect([BigInt(granted.points), BigInt(granted.contribution)]).to.deep.equal([preview, USD("10")]);
        expect(eventOf(op, "ContributionRecorded").points).to.equal(preview.toString());
        const after = await figures();
        expect((await accountOf("alice")).points - held).to.equal(preview);
        expect(after.assets - before.assets, "assets up by the contribution").to.equal(USD("10"));
        expect(after.poolHeld - before.poolHeld).to.equal(USD("10"));
        expect(before.relayerHeld - after.relayerHeld, "paid from the relayer's wallet").to.equal(USD("10"));
        expect(after.supply - before.supply).to.equal(preview);
        expect(priceNotLower(before, after), "the price did not fall").to.equal(true);
        expect((op.events ?? []).some((e: { name: string }) => e.name === "ReferralCredited")).to.equal(false);
      });

      it("is applied once for a retried request: the same answer, one operation, one audit entry", async function () {
        const key = randomUUID();
        const body = { contribution: "2", reason: "goodwill" };
        const first = await admin("POST", "/v1/admin/users/alice/grants", body, key);
        expect(first.status).to.equal(202);
        const [ops, entries] = [await operationRows(), await auditRows()];
        const again = await admin("POST", "/v1/admin/users/alice/grants", body, key);
        expect([again.status, again.body.operationId, again.headers.get("idempotent-replayed")]).to.deep.equal([
          202,
          first.body.operationId,
          "true",
        ]);
        expect([await operationRows(), await auditRows()]).to.deep.equal([ops, entries]);
        await settledOperation(base, TEST_ADMIN_TOKEN, first.body.operationId);
        const grants = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.Granted(undefined, account("alice")));
        expect(grants.filter((g) => g.args.contribution === USD("2"))).to.have.length(1);
        const other = await admin("POST", "/v1/admin/users/alice/grants", { ...body, contribution: "3" }, key);
        expect([other.status, other.body.error.code]).to.deep.equal([409, "IDEMPOTENCY_CONFLICT"]);
        const unkeyed = await call(base, "POST", "/v1/admin/users/alice/grants", { token: TEST_ADMIN_TOKEN, body });
        expect([unkeyed.status, unkeyed.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
      });

      it("reaches a user no order reached yet, registering its account on the chain", async function () {
        const res = await admin("POST", "/v1/admin/users/bob/grants", { contribution: "1", reason: "welcome" });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        const op = await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId);
        expect((await accountOf("bob")).points).to.equal(BigInt(eventOf(op, "Granted").points));
      });

      it("refuses an unknown user, a missing or long reason, zero and dust that mints nothing, changing nothing", async function () {
        const [ops, entries] = [await operationRows(), await auditRows()];
        const unknown = await admin("POST", "/v1/admin/users/nobody/grants", { contribution: "1", reason: "x" });
        expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "NOT_FOUND"]);
        for (const body of [
          { contribution: "1" },
          { contribution: "1", reason: "   " },
          { contribution: "1", reason: "x".repeat(501) },
          { contribution: "0", reason: "x" },
          { contribution: "1.0000001", reason: "x" },
          { contribution: 1, reason: "x" },
        ]) {
          const res = await admin("POST", "/v1/admin/users/alice/grants", body);
          expect([res.status, JSON.stringify(body)]).to.deep.equal([400, JSON.stringify(body)]);
        }
        const dust = await admin("POST", "/v1/admin/users/alice/grants", { contribution: "0.000001", reason: "x" });
        expect([dust.status, dust.body.error.code]).to.deep.equal([400, "AMOUNT_OUT_OF_RANGE"]);
        const aboveFloat = await admin("POST", "/v1/admin/users/alice/grants", { contribution: "100001", reason: "x" });
        expect([aboveFloat.status, aboveFloat.body.error.code]).to.deep.equal([400, "AMOUNT_OUT_OF_RANGE"]);
        expect([await operationRows(), await auditRows()]).to.deep.equal([ops, entries]);
      });
    });

    describe("a removal", function () {
      it("burns the GP without payout: the price rises, nothing is paid to anyone", async function () {
        const before = await figures();
        const held = (await accountOf("alice")).points;
        const res = await admin("POST", "/v1/admin/users/alice/removals", { points: "3.5", reason: "fraudulent order 77" });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        expect(res.body.details).to.deep.equal({ userId: "alice", points: "3.5", reason: "fraudulent order 77" });
        expect(GP(res.body.preview.held)).to.equal(held);
        const op = await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId);
        expect(op.state, JSON.stringify(op)).to.equal("confirmed");
        expect(BigInt(eventOf(op, "Removed").points)).to.equal(GP("3.5"));
        expect(BigInt(eventOf(op, "PointsRetired").points)).to.equal(GP("3.5"));
        expect((op.events ?? []).some((e: { name: string }) => e.name === "Redeemed")).to.equal(false);
        const after = await figures();
        expect(held - (await accountOf("alice")).points).to.equal(GP("3.5"));
        expect(before.supply - after.supply, "burned").to.equal(GP("3.5"));
        expect([after.assets, after.poolHeld, after.relayerHeld, after.custodyHeld], "nothing paid out").to.deep.equal([
          before.assets,
          before.poolHeld,
          before.relayerHeld,
          before.custodyHeld,
        ]);
        expect(priceHigher(before, after), "the price rose").to.equal(true);
      });

      it("refuses more than the user holds, checked on the chain before queueing, changing nothing", async function () {
        const held = (await accountOf("alice")).points;
        const [ops, entries, supply] = [await operationRows(), await auditRows(), await relayer.chain.points.totalSupply()];
        const asked = held + 1n;
        const res = await admin("POST", "/v1/admin/users/alice/removals", { points: formatUnits(asked, 18), reason: "too much" });
        expect([res.status, res.body.error.code], JSON.stringify(res.body)).to.deep.equal([422, "INSUFFICIENT_POINTS"]);
        expect([GP(res.body.error.details.held), GP(res.body.error.details.asked)]).to.deep.equal([held, asked]);
        expect([await operationRows(), await auditRows(), await relayer.chain.points.totalSupply()]).to.deep.equal([ops, entries, supply]);
        expect((await accountOf("alice")).points).to.equal(held);
        const unknown = await admin("POST", "/v1/admin/users/nobody/removals", { points: "1", reason: "x" });
        expect([unknown.status, unknown.body.error.code]).to.deep.equal([404, "NOT_FOUND"]);
        const none = await admin("POST", "/v1/admin/users/carol-never/removals", { points: "1", reason: "x" });
        expect(none.status).to.equal(404);
      });

      it("never removes more than held when two removals of everything race: the second is refused, at once or by the chain", async function () {
        await mint("g-hana-1", "hana", "10");
        const held = formatUnits((await accountOf("hana")).points, 18);
        const answers = await Promise.all(
          [0, 1].map(() => admin("POST", "/v1/admin/users/hana/removals", { points: held, reason: "duplicate account" })),
        );
        const outcomes = [];
        for (const res of answers) {
          if (res.status !== 202) {
            outcomes.push([res.status, res.body.error.code]);
            continue;
          }
          const op = await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId);
          outcomes.push(op.state === "confirmed" ? ["confirmed"] : [op.state, op.reason]);
        }
        const refused = [
          [422, "INSUFFICIENT_POINTS"],
          ["rejected", "the account does not hold enough of this asset (CustodyInsufficientBalance)"],
        ];
        expect(
          outcomes.filter((o) => o[0] === "confirmed"),
          JSON.stringify(outcomes),
        ).to.have.length(1);
        const other = outcomes.find((o) => o[0] !== "confirmed");
        expect(
          refused.map((r) => JSON.stringify(r)),
          JSON.stringify(outcomes),
        ).to.include(JSON.stringify(other));
        expect((await accountOf("hana")).points).to.equal(0n);
        const removed = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.Removed(undefined, account("hana")));
        expect(removed).to.have.length(1);
      });

      it("is applied once for a retried request", async function () {
        const key = randomUUID();
        const held = (await accountOf("alice")).points;
        const first = await admin("POST", "/v1/admin/users/alice/removals", { points: "0.25", reason: "correction" }, key);
        const again = await admin("POST", "/v1/admin/users/alice/removals", { points: "0.25", reason: "correction" }, key);
        expect(again.body.operationId).to.equal(first.body.operationId);
        await settledOperation(base, TEST_ADMIN_TOKEN, first.body.operationId);
        expect(held - (await accountOf("alice")).points).to.equal(GP("0.25"));
      });
    });

    describe("who may call", function () {
      it("refuses a shop's secret, a user's session and no token on grants, removals and the audit log", async function () {
        const ops = await operationRows();
        for (const [method, route, body] of [
          ["POST", "/v1/admin/users/alice/grants", { contribution: "1", reason: "x" }],
          ["POST", "/v1/admin/users/bob/removals", { points: "0.1", reason: "x" }],
          ["GET", "/v1/admin/audit", undefined],
        ] as const) {
          for (const token of [shop.webhookSecret, session, undefined]) {
            const headers: Record<string, string> = { "idempotency-key": randomUUID(), "x-gp-shop": shop.shopId };
            const res = await call(base, method, route, { token, body, headers });
            expect([res.status, res.body.error.code], `${method} ${route}`).to.deep.equal([401, "UNAUTHORIZED"]);
          }
        }
        expect(await operationRows()).to.equal(ops);
      });
    });

    describe("the audit log", function () {
      it("lists who did what to whom and why, newest first, with the operation, in pages and as CSV", async function () {
        const res = await call(base, "GET", "/v1/admin/audit?subject=user:alice", { token: TEST_ADMIN_TOKEN });
        expect(res.status).to.equal(200);
        const entries = res.body.entries as { action: string; subject: string; reason: string; operationId: string; actor: string }[];
        expect(entries.map((e) => [e.action, e.subject, e.reason])).to.deep.equal([
          ["removal", "user:alice", "correction"],
          ["removal", "user:alice", "fraudulent order 77"],
          ["grant", "user:alice", "goodwill"],
          ["grant", "user:alice", "refund of order 1042"],
        ]);
        expect(entries.every((e) => e.actor === "admin-token" && e.operationId.startsWith("op_"))).to.equal(true);
        const [op] = await relayer.db.query<{ kind: string; account: string }>("SELECT kind, account FROM operations WHERE id = $1", [
          entries[3].operationId,
        ]);
        expect(op).to.deep.equal({ kind: "grant", account: account("alice") });
        expect(res.body.entries[3].details).to.include({ userId: "alice", contribution: "10", reason: "refund of order 1042" });
        expect(res.body.entries[3].details.preview.points).to.be.a("string");
        const all = await call(base, "GET", "/v1/admin/audit", { token: TEST_ADMIN_TOKEN });
        expect(all.body.entries[0].reason).to.equal("correction");
        expect(all.body.entries.filter((e: { subject: string }) => e.subject === "user:hana").length).to.be.within(1, 2);

        const page1 = await call(base, "GET", "/v1/admin/audit?limit=2&action=grant", { token: TEST_ADMIN_TOKEN });
        expect(page1.body.entries.map((e: { reason: string }) => e.reason)).to.deep.equal(["welcome", "goodwill"]);
        expect(page1.headers.get("x-next-cursor")).to.equal(page1.body.nextCursor);
        const page2 = await call(base, "GET", `/v1/admin/audit?limit=2&action=grant&cursor=${page1.body.nextCursor}`, {
          token: TEST_ADMIN_TOKEN,
        });
        expect([page2.body.entries.map((e: { reason: string }) => e.reason), page2.body.nextCursor]).to.deep.equal([
          ["refund of order 1042"],
          null,
        ]);
        const bobs = await call(base, "GET", "/v1/admin/audit?subject=user:bob", { token: TEST_ADMIN_TOKEN });
        expect(bobs.body.entries).to.have.length(1);

        const csv = await call(base, "GET", "/v1/admin/audit?format=csv&limit=2", { token: TEST_ADMIN_TOKEN });
        expect(csv.headers.get("content-type")).to.match(/^text\/csv/);
        const lines = (csv.body as string).trimEnd().split("\r\n");
        expect(lines[0]).to.equal("seq,at,actor,actorLogin,action,subject,operationId,reason,details");
        expect(lines).to.have.length(3);
        expect(lines[1]).to.contain(",admin-token,,removal,user:alice,").and.to.contain(",correction,");
        expect(lines[2]).to.contain("duplicate account");
        expect(csv.headers.get("x-next-cursor")).to.be.a("string");
        const bad = await call(base, "GET", "/v1/admin/audit?cursor=abc", { token: TEST_ADMIN_TOKEN });
        expect([bad.status, bad.body.error.code]).to.deep.equal([400, "VALIDATION_FAILED"]);
      });
    });

    describe("the first-order referral reward (the embedded default)", function () {
      it("credits the referrer on the referee's first order only, one level", async function () {
        const parameters = await relayer.chain.custody.parameters();
        expect(parameters.referralMode).to.equal(1n);
        expect((await relayer.chain.pool.parameters()).referralShare2).to.equal(0n);
        await mint("g-rita-1", "rita", "10");
        await mint("g-finn-1", "finn", "100", "rita");
        const credited = await relayer.chain.custody.queryFilter(
          relayer.chain.custody.filters.ReferralCredited(undefined, account("rita")),
        );
        expect(credited).to.have.length(1);
        expect(credited[0].args.points > 0n).to.equal(true);
        const rita = (await accountOf("rita")).points;
        await mint("g-finn-2", "finn", "100", "rita");
        await mint("g-finn-3", "finn", "50");
        expect(
          await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited(undefined, account("rita"))),
        ).to.have.length(1);
        expect((await accountOf("rita")).points).to.equal(rita);
        // A referee of Finn's: Finn is credited once; Rita, its second level, gets nothing (referralShare2 is 0).
        await mint("g-gus-1", "gus", "100", "finn");
        const levels = await relayer.chain.custody.queryFilter(relayer.chain.custody.filters.ReferralCredited());
        expect(levels.map((e) => [e.args.referrer, Number(e.args.level), e.args.points > 0n])).to.deep.equal([
          [account("rita"), 1, true],
          [account("finn"), 1, true],
          [account("rita"), 2, false],
        ]);
        expect((await accountOf("rita")).points).to.equal(rita);
      });

      it("is a custody parameter the operator can switch to per-order shares and back", async function () {
        const set = async (value: string) => {
          const res = await admin("PUT", "/v1/admin/custody/parameters/referralMode", { value });
          expect(res.status, JSON.stringify(res.body)).to.equal(202);
          expect((await settledOperation(base, TEST_ADMIN_TOKEN, res.body.operationId)).state).to.equal("confirmed");
        };
        await set("0");
        expect((await relayer.chain.custody.parameters()).referralMode).to.equal(0n);
        const before = (await accountOf("rita")).points;
        await mint("g-finn-4", "finn", "100");
        expect((await accountOf("rita")).points > before, "per-order shares credit a later order").to.equal(true);
        await set("1");
        const bad = await admin("PUT", "/v1/admin/custody/parameters/referralMode", { value: "2" });
        expect([bad.status, bad.body.error.code]).to.deep.equal([422, "CHAIN_REFUSED"]);
      });
    });
  });
}

shouldServeGrants("PGlite");
if (process.env.DATABASE_URL) {
  shouldServeGrants("PostgreSQL", () => freshPostgresDb(process.env.DATABASE_URL!));
}
