/**
 * One hot key no longer holds everything: the embedded deployment's admin key (made in the data
 * folder) keeps DEFAULT_ADMIN_ROLE and the settlement treasury, the relayer key holds only the
 * roles it sends with, a bounded float and bounded allowances, refilled from the treasury as
 * orders spend them; a relayer whose key lacks a role it needs refuses to start. Every role and
 * balance is read back from the chain.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import { NonceManager, Wallet, parseUnits } from "ethers";
import pino from "pino";
import { EMBEDDED_REFILL_BUDGET } from "../../server/adapters/chain/local-deployment";
import { startRelayer } from "../../server/relayer";
import { Custody__factory } from "../../typechain-types";
import {
  TEST_ADMIN_TOKEN,
  TEST_USER_SALT,
  type TestRelayer,
  createShop,
  postOrder,
  settledOrder,
  startTestRelayer,
} from "../helpers/relayer";

const USD = (text: string) => parseUnits(text, 6);
const FLOAT = USD("50");

describe("the embedded deployment's keys", function () {
  this.timeout(240_000);
  let relayer: TestRelayer;
  let admin: Wallet;

  before(async function () {
    relayer = await startTestRelayer({ settlementFloat: FLOAT });
    admin = new Wallet(fs.readFileSync(path.join(relayer.dir, "admin-key"), "utf8").trim(), relayer.chain.settlement.runner!.provider!);
  });
  after(async function () {
    await relayer?.stop();
  });

  describe("roles", function () {
    it("keeps DEFAULT_ADMIN_ROLE on an admin key made in the data folder (mode 0600), not on the relayer's", async function () {
      expect(fs.statSync(path.join(relayer.dir, "admin-key")).mode & 0o777).to.equal(0o600);
      const { pool, custody, adCredit, sender } = relayer.chain;
      expect(admin.address).to.not.equal(sender);
      expect(relayer.chain.deployments.treasury).to.equal(admin.address);
      for (const contract of [pool, custody, adCredit!]) {
        const role = await contract.DEFAULT_ADMIN_ROLE();
        expect(await contract.hasRole(role, admin.address), await contract.getAddress()).to.equal(true);
        expect(await contract.hasRole(role, sender), await contract.getAddress()).to.equal(false);
      }
    });

    it("gives the relayer key only the roles it sends with", async function () {
      const { pool, custody, adCredit, sender } = relayer.chain;
      const held = async (contract: typeof pool | typeof custody | NonNullable<typeof adCredit>, names: string[]) => {
        const out: Record<string, boolean> = {};
        for (const name of names) out[name] = await contract.hasRole(await (contract as any)[name](), sender);
        return out;
      };
      expect(await held(pool, ["RELAYER_ROLE", "PARAMETER_ROLE", "PAUSER_ROLE"])).to.deep.equal({
        RELAYER_ROLE: false,
        PARAMETER_ROLE: true,
        PAUSER_ROLE: true,
      });
      expect(await held(custody, ["RELAYER_ROLE", "PARAMETER_ROLE"])).to.deep.equal({ RELAYER_ROLE: true, PARAMETER_ROLE: true });
      expect(await held(adCredit!, ["RELAYER_ROLE", "PARAMETER_ROLE"])).to.deep.equal({ RELAYER_ROLE: true, PARAMETER_ROLE: true });
    });
  });

  describe("settlement", function () {
    it("gives the relayer a bounded float and allowances bounded by it; the treasury keeps the rest", async function () {
      const { settlement, sender, deployments } = relayer.chain;
      expect(await settlement.balanceOf(sender)).to.equal(FLOAT);
      expect(await settlement.allowance(sender, deployments.pool)).to.equal(FLOAT);
      expect(await settlement.allowance(sender, deployments.adCredit!)).to.equal(FLOAT);
      expect(await settlement.allowance(admin.address, sender)).to.equal(EMBEDDED_REFILL_BUDGET);
      expect(await settlement.balanceOf(admin.address)).to.be.greaterThan(1_000n * EMBEDDED_REFILL_BUDGET);
    });

    it("pays orders beyond its float by refilling it from the treasury, never holding more than the float", async function () {
      const { settlement, sender, deployments } = relayer.chain;
      const shop = await createShop(relayer.url, "Float");
      const poolShare = (await relayer.chain.pool.parameters()).poolShare;
      for (const orderId of ["F1", "F2", "F3", "F4"]) {
        expect((await postOrder(relayer.url, shop, { orderId, userId: "float-buyer", amount: "100" })).status).to.equal(202);
        expect((await settledOrder(relayer.url, shop.shopId, orderId)).state).to.equal("confirmed");
        expect(await settlement.balanceOf(sender)).to.be.at.most(FLOAT);
        expect(await settlement.allowance(sender, deployments.pool)).to.be.at.most(FLOAT);
      }
      const paid = (4n * USD("100") * poolShare) / 10_000n; // 30 each, at the deployed pool share of 30%
      const pulled = EMBEDDED_REFILL_BUDGET - (await settlement.allowance(admin.address, sender));
      expect(pulled).to.equal(paid - FLOAT + (await settlement.balanceOf(sender)));
      expect(pulled > 0n).to.equal(true);
    });
  });

  describe("the relayer's start", function () {
    const start = (log = pino({ level: "silent" })) =>
      startRelayer({
        db: relayer.db,
        chain: relayer.chain,
        userSalt: TEST_USER_SALT,
        adminToken: TEST_ADMIN_TOKEN,
        log,
        sender: { batchSize: 100, confirmations: 0, replaceAfterMs: 60_000 },
        batchWaitMs: 20,
        listen: { port: 0, host: "127.0.0.1" },
      });
    const custodyAsAdmin = () => Custody__factory.connect(relayer.chain.deployments.custody, new NonceManager(admin));

    it("warns, naming it, when the relayer key holds DEFAULT_ADMIN_ROLE", async function () {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const custody = custodyAsAdmin();
      const role = await custody.DEFAULT_ADMIN_ROLE();
      await (await custody.grantRole(role, relayer.chain.sender)).wait();
      const second = await start(pino({ level: "warn" }, sink));
      await second.stop();
      await (await custody.revokeRole(role, relayer.chain.sender)).wait();
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === 40);
      expect(warning?.excess).to.deep.equal(["DEFAULT_ADMIN_ROLE on the custody"]);
    });

    it("refuses to start when the relayer key lacks the custody's RELAYER_ROLE, naming it", async function () {
      const custody = custodyAsAdmin();
      await (await custody.revokeRole(await custody.RELAYER_ROLE(), relayer.chain.sender)).wait();
      let refused: Error | null = null;
      try {
        const started = await start();
        await started.stop();
      } catch (error) {
        refused = error as Error;
      }
      expect(refused?.message).to.contain("lacks RELAYER_ROLE on the custody");
    });
  });
});
