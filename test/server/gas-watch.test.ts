/**
 * The gas watch and the fee cap (issue 14): with the relayer's wallet below its minimum, or the
 * chain's fee above the cap, orders are still accepted (202) but nothing is sent; /readyz, the
 * admin status, /metrics and the log say why; topped up, or with the fee fallen, they confirm.
 * A replacement whose bump would go above the cap is not signed.
 */
import { jsonRpc } from "../../server/adapters/chain/anvil";
import { Writable } from "node:stream";
import { expect } from "chai";
import { Wallet, parseEther, parseUnits, toBeHex } from "ethers";
import pino from "pino";
import { ANVIL_DEV_KEY } from "../../server/adapters/chain/anvil";
import { FeeCapError } from "../../server/adapters/chain/chain";
import { TEST_ADMIN_TOKEN, type TestRelayer, call, createShop, postOrder, settledOrder, startTestRelayer } from "../helpers/relayer";

/** A pino logger whose lines the test reads. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

/** Polls `read` until `done` holds of it. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const status = (relayer: TestRelayer) => call(relayer.url, "GET", "/v1/admin/relayer", { token: TEST_ADMIN_TOKEN });
const orderState = async (relayer: TestRelayer, shopId: string, orderId: string) =>
  (await call(relayer.url, "GET", `/v1/shops/${shopId}/orders/${orderId}`, { token: TEST_ADMIN_TOKEN })).body.state as string;
const waitingMetric = async (relayer: TestRelayer, reason: string) => {
  const res = await fetch(`${relayer.url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith(`gp_relayer_waiting{reason="${reason}"} `));
  return Number(line?.split(" ")[1]);
};

describe("gas watch", function () {
  this.timeout(180_000);

  describe("when the relayer's wallet is below its minimum", function () {
    let relayer: TestRelayer;
    const { log, lines } = capturedLog();
    before(async function () {
      relayer = await startTestRelayer({ log, minGasBalance: parseEther("1") });
    });
    after(async function () {
      await relayer?.stop();
    });

    it("accepts orders but sends nothing, says why, and confirms them after a top-up", async function () {
      const shop = await createShop(relayer.url, "Gas watch");
      const sentBefore = await relayer.chain.minedNonce();
      await jsonRpc(relayer.anvil.url, "anvil_setBalance", [relayer.chain.sender, toBeHex(parseEther("0.5"))]);
      const low = await until(
        () => status(relayer),
        (s) => s.body.waiting === true,
      );
      expect(low.status).to.equal(200);
      expect(low.body.wallet).to.deep.include({ address: relayer.chain.sender, balance: "0.5", minimumBalance: "1.0" });
      expect(low.body.waits.map((w: { reason: string; alert: string }) => [w.reason, w.alert])).to.deep.equal([
        ["gas-balance", "relayer-gas-low"],
      ]);
      expect(low.body.waits[0].message).to.include("0.5").and.include("GP_MIN_GAS_BALANCE");

      for (const orderId of ["g-1", "g-2"])
        expect((await postOrder(relayer.url, shop, { orderId, userId: "gus", amount: "10" })).status).to.equal(202);
      await new Promise((r) => setTimeout(r, 1_500)); // rounds go by
      expect([await orderState(relayer, shop.shopId, "g-1"), await orderState(relayer, shop.shopId, "g-2")]).to.deep.equal([
        "received",
        "received",
      ]);
      expect(await relayer.chain.minedNonce()).to.equal(sentBefore);
      expect((await status(relayer)).body.pending).to.deep.include({ receivedOrders: 2, openTransactions: 0 });
      const ready = await call(relayer.url, "GET", "/readyz");
      expect([ready.status, ready.body.checks.gas.ok, ready.body.checks.chain.ok]).to.deep.equal([503, false, true]);
      expect(ready.body.checks.gas.detail).to.match(/^relayer-gas-low: /);
      expect(await waitingMetric(relayer, "gas-balance")).to.equal(1);
      const alerts = lines.filter((l) => l.alert === "relayer-gas-low");
      expect(alerts, "logged once, with its alert name").to.have.length(1);
      expect(alerts[0]).to.include({ level: 50, wait: "gas-balance" });

      await jsonRpc(relayer.anvil.url, "anvil_setBalance", [relayer.chain.sender, toBeHex(parseEther("100"))]);
      for (const orderId of ["g-1", "g-2"]) expect((await settledOrder(relayer.url, shop.shopId, orderId)).state).to.equal("confirmed");
      expect((await status(relayer)).body.waiting).to.equal(false);
      expect((await call(relayer.url, "GET", "/readyz")).status).to.equal(200);
      expect(await waitingMetric(relayer, "gas-balance")).to.equal(0);
      const resolved = lines.filter((l) => l.alert === "relayer-gas-low" && l.resolved === true);
      expect(resolved).to.have.length(1);
      expect(lines.filter((l) => l.alert === "relayer-gas-low")).to.have.length(2);
    });
  });

  describe("when the chain's fee is above the cap", function () {
    let relayer: TestRelayer;
    const cap = parseUnits("20", "gwei");
    const { log, lines } = capturedLog();
    before(async function () {
      relayer = await startTestRelayer({ log, feeCap: cap });
    });
    after(async function () {
      await relayer?.stop();
    });
    const baseFee = async (gwei: string) => {
      await jsonRpc(relayer.anvil.url, "anvil_setNextBlockBaseFeePerGas", [toBeHex(parseUnits(gwei, "gwei"))]);
      await jsonRpc(relayer.anvil.url, "evm_mine");
    };

    it("sends nothing while the fee is above it, says why, and sends once the base fee falls", async function () {
      const shop = await createShop(relayer.url, "Fee cap");
      await baseFee("100");
      const capped = await until(
        () => status(relayer),
        (s) => s.body.waiting === true,
      );
      expect(capped.body.waits.map((w: { reason: string }) => w.reason)).to.deep.equal(["fee-cap"]);
      expect(capped.body.chain.feeCapGwei).to.equal("20.0");
      expect(Number(capped.body.chain.maxFeeGwei)).to.be.greaterThan(200);
      expect(capped.body.waits[0].message).to.include("GP_MAX_FEE_GWEI");

      expect((await postOrder(relayer.url, shop, { orderId: "f-1", userId: "fay", amount: "10" })).status).to.equal(202);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await orderState(relayer, shop.shopId, "f-1")).to.equal("received");
      const ready = await call(relayer.url, "GET", "/readyz");
      expect([ready.status, ready.body.checks.gas.ok]).to.deep.equal([503, false]);
      expect(ready.body.checks.gas.detail).to.match(/^relayer-fee-above-cap: /);
      expect(await waitingMetric(relayer, "fee-cap")).to.equal(1);
      expect(lines.filter((l) => l.alert === "relayer-fee-above-cap")).to.have.length(1);

      await baseFee("1");
      expect((await settledOrder(relayer.url, shop.shopId, "f-1")).state).to.equal("confirmed");
      const after = (await status(relayer)).body;
      expect(after.waiting).to.equal(false);
      expect(Number(after.chain.maxFeeGwei)).to.be.below(20);
      expect(await waitingMetric(relayer, "fee-cap")).to.equal(0);
      expect(lines.filter((l) => l.alert === "relayer-fee-above-cap" && l.resolved === true)).to.have.length(1);
    });

    it("does not sign a replacement whose bumped fee would be above the cap", async function () {
      const call = { to: "0x000000000000000000000000000000000000dEaD", data: "0x" }; // an address without code: a plain transfer
      const nonce = await relayer.chain.pendingNonce();
      const stuck = await new Wallet(ANVIL_DEV_KEY).signTransaction({
        type: 2,
        chainId: 31337n,
        to: call.to,
        data: call.data,
        nonce,
        gasLimit: 100_000n,
        maxFeePerGas: parseUnits("18", "gwei"),
        maxPriorityFeePerGas: parseUnits("1", "gwei"),
      });
      const fresh = await relayer.chain.signCall(call, nonce, undefined);
      expect(fresh.maxFeePerGas).to.be.at.most(cap);
      const refused = await relayer.chain.signCall(call, nonce, stuck).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).to.be.instanceOf(FeeCapError);
      expect((refused as FeeCapError).maxFeePerGas).to.equal((parseUnits("18", "gwei") * 5n) / 4n + 1n);
      expect((refused as FeeCapError).cap).to.equal(cap);
    });
  });
});
