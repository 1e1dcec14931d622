import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  type CustodyFixture,
  GP,
  custodyWith18Decimals,
  custodyWith6Decimals,
  defaultParameters,
  deployCustodyFixture,
  orderId,
  orderKey,
  userId,
} from "../helpers/fixtures";
import { signDeposit, signLink, signPermit } from "../helpers/signatures";
import { deployCustody, deployPoolContracts } from "../../server/adapters/chain/deploy";
import { newOrder } from "../helpers/orders";
import { Asset, CustodyModel, CustodyParameter, ReferralMode } from "../../models/custody-model";
import { LOCKED_POINTS, Parameter, PoolModel } from "../../models/pool-model";

const [ALICE, BOB, CAROL, DAVE, SHOP_MERCHANT] = ["alice", "bob", "carol", "dave", "merchant"].map(userId);
let requestCounter = 0;
const request = () => ethers.id(`request-${++requestCounter}`);
let orderCounter = 0;

async function custodialOrders(f: CustodyFixture, shop: number, orders: { user: string; amount: bigint }[]) {
  return f.custody
    .connect(f.relayer)
    .recordOrders([
      {
        shop: f.shops[shop].address,
        orders: orders.map((o) => ({ orderId: orderId(`custodial-${++orderCounter}`), user: o.user, amount: o.amount })),
      },
    ]);
}

async function models(f: CustodyFixture) {
  const pool = new PoolModel(f.modelConfig);
  const custody = new CustodyModel(pool, await f.custody.getAddress(), f.custodyParameters);
  return { pool, custody };
}

/** GP held by custody == every entry + the reserve; CP reserve worth at least the CP outstanding. */
async function expectCustodyBacked(f: CustodyFixture, users: readonly string[]) {
  const accounts = await Promise.all(users.map((u) => f.custody.accountOf(u)));
  const entries = accounts.reduce((sum, a) => sum + a.points, 0n);
  const reserve = await f.custody.reserve();
  expect(await f.points.balanceOf(await f.custody.getAddress())).to.equal(entries + reserve);
  const settlement = accounts.reduce((sum, a) => sum + a.settlement, 0n);
  expect((await f.settlement.balanceOf(await f.custody.getAddress())) >= settlement).to.equal(true);
  const outstanding = await f.custody.constantOutstanding();
  if (outstanding > 0n) {
    const [assets, supply] = [await f.pool.assets(), await f.points.totalSupply()];
    expect(reserve * assets >= outstanding * supply, "the CP reserve backs the CP").to.equal(true);
  }
}

function shouldBehaveLikeCustody(decimals: number, load: () => Promise<CustodyFixture>) {
  describe(`with a settlement token of ${decimals} decimals`, function () {
    describe("registration and referrers", function () {
      it("registers users in order, with an earlier user as referrer", async function () {
        const f = await loadFixture(load);
        const relayer = f.custody.connect(f.relayer);
        await expect(relayer.register(ALICE, ethers.ZeroHash)).to.emit(f.custody, "UserRegistered").withArgs(ALICE, 1, ethers.ZeroHash);
        await expect(relayer.register(BOB, ALICE)).to.emit(f.custody, "UserRegistered").withArgs(BOB, 2, ALICE);
        await expect(relayer.register(BOB, ethers.ZeroHash))
          .to.be.revertedWithCustomError(f.custody, "CustodyAlreadyRegistered")
          .withArgs(BOB);
        await expect(relayer.register(ethers.ZeroHash, ethers.ZeroHash)).to.be.revertedWithCustomError(f.custody, "CustodyInvalidUser");
        await expect(relayer.register(CAROL, DAVE))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidReferrer")
          .withArgs(CAROL, DAVE);
        expect((await f.custody.accountOf(BOB)).referrer).to.equal(ALICE);
      });

      it("sets a referrer once, never one registered later: no cycle can form", async function () {
        const f = await loadFixture(load);
        const relayer = f.custody.connect(f.relayer);
        await relayer.register(ALICE, ethers.ZeroHash);
        await relayer.register(BOB, ethers.ZeroHash);
        await expect(relayer.setReferrer(ALICE, BOB))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidReferrer")
          .withArgs(ALICE, BOB);
        await expect(relayer.setReferrer(ALICE, ALICE))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidReferrer")
          .withArgs(ALICE, ALICE);
        await expect(relayer.setReferrer(BOB, ALICE)).to.emit(f.custody, "ReferrerSet").withArgs(BOB, ALICE);
        await expect(relayer.setReferrer(BOB, ALICE))
          .to.be.revertedWithCustomError(f.custody, "CustodyReferrerAlreadySet")
          .withArgs(BOB, ALICE);
        await expect(relayer.setReferrer(CAROL, ALICE)).to.be.revertedWithCustomError(f.custody, "CustodyUnknownUser").withArgs(CAROL);
      });

      it("is for the relayer role only", async function () {
        const f = await loadFixture(load);
        const role = await f.custody.RELAYER_ROLE();
        // Each call is made only when awaited: a rejected promise left waiting would surface as
        // an unhandled rejection in whichever test runs next.
        for (const call of [
          () => f.custody.connect(f.stranger).register(ALICE, ethers.ZeroHash),
          () => f.custody.connect(f.stranger).setReferrer(ALICE, BOB),
          () => f.custody.connect(f.stranger).setMerchant(ALICE, true),
          () => f.custody.connect(f.stranger).recordOrders([]),
          () => f.custody.connect(f.stranger).transfer(request(), ALICE, BOB, Asset.GP, 1),
          () => f.custody.connect(f.stranger).payMerchant(request(), ALICE, BOB, Asset.GP, 1),
          () => f.custody.connect(f.stranger).redeem(request(), ALICE, 1, 0),
          () => f.custody.connect(f.stranger).convertToConstant(request(), ALICE, 1),
          () => f.custody.connect(f.stranger).exchangeConstant(request(), ALICE, 1),
          () => f.custody.connect(f.stranger).redeemConstant(request(), ALICE, 1, 0),
          () => f.custody.connect(f.stranger).withdrawSettlement(request(), ALICE, f.stranger.address, 1),
          () => f.custody.connect(f.stranger).withdrawToOriginal(request(), ALICE, 1),
          () => f.custody.connect(f.stranger).link(ALICE, f.stranger.address, 0, "0x"),
          () => f.custody.connect(f.stranger).unlink(ALICE),
          () => f.custody.connect(f.stranger).grant(request(), ALICE, 1),
          () => f.custody.connect(f.stranger).remove(request(), ALICE, 1),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(f.custody, "AccessControlUnauthorizedAccount")
            .withArgs(f.stranger.address, role);
        }
        await expect(f.custody.connect(f.relayer).setParameter(CustodyParameter.WithdrawalFee, 1))
          .to.be.revertedWithCustomError(f.custody, "AccessControlUnauthorizedAccount")
          .withArgs(f.relayer.address, await f.custody.PARAMETER_ROLE());
      });
    });

    describe("custodial orders", function () {
      it("mint a batch's GP into custody once and credit each buyer, registering new ones", async function () {
        const f = await loadFixture(load);
        const m = await models(f);
        const orders = [
          { user: ALICE, amount: 100n * f.unit },
          { user: BOB, amount: 100n * f.unit },
          { user: ALICE, amount: 100n * f.unit },
        ];
        const tx = await custodialOrders(f, 0, orders);
        const expected = m.custody.recordOrders([
          {
            shop: f.shops[0].address,
            orders: orders.map((o, i) => ({ key: orderKey(f.shops[0].address, orderId(`custodial-${orderCounter - 2 + i}`)), ...o })),
          },
        ]);
        const receipt = await tx.wait();
        const mints = receipt!.logs
          .map((l) => f.points.interface.parseLog(l))
          .filter((e) => e?.name === "Transfer" && e.args.from === ethers.ZeroAddress);
        expect(mints.map((e) => [e!.args.to, e!.args.value])).to.deep.equal([
          [await f.pool.getAddress(), LOCKED_POINTS],
          [await f.custody.getAddress(), expected.reduce((s, o) => s + o.points, 0n)],
        ]);
        await expect(tx).to.emit(f.custody, "UserRegistered").withArgs(ALICE, 1, ethers.ZeroHash);
        await expect(tx)
          .to.emit(f.custody, "OrderCredited")
          .withArgs(expected[0].key, ALICE, 21n * GP - LOCKED_POINTS, 0);
        expect((await f.custody.accountOf(ALICE)).points).to.equal(m.custody.account(ALICE).points);
        expect((await f.custody.accountOf(BOB)).points).to.equal((147n * GP) / 10n);
        await expectCustodyBacked(f, [ALICE, BOB]);
      });

      it("pay two referral levels at the buyer's price, out of the part not minted to the buyer", async function () {
        const f = await loadFixture(load);
        const relayer = f.custody.connect(f.relayer);
        await relayer.register(ALICE, ethers.ZeroHash);
        await relayer.register(BOB, ALICE);
        await relayer.register(CAROL, BOB);
        await relayer.register(DAVE, CAROL);
        // Dave's order: 30 in; 70% (21) to Dave, 10% (3) to Carol, 5% (1.5) to Bob, none to Alice.
        const tx = custodialOrders(f, 0, [{ user: DAVE, amount: 100n * f.unit }]);
        await expect(tx)
          .to.emit(f.custody, "ReferralCredited")
          .withArgs(anyValue, CAROL, 1, 3n * GP);
        await expect(tx)
          .to.emit(f.custody, "ReferralCredited")
          .withArgs(anyValue, BOB, 2, (15n * GP) / 10n);
        const points = await Promise.all([ALICE, BOB, CAROL, DAVE].map(async (u) => (await f.custody.accountOf(u)).points));
        expect(points).to.deep.equal([0n, (15n * GP) / 10n, 3n * GP, 21n * GP - LOCKED_POINTS]);
        // The price still rose: 30 in against 25.5 GP minted at 1.
        const [assets, supply] = [await f.pool.assets(), await f.points.totalSupply()];
        expect([assets, supply]).to.deep.equal([30n * f.unit, (255n * GP) / 10n]);
        await expectCustodyBacked(f, [ALICE, BOB, CAROL, DAVE]);
      });

      it("refuse shares that would pass 100% together", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.admin).setParameter(Parameter.ReferralShare1, 2_501))
          .to.be.revertedWithCustomError(f.pool, "PoolSharesExceedWhole")
          .withArgs(10_001);
        await expect(f.pool.connect(f.admin).setParameter(Parameter.MintShare, 8_501))
          .to.be.revertedWithCustomError(f.pool, "PoolSharesExceedWhole")
          .withArgs(10_001);
        await f.pool.connect(f.admin).setParameter(Parameter.ReferralShare1, 1_500);
        expect((await f.pool.parameters()).referralShare1).to.equal(1_500n);
      });

      it("never record the same shop order twice", async function () {
        const f = await loadFixture(load);
        const order = { orderId: orderId("twice"), user: ALICE, amount: 10n * f.unit };
        await f.custody.connect(f.relayer).recordOrders([{ shop: f.shops[0].address, orders: [order] }]);
        await expect(f.custody.connect(f.relayer).recordOrders([{ shop: f.shops[0].address, orders: [order] }]))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderAlreadyRecorded")
          .withArgs(orderKey(f.shops[0].address, order.orderId));
      });

      it("refuse the zero user id", async function () {
        const f = await loadFixture(load);
        await expect(custodialOrders(f, 0, [{ user: ethers.ZeroHash, amount: f.unit }])).to.be.revertedWithCustomError(
          f.custody,
          "CustodyInvalidUser",
        );
      });

      it("are refused by the pool from anyone but a relayer", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.stranger).recordPooledOrders([]))
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, await f.pool.RELAYER_ROLE());
        await expect(
          f.pool
            .connect(f.relayer)
            .recordPooledOrders([{ shop: f.shops[0].address, orders: [{ orderId: orderId("deep"), amount: f.unit, referralLevels: 3 }] }]),
        )
          .to.be.revertedWithCustomError(f.pool, "PoolTooManyReferralLevels")
          .withArgs(orderKey(f.shops[0].address, orderId("deep")), 3);
      });
    });

    describe("moving points between accounts", function () {
      async function funded() {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [
          { user: ALICE, amount: 1_000n * f.unit },
          { user: BOB, amount: 10n * f.unit },
        ]);
        await f.custody.connect(f.relayer).setMerchant(SHOP_MERCHANT, true);
        return f;
      }

      it("transfers GP between users once per request id", async function () {
        const f = await funded();
        const id = request();
        await expect(f.custody.connect(f.relayer).transfer(id, ALICE, BOB, Asset.GP, 5n * GP))
          .to.emit(f.custody, "Transferred")
          .withArgs(id, ALICE, BOB, Asset.GP, 5n * GP);
        await expect(f.custody.connect(f.relayer).transfer(id, ALICE, BOB, Asset.GP, 5n * GP))
          .to.be.revertedWithCustomError(f.custody, "CustodyRequestAlreadyProcessed")
          .withArgs(id);
        expect(await f.custody.isRequestProcessed(id)).to.equal(true);
        await expectCustodyBacked(f, [ALICE, BOB]);
      });

      it("refuses a transfer to the same account, which would mark its own GP as received and zero its exit quota", async function () {
        const f = await funded();
        const relayer = f.custody.connect(f.relayer);
        const before = await f.custody.accountOf(BOB);
        await expect(relayer.transfer(request(), BOB, BOB, Asset.GP, before.points))
          .to.be.revertedWithCustomError(f.custody, "CustodySelfTransfer")
          .withArgs(BOB);
        await expect(relayer.transfer(request(), BOB, BOB, Asset.CP, 1))
          .to.be.revertedWithCustomError(f.custody, "CustodySelfTransfer")
          .withArgs(BOB);
        expect(await f.custody.accountOf(BOB)).to.deep.equal(before);
      });

      it("refuses zero, an unknown side, and more than the balance", async function () {
        const f = await funded();
        const relayer = f.custody.connect(f.relayer);
        const balance = (await f.custody.accountOf(BOB)).points;
        await expect(relayer.transfer(request(), ALICE, BOB, Asset.GP, 0)).to.be.revertedWithCustomError(f.custody, "CustodyZeroAmount");
        await expect(relayer.transfer(request(), ALICE, CAROL, Asset.GP, 1))
          .to.be.revertedWithCustomError(f.custody, "CustodyUnknownUser")
          .withArgs(CAROL);
        await expect(relayer.transfer(request(), BOB, ALICE, Asset.GP, balance + 1n))
          .to.be.revertedWithCustomError(f.custody, "CustodyInsufficientBalance")
          .withArgs(BOB, Asset.GP, balance, balance + 1n);
        await expect(relayer.transfer(request(), BOB, ALICE, Asset.CP, 1))
          .to.be.revertedWithCustomError(f.custody, "CustodyInsufficientBalance")
          .withArgs(BOB, Asset.CP, 0, 1);
      });

      it("pays merchants only, in GP or CP", async function () {
        const f = await funded();
        const relayer = f.custody.connect(f.relayer);
        await expect(relayer.payMerchant(request(), ALICE, BOB, Asset.GP, GP))
          .to.be.revertedWithCustomError(f.custody, "CustodyNotMerchant")
          .withArgs(BOB);
        const id = request();
        await expect(relayer.payMerchant(id, ALICE, SHOP_MERCHANT, Asset.GP, 2n * GP))
          .to.emit(f.custody, "MerchantPaid")
          .withArgs(id, ALICE, SHOP_MERCHANT, Asset.GP, 2n * GP);
        await relayer.convertToConstant(request(), ALICE, 10n * GP);
        await relayer.payMerchant(request(), ALICE, SHOP_MERCHANT, Asset.CP, 5n * f.unit);
        const merchant = await f.custody.accountOf(SHOP_MERCHANT);
        expect([merchant.points, merchant.constantPoints]).to.deep.equal([2n * GP, 5n * f.unit]);
        await expect(relayer.setMerchant(SHOP_MERCHANT, false)).to.emit(f.custody, "MerchantSet").withArgs(SHOP_MERCHANT, false);
        await expect(relayer.payMerchant(request(), ALICE, SHOP_MERCHANT, Asset.GP, 1)).to.be.revertedWithCustomError(
          f.custody,
          "CustodyNotMerchant",
        );
        await expectCustodyBacked(f, [ALICE, BOB, SHOP_MERCHANT]);
      });
    });

    describe("redemption into the settlement balance", function () {
      it("redeems at the pool, credits the payout, and withdraws it to an address", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const { payout } = await f.pool.previewRedeem(7n * GP);
        const id = request();
        await expect(f.custody.connect(f.relayer).redeem(id, ALICE, 7n * GP, payout))
          .to.emit(f.custody, "RedeemedToBalance")
          .withArgs(id, ALICE, Asset.GP, 7n * GP, 7n * GP, payout);
        expect((await f.custody.accountOf(ALICE)).settlement).to.equal(payout);
        const relayer = f.custody.connect(f.relayer);
        await expect(relayer.withdrawSettlement(request(), ALICE, ethers.ZeroAddress, 1)).to.be.revertedWithCustomError(
          f.custody,
          "CustodyInvalidAddress",
        );
        await expect(relayer.withdrawSettlement(request(), ALICE, f.stranger.address, 0)).to.be.revertedWithCustomError(
          f.custody,
          "CustodyZeroAmount",
        );
        await expect(relayer.withdrawSettlement(request(), ALICE, f.stranger.address, payout + 1n))
          .to.be.revertedWithCustomError(f.custody, "CustodyInsufficientSettlement")
          .withArgs(ALICE, payout, payout + 1n);
        const tx = relayer.withdrawSettlement(request(), ALICE, f.stranger.address, payout);
        await expect(tx).to.changeTokenBalances(f.settlement, [f.custody, f.stranger], [-payout, payout]);
        await expect(tx).to.emit(f.custody, "SettlementWithdrawn").withArgs(anyValue, ALICE, f.stranger.address, payout);
      });

      it("refuses a payout below the minimum and changes nothing", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const { payout } = await f.pool.previewRedeem(GP);
        await expect(f.custody.connect(f.relayer).redeem(request(), ALICE, GP, payout + 1n))
          .to.be.revertedWithCustomError(f.pool, "PoolPayoutBelowMinimum")
          .withArgs(payout, payout + 1n);
        expect((await f.custody.accountOf(ALICE)).points).to.equal(21n * GP - LOCKED_POINTS);
      });
    });

    describe("constant points", function () {
      it("convert GP at the current price into a reserve that is not burned", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]); // price 30/21
        const supply = await f.points.totalSupply();
        const id = request();
        await expect(f.custody.connect(f.relayer).convertToConstant(id, ALICE, 7n * GP))
          .to.emit(f.custody, "ConvertedToConstant")
          .withArgs(id, ALICE, 7n * GP, 10n * f.unit);
        expect(await f.points.totalSupply()).to.equal(supply);
        expect(await f.custody.reserve()).to.equal(7n * GP);
        expect(await f.custody.constantOutstanding()).to.equal(10n * f.unit);
        if (decimals === 6) {
          // One GP base unit is worth less than one base unit of a 6-decimal token.
          await expect(f.custody.connect(f.relayer).convertToConstant(request(), ALICE, 1n))
            .to.be.revertedWithCustomError(f.custody, "CustodyConversionTooSmall")
            .withArgs(1n);
        }
        await expectCustodyBacked(f, [ALICE]);
      });

      it("exchange for GP of equal value, and redeem with the exit fee applied", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const relayer = f.custody.connect(f.relayer);
        await relayer.convertToConstant(request(), ALICE, 14n * GP); // 20 CP
        await expect(relayer.exchangeConstant(request(), ALICE, 10n * f.unit))
          .to.emit(f.custody, "ConstantExchanged")
          .withArgs(anyValue, ALICE, 10n * f.unit, 7n * GP);
        // 10 CP redeemed: 7 GP at the pool, gross 10, fee 2, payout 8 = 10 x (1 - 20%).
        await expect(relayer.redeemConstant(request(), ALICE, 10n * f.unit, 0))
          .to.emit(f.custody, "RedeemedToBalance")
          .withArgs(anyValue, ALICE, Asset.CP, 10n * f.unit, 7n * GP, 8n * f.unit);
        expect(await f.custody.constantOutstanding()).to.equal(0n);
        expect(await f.custody.reserve()).to.equal(0n);
        await expect(relayer.exchangeConstant(request(), ALICE, 0)).to.be.revertedWithCustomError(f.custody, "CustodyZeroAmount");
        await expect(relayer.redeemConstant(request(), ALICE, 1, 0))
          .to.be.revertedWithCustomError(f.custody, "CustodyInsufficientBalance")
          .withArgs(ALICE, Asset.CP, 0, 1);
        await expectCustodyBacked(f, [ALICE]);
      });

      it("never pay more per GP through CP than a direct redemption would", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [
          { user: ALICE, amount: 333n * f.unit + 3n },
          { user: BOB, amount: 333n * f.unit + 3n },
        ]);
        const k = (await f.custody.accountOf(ALICE)).points;
        const direct = (await f.pool.previewRedeem(k)).payout;
        const relayer = f.custody.connect(f.relayer);
        await relayer.convertToConstant(request(), ALICE, k);
        const cp = (await f.custody.accountOf(ALICE)).constantPoints;
        await relayer.redeemConstant(request(), ALICE, cp, 0);
        expect((await f.custody.accountOf(ALICE)).settlement <= direct).to.equal(true);
      });

      it("keep the reserve's growth for all holders: the surplus is retired, raising the price", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const relayer = f.custody.connect(f.relayer);
        await relayer.convertToConstant(request(), ALICE, 7n * GP); // 10 CP against 7 GP
        await expect(f.custody.releaseReserveSurplus()).to.be.revertedWithCustomError(f.custody, "CustodyNoReserveSurplus");
        await custodialOrders(f, 1, [{ user: BOB, amount: 1_000n * f.unit }]); // the price rises
        const surplus = await f.custody.reserveSurplus();
        expect(surplus).to.be.greaterThan(0n);
        const [assets, supply] = [await f.pool.assets(), await f.points.totalSupply()];
        await expect(f.custody.connect(f.stranger).releaseReserveSurplus())
          .to.emit(f.custody, "ReserveSurplusReleased")
          .withArgs(surplus)
          .and.to.emit(f.pool, "PointsRetired")
          .withArgs(await f.custody.getAddress(), surplus, assets, supply - surplus);
        const [assetsAfter, supplyAfter] = [await f.pool.assets(), await f.points.totalSupply()];
        expect(assetsAfter * supply > assets * supplyAfter).to.equal(true);
        await expectCustodyBacked(f, [ALICE, BOB]);
        expect(await f.custody.reserveSurplus()).to.equal(0n);
      });

      it("release nothing while the reserve holds every GP but the locked ones: the CP stay backed and redeemable", async function () {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const relayer = f.custody.connect(f.relayer);
        await relayer.convertToConstant(request(), ALICE, (await f.custody.accountOf(ALICE)).points);
        const cp = (await f.custody.accountOf(ALICE)).constantPoints;
        await relayer.redeemConstant(request(), ALICE, cp / 2n, 0); // the exit fee stays: the reserve is worth more than the CP
        const [reserve, outstanding, assets, supply] = [
          await f.custody.reserve(),
          await f.custody.constantOutstanding(),
          await f.pool.assets(),
          await f.points.totalSupply(),
        ];
        expect(reserve).to.equal(supply - LOCKED_POINTS);
        expect(reserve * assets > outstanding * supply).to.equal(true);
        expect(await f.custody.reserveSurplus()).to.equal(0n);
        await expect(f.custody.releaseReserveSurplus()).to.be.revertedWithCustomError(f.custody, "CustodyNoReserveSurplus");
        await relayer.redeemConstant(request(), ALICE, outstanding, 0);
        expect(await f.custody.constantOutstanding()).to.equal(0n);
        await expectCustodyBacked(f, [ALICE]);
      });
    });

    describe("original accounts", function () {
      async function linked() {
        const f = await loadFixture(load);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 1_000n * f.unit }]);
        const wallet = f.users[0];
        const deadline = BigInt(await time.latest()) + 3_600n;
        await f.custody.connect(f.relayer).link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, ALICE, deadline));
        return { f, wallet };
      }

      it("withdraws GP to the linked account, retiring the fee (the price rises)", async function () {
        const { f, wallet } = await linked();
        const points = 100n * GP;
        const fee = points / 100n; // 1%
        const [assets, supply] = [await f.pool.assets(), await f.points.totalSupply()];
        const id = request();
        const tx = f.custody.connect(f.relayer).withdrawToOriginal(id, ALICE, points);
        await expect(tx).to.emit(f.custody, "WithdrawnToOriginal").withArgs(id, ALICE, wallet.address, points, fee);
        await expect(tx).to.changeTokenBalance(f.points, wallet, points - fee);
        expect(await f.points.totalSupply()).to.equal(supply - fee);
        expect(await f.pool.assets()).to.equal(assets);
        await expectCustodyBacked(f, [ALICE]);
      });

      it("refuses a withdrawal with no account linked, or one the fee would swallow", async function () {
        const { f } = await linked();
        await f.custody.connect(f.relayer).register(BOB, ethers.ZeroHash);
        await expect(f.custody.connect(f.relayer).withdrawToOriginal(request(), BOB, GP))
          .to.be.revertedWithCustomError(f.custody, "CustodyNotLinked")
          .withArgs(BOB);
        await expect(f.custody.connect(f.relayer).withdrawToOriginal(request(), ALICE, 1n))
          .to.be.revertedWithCustomError(f.custody, "CustodyWithdrawalTooSmall")
          .withArgs(1n);
      });

      it("deposits from the original account for free, directly or by signature with a permit", async function () {
        const { f, wallet } = await linked();
        await f.custody.connect(f.relayer).withdrawToOriginal(request(), ALICE, 100n * GP);
        const held = await f.points.balanceOf(wallet.address);
        await f.points.connect(wallet).approve(await f.custody.getAddress(), GP);
        await expect(f.custody.connect(wallet).deposit(ALICE, GP)).to.emit(f.custody, "Deposited").withArgs(ALICE, wallet.address, GP);
        await expect(f.custody.connect(wallet).deposit(CAROL, GP))
          .to.be.revertedWithCustomError(f.custody, "CustodyUnknownUser")
          .withArgs(CAROL);
        await expect(f.custody.connect(wallet).deposit(ALICE, 0)).to.be.revertedWithCustomError(f.custody, "CustodyZeroAmount");

        const amount = 10n * GP;
        const deadline = BigInt(await time.latest()) + 600n;
        const permit = await signPermit(wallet, f.points, await f.custody.getAddress(), amount, deadline);
        await f.points
          .connect(f.relayer)
          .permit(wallet.address, await f.custody.getAddress(), amount, deadline, permit.v, permit.r, permit.s);
        const signature = await signDeposit(wallet, f.custody, ALICE, amount, deadline);
        await expect(f.custody.connect(f.relayer).depositBySig(wallet.address, ALICE, amount, deadline, signature))
          .to.emit(f.custody, "Deposited")
          .withArgs(ALICE, wallet.address, amount);
        expect(await f.points.balanceOf(wallet.address)).to.equal(held - GP - amount);
        await expect(f.custody.connect(f.relayer).depositBySig(wallet.address, ALICE, amount, deadline, signature))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidSigner")
          .withArgs(wallet.address);
        await expectCustodyBacked(f, [ALICE]);
      });

      it("unlinks at the user's request or the account's own, and relinks with a fresh signature", async function () {
        const { f, wallet } = await linked();
        const relayer = f.custody.connect(f.relayer);
        expect(await f.custody.userOf(wallet.address)).to.equal(ALICE);
        await expect(f.custody.connect(f.stranger).unlinkSelf(ALICE))
          .to.be.revertedWithCustomError(f.custody, "CustodyNotOriginalAccount")
          .withArgs(ALICE, f.stranger.address);
        await expect(f.custody.connect(wallet).unlinkSelf(ALICE)).to.emit(f.custody, "Unlinked").withArgs(ALICE, wallet.address);
        expect(await f.custody.userOf(wallet.address)).to.equal(ethers.ZeroHash);
        await expect(relayer.unlink(ALICE)).to.be.revertedWithCustomError(f.custody, "CustodyNotLinked").withArgs(ALICE);
        const deadline = BigInt(await time.latest()) + 600n;
        await expect(relayer.link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, ALICE, deadline)))
          .to.emit(f.custody, "Linked")
          .withArgs(ALICE, wallet.address);
        await expect(relayer.unlink(ALICE)).to.emit(f.custody, "Unlinked").withArgs(ALICE, wallet.address);
      });
    });

    describe("linking signatures", function () {
      async function ready() {
        const f = await loadFixture(load);
        const relayer = f.custody.connect(f.relayer);
        await relayer.register(ALICE, ethers.ZeroHash);
        await relayer.register(BOB, ethers.ZeroHash);
        const deadline = BigInt(await time.latest()) + 600n;
        return { f, relayer, wallet: f.users[0], other: f.users[1], deadline };
      }

      it("refuses a replayed link", async function () {
        const { f, relayer, wallet, deadline } = await ready();
        const signature = await signLink(wallet, f.custody, ALICE, deadline);
        await relayer.link(ALICE, wallet.address, deadline, signature);
        await relayer.unlink(ALICE);
        await expect(relayer.link(ALICE, wallet.address, deadline, signature))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidSigner")
          .withArgs(wallet.address);
      });

      it("refuses an expired link", async function () {
        const { f, relayer, wallet } = await ready();
        const deadline = BigInt(await time.latest()) - 1n;
        await expect(relayer.link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, ALICE, deadline)))
          .to.be.revertedWithCustomError(f.custody, "CustodyExpiredSignature")
          .withArgs(deadline);
      });

      it("refuses a link signed for another chain", async function () {
        const { f, relayer, wallet, deadline } = await ready();
        const signature = await signLink(wallet, f.custody, ALICE, deadline, { chainId: 1n });
        await expect(relayer.link(ALICE, wallet.address, deadline, signature)).to.be.revertedWithCustomError(
          f.custody,
          "CustodyInvalidSigner",
        );
      });

      it("refuses a link signed by another key, or over another nonce, or for another user", async function () {
        const { f, relayer, wallet, other, deadline } = await ready();
        await expect(relayer.link(ALICE, wallet.address, deadline, await signLink(other, f.custody, ALICE, deadline)))
          .to.be.revertedWithCustomError(f.custody, "CustodyInvalidSigner")
          .withArgs(wallet.address);
        await expect(
          relayer.link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, ALICE, deadline, { nonce: 1n })),
        ).to.be.revertedWithCustomError(f.custody, "CustodyInvalidSigner");
        await expect(
          relayer.link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, BOB, deadline)),
        ).to.be.revertedWithCustomError(f.custody, "CustodyInvalidSigner");
      });

      it("links one account to one user, and one user to one account", async function () {
        const { f, relayer, wallet, other, deadline } = await ready();
        await relayer.link(ALICE, wallet.address, deadline, await signLink(wallet, f.custody, ALICE, deadline));
        await expect(relayer.link(ALICE, other.address, deadline, await signLink(other, f.custody, ALICE, deadline)))
          .to.be.revertedWithCustomError(f.custody, "CustodyAlreadyLinked")
          .withArgs(ALICE, wallet.address);
        await expect(relayer.link(BOB, wallet.address, deadline, await signLink(wallet, f.custody, BOB, deadline)))
          .to.be.revertedWithCustomError(f.custody, "CustodyAccountLinkedElsewhere")
          .withArgs(wallet.address, ALICE);
        await expect(relayer.link(BOB, ethers.ZeroAddress, deadline, "0x")).to.be.revertedWithCustomError(
          f.custody,
          "CustodyInvalidAddress",
        );
      });
    });
  });
}

describe("Custody", function () {
  shouldBehaveLikeCustody(6, custodyWith6Decimals);
  shouldBehaveLikeCustody(18, custodyWith18Decimals);

  describe("the forced exit (exitMultiple 2x)", function () {
    const exitAt2x = () => deployCustodyFixture({ decimals: 6, custody: { withdrawalFee: 100n, exitMultiple: 20_000n, referralMode: 0n } });

    it("adds twice each order to the quota and exits once the GP are worth it", async function () {
      const f = await loadFixture(exitAt2x);
      const unit = f.unit;
      await expect(custodialOrders(f, 0, [{ user: ALICE, amount: 100n * unit }]))
        .to.emit(f.custody, "QuotaChanged")
        .withArgs(ALICE, 200n * unit, true);
      const value = (await f.pool.previewRedeem((await f.custody.accountOf(ALICE)).points)).gross;
      await expect(f.custody.exit(ALICE))
        .to.be.revertedWithCustomError(f.custody, "CustodyExitNotReached")
        .withArgs(ALICE, value, 200n * unit);
      // Other shoppers' orders raise the price until Alice's 21 GP (less the locked millionth) are worth 200.
      const held = 21n * GP - LOCKED_POINTS;
      while ((await f.pool.previewRedeem(held)).gross < 200n * unit) {
        await custodialOrders(f, 1, [{ user: BOB, amount: 5_000n * unit }]);
      }
      const { payout } = await f.pool.previewRedeem(held);
      await expect(f.custody.connect(f.stranger).exit(ALICE)).to.emit(f.custody, "Exited").withArgs(ALICE, held, payout);
      const alice = await f.custody.accountOf(ALICE);
      expect([alice.points, alice.quota, alice.quotaActive, alice.settlement]).to.deep.equal([0n, 0n, false, payout]);
      await expect(f.custody.exit(ALICE)).to.be.revertedWithCustomError(f.custody, "CustodyExitNotReached").withArgs(ALICE, 0, 0);
    });

    it("counts GP the user takes out (redeem, withdraw, convert, transfer) against the quota", async function () {
      const f = await loadFixture(exitAt2x);
      const m = await models(f);
      await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
      m.custody.recordOrders([
        {
          shop: f.shops[0].address,
          orders: [{ key: orderKey(f.shops[0].address, orderId(`custodial-${orderCounter}`)), user: ALICE, amount: 100n * f.unit }],
        },
      ]);
      await f.custody.connect(f.relayer).register(BOB, ethers.ZeroHash);
      m.custody.register(BOB, null);
      // 7 GP worth 10 leave Alice's entry: her quota falls from 200 to 190.
      await expect(f.custody.connect(f.relayer).transfer(request(), ALICE, BOB, Asset.GP, 7n * GP))
        .to.emit(f.custody, "QuotaChanged")
        .withArgs(ALICE, 190n * f.unit, true);
      m.custody.transfer(ethers.id("t"), ALICE, BOB, Asset.GP, 7n * GP);
      expect((await f.custody.accountOf(ALICE)).quota).to.equal(m.custody.account(ALICE).quota);
      // Bob received GP but never ordered: no quota, no exit.
      await expect(f.custody.exit(BOB)).to.be.revertedWithCustomError(f.custody, "CustodyExitNotReached");
    });

    describe("GP credited by others do not count toward the quota", function () {
      /** Alice ordered 100 (quota 200, GP worth about 30); Bob's wallet holds GP worth well over 200. */
      async function aliceAndRichBob() {
        const f = await loadFixture(exitAt2x);
        await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
        const own = 21n * GP - LOCKED_POINTS;
        const bob = f.users[1];
        await f.pool.connect(f.relayer).recordOrder(f.shops[1].address, newOrder(bob.address, 10_000n * f.unit));
        await f.points.connect(bob).approve(await f.custody.getAddress(), ethers.MaxUint256);
        return { f, own, bob };
      }

      async function expectNotReached(f: CustodyFixture, own: bigint) {
        const { gross } = await f.pool.previewRedeem(own);
        await expect(f.custody.connect(f.stranger).exit(ALICE))
          .to.be.revertedWithCustomError(f.custody, "CustodyExitNotReached")
          .withArgs(ALICE, gross, 200n * f.unit);
      }

      it("refuses an exit pushed by GP another wallet deposited into the account", async function () {
        const { f, own, bob } = await aliceAndRichBob();
        await f.custody.connect(bob).deposit(ALICE, 500n * GP);
        await expectNotReached(f, own);
        await f.custody.connect(bob).depositBatch([ALICE], [500n * GP]);
        await expectNotReached(f, own);
      });

      it("refuses an exit pushed by a custodial transfer or a merchant payment from another account", async function () {
        const { f, own } = await aliceAndRichBob();
        const relayer = f.custody.connect(f.relayer);
        await custodialOrders(f, 1, [{ user: BOB, amount: 10_000n * f.unit }]);
        await relayer.transfer(request(), BOB, ALICE, Asset.GP, 500n * GP);
        await expectNotReached(f, own);
        await relayer.setMerchant(ALICE, true);
        await relayer.payMerchant(request(), BOB, ALICE, Asset.GP, 500n * GP);
        await expectNotReached(f, own);
      });

      it("counts GP its own linked original account deposits", async function () {
        const { f, own, bob } = await aliceAndRichBob();
        const deadline = BigInt(await time.latest()) + 3_600n;
        await f.custody.connect(f.relayer).link(ALICE, bob.address, deadline, await signLink(bob, f.custody, ALICE, deadline));
        await f.custody.connect(bob).deposit(ALICE, 500n * GP);
        const { gross } = await f.pool.previewRedeem(own + 500n * GP);
        await expect(f.custody.exit(ALICE))
          .to.emit(f.custody, "Exited")
          .withArgs(ALICE, own + 500n * GP, anyValue);
        expect(gross).to.be.greaterThan(200n * f.unit);
      });
    });

    it("is off when exitMultiple is 0", async function () {
      const f = await loadFixture(exitAt2x);
      await f.custody.connect(f.admin).setParameter(CustodyParameter.ExitMultiple, 0);
      await f.custody.connect(f.relayer).register(ALICE, ethers.ZeroHash);
      await expect(f.custody.exit(ALICE)).to.be.revertedWithCustomError(f.custody, "CustodyExitDisabled");
    });
  });

  describe("parameters", function () {
    it("bounds the withdrawal fee to 20% and the exit multiple to 0 or 1x..10x, with events", async function () {
      const f = await loadFixture(custodyWith6Decimals);
      const admin = f.custody.connect(f.admin);
      await expect(admin.setParameter(CustodyParameter.WithdrawalFee, 2_000))
        .to.emit(f.custody, "ParameterChanged")
        .withArgs(CustodyParameter.WithdrawalFee, 100, 2_000);
      await expect(admin.setParameter(CustodyParameter.WithdrawalFee, 2_001))
        .to.be.revertedWithCustomError(f.custody, "CustodyParameterOutOfRange")
        .withArgs(CustodyParameter.WithdrawalFee, 2_001, 0, 2_000);
      for (const bad of [9_999n, 100_001n]) {
        await expect(admin.setParameter(CustodyParameter.ExitMultiple, bad))
          .to.be.revertedWithCustomError(f.custody, "CustodyParameterOutOfRange")
          .withArgs(CustodyParameter.ExitMultiple, bad, 10_000, 100_000);
      }
      await expect(admin.setParameter(CustodyParameter.ExitMultiple, 30_000))
        .to.emit(f.custody, "ParameterChanged")
        .withArgs(CustodyParameter.ExitMultiple, 0, 30_000);
      expect(await f.custody.parameters()).to.deep.equal([2_000n, 30_000n, 0n]);
      await expect(admin.setParameter(CustodyParameter.ReferralMode, ReferralMode.FirstOrder))
        .to.emit(f.custody, "ParameterChanged")
        .withArgs(CustodyParameter.ReferralMode, ReferralMode.PerOrder, ReferralMode.FirstOrder);
      await expect(admin.setParameter(CustodyParameter.ReferralMode, 2))
        .to.be.revertedWithCustomError(f.custody, "CustodyParameterOutOfRange")
        .withArgs(CustodyParameter.ReferralMode, 2, 0, 1);
      expect(await f.custody.parameters()).to.deep.equal([2_000n, 30_000n, 1n]);
    });

    it("sets the referral mode at deployment, refusing one that does not exist", async function () {
      const f = await loadFixture(custodyWith6Decimals);
      const factory = await ethers.getContractFactory("Custody");
      const firstOrder = await factory.deploy(
        await f.pool.getAddress(),
        { withdrawalFee: 0, exitMultiple: 0, referralMode: ReferralMode.FirstOrder },
        f.admin.address,
      );
      expect((await firstOrder.parameters()).referralMode).to.equal(BigInt(ReferralMode.FirstOrder));
      await expect(factory.deploy(await f.pool.getAddress(), { withdrawalFee: 0, exitMultiple: 0, referralMode: 2 }, f.admin.address)).to.be
        .reverted;
    });

    it("refuses a zero pool or admin at deployment", async function () {
      const f = await loadFixture(custodyWith6Decimals);
      const factory = await ethers.getContractFactory("Custody");
      await expect(
        factory.deploy(ethers.ZeroAddress, { withdrawalFee: 0, exitMultiple: 0, referralMode: 0 }, f.admin.address),
      ).to.be.revertedWithCustomError(factory, "CustodyInvalidAddress");
      await expect(
        factory.deploy(await f.pool.getAddress(), { withdrawalFee: 0, exitMultiple: 0, referralMode: 0 }, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(factory, "CustodyInvalidAddress");
    });
  });
});

/** A custody whose relayer holds a settlement float it approved the custody for, as the relayer does for grants. */
async function grantFixture(options: { exitMultiple?: bigint; referralMode?: ReferralMode } = {}) {
  const f = await deployCustodyFixture({
    decimals: 6,
    custody: { withdrawalFee: 100n, exitMultiple: options.exitMultiple ?? 0n, referralMode: BigInt(options.referralMode ?? 0) },
  });
  await f.settlement.mint(f.relayer.address, 1_000_000n * f.unit);
  await f.settlement.connect(f.relayer).approve(await f.custody.getAddress(), ethers.MaxUint256);
  await f.pool.connect(f.admin).grantRole(await f.pool.PAUSER_ROLE(), f.admin.address);
  return f;
}
const grantsAt2x = () => grantFixture({ exitMultiple: 20_000n });
const firstOrderReward = () => grantFixture({ referralMode: ReferralMode.FirstOrder });
const perOrderShares = () => grantFixture({ referralMode: ReferralMode.PerOrder });

describe("Custody: operator grants and removals", function () {
  describe("grant", function () {
    it("pays the relayer's contribution into the pool and credits exactly what the pool mints for it, as received GP", async function () {
      const f = await loadFixture(grantsAt2x);
      const relayer = f.custody.connect(f.relayer);
      await relayer.register(ALICE, ethers.ZeroHash);
      await relayer.register(BOB, ALICE);
      await custodialOrders(f, 0, [{ user: CAROL, amount: 100n * f.unit }]);
      const contribution = 25n * f.unit;
      const expected = await f.pool.previewContribution(contribution);
      const [assetsBefore, supplyBefore] = await f.pool.priceRatio();
      const payerBefore = await f.settlement.balanceOf(f.relayer.address);
      const id = request();
      const tx = relayer.grant(id, BOB, contribution);
      await expect(tx).to.emit(f.custody, "Granted").withArgs(id, BOB, f.relayer.address, contribution, expected);
      await expect(tx)
        .to.emit(f.pool, "ContributionRecorded")
        .withArgs(orderKey(await f.custody.getAddress(), id), await f.custody.getAddress(), contribution, expected);
      await expect(tx).to.not.emit(f.custody, "ReferralCredited");
      await expect(tx).to.not.emit(f.custody, "QuotaChanged");
      expect(expected > 0n).to.equal(true);
      const bob = await f.custody.accountOf(BOB);
      expect([bob.points, bob.received, bob.quota, bob.quotaActive]).to.deep.equal([expected, expected, 0n, false]);
      expect((await f.custody.accountOf(ALICE)).points, "no referral credit on a grant").to.equal(0n);
      expect(await f.pool.assets()).to.equal(assetsBefore + contribution);
      expect(await f.points.totalSupply()).to.equal(supplyBefore + expected);
      expect(payerBefore - (await f.settlement.balanceOf(f.relayer.address))).to.equal(contribution);
      const [assetsAfter, supplyAfter] = await f.pool.priceRatio();
      expect(assetsAfter * supplyBefore >= assetsBefore * supplyAfter, "the price did not fall").to.equal(true);
      expect(await f.settlement.allowance(await f.custody.getAddress(), await f.pool.getAddress())).to.equal(0n);
      await expectCustodyBacked(f, [ALICE, BOB, CAROL]);
      // As the reference model has it.
      const m = await models(f);
      m.custody.recordOrders([
        {
          shop: f.shops[0].address,
          orders: [{ key: orderKey(f.shops[0].address, orderId(`custodial-${orderCounter}`)), user: CAROL, amount: 100n * f.unit }],
        },
      ]);
      m.custody.register(ALICE, null);
      m.custody.register(BOB, ALICE);
      expect(m.custody.grant(id, BOB, contribution)).to.equal(expected);
    });

    it("registers a user it reaches first, and can be the pool's first mint (the locked GP come out of it)", async function () {
      const f = await loadFixture(grantsAt2x);
      const id = request();
      const expected = await f.pool.previewContribution(10n * f.unit);
      expect(expected).to.equal(7n * GP - LOCKED_POINTS);
      await expect(f.custody.connect(f.relayer).grant(id, DAVE, 10n * f.unit))
        .to.emit(f.custody, "UserRegistered")
        .withArgs(DAVE, 1, ethers.ZeroHash)
        .and.to.emit(f.pool, "PointsLocked")
        .withArgs(LOCKED_POINTS);
      expect((await f.custody.accountOf(DAVE)).points).to.equal(expected);
    });

    it("applies once per request id, and refuses zero, dust that mints nothing, the zero user and a paused pool", async function () {
      const f = await loadFixture(grantsAt2x);
      const relayer = f.custody.connect(f.relayer);
      const id = request();
      await relayer.grant(id, ALICE, 10n * f.unit);
      const before = await f.custody.accountOf(ALICE);
      await expect(relayer.grant(id, ALICE, 10n * f.unit))
        .to.be.revertedWithCustomError(f.custody, "CustodyRequestAlreadyProcessed")
        .withArgs(id);
      await expect(relayer.grant(request(), ALICE, 0)).to.be.revertedWithCustomError(f.custody, "CustodyZeroAmount");
      await expect(relayer.grant(request(), ALICE, 1))
        .to.be.revertedWithCustomError(f.custody, "CustodyGrantTooSmall")
        .withArgs(1);
      await expect(relayer.grant(request(), ethers.ZeroHash, f.unit)).to.be.revertedWithCustomError(f.custody, "CustodyInvalidUser");
      await f.pool.connect(f.admin).pause();
      await expect(relayer.grant(request(), ALICE, f.unit)).to.be.revertedWithCustomError(f.pool, "EnforcedPause");
      expect(await f.custody.accountOf(ALICE)).to.deep.equal(before);
      expect(await f.settlement.balanceOf(await f.custody.getAddress())).to.equal(0n);
    });

    it("refuses more than the cap, changing nothing", async function () {
      const f = await loadFixture(grantsAt2x);
      const cap = await f.points.maxIssuance();
      const contribution = (cap / GP) * 2n * f.unit;
      await f.settlement.mint(f.relayer.address, contribution);
      await expect(f.custody.connect(f.relayer).grant(request(), ALICE, contribution)).to.be.revertedWithCustomError(
        f.points,
        "GreenPointsCapExceeded",
      );
      expect(await f.pool.assets()).to.equal(0n);
    });

    it("never pays a grant with settlement the custody holds for accounts: a short transfer is refused", async function () {
      const [admin, relayer] = await ethers.getSigners();
      const token = await ethers.deployContract("FeeOnTransferToken");
      const { pool } = await deployPoolContracts(admin, {
        settlement: await token.getAddress(),
        maxIssuance: 10n ** 30n,
        parameters: defaultParameters(6),
        admin: admin.address,
      });
      const custody = await deployCustody(admin, pool, { withdrawalFee: 0n, exitMultiple: 0n, referralMode: 0n }, admin.address);
      await custody.grantRole(await custody.RELAYER_ROLE(), relayer.address);
      // The custody holds settlement already (as it does for redemptions' payouts).
      await token.mint(await custody.getAddress(), 10n ** 9n);
      await token.mint(relayer.address, 10n ** 12n);
      await token.connect(relayer).approve(await custody.getAddress(), ethers.MaxUint256);
      await expect(custody.connect(relayer).grant(request(), ALICE, 10n ** 8n))
        .to.be.revertedWithCustomError(custody, "CustodySettlementShortfall")
        .withArgs(relayer.address, 10n ** 8n, 99n * 10n ** 6n);
    });
  });

  describe("remove", function () {
    it("burns the GP without payout: the price rises for every holder, the quota stays", async function () {
      const f = await loadFixture(grantsAt2x);
      await custodialOrders(f, 0, [
        { user: ALICE, amount: 100n * f.unit },
        { user: BOB, amount: 100n * f.unit },
      ]);
      const alice = await f.custody.accountOf(ALICE);
      const points = alice.points / 3n;
      const [assetsBefore, supplyBefore] = await f.pool.priceRatio();
      const heldBefore = await f.settlement.balanceOf(await f.pool.getAddress());
      const bobValue = (await f.pool.previewRedeem((await f.custody.accountOf(BOB)).points)).gross;
      const id = request();
      const tx = f.custody.connect(f.relayer).remove(id, ALICE, points);
      await expect(tx).to.emit(f.custody, "Removed").withArgs(id, ALICE, points);
      await expect(tx)
        .to.emit(f.pool, "PointsRetired")
        .withArgs(await f.custody.getAddress(), points, assetsBefore, supplyBefore - points);
      await expect(tx).to.not.emit(f.pool, "Redeemed");
      const after = await f.custody.accountOf(ALICE);
      expect([after.points, after.quota, after.quotaActive]).to.deep.equal([alice.points - points, alice.quota, true]);
      expect(await f.pool.assets()).to.equal(assetsBefore);
      expect(await f.settlement.balanceOf(await f.pool.getAddress())).to.equal(heldBefore);
      expect(await f.points.totalSupply()).to.equal(supplyBefore - points);
      expect((await f.pool.previewRedeem((await f.custody.accountOf(BOB)).points)).gross > bobValue, "Bob's GP are worth more").to.equal(
        true,
      );
      await expectCustodyBacked(f, [ALICE, BOB]);
    });

    it("takes GP credited by others first, so removing a grant puts the account back as it was", async function () {
      const f = await loadFixture(grantsAt2x);
      const relayer = f.custody.connect(f.relayer);
      await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
      const before = await f.custody.accountOf(ALICE);
      const id = request();
      await relayer.grant(id, ALICE, 5n * f.unit);
      const granted = (await f.custody.accountOf(ALICE)).points - before.points;
      await relayer.remove(request(), ALICE, granted);
      expect(await f.custody.accountOf(ALICE)).to.deep.equal(before);
      // More than the received GP: the rest comes out of the account's own, `received` ends at zero.
      await relayer.grant(request(), ALICE, 5n * f.unit);
      const all = (await f.custody.accountOf(ALICE)).points;
      await relayer.remove(request(), ALICE, all - 1n);
      const left = await f.custody.accountOf(ALICE);
      expect([left.points, left.received]).to.deep.equal([1n, 0n]);
    });

    it("refuses more than the account holds, zero, an unknown user and a replayed id, with the values", async function () {
      const f = await loadFixture(grantsAt2x);
      const relayer = f.custody.connect(f.relayer);
      await custodialOrders(f, 0, [{ user: ALICE, amount: 100n * f.unit }]);
      const held = (await f.custody.accountOf(ALICE)).points;
      await expect(relayer.remove(request(), ALICE, held + 1n))
        .to.be.revertedWithCustomError(f.custody, "CustodyInsufficientBalance")
        .withArgs(ALICE, Asset.GP, held, held + 1n);
      await expect(relayer.remove(request(), ALICE, 0)).to.be.revertedWithCustomError(f.custody, "CustodyZeroAmount");
      await expect(relayer.remove(request(), BOB, 1))
        .to.be.revertedWithCustomError(f.custody, "CustodyUnknownUser")
        .withArgs(BOB);
      const id = request();
      await relayer.remove(id, ALICE, 1n);
      await expect(relayer.remove(id, ALICE, 1n))
        .to.be.revertedWithCustomError(f.custody, "CustodyRequestAlreadyProcessed")
        .withArgs(id);
      expect((await f.custody.accountOf(ALICE)).points).to.equal(held - 1n);
    });
  });
});

describe("Custody: the referral modes", function () {
  /** Alice refers Bob, Bob refers Carol: Carol's orders reach both levels. */
  async function chain(f: CustodyFixture) {
    const relayer = f.custody.connect(f.relayer);
    await relayer.register(ALICE, ethers.ZeroHash);
    await relayer.register(BOB, ALICE);
    await relayer.register(CAROL, BOB);
  }
  const referrals = async (tx: Promise<{ wait(): Promise<unknown> }>, f: CustodyFixture) => {
    const receipt = (await (await tx).wait()) as { logs: { topics: string[]; data: string }[] };
    return receipt.logs
      .map((log) => {
        try {
          return f.custody.interface.parseLog(log);
        } catch {
          return null;
        }
      })
      .filter((e) => e?.name === "ReferralCredited")
      .map((e) => [e!.args.referrer, Number(e!.args.level)]);
  };

  it("per-order shares credit both levels on every order of the referee", async function () {
    const f = await loadFixture(perOrderShares);
    await chain(f);
    expect(await referrals(custodialOrders(f, 0, [{ user: CAROL, amount: 100n * f.unit }]), f)).to.deep.equal([
      [BOB, 1],
      [ALICE, 2],
    ]);
    expect(await referrals(custodialOrders(f, 0, [{ user: CAROL, amount: 100n * f.unit }]), f)).to.deep.equal([
      [BOB, 1],
      [ALICE, 2],
    ]);
    expect(await f.custody.hasOrdered(CAROL)).to.equal(true);
  });

  it("the first-order reward credits the referrers once, on the first order, even with two orders in one batch", async function () {
    const f = await loadFixture(firstOrderReward);
    await chain(f);
    expect(await f.custody.hasOrdered(CAROL)).to.equal(false);
    const supplyBefore = await f.points.totalSupply();
    const first = await referrals(
      custodialOrders(f, 0, [
        { user: CAROL, amount: 100n * f.unit },
        { user: CAROL, amount: 100n * f.unit },
      ]),
      f,
    );
    expect(first).to.deep.equal([
      [BOB, 1],
      [ALICE, 2],
    ]);
    const [bob, alice, carol] = await Promise.all([BOB, ALICE, CAROL].map((u) => f.custody.accountOf(u)));
    expect(bob.points > 0n && alice.points > 0n).to.equal(true);
    expect(await f.points.totalSupply()).to.equal(supplyBefore + LOCKED_POINTS + bob.points + alice.points + carol.points);
    expect(await referrals(custodialOrders(f, 1, [{ user: CAROL, amount: 100n * f.unit }]), f)).to.deep.equal([]);
    expect((await f.custody.accountOf(BOB)).points).to.equal(bob.points);
    // Bob's own first order rewards Alice, once.
    expect(await referrals(custodialOrders(f, 0, [{ user: BOB, amount: 10n * f.unit }]), f)).to.deep.equal([[ALICE, 1]]);
  });

  it("switched to the first-order reward, rewards no referee that ordered before", async function () {
    const f = await loadFixture(perOrderShares);
    await chain(f);
    await custodialOrders(f, 0, [{ user: CAROL, amount: 100n * f.unit }]);
    await f.custody.connect(f.admin).setParameter(CustodyParameter.ReferralMode, ReferralMode.FirstOrder);
    expect(await referrals(custodialOrders(f, 0, [{ user: CAROL, amount: 100n * f.unit }]), f)).to.deep.equal([]);
  });
});
