/**
 * Relayed signatures settled on the evidence of their own request, end to end over HTTP (anvil,
 * PGlite, the Express app and the sender loop): two requests signed over one nonce, the same
 * signature sent twice, and a signed request copied from the mempool and landed first by another
 * sender. Every balance is read from the chain.
 */
import { DEFAULT_LIMITS } from "../../server/http/limits";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { Wallet, parseUnits } from "ethers";
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
import { signRedeem, signTransfer } from "../helpers/signatures";

const GP = (text: string) => parseUnits(text, 18);
/** The second of anvil's funded development accounts: someone else than the relayer. */
const OTHER_SENDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("relayed signatures, settled from their own request", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let base: string;
  let alice: string;
  const owner = Wallet.createRandom();
  const deadline = () => BigInt(Math.floor(Date.now() / 1000) + 3600);
  const chainId = () => BigInt(relayer.chain.deployments.chainId);
  const rpc = async (method: string, params: unknown[] = []) => {
    const res = await fetch(relayer.anvil.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return ((await res.json()) as { result: unknown }).result;
  };
  const relay = (route: string, body: Record<string, string>) =>
    call(base, "POST", `/v1/relay/${route}`, {
      token: alice,
      body: { owner: owner.address, ...body },
      headers: { "idempotency-key": randomUUID() },
    });
  const signedOperations = async (kind: string) =>
    relayer.db.query<{ id: string; state: string }>("SELECT id, state FROM operations WHERE kind = $1 ORDER BY created_at", [kind]);

  before(async function () {
    // One owner signs every request here: its per-minute relay limit is not what these tests are about.
    relayer = await startTestRelayer({ limits: { ...DEFAULT_LIMITS, relaysPerOwner: 1_000, relaysPerUser: 1_000 } });
    base = relayer.url;
    const shop = await createShop(base, "Signatures");
    const registered = await call(base, "POST", "/v1/users", {
      token: TEST_ADMIN_TOKEN,
      body: { userId: "alice", password: "alice-login-pw", paymentPassword: "alice-pay" },
      headers: { "idempotency-key": randomUUID() },
    });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    expect((await postOrder(base, shop, { orderId: "o-1", userId: "alice", amount: "1000" })).status).to.equal(202);
    expect((await settledOrder(base, shop.shopId, "o-1")).state).to.equal("confirmed");
    alice = (await call(base, "POST", "/v1/sessions", { body: { userId: "alice", password: "alice-login-pw" } })).body.token;
    const pay = (route: string, body: unknown) =>
      call(base, "POST", route, { token: alice, body, headers: { "idempotency-key": randomUUID(), "x-gp-payment-password": "alice-pay" } });
    const request = (await call(base, "GET", `/v1/me/link-request?address=${owner.address}`, { token: alice })).body;
    const signature = await owner.signTypedData(request.domain, request.types, request.message);
    const link = await pay("/v1/me/link", { address: owner.address, deadline: request.message.deadline, signature });
    expect((await settledOperation(base, alice, link.body.operationId)).state).to.equal("confirmed");
    const withdraw = await pay("/v1/me/withdrawals/points", { points: "100" });
    expect((await settledOperation(base, alice, withdraw.body.operationId)).state).to.equal("confirmed");
    expect((await relayer.chain.points.balanceOf(owner.address)) > GP("50")).to.equal(true);
  });
  after(async function () {
    await relayer?.stop();
  });

  describe("when the chain mines every transaction at once (as an L2 sequencer does)", function () {
    before(async function () {
      await rpc("evm_setAutomine", [true]);
    });

    it("accepts one of two requests signed over the same nonce, and confirms only the one the chain ran", async function () {
      const [x, y] = [Wallet.createRandom().address, Wallet.createRandom().address];
      const d = deadline();
      const first = await signTransfer(owner, relayer.chain.points, { to: x, value: GP("1"), deadline: d }, { chainId: chainId() });
      const second = await signTransfer(owner, relayer.chain.points, { to: y, value: GP("2"), deadline: d }, { chainId: chainId() });
      const answers = await Promise.all([
        relay("transfers", { to: x, value: "1", deadline: d.toString(), signature: first }),
        relay("transfers", { to: y, value: "2", deadline: d.toString(), signature: second }),
      ]);
      const accepted = answers.filter((a) => a.status === 202);
      const refused = answers.filter((a) => a.status !== 202);
      expect(accepted.length, JSON.stringify(answers.map((a) => a.body))).to.equal(1);
      // Refused while the other is queued (409), or once it ran, by the chain (422).
      expect(["409 SIGNATURE_IN_USE", "422 CHAIN_REFUSED"]).to.include(`${refused[0].status} ${refused[0].body.error.code}`);
      const done = await settledOperation(base, alice, accepted[0].body.operationId);
      expect(done.state).to.equal("confirmed");
      const [toX, toY] = [await relayer.chain.points.balanceOf(x), await relayer.chain.points.balanceOf(y)];
      expect(toX + toY).to.equal(done.details.to.toLowerCase() === x.toLowerCase() ? GP("1") : GP("2"));
      expect(toX === 0n || toY === 0n).to.equal(true);
      expect(done.events).to.deep.include({
        name: "Transfer",
        args: {
          from: owner.address.toLowerCase(),
          to: done.details.to.toLowerCase(),
          value: parseUnits(done.details.value, 18).toString(),
        },
      });
      expect((await signedOperations("transfer-by-sig")).map((o) => o.state)).to.deep.equal(["confirmed"]);
    });

    it("records one operation for the same signature relayed twice", async function () {
      const to = Wallet.createRandom().address;
      const d = deadline();
      const signature = await signTransfer(owner, relayer.chain.points, { to, value: GP("3"), deadline: d }, { chainId: chainId() });
      const body = { to, value: "3", deadline: d.toString(), signature };
      const answers = await Promise.all([relay("transfers", body), relay("transfers", body)]);
      const accepted = answers.filter((a) => a.status === 202);
      expect(accepted.length, JSON.stringify(answers.map((a) => a.body))).to.equal(1);
      expect((await settledOperation(base, alice, accepted[0].body.operationId)).state).to.equal("confirmed");
      const again = await relay("transfers", body);
      expect(again.status).to.equal(422);
      expect(await relayer.chain.points.balanceOf(to)).to.equal(GP("3"));
      const transfers = (await signedOperations("transfer-by-sig")).slice(1);
      expect(transfers.map((o) => o.state)).to.deep.equal(["confirmed"]);
    });
  });

  describe("when mining is paused and another sender copies the signed request from the mempool", function () {
    it("confirms the redemption from the copy that landed first, with that transaction's events", async function () {
      const receiver = Wallet.createRandom().address;
      const points = GP("2");
      const quote = await relayer.chain.pool.previewRedeem(points);
      const d = deadline();
      const signature = await signRedeem(
        owner,
        relayer.chain.pool,
        { points, receiver, minPayout: 0n, deadline: d },
        { chainId: chainId() },
      );
      const provider = relayer.chain.settlement.runner!.provider!;
      await rpc("evm_setAutomine", [false]);
      let copyHash: string;
      let relayerHash: string;
      try {
        const queued = await relay("redemptions", { points: "2", receiver, minPayout: "0", deadline: d.toString(), signature });
        expect(queued.status, JSON.stringify(queued.body)).to.equal(202);
        const id = queued.body.operationId;
        for (let i = 0; ; i++) {
          const op = (await call(base, "GET", `/v1/operations/${id}`, { token: alice })).body;
          if (op.state === "submitted" && (await provider.getTransaction(op.txHash))) {
            relayerHash = op.txHash;
            break;
          }
          if (i > 200) throw new Error(`not sent: ${JSON.stringify(op)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const sent = (await provider.getTransaction(relayerHash))!;
        const copier = new Wallet(OTHER_SENDER_KEY, provider);
        const copy = await copier.sendTransaction({
          to: sent.to,
          data: sent.data,
          gasLimit: sent.gasLimit,
          maxFeePerGas: sent.maxFeePerGas! * 2n,
          maxPriorityFeePerGas: sent.maxPriorityFeePerGas! * 2n,
        });
        copyHash = copy.hash;
        await rpc("evm_mine");
      } finally {
        await rpc("evm_setAutomine", [true]);
      }
      expect((await provider.getTransactionReceipt(relayerHash))?.status).to.equal(0);
      expect((await provider.getTransactionReceipt(copyHash))?.status).to.equal(1);

      const done = await settledOperation(base, alice, (await signedOperations("redeem-by-sig"))[0].id);
      expect(done.state, JSON.stringify(done)).to.equal("confirmed");
      expect(done.txHash).to.equal(copyHash);
      const redeemed = done.events.find((e: { name: string }) => e.name === "Redeemed");
      expect(redeemed.args).to.deep.include({
        holder: owner.address.toLowerCase(),
        receiver: receiver.toLowerCase(),
        points: points.toString(),
        payout: quote.payout.toString(),
      });
      expect(await relayer.chain.settlement.balanceOf(receiver)).to.equal(quote.payout);
    });
  });
});
