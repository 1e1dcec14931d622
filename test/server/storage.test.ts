/**
 * Storage and order intake against the real database code: PGlite always, and a real PostgreSQL
 * too when DATABASE_URL is set (.ci/run sets it when a server answers on 127.0.0.1:5432).
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import type { Db } from "../../server/adapters/db/db";
import { migrate } from "../../server/adapters/db/migrations";
import { claimReceived, countByState, findOrder } from "../../server/adapters/db/orders";
import {
  claimQueued,
  insertOperation,
  markOperationConfirmed,
  markOperationSubmitted,
  olderOperationUnsettled,
  settlementRefillPending,
} from "../../server/adapters/db/operations";
import { allocateNonce, insertTransaction, lockTransaction, openTransactions } from "../../server/adapters/db/transactions";
import { openPglite } from "../../server/adapters/db/pglite";
import { openPostgres } from "../../server/adapters/db/postgres";
import { freshSchema } from "../helpers/postgres";
import { insertShop } from "../../server/adapters/db/shops";
import { settingOrCreate } from "../../server/adapters/db/settings";
import { createOrderIntake } from "../../server/services/order-intake";
import { AppError } from "../../server/errors";
import { signedInboundOrder } from "../helpers/inbound-orders";

const NOW = 1_800_000_000;

async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
    return undefined;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

function shouldStoreOrders(kind: string, open: () => Promise<Db>, dispose: () => Promise<void> = async () => undefined) {
  describe(`order intake on ${kind}`, function () {
    let db: Db;
    let shopId: string;
    const secret = "whsec_storage";
    const intake = () =>
      createOrderIntake({
        db,
        settlementDecimals: 6,
        maxOrderAmount: 10n ** 18n,
        userSalt: "test-salt",
        nowSeconds: () => NOW,
        extensions: [],
      });

    before(async function () {
      db = await open();
      await migrate(db);
      await migrate(db); // a second start finds the schema in place
    });
    beforeEach(async function () {
      shopId = `shop-${randomUUID()}`;
      await insertShop(db, { id: shopId, name: "Test shop", webhookSecret: secret });
    });
    after(async function () {
      await db?.close();
      await dispose();
    });

    it("records a signed order once, and answers a repeat with its state", async function () {
      const body = { orderId: "A-1", userId: "alice", amount: "100.00" };
      const first = await intake().receive(signedInboundOrder(shopId, secret, body, NOW));
      expect(first).to.deep.equal({ created: true, orderId: "A-1", state: "received" });
      const again = await intake().receive(signedInboundOrder(shopId, secret, body, NOW + 5));
      expect(again).to.deep.equal({ created: false, orderId: "A-1", state: "received" });
      const stored = await findOrder(db, shopId, "A-1");
      expect(stored?.amount).to.equal(100_000_000n);
    });

    it("records 20 concurrent copies of one order exactly once", async function () {
      const body = { orderId: "B-1", userId: "bob", amount: "12.34" };
      const results = await Promise.all(Array.from({ length: 20 }, () => intake().receive(signedInboundOrder(shopId, secret, body, NOW))));
      expect(results.filter((r) => r.created).length).to.equal(1);
      expect(results.every((r) => r.orderId === "B-1" && r.state === "received")).to.equal(true);
      const [{ n }] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE shop_id = $1", [shopId]);
      expect(n).to.equal(1);
    });

    it("refuses the same order id with another body, and changes nothing", async function () {
      await intake().receive(signedInboundOrder(shopId, secret, { orderId: "C-1", userId: "carol", amount: "1" }, NOW));
      expect(
        await codeOf(intake().receive(signedInboundOrder(shopId, secret, { orderId: "C-1", userId: "carol", amount: "2" }, NOW))),
      ).to.equal("ORDER_CONFLICT");
      expect((await findOrder(db, shopId, "C-1"))?.amount).to.equal(1_000_000n);
    });

    it("refuses bad input with a stable code and records nothing", async function () {
      const cases: [unknown, string][] = [
        ["{not json", "INVALID_JSON"],
        [{ orderId: "D-1", userId: "dave" }, "VALIDATION_FAILED"],
        [{ orderId: "D-1", userId: "dave", amount: 100 }, "VALIDATION_FAILED"],
        [{ orderId: "D-1", userId: "dave", amount: "1.0000001" }, "VALIDATION_FAILED"],
        [{ orderId: "D-1", userId: "dave", amount: "0" }, "AMOUNT_OUT_OF_RANGE"],
        [{ orderId: "D-1", userId: "dave", amount: "1000000000001" }, "AMOUNT_OUT_OF_RANGE"],
        [{ orderId: "D-1", userId: "dave", amount: "1", extra: true }, "VALIDATION_FAILED"],
        [{ orderId: "", userId: "dave", amount: "1" }, "VALIDATION_FAILED"],
      ];
      for (const [body, code] of cases) {
        expect(await codeOf(intake().receive(signedInboundOrder(shopId, secret, body, NOW))), JSON.stringify(body)).to.equal(code);
      }
      const good = signedInboundOrder(shopId, secret, { orderId: "D-1", userId: "dave", amount: "1" }, NOW);
      expect(await codeOf(intake().receive({ ...good, shopId: "no-such-shop" }))).to.equal("UNKNOWN_SHOP");
      expect(await codeOf(intake().receive({ ...good, signature: signedInboundOrder(shopId, "wrong", {}, NOW).signature }))).to.equal(
        "BAD_SIGNATURE",
      );
      expect(
        await codeOf(intake().receive(signedInboundOrder(shopId, secret, { orderId: "D-1", userId: "dave", amount: "1" }, NOW - 301))),
      ).to.equal("STALE_TIMESTAMP");
      expect(await findOrder(db, shopId, "D-1")).to.equal(null);
    });

    it("lets concurrent senders claim disjoint orders (FOR UPDATE SKIP LOCKED)", async function () {
      await db.query("UPDATE orders SET state = 'rejected', reason = 'test isolation' WHERE state = 'received'");
      for (let i = 0; i < 6; i++) {
        await intake().receive(signedInboundOrder(shopId, secret, { orderId: `E-${i}`, userId: "erin", amount: "5" }, NOW));
      }
      // Two senders at once: each claims up to 4, holds its rows a moment, then marks them taken.
      const sender = () =>
        db.transaction(async (tx) => {
          const claimed = await claimReceived(tx, 4, "0x0000000000000000000000000000000000000001");
          await new Promise((r) => setTimeout(r, 150));
          for (const o of claimed) {
            await tx.query("UPDATE orders SET state = 'submitted', sent_by = $3 WHERE shop_id = $1 AND order_id = $2", [
              o.shopId,
              o.orderId,
              "0x0000000000000000000000000000000000000001",
            ]);
          }
          return claimed.map((o) => o.orderId);
        });
      const [a, b] = await Promise.all([sender(), sender()]);
      expect(
        a.filter((id) => b.includes(id)),
        "no order claimed twice",
      ).to.deep.equal([]);
      expect([...a, ...b].sort()).to.deep.equal(["E-0", "E-1", "E-2", "E-3", "E-4", "E-5"]);
    });

    it("leaves an order sent before under another relayer key to that key", async function () {
      const [keyA, keyB] = ["0x000000000000000000000000000000000000000A", "0x000000000000000000000000000000000000000B"];
      await db.query("UPDATE orders SET state = 'rejected', reason = 'test isolation' WHERE state = 'received'");
      await intake().receive(signedInboundOrder(shopId, secret, { orderId: "K-1", userId: "kim", amount: "5" }, NOW));
      await intake().receive(signedInboundOrder(shopId, secret, { orderId: "K-2", userId: "kim", amount: "5" }, NOW));
      // K-1 went out under key A once and came back (its transaction lost): only A may send it again.
      await db.query("UPDATE orders SET sent_by = $3 WHERE shop_id = $1 AND order_id = $2", [shopId, "K-1", keyA]);
      const claimedBy = (key: string) => db.transaction(async (tx) => (await claimReceived(tx, 10, key)).map((o) => o.orderId));
      expect(await claimedBy(keyB)).to.deep.equal(["K-2"]);
      expect(await claimedBy(keyA)).to.deep.equal(["K-1", "K-2"]);
    });

    it("leaves a refill of one relayer's float to that relayer", async function () {
      const [keyA, keyB] = ["0x00000000000000000000000000000000000000aA", "0x00000000000000000000000000000000000000bB"];
      await db.query("UPDATE operations SET state = 'rejected' WHERE state = 'queued'");
      const base = { actor: "relayer", account: null, counterparty: null, requestId: null, target: "settlement", calldata: null };
      const refill = await insertOperation(db, { ...base, id: `op_${randomUUID()}`, kind: "settlement-refill", details: {}, sentBy: keyA });
      const anyone = await insertOperation(db, { ...base, id: `op_${randomUUID()}`, kind: "pause", details: {} });
      const claimedBy = (key: string) => db.transaction(async (tx) => (await claimQueued(tx, 10, key)).map((o) => o.id));
      expect(await claimedBy(keyB)).to.deep.equal([anyone.id]);
      expect(await claimedBy(keyA)).to.deep.equal([refill.id, anyone.id]);
      expect(await settlementRefillPending(db, keyA)).to.equal(true);
      expect(await settlementRefillPending(db, keyB)).to.equal(false);
      await db.query("UPDATE operations SET state = 'rejected' WHERE state = 'queued'");
    });

    it("refuses an order marked sent without its key, as a process of an earlier version would", async function () {
      await intake().receive(signedInboundOrder(shopId, secret, { orderId: "OLD-1", userId: "olga", amount: "5" }, NOW));
      const code = await db.query("UPDATE orders SET state = 'submitted' WHERE shop_id = $1 AND order_id = $2", [shopId, "OLD-1"]).then(
        () => "updated",
        (error: { code?: string; cause?: { code?: string } }) => error.code ?? error.cause?.code,
      );
      expect(code).to.equal("23514"); // check_violation
      expect((await findOrder(db, shopId, "OLD-1"))?.state).to.equal("received");
    });

    it("sends operations in the order they were recorded, even when the clock gives several the same instant", async function () {
      await db.query("UPDATE operations SET state = 'rejected' WHERE state = 'queued'");
      const base = { actor: "admin", account: null, counterparty: null, requestId: null, target: "pool", calldata: "0x" };
      const recorded: string[] = [];
      for (let i = 0; i < 30; i++)
        recorded.push(
          (await insertOperation(db, { ...base, id: `op_${randomUUID()}`, kind: i % 2 ? "unpause" : "pause", details: {} })).id,
        );
      const claimed = await db.transaction(async (tx) =>
        (await claimQueued(tx, 50, "0x00000000000000000000000000000000000000c1")).map((o) => o.id),
      );
      expect(claimed).to.deep.equal(recorded);
      await db.query("UPDATE operations SET state = 'rejected' WHERE state = 'queued'");
    });

    it("holds an operation back while an older one is in flight under another key, and knows a refusal then is not final", async function () {
      const [keyA, keyB] = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b1"];
      await db.query("UPDATE operations SET state = 'rejected' WHERE state IN ('queued', 'submitted')");
      const base = { actor: "admin", account: null, counterparty: null, requestId: null, target: "pool", calldata: "0x" };
      const first = await insertOperation(db, { ...base, id: `op_${randomUUID()}`, kind: "pause", details: {} });
      const second = await insertOperation(db, { ...base, id: `op_${randomUUID()}`, kind: "unpause", details: {} });
      expect(await olderOperationUnsettled(db, second, keyB), "the first is still queued").to.equal(true);
      expect(await olderOperationUnsettled(db, first, keyB)).to.equal(false);
      // Key A sends the first; until it is confirmed, key B may not send the second (nonces order one key, not two).
      const sent = await insertTransaction(db, { sender: keyA, nonce: 1, txHash: `0x${randomUUID()}`, rawTx: "0x", kind: "operation" });
      await markOperationSubmitted(db, first.id, "0x", sent.id, sent.txHash);
      const claimedBy = (key: string) => db.transaction(async (tx) => (await claimQueued(tx, 10, key)).map((o) => o.id));
      expect(await claimedBy(keyB)).to.deep.equal([]);
      expect(await claimedBy(keyA)).to.deep.equal([second.id]);
      await markOperationConfirmed(db, first.id, [], sent.txHash);
      expect(await claimedBy(keyB)).to.deep.equal([second.id]);
      expect(await olderOperationUnsettled(db, second, keyB)).to.equal(false);
      await db.query("UPDATE operations SET state = 'rejected' WHERE id = $1", [second.id]);
      await db.query("UPDATE transactions SET state = 'abandoned' WHERE id = $1", [sent.id]);
    });

    it("never gives two processes sharing a key the same nonce, even when one records its transaction while the other waits", async function () {
      const sender = `0x${randomUUID().replace(/-/g, "").slice(0, 8).padStart(40, "0")}`;
      // The node has seen nothing of ours yet: its count says 5 to both.
      const allocate = (hold: number) =>
        db.transaction(async (tx) => {
          const nonce = await allocateNonce(tx, sender, async () => 5);
          await insertTransaction(tx, { sender, nonce, txHash: `0x${randomUUID()}`, rawTx: "0x" });
          await new Promise((r) => setTimeout(r, hold));
          return nonce;
        });
      const nonces = await Promise.all([allocate(150), allocate(0), allocate(50)]);
      expect([...nonces].sort()).to.deep.equal([5, 6, 7]);
      const open = await openTransactions(db, sender);
      expect(open.map((t) => t.nonce)).to.deep.equal([5, 6, 7]);
      // One process settles a transaction under its row lock: the other skips it meanwhile.
      const [first] = open;
      const seen = await db.transaction(async (tx) => {
        const mine = await lockTransaction(tx, first.id, "open");
        // PGlite runs one transaction at a time: there the other process waits instead of skipping.
        const other =
          db.kind === "pglite" ? "serialised" : ((await db.transaction((o) => lockTransaction(o, first.id, "open")))?.nonce ?? null);
        return { mine: mine?.nonce, other };
      });
      expect(seen.mine).to.equal(5);
      expect(seen.other).to.be.oneOf([null, "serialised"]);
      await db.query("UPDATE transactions SET state = 'abandoned' WHERE sender = $1", [sender]);
    });

    it("creates a setting once and returns the same value to every caller", async function () {
      const key = `salt-${randomUUID()}`;
      const values = await Promise.all(Array.from({ length: 5 }, (_, i) => settingOrCreate(db, key, () => `value-${i}`)));
      expect(new Set(values).size).to.equal(1);
    });
  });
}

shouldStoreOrders("PGlite", () => openPglite(null));
if (process.env.DATABASE_URL) {
  // A schema of its own, dropped after: the server's public schema may hold another version's tables.
  let dropSchema: (() => Promise<void>) | null = null;
  shouldStoreOrders(
    "PostgreSQL",
    async () => {
      const schema = await freshSchema(process.env.DATABASE_URL!);
      dropSchema = schema.drop;
      return openPostgres(schema.url);
    },
    () => dropSchema?.() ?? Promise.resolve(),
  );
}
