/**
 * The sender against a real anvil and the real database code (PGlite): webhooks in, confirmed
 * mints out, each order exactly once, through a lost broadcast and a lost block.
 */
import { expect } from "chai";
import pino from "pino";
import { ANVIL_DEV_KEY, type EmbeddedChain } from "../../server/adapters/chain/anvil";
import type { ChainPort } from "../../server/adapters/chain/chain";
import type { Db } from "../../server/adapters/db/db";
import { countByState, findOrder } from "../../server/adapters/db/orders";
import { insertShop } from "../../server/adapters/db/shops";
import { formatAmount } from "../../server/domain/display";
import { createSender } from "../../server/services/sender";
import { queueCall } from "../../server/services/operations";
import { findOperation } from "../../server/adapters/db/operations";
import { custodialUserId } from "../../server/adapters/chain/ids";
import { Wallet, parseUnits } from "ethers";
import { Writable } from "node:stream";
import { MockStablecoin__factory } from "../../typechain-types";
import { orderView } from "../../server/http/orders";
import { createOrderIntake } from "../../server/services/order-intake";
import { signedInboundOrder } from "../helpers/inbound-orders";
import { startLocalStack, stopLocalStack } from "../helpers/local-stack";

/** The second of anvil's funded development accounts: someone else than the relayer. */
const OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("the sender on anvil and PGlite", function () {
  this.timeout(120_000);
  const secret = "whsec_sender";
  const shopId = "shop-1";
  let dir: string;
  let anvil: EmbeddedChain;
  let chain: ChainPort;
  let db: Db;
  const log = pino({ level: "silent" });
  const now = () => Math.floor(Date.now() / 1000);
  const intake = () =>
    createOrderIntake({ db, settlementDecimals: 6, maxOrderAmount: 10n ** 18n, userSalt: "test-salt", nowSeconds: now, extensions: [] });
  const send = (orderId: string, userId: string, amount: string) =>
    intake().receive(signedInboundOrder(shopId, secret, { orderId, userId, amount }, now()));
  const sender = (c: ChainPort = chain) =>
    createSender({ db, chain: c, userSalt: "salt", log, options: { batchSize: 50, confirmations: 0, replaceAfterMs: 60_000 } });
  const rpc = async (method: string, params: unknown[] = []) => {
    const res = await fetch(anvil.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return ((await res.json()) as { result: unknown }).result;
  };
  /** Ticks until no order is received or submitted. */
  async function settleAll(b = sender()) {
    for (let i = 0; i < 50; i++) {
      await b.tick();
      const c = await countByState(db);
      if (c.received === 0 && c.submitted === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`orders still pending: ${JSON.stringify(await countByState(db))}`);
  }
  const gp = async (orderId: string) => {
    const o = await findOrder(db, shopId, orderId);
    return {
      state: o?.state,
      gp: o?.gpMinted === null || o?.gpMinted === undefined ? null : formatAmount(o.gpMinted, 18),
      reason: o?.reason,
    };
  };

  before(async function () {
    ({ dir, anvil, chain, db } = await startLocalStack("gp-sender-"));
    await insertShop(db, { id: shopId, name: "Shop", webhookSecret: secret });
  });
  after(() => stopLocalStack({ dir, anvil, chain, db }));

  it("mints the worked example once, and rejects an order too small to mint, with the reason", async function () {
    await send("A", "alice", "100.00");
    await send("B", "alice", "100.00");
    await send("C", "alice", "100.00");
    await send("A", "alice", "100.00"); // a duplicate webhook
    await send("tiny", "bob", "0.000001");
    await settleAll();
    expect([await gp("A"), await gp("B"), await gp("C")].map((o) => [o.state, o.gp])).to.deep.equal([
      ["confirmed", "20.999999"],
      ["confirmed", "14.7"],
      ["confirmed", "12.495"],
    ]);
    expect(await gp("tiny")).to.deep.include({ state: "rejected", reason: "the amount is too small to mint any GP at the current price" });
    expect(formatAmount(await chain.points.totalSupply(), 18)).to.equal("48.195");
    // Each sent order is bound to the key that sent it: only that key may send it again.
    for (const id of ["A", "B", "C"])
      expect(
        (await db.query<{ sent_by: string }>("SELECT sent_by FROM orders WHERE shop_id = $1 AND order_id = $2", [shopId, id]))[0],
      ).to.deep.equal({ sent_by: chain.sender });
  });

  it("re-sends a recorded batch whose broadcast was lost, and mints it once", async function () {
    const lossy: ChainPort = { ...chain, broadcast: async () => undefined };
    await send("D", "dave", "50");
    await sender(lossy).tick();
    expect((await findOrder(db, shopId, "D"))?.state).to.equal("submitted");
    expect(await chain.isOrderRecorded((await findOrder(db, shopId, "D"))!.chainOrderId)).to.equal(false);
    await settleAll();
    expect((await gp("D")).state).to.equal("confirmed");
    expect(await chain.isOrderRecorded((await findOrder(db, shopId, "D"))!.chainOrderId)).to.equal(true);
  });

  it("puts the orders of a lost block back in the queue and mints them again, once", async function () {
    const supplyBefore = await chain.points.totalSupply();
    const snapshot = await rpc("evm_snapshot");
    await send("E", "erin", "100");
    await settleAll();
    const first = await findOrder(db, shopId, "E");
    expect(first?.state).to.equal("confirmed");
    await rpc("evm_revert", [snapshot]); // the block with E's batch is gone, as after a hard kill of the chain
    await rpc("evm_mine"); // the chain moves on without it
    expect(await chain.isOrderRecorded(first!.chainOrderId)).to.equal(false);
    await settleAll();
    const again = await findOrder(db, shopId, "E");
    expect(again?.state).to.equal("confirmed");
    expect(await chain.isOrderRecorded(again!.chainOrderId)).to.equal(true);
    expect((await chain.points.totalSupply()) - supplyBefore).to.equal(again!.gpMinted);
  });

  it("replaces a transaction the chain does not mine in time with a higher fee at the same nonce, and mints once", async function () {
    const b = createSender({ db, chain, userSalt: "salt", log, options: { batchSize: 50, confirmations: 0, replaceAfterMs: 200 } });
    await rpc("evm_setAutomine", [false]);
    try {
      await send("F", "frank", "10");
      await b.tick();
      const stuck = await findOrder(db, shopId, "F");
      expect(stuck?.state).to.equal("submitted");
      await new Promise((r) => setTimeout(r, 300));
      await b.tick();
      const replaced = await findOrder(db, shopId, "F");
      expect(replaced?.txHash).to.not.equal(stuck?.txHash);
      const [first, second] = await Promise.all([
        chain.settlement.runner!.provider!.getTransaction(stuck!.txHash!),
        chain.settlement.runner!.provider!.getTransaction(replaced!.txHash!),
      ]);
      expect(second?.nonce).to.equal(first?.nonce ?? second?.nonce);
      expect(second!.maxFeePerGas! > (first?.maxFeePerGas ?? 0n)).to.equal(true);
      expect(second!.maxPriorityFeePerGas! > (first?.maxPriorityFeePerGas ?? 0n)).to.equal(true);
      await rpc("evm_mine");
    } finally {
      await rpc("evm_setAutomine", [true]);
    }
    await settleAll(b);
    const done = await findOrder(db, shopId, "F");
    expect(done?.state).to.equal("confirmed");
    expect((await chain.mined(done!.txHash!))?.status).to.equal(1);
    expect(await chain.isOrderRecorded(done!.chainOrderId)).to.equal(true);
  });

  describe("operations (custodial moves), sent with the same nonces", function () {
    const alice = custodialUserId("salt", "alice");
    const bob = custodialUserId("salt", "dave"); // D was minted above
    /** Queues a transfer of `gp` GP from alice to bob, as the HTTP layer does. */
    const queueTransfer = (gp: string) =>
      queueCall(db, chain, {
        kind: "transfer",
        actor: "test",
        account: alice,
        counterparty: bob,
        target: "custody",
        fn: "transfer",
        args: (requestId) => [requestId, alice, bob, 0, parseUnits(gp, 18)],
        details: { gp },
      });
    async function settleOps(b = sender()) {
      for (let i = 0; i < 50; i++) {
        await b.tick();
        const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE state IN ('queued', 'submitted')");
        if (row.n === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("operations still pending");
    }
    const balances = async () => [(await chain.custody.accountOf(alice)).points, (await chain.custody.accountOf(bob)).points];

    it("re-sends an operation whose broadcast was lost, and applies it once", async function () {
      const [a0, b0] = await balances();
      const op = await queueTransfer("1");
      await sender({ ...chain, broadcast: async () => undefined }).tick();
      expect((await findOperation(db, op.id))?.state).to.equal("submitted");
      expect(await chain.custody.isRequestProcessed(op.requestId!)).to.equal(false);
      await settleOps();
      expect((await findOperation(db, op.id))?.state).to.equal("confirmed");
      expect(await balances()).to.deep.equal([a0 - parseUnits("1", 18), b0 + parseUnits("1", 18)]);
    });

    it("confirms from the custody's request id an operation whose transaction hash it lost, without sending it again", async function () {
      const [a0, b0] = await balances();
      const op = await queueTransfer("0.5");
      await sender().tick();
      // The chain mined it under a hash this database does not know (as after a crash between a
      // replacement's broadcast and its record).
      await db.query("UPDATE transactions SET tx_hash = $1 WHERE id = $2", [
        "0x" + "ab".repeat(32),
        (await findOperation(db, op.id))!.transactionId,
      ]);
      await settleOps();
      const done = await findOperation(db, op.id);
      expect(done?.state).to.equal("confirmed");
      expect(done?.result?.map((e) => e.name)).to.deep.equal(["Transferred"]);
      expect(await balances()).to.deep.equal([a0 - parseUnits("0.5", 18), b0 + parseUnits("0.5", 18)]);
    });

    /** A custodial redemption of alice's GP, queued as the users' endpoint queues it. */
    const queueRedemption = (amount: string) =>
      queueCall(db, chain, {
        kind: "redeem",
        actor: "test",
        account: alice,
        target: "custody",
        fn: "redeem",
        args: (requestId) => [requestId, alice, parseUnits(amount, 18), 0],
        details: { asset: "GP", amount },
      });

    it("confirms from its own receipt an operation the chain mined between the receipt lookup and the nonce check", async function () {
      const before = (await chain.custody.accountOf(alice)).points;
      const op = await queueRedemption("0.5");
      await sender().tick();
      const sent = (await findOperation(db, op.id))!;
      expect(sent.state).to.equal("submitted");
      // The receipt is asked for just before the block lands; the nonce count just after it.
      let asked = false;
      const racing: ChainPort = {
        ...chain,
        mined: async (hash) => {
          if (hash === sent.txHash && !asked) {
            asked = true;
            return null;
          }
          return chain.mined(hash);
        },
      };
      await sender(racing).tick();
      expect(asked).to.equal(true);
      const done = await findOperation(db, op.id);
      expect(done?.state).to.equal("confirmed");
      expect(done?.txHash).to.equal(sent.txHash);
      expect(done?.result).to.deep.equal((await chain.mined(sent.txHash!))!.events);
      const redeemed = done?.result?.find((e) => e.name === "Redeemed");
      expect(redeemed, JSON.stringify(done?.result)).to.not.equal(undefined);
      expect(BigInt(redeemed!.args.fee) > 0n).to.equal(true);
      expect((await chain.custody.accountOf(alice)).points).to.equal(before - parseUnits("0.5", 18));
    });

    it("settles from the chain a redemption whose transaction hash it lost, with the events of the transaction that carried it", async function () {
      const op = await queueRedemption("0.25");
      await sender().tick();
      const sent = (await findOperation(db, op.id))!;
      await db.query("UPDATE transactions SET tx_hash = $1 WHERE id = $2", ["0x" + "cd".repeat(32), sent.transactionId]);
      await settleOps();
      const done = await findOperation(db, op.id);
      expect(done?.state).to.equal("confirmed");
      expect(done?.txHash).to.equal(sent.txHash);
      expect(done?.result?.map((e) => e.name)).to.include.members(["Redeemed", "RedeemedToBalance"]);
      expect(done?.result).to.deep.equal((await chain.mined(sent.txHash!))!.events);
    });

    it("settles from the chain a merchant flag whose transaction hash it lost, with that transaction's events", async function () {
      const op = await queueCall(db, chain, {
        kind: "set-merchant",
        actor: "test",
        account: bob,
        target: "custody",
        fn: "setMerchant",
        args: [bob, true],
        details: { merchant: "true" },
      });
      await sender().tick();
      const sent = (await findOperation(db, op.id))!;
      await db.query("UPDATE transactions SET tx_hash = $1 WHERE id = $2", ["0x" + "ef".repeat(32), sent.transactionId]);
      await settleOps();
      const done = await findOperation(db, op.id);
      expect(done?.state).to.equal("confirmed");
      expect(done?.txHash).to.equal(sent.txHash);
      expect(done?.result).to.deep.equal([{ name: "MerchantSet", args: { account: bob.toLowerCase(), merchant: "true" } }]);
      expect((await chain.custody.accountOf(bob)).merchant).to.equal(true);
    });

    it("sends again, once, an operation whose block was lost", async function () {
      const [a0, b0] = await balances();
      const snapshot = await rpc("evm_snapshot");
      const op = await queueTransfer("0.25");
      await settleOps();
      expect((await findOperation(db, op.id))?.state).to.equal("confirmed");
      await rpc("evm_revert", [snapshot]);
      await rpc("evm_mine");
      expect(await chain.custody.isRequestProcessed(op.requestId!)).to.equal(false);
      await settleOps();
      await settleOps(); // the reorg check runs at the start of a round
      expect((await findOperation(db, op.id))?.state).to.equal("confirmed");
      expect(await chain.custody.isRequestProcessed(op.requestId!)).to.equal(true);
      expect(await balances()).to.deep.equal([a0 - parseUnits("0.25", 18), b0 + parseUnits("0.25", 18)]);
    });
  });
  describe("an order the relayer's wallet cannot pay", function () {
    const other = { id: "shop-2", secret: "whsec_other" };
    const alerts: Record<string, unknown>[] = [];
    const watched = pino(
      { level: "warn" },
      new Writable({
        write(chunk, _enc, done) {
          alerts.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      }),
    );
    const parkingSender = () =>
      createSender({
        db,
        chain,
        userSalt: "salt",
        log: watched,
        options: { batchSize: 50, confirmations: 0, replaceAfterMs: 60_000, parkedRetryMs: 300 },
      });
    const sendAs = (shop: { id: string; secret: string }, orderId: string, userId: string, amount: string) =>
      intake().receive(signedInboundOrder(shop.id, shop.secret, { orderId, userId, amount }, now()));
    async function tickUntil(done: () => Promise<boolean>, b = parkingSender()) {
      for (let i = 0; i < 60; i++) {
        try {
          await b.tick();
        } catch {
          // A round that throws is retried, as the relayer loop does.
        }
        if (await done()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`not reached: ${JSON.stringify(await countByState(db))}`);
    }

    it("parks it with the reason, confirms the other shops' orders, and confirms it after a top-up", async function () {
      await insertShop(db, { id: other.id, name: "Other shop", webhookSecret: other.secret });
      const relayerWallet = new Wallet(ANVIL_DEV_KEY, chain.settlement.runner!.provider);
      const settlement = MockStablecoin__factory.connect(chain.deployments.settlement, relayerWallet);
      // The relayer keeps 100 settlement units: the small orders' 3 each fit, the big order's 300 does not.
      const held = await settlement.balanceOf(chain.sender);
      const sink = Wallet.createRandom().address;
      await (await settlement.transfer(sink, held - parseUnits("100", 6))).wait();

      await send("big", "grace", "1000");
      await sendAs(other, "small-1", "heidi", "10");
      await sendAs(other, "small-2", "ivan", "10");
      const state = async (shop: string, orderId: string) => (await findOrder(db, shop, orderId))!;
      await tickUntil(
        async () => (await state(other.id, "small-1")).state === "confirmed" && (await state(other.id, "small-2")).state === "confirmed",
      );

      const parked = await state(shopId, "big");
      expect(parked.state).to.equal("received");
      const view = orderView(parked, 6);
      expect(view.state).to.equal("received");
      expect(view.reason).to.match(
        /^parked: the relayer's settlement wallet holds too little to pay this order into the pool .*\(ERC20InsufficientBalance\)/,
      );
      expect(alerts.filter((a) => a.alert === "order-parked").map((a) => [a.shopId, a.orderId, a.chainError])).to.deep.include([
        shopId,
        "big",
        "ERC20InsufficientBalance",
      ]);
      expect(await chain.isOrderRecorded(parked.chainOrderId)).to.equal(false);

      // Anyone may top the wallet up (the test token is a faucet); the parked order then goes by itself.
      const topUp = MockStablecoin__factory.connect(chain.deployments.settlement, new Wallet(OTHER_KEY, chain.settlement.runner!.provider));
      await (await topUp.mint(chain.sender, held)).wait();
      await tickUntil(async () => (await state(shopId, "big")).state === "confirmed");
      const done = await state(shopId, "big");
      expect(orderView(done, 6).reason).to.equal(undefined);
      expect(await chain.isOrderRecorded(done.chainOrderId)).to.equal(true);
      expect(done.gpMinted! > 0n).to.equal(true);
    });
  });
});
