import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { type AdCreditFixture, adCreditWith18Decimals, adCreditWith6Decimals, orderId, orderKey, userId } from "../helpers/fixtures";
import { adBacking } from "../../server/domain/points-math";

const [ALICE, BOB] = ["ad-alice", "ad-bob"].map(userId);
let counter = 0;
const nextId = (label: string) => ethers.id(`${label}-${++counter}`);

async function withShoppers(f: AdCreditFixture) {
  for (const user of [ALICE, BOB]) await f.custody.connect(f.relayer).register(user, ethers.ZeroHash);
}

/** Settlement held by the contract covers every merchant's credit and every bucket's backing. */
async function expectBacked(f: AdCreditFixture) {
  const held = await f.settlement.balanceOf(await f.adCredit.getAddress());
  let owed = 0n;
  for (const m of f.merchants) {
    const entry = await f.adCredit.merchantOf(m);
    owed += entry.credit + entry.backing;
  }
  expect(await f.adCredit.liabilities()).to.equal(owed);
  expect(held >= owed, "the contract holds what it owes").to.equal(true);
}

function sale(user: string, merchant: string, amount: bigint) {
  return { saleId: nextId("sale"), user, merchant, amount };
}

function shouldBehaveLikeAdCredit(decimals: number, load: () => Promise<AdCreditFixture>) {
  describe(`with a settlement token of ${decimals} decimals`, function () {
    describe("top-up", function () {
      it("adds to a merchant's credit from anyone's settlement", async function () {
        const f = await loadFixture(load);
        const amount = 1_000n * f.unit;
        const tx = f.adCredit.connect(f.stranger).topUp(f.merchants[0], amount);
        await expect(tx).to.emit(f.adCredit, "CreditToppedUp").withArgs(f.merchants[0], f.stranger.address, amount, amount);
        await expect(tx).to.changeTokenBalances(f.settlement, [f.stranger, f.adCredit], [-amount, amount]);
        expect((await f.adCredit.merchantOf(f.merchants[0])).credit).to.equal(amount);
        await expectBacked(f);
      });

      it("refuses an account that is not a merchant, and zero", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        await expect(f.adCredit.connect(f.stranger).topUp(ALICE, f.unit))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditNotMerchant")
          .withArgs(ALICE);
        await expect(f.adCredit.connect(f.stranger).topUp(f.merchants[0], 0)).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditZeroAmount",
        );
      });
    });

    describe("issuing vouchers", function () {
      it("gives the shopper X vouchers and moves X x adShare of the credit into their backing", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        await f.adCredit.connect(f.stranger).topUp(f.merchants[0], 100n * f.unit);
        const s = sale(ALICE, f.merchants[0], 100n * f.unit);
        const backing = adBacking(100n * f.unit, f.adParameters.adShare); // 15 of 100 at the source's 15%
        await expect(f.adCredit.connect(f.relayer).issueVouchers([s]))
          .to.emit(f.adCredit, "VouchersIssued")
          .withArgs(s.saleId, ALICE, f.merchants[0], 100n * f.unit, backing);
        const bucket = await f.adCredit.bucketOf(ALICE, f.merchants[0]);
        expect([bucket.vouchers, bucket.backing]).to.deep.equal([100n * f.unit, backing]);
        const m = await f.adCredit.merchantOf(f.merchants[0]);
        expect([m.credit, m.issued, m.converted, m.backing]).to.deep.equal([100n * f.unit - backing, 100n * f.unit, 0n, backing]);
        expect(await f.adCredit.isProcessed(s.saleId)).to.equal(true);
        await expectBacked(f);
      });

      it("rounds the backing up, toward the pool", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        await f.adCredit.connect(f.stranger).topUp(f.merchants[0], f.unit);
        const s = sale(ALICE, f.merchants[0], 7n); // 7 base units x 15% = 1.05 -> 2
        await expect(f.adCredit.connect(f.relayer).issueVouchers([s]))
          .to.emit(f.adCredit, "VouchersIssued")
          .withArgs(s.saleId, ALICE, f.merchants[0], 7n, 2n);
        expect(adBacking(7n, 1_500n)).to.equal(2n);
      });

      it("issues none when the merchant's credit cannot back them, and the sale is still used", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        await f.adCredit.connect(f.stranger).topUp(f.merchants[0], 10n * f.unit);
        const short = sale(ALICE, f.merchants[0], 100n * f.unit);
        const fine = sale(BOB, f.merchants[0], 20n * f.unit);
        await expect(f.adCredit.connect(f.relayer).issueVouchers([short, fine]))
          .to.emit(f.adCredit, "VouchersRefused")
          .withArgs(short.saleId, ALICE, f.merchants[0], 100n * f.unit, adBacking(100n * f.unit, f.adParameters.adShare), 10n * f.unit)
          .and.to.emit(f.adCredit, "VouchersIssued")
          .withArgs(fine.saleId, BOB, f.merchants[0], 20n * f.unit, adBacking(20n * f.unit, f.adParameters.adShare));
        expect((await f.adCredit.bucketOf(ALICE, f.merchants[0])).vouchers).to.equal(0n);
        expect((await f.adCredit.merchantOf(f.merchants[0])).credit).to.equal(
          10n * f.unit - adBacking(20n * f.unit, f.adParameters.adShare),
        );
        await expect(f.adCredit.connect(f.relayer).issueVouchers([short]))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditAlreadyProcessed")
          .withArgs(short.saleId);
      });

      it("refuses a repeated sale, an unknown user, zero and a caller without the relayer role", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        await f.adCredit.connect(f.stranger).topUp(f.merchants[0], 100n * f.unit);
        const s = sale(ALICE, f.merchants[0], f.unit);
        await f.adCredit.connect(f.relayer).issueVouchers([s]);
        await expect(f.adCredit.connect(f.relayer).issueVouchers([s])).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditAlreadyProcessed",
        );
        const stranger = userId("nobody");
        await expect(f.adCredit.connect(f.relayer).issueVouchers([sale(stranger, f.merchants[0], f.unit)]))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditUnknownUser")
          .withArgs(stranger);
        await expect(f.adCredit.connect(f.relayer).issueVouchers([sale(ALICE, f.merchants[0], 0n)])).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditZeroAmount",
        );
        await expect(f.adCredit.connect(f.stranger).issueVouchers([sale(ALICE, f.merchants[0], f.unit)]))
          .to.be.revertedWithCustomError(f.adCredit, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, await f.adCredit.RELAYER_ROLE());
      });

      it("has no way to move vouchers between users", async function () {
        const f = await loadFixture(load);
        const names: string[] = [];
        f.adCredit.interface.forEachFunction((fn) => names.push(fn.name));
        expect(names.filter((n) => /transfer|approve/i.test(n))).to.deep.equal([]);
      });
    });

    describe("converting vouchers", function () {
      async function issued(f: AdCreditFixture, amount: bigint) {
        await withShoppers(f);
        await f.adCredit.connect(f.stranger).topUp(f.merchants[0], 1_000n * f.unit);
        await f.adCredit.connect(f.relayer).issueVouchers([sale(ALICE, f.merchants[0], amount)]);
      }

      it("pays the backing into the pool and mints exactly what an order of that contribution mints", async function () {
        const f = await loadFixture(load);
        await issued(f, 100n * f.unit);
        // An order of 50 pays a contribution of 15 (30%): the same as the 100 vouchers' backing (15%).
        const [contribution, orderPoints] = await f.pool.previewOrder(50n * f.unit);
        expect(contribution).to.equal((await f.adCredit.bucketOf(ALICE, f.merchants[0])).backing);
        expect(await f.pool.previewContribution(contribution)).to.equal(orderPoints);
        const id = nextId("conversion");
        const assetsBefore = await f.pool.assets();
        const custodyAddress = await f.custody.getAddress();
        const tx = f.adCredit
          .connect(f.relayer)
          .convert([{ conversionId: id, user: ALICE, merchant: f.merchants[0], vouchers: 100n * f.unit }]);
        await expect(tx)
          .to.emit(f.adCredit, "VouchersConverted")
          .withArgs(id, ALICE, f.merchants[0], 100n * f.unit, contribution, orderPoints)
          .and.to.emit(f.pool, "ContributionRecorded")
          .withArgs(orderKey(await f.adCredit.getAddress(), id), await f.adCredit.getAddress(), contribution, orderPoints)
          .and.to.emit(f.custody, "Deposited")
          .withArgs(ALICE, await f.adCredit.getAddress(), orderPoints);
        await expect(tx).to.changeTokenBalances(f.settlement, [f.adCredit, f.pool], [-contribution, contribution]);
        expect(await f.pool.assets()).to.equal(assetsBefore + contribution);
        expect((await f.custody.accountOf(ALICE)).points).to.equal(orderPoints);
        expect(await f.points.balanceOf(await f.adCredit.getAddress())).to.equal(0n);
        expect(await f.points.balanceOf(custodyAddress)).to.equal(orderPoints);
        const m = await f.adCredit.merchantOf(f.merchants[0]);
        expect([m.converted, m.backing]).to.deep.equal([100n * f.unit, 0n]);
        await expectBacked(f);
      });

      it("takes its share of the backing rounded up, and the last voucher takes what is left", async function () {
        const f = await loadFixture(load);
        await issued(f, 7n * f.unit); // backing 1.05
        const relayer = f.adCredit.connect(f.relayer);
        const backing = (await f.adCredit.bucketOf(ALICE, f.merchants[0])).backing;
        const first = (backing * 3n + 6n) / 7n;
        await expect(relayer.convert([{ conversionId: nextId("c"), user: ALICE, merchant: f.merchants[0], vouchers: 3n * f.unit }]))
          .to.emit(f.adCredit, "VouchersConverted")
          .withArgs(anyValue, ALICE, f.merchants[0], 3n * f.unit, first, anyValue);
        await expect(relayer.convert([{ conversionId: nextId("c"), user: ALICE, merchant: f.merchants[0], vouchers: 4n * f.unit }]))
          .to.emit(f.adCredit, "VouchersConverted")
          .withArgs(anyValue, ALICE, f.merchants[0], 4n * f.unit, backing - first, anyValue);
        const bucket = await f.adCredit.bucketOf(ALICE, f.merchants[0]);
        expect([bucket.vouchers, bucket.backing]).to.deep.equal([0n, 0n]);
      });

      it("never lowers the price, and every conversion of a batch is priced after the one before", async function () {
        const f = await loadFixture(load);
        await f.pool
          .connect(f.relayer)
          .recordOrder(f.shops[0].address, { orderId: orderId("ad-first"), buyer: f.users[0].address, amount: 100n * f.unit });
        await issued(f, 100n * f.unit);
        const [a0, s0] = [await f.pool.assets(), await f.points.totalSupply()];
        const conversions = [1n, 2n, 3n].map((v) => ({
          conversionId: nextId("c"),
          user: ALICE,
          merchant: f.merchants[0],
          vouchers: v * 10n * f.unit,
        }));
        await f.adCredit.connect(f.relayer).convert(conversions);
        const [a1, s1] = [await f.pool.assets(), await f.points.totalSupply()];
        expect(a1 * s0 >= a0 * s1, "price did not fall").to.equal(true);
      });

      it("refuses more vouchers than the bucket holds, a repeated id, zero, and a paused pool", async function () {
        const f = await loadFixture(load);
        await issued(f, 10n * f.unit);
        const relayer = f.adCredit.connect(f.relayer);
        const too = { conversionId: nextId("c"), user: ALICE, merchant: f.merchants[0], vouchers: 11n * f.unit };
        await expect(relayer.convert([too]))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditInsufficientVouchers")
          .withArgs(ALICE, f.merchants[0], 10n * f.unit, 11n * f.unit);
        const ok = { ...too, vouchers: f.unit };
        await relayer.convert([ok]);
        expect(await f.adCredit.isProcessed(ok.conversionId)).to.equal(true);
        await expect(relayer.convert([ok]))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderAlreadyRecorded")
          .withArgs(orderKey(await f.adCredit.getAddress(), ok.conversionId));
        await expect(relayer.convert([{ ...ok, conversionId: nextId("c"), vouchers: 0n }])).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditZeroAmount",
        );
        await f.pool.connect(f.admin).pause();
        await expect(relayer.convert([{ ...ok, conversionId: nextId("c") }])).to.be.revertedWithCustomError(f.pool, "EnforcedPause");
      });
    });

    describe("withdrawing unused credit", function () {
      it("pays after the notice period, not before", async function () {
        const f = await loadFixture(load);
        const [m] = f.merchants;
        await f.adCredit.connect(f.stranger).topUp(m, 100n * f.unit);
        const id = nextId("w");
        const tx = await f.adCredit.connect(f.relayer).requestWithdrawal(id, m, 40n * f.unit, f.users[5].address);
        const availableAt = BigInt((await tx.getBlock())!.timestamp) + f.adParameters.noticePeriod;
        await expect(tx)
          .to.emit(f.adCredit, "WithdrawalRequested")
          .withArgs(id, m, f.users[5].address, 40n * f.unit, availableAt);
        await expect(f.adCredit.executeWithdrawal(m))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditNoticeNotOver")
          .withArgs(m, availableAt);
        await time.increaseTo(availableAt);
        const paid = f.adCredit.connect(f.stranger).executeWithdrawal(m);
        await expect(paid)
          .to.emit(f.adCredit, "CreditWithdrawn")
          .withArgs(m, f.users[5].address, 40n * f.unit, 60n * f.unit);
        await expect(paid).to.changeTokenBalances(f.settlement, [f.adCredit, f.users[5]], [-40n * f.unit, 40n * f.unit]);
        await expect(f.adCredit.executeWithdrawal(m)).to.be.revertedWithCustomError(f.adCredit, "AdCreditNoWithdrawal").withArgs(m);
        await expectBacked(f);
      });

      it("lets the credit back sales during the notice and then pays only what is left", async function () {
        const f = await loadFixture(load);
        await withShoppers(f);
        const [m] = f.merchants;
        await f.adCredit.connect(f.stranger).topUp(m, 30n * f.unit);
        await f.adCredit.connect(f.relayer).requestWithdrawal(nextId("w"), m, 30n * f.unit, f.users[5].address);
        await f.adCredit.connect(f.relayer).issueVouchers([sale(ALICE, m, 100n * f.unit)]);
        await time.increase(f.adParameters.noticePeriod);
        await expect(f.adCredit.executeWithdrawal(m))
          .to.emit(f.adCredit, "CreditWithdrawn")
          .withArgs(m, f.users[5].address, 30n * f.unit - adBacking(100n * f.unit, f.adParameters.adShare), 0n);
        expect((await f.adCredit.bucketOf(ALICE, m)).backing).to.equal(adBacking(100n * f.unit, f.adParameters.adShare));
        await expectBacked(f);
      });

      it("allows one request at a time, within the credit, and can be cancelled", async function () {
        const f = await loadFixture(load);
        const [m] = f.merchants;
        const relayer = f.adCredit.connect(f.relayer);
        await f.adCredit.connect(f.stranger).topUp(m, 10n * f.unit);
        await expect(relayer.requestWithdrawal(nextId("w"), m, 11n * f.unit, f.users[5].address))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditInsufficientCredit")
          .withArgs(m, 10n * f.unit, 11n * f.unit);
        await relayer.requestWithdrawal(nextId("w"), m, 5n * f.unit, f.users[5].address);
        await expect(relayer.requestWithdrawal(nextId("w"), m, f.unit, f.users[5].address)).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditWithdrawalPending",
        );
        await expect(relayer.cancelWithdrawal(m)).to.emit(f.adCredit, "WithdrawalCancelled").withArgs(m);
        await expect(relayer.cancelWithdrawal(m)).to.be.revertedWithCustomError(f.adCredit, "AdCreditNoWithdrawal");
        await expect(relayer.requestWithdrawal(nextId("w"), m, f.unit, ethers.ZeroAddress)).to.be.revertedWithCustomError(
          f.adCredit,
          "AdCreditInvalidAddress",
        );
        await expect(f.adCredit.connect(f.stranger).cancelWithdrawal(m)).to.be.revertedWithCustomError(
          f.adCredit,
          "AccessControlUnauthorizedAccount",
        );
      });
    });

    describe("parameters", function () {
      it("changes the ad share within 1%..50% and the notice within 1..90 days", async function () {
        const f = await loadFixture(load);
        await expect(f.adCredit.connect(f.admin).setParameter(0, 2_000)).to.emit(f.adCredit, "ParameterChanged").withArgs(0, 1_500, 2_000);
        await expect(f.adCredit.connect(f.admin).setParameter(0, 5_001))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditParameterOutOfRange")
          .withArgs(0, 5_001, 100, 5_000);
        await expect(f.adCredit.connect(f.admin).setParameter(1, 3_600))
          .to.be.revertedWithCustomError(f.adCredit, "AdCreditParameterOutOfRange")
          .withArgs(1, 3_600, 86_400, 90 * 86_400);
        await expect(f.adCredit.connect(f.stranger).setParameter(0, 1_000)).to.be.revertedWithCustomError(
          f.adCredit,
          "AccessControlUnauthorizedAccount",
        );
      });
    });
  });
}

describe("AdCredit", function () {
  shouldBehaveLikeAdCredit(6, adCreditWith6Decimals);
  shouldBehaveLikeAdCredit(18, adCreditWith18Decimals);

  describe("Custody.depositBatch", function () {
    it("skips entries of zero GP, and refuses lists of different lengths and unknown users", async function () {
      const f = await loadFixture(adCreditWith6Decimals);
      await expect(f.custody.depositBatch([f.merchants[0]], [0n])).to.not.emit(f.custody, "Deposited");
      await expect(f.custody.depositBatch([ALICE], []))
        .to.be.revertedWithCustomError(f.custody, "CustodyLengthMismatch")
        .withArgs(1, 0);
      await expect(f.custody.depositBatch([ALICE], [1n]))
        .to.be.revertedWithCustomError(f.custody, "CustodyUnknownUser")
        .withArgs(ALICE);
    });
  });
});
