import { expect } from "chai";
import Decimal from "decimal.js";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  GP,
  type PoolFixture,
  defaultParameters,
  deployPool,
  orderId,
  orderKey,
  poolWith18Decimals,
  poolWith6Decimals,
  toContractParameters,
} from "../helpers/fixtures";
import { newOrder, placeOrder } from "../helpers/orders";
import { expectInvariants, snapshot } from "../helpers/invariants";
import { formatAmount, formatPrice } from "../../server/domain/display";
import { LOCKED_POINTS, Parameter, PoolModel } from "../../models/pool-model";

const PoolShare = Parameter.PoolShare;
const MintShare = Parameter.MintShare;
const ExitFee = Parameter.ExitFee;
const InitialPrice = Parameter.InitialPrice;
const LOCKED = LOCKED_POINTS;

async function priceOf(f: PoolFixture): Promise<string> {
  const [a, s] = await f.pool.priceRatio();
  return formatPrice(a, s, f.decimals, 4);
}

function shouldBehaveLikeThePool(decimals: number, load: () => Promise<PoolFixture>) {
  describe(`with a settlement token of ${decimals} decimals`, function () {
    describe("the worked example (docs/rules.md) (orders of 100, 30% in, 70% minted, price 1)", function () {
      it("mints 21, 14.7 and 12.495 GP and prices at 1.4286, 1.6807, 1.8674", async function () {
        const f = await loadFixture(load);
        const buyer = f.users[0].address;
        // The first buyer's 21 GP less the millionth locked in the pool: 21.0000 to 4 places.
        const expected = [
          { minted: "20.999999", places: "21.0000", supply: "21", pool: "30", price: "1.4286" },
          { minted: "14.7", places: "14.7000", supply: "35.7", pool: "60", price: "1.6807" },
          { minted: "12.495", places: "12.4950", supply: "48.195", pool: "90", price: "1.8674" },
        ];
        for (const row of expected) {
          const minted = await placeOrder(f, 0, buyer, 100n * f.unit);
          expect(formatAmount(minted, 18)).to.equal(row.minted);
          expect(new Decimal(formatAmount(minted, 18)).toFixed(4, Decimal.ROUND_HALF_UP), "to 4 places").to.equal(row.places);
          expect(formatAmount(await f.points.totalSupply(), 18)).to.equal(row.supply);
          expect(formatAmount(await f.pool.assets(), decimals)).to.equal(row.pool);
          expect(await priceOf(f)).to.equal(row.price);
        }
      });
    });

    describe("the redemption example (docs/rules.md) (GP worth 2,000, exit fee 20%)", function () {
      it("pays 1,600, leaves 400 in the pool, and the price rises", async function () {
        const f = await loadFixture(load);
        const [buyer, holder] = f.users;
        // 10,000 of orders: 3,000 in the pool against 2,100 GP; 1,400 GP are then worth 2,000.
        await placeOrder(f, 0, buyer.address, 10_000n * f.unit);
        await f.points.connect(buyer).transfer(holder.address, 1_400n * GP);
        const [assetsBefore, supplyBefore] = [await f.pool.assets(), await f.points.totalSupply()];

        const preview = await f.pool.previewRedeem(1_400n * GP);
        expect(preview.gross).to.equal(2_000n * f.unit);
        const tx = f.pool.connect(holder).redeem(1_400n * GP, holder.address, 1_600n * f.unit);
        await expect(tx)
          .to.emit(f.pool, "Redeemed")
          .withArgs(holder.address, holder.address, 1_400n * GP, 2_000n * f.unit, 400n * f.unit, 1_600n * f.unit);
        await expect(tx).to.changeTokenBalances(f.settlement, [holder, f.pool], [1_600n * f.unit, -1_600n * f.unit]);
        const [assetsAfter, supplyAfter] = [await f.pool.assets(), await f.points.totalSupply()];
        expect(assetsBefore - assetsAfter).to.equal(1_600n * f.unit);
        expect(assetsAfter * supplyBefore > assetsBefore * supplyAfter).to.equal(true);
        expect(await priceOf(f)).to.equal("2.0000");
      });
    });

    describe("recordOrder", function () {
      it("pulls the contribution from the shop and mints to the buyer, with events", async function () {
        const f = await loadFixture(load);
        const shop = f.shops[0].address;
        const order = newOrder(f.users[0].address, 100n * f.unit);
        const tx = f.pool.connect(f.relayer).recordOrder(shop, order);
        await expect(tx)
          .to.emit(f.pool, "OrderRecorded")
          .withArgs(orderKey(shop, order.orderId), shop, order.buyer, order.amount, 30n * f.unit, 21n * GP - LOCKED);
        await expect(tx)
          .to.emit(f.pool, "OrdersSettled")
          .withArgs(shop, 1, 30n * f.unit, 30n * f.unit, 21n * GP);
        await expect(tx).to.changeTokenBalances(f.settlement, [f.shops[0], f.pool], [-30n * f.unit, 30n * f.unit]);
        await expect(tx).to.changeTokenBalance(f.points, f.users[0], 21n * GP - LOCKED);
        expect(await f.pool.isOrderRecorded(orderKey(shop, order.orderId))).to.equal(true);
      });

      it("mints exactly what previewOrder said", async function () {
        const f = await loadFixture(load);
        await placeOrder(f, 0, f.users[0].address, 100n * f.unit);
        const amount = 12_345n * f.unit + 7n;
        const [contribution, points] = await f.pool.previewOrder(amount);
        const minted = await placeOrder(f, 1, f.users[1].address, amount);
        expect(minted).to.equal(points);
        expect(await f.pool.assets()).to.equal(30n * f.unit + contribution);
      });

      it("refuses an order id the shop used before, and keeps shops' ids apart", async function () {
        const f = await loadFixture(load);
        const order = newOrder(f.users[0].address, 100n * f.unit);
        await f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderAlreadyRecorded")
          .withArgs(orderKey(f.shops[0].address, order.orderId));
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[1].address, order)).to.emit(f.pool, "OrderRecorded");
      });

      it("refuses an order too small to mint one GP base unit (1 base unit)", async function () {
        const f = await loadFixture(load);
        const order = newOrder(f.users[0].address, 1n);
        const key = orderKey(f.shops[0].address, order.orderId);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderTooSmall")
          .withArgs(key, 1n);
        await expect(f.pool.previewOrder(1n)).to.be.revertedWithCustomError(f.pool, "PoolOrderTooSmall");
      });

      it("accepts the smallest first order that mints beyond the locked GP, and one whole unit", async function () {
        const f = await loadFixture(load);
        // At price 1 a first order must mint more than the 10^12 locked GP base units: with 6
        // decimals a value of 2 base units (7: contribution ceil(2.1) = 3, value floor(2.1) = 2);
        // with 18 decimals a value of 10^12 + 1 base units.
        const smallest = decimals === 6 ? 7n : 4_761_904_761_907n;
        const tooSmall = newOrder(f.users[0].address, smallest - 1n);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, tooSmall))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderTooSmall")
          .withArgs(orderKey(f.shops[0].address, tooSmall.orderId), smallest - 1n);
        const minted = await placeOrder(f, 0, f.users[0].address, smallest);
        expect(minted).to.equal(decimals === 6 ? 2n * (GP / f.unit) - LOCKED : 1n);
        expect(await placeOrder(f, 0, f.users[0].address, f.unit)).to.be.greaterThan(0n);
      });

      it("accepts the largest amount and refuses one base unit more", async function () {
        const f = await loadFixture(load);
        const max = await f.pool.maxOrderAmount();
        expect(max).to.equal(10n ** 12n * f.unit);
        const over = newOrder(f.users[0].address, max + 1n);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, over))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderTooLarge")
          .withArgs(orderKey(f.shops[0].address, over.orderId), max + 1n, max);
        // The default cap of 100,000,000 GP is below what the largest order mints.
        const big = await deployPool({ decimals, maxIssuance: 10n ** 30n });
        const minted = await placeOrder(big, 0, big.users[0].address, max);
        expect(minted).to.equal(21n * 10n ** 10n * GP - LOCKED);
        expect(await big.pool.assets()).to.equal(3n * 10n ** 11n * f.unit);
      });

      it("rejects an order that would pass the cap whole, and leaves everything as it was", async function () {
        const f = await deployPool({ decimals, maxIssuance: 30n * GP });
        await placeOrder(f, 0, f.users[0].address, 100n * f.unit); // 21 GP
        const holders = [f.users[0].address, f.users[1].address];
        const before = await snapshot(f, holders);
        const order = newOrder(f.users[1].address, 100n * f.unit); // would mint 14.7 GP
        await expect(f.pool.previewOrder(100n * f.unit))
          .to.be.revertedWithCustomError(f.points, "GreenPointsCapExceeded")
          .withArgs((357n * GP) / 10n, 30n * GP);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order))
          .to.be.revertedWithCustomError(f.points, "GreenPointsCapExceeded")
          .withArgs((357n * GP) / 10n, 30n * GP);
        expect(await snapshot(f, holders)).to.deep.equal(before);
        expect(await f.pool.isOrderRecorded(orderKey(f.shops[0].address, order.orderId))).to.equal(false);
        // An order that fits exactly under the cap still goes through.
        const [, fits] = await f.pool.previewOrder(40n * f.unit);
        await placeOrder(f, 0, f.users[1].address, 40n * f.unit);
        expect(await f.points.totalMinted()).to.equal(21n * GP + fits);
      });

      it("is for the relayer role only", async function () {
        const f = await loadFixture(load);
        const role = await f.pool.RELAYER_ROLE();
        await expect(f.pool.connect(f.stranger).recordOrder(f.shops[0].address, newOrder(f.stranger.address, f.unit)))
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, role);
        await expect(f.pool.connect(f.stranger).recordOrders([]))
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, role);
      });

      it("stops while paused and resumes after", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.stranger).pause())
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, await f.pool.PAUSER_ROLE());
        await expect(f.pool.connect(f.admin).pause()).to.emit(f.pool, "Paused").withArgs(f.admin.address);
        const order = newOrder(f.users[0].address, f.unit);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order)).to.be.revertedWithCustomError(
          f.pool,
          "EnforcedPause",
        );
        await expect(f.pool.connect(f.relayer).recordOrders([{ shop: f.shops[0].address, orders: [order] }])).to.be.revertedWithCustomError(
          f.pool,
          "EnforcedPause",
        );
        await expect(f.pool.connect(f.stranger).unpause())
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.stranger.address, await f.pool.PAUSER_ROLE());
        await expect(f.pool.connect(f.admin).unpause()).to.emit(f.pool, "Unpaused").withArgs(f.admin.address);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order)).to.emit(f.pool, "OrderRecorded");
      });

      it("fails when the shop has not approved or cannot pay", async function () {
        const f = await loadFixture(load);
        const order = newOrder(f.users[0].address, 100n * f.unit);
        await expect(f.pool.connect(f.relayer).recordOrder(f.stranger.address, order))
          .to.be.revertedWithCustomError(f.settlement, "ERC20InsufficientAllowance")
          .withArgs(await f.pool.getAddress(), 0, 30n * f.unit);
      });

      it("refuses the zero address as buyer", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.relayer).recordOrder(f.shops[0].address, newOrder(ethers.ZeroAddress, f.unit)))
          .to.be.revertedWithCustomError(f.points, "ERC20InvalidReceiver")
          .withArgs(ethers.ZeroAddress);
      });
    });

    describe("recordOrders (a batch)", function () {
      it("prices each order after the ones before it, as single orders would", async function () {
        const f = await loadFixture(load);
        const buyer = f.users[0].address;
        const orders = [100n, 100n, 100n].map((x) => newOrder(buyer, x * f.unit));
        const tx = f.pool.connect(f.relayer).recordOrders([{ shop: f.shops[0].address, orders }]);
        await expect(tx)
          .to.emit(f.pool, "OrdersSettled")
          .withArgs(f.shops[0].address, 3, 90n * f.unit, 90n * f.unit, (48_195n * GP) / 1000n);
        expect(await f.points.balanceOf(buyer)).to.equal((48_195n * GP) / 1000n - LOCKED);
        expect(await priceOf(f)).to.equal("1.8674");
      });

      it("pulls the settlement once per shop group", async function () {
        const f = await loadFixture(load);
        const groups = f.shops.map((shop, i) => ({
          shop: shop.address,
          orders: [1n, 2n, 3n, 4n].map((k) => newOrder(f.users[i].address, k * 10n * f.unit)),
        }));
        const receipt = await (await f.pool.connect(f.relayer).recordOrders(groups)).wait();
        const poolAddress = await f.pool.getAddress();
        const settlementAddress = await f.settlement.getAddress();
        const pulls = receipt!.logs
          .filter((log) => log.address === settlementAddress)
          .map((log) => f.settlement.interface.parseLog(log))
          .filter((e) => e?.name === "Transfer" && e.args.to === poolAddress);
        expect(pulls.map((e) => [e!.args.from, e!.args.value])).to.deep.equal(f.shops.map((s) => [s.address, 30n * f.unit]));
        const recorded = receipt!.logs.map((l) => f.pool.interface.parseLog(l)).filter((e) => e?.name === "OrderRecorded");
        expect(recorded.length).to.equal(12);
      });

      it("is all or nothing: a repeated id anywhere reverts the whole batch", async function () {
        const f = await loadFixture(load);
        const first = newOrder(f.users[0].address, 100n * f.unit);
        const holders = [f.users[0].address];
        const before = await snapshot(f, holders);
        const batch = [
          { shop: f.shops[0].address, orders: [first] },
          { shop: f.shops[1].address, orders: [newOrder(f.users[0].address, f.unit)] },
          { shop: f.shops[0].address, orders: [first] },
        ];
        await expect(f.pool.connect(f.relayer).recordOrders(batch))
          .to.be.revertedWithCustomError(f.pool, "PoolOrderAlreadyRecorded")
          .withArgs(orderKey(f.shops[0].address, first.orderId));
        expect(await snapshot(f, holders)).to.deep.equal(before);
      });

      it("accepts an empty batch and empty groups, changing nothing", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.relayer).recordOrders([])).not.to.emit(f.pool, "OrdersSettled");
        await expect(f.pool.connect(f.relayer).recordOrders([{ shop: f.shops[0].address, orders: [] }])).not.to.emit(
          f.pool,
          "OrdersSettled",
        );
        expect(await f.pool.assets()).to.equal(0n);
      });
    });

    describe("redeem", function () {
      it("pays exactly what previewRedeem said and burns the points", async function () {
        const f = await loadFixture(load);
        const [a, b] = f.users;
        await placeOrder(f, 0, a.address, 333n * f.unit + 1n);
        await placeOrder(f, 1, b.address, 77n * f.unit);
        const k = (await f.points.balanceOf(a.address)) / 3n;
        const { payout } = await f.pool.previewRedeem(k);
        const tx = f.pool.connect(a).redeem(k, a.address, payout);
        await expect(tx).to.changeTokenBalance(f.settlement, a, payout);
        await expect(tx).to.changeTokenBalance(f.points, a, -k);
        await expect(tx).to.emit(f.points, "Transfer").withArgs(a.address, ethers.ZeroAddress, k);
      });

      it("can pay another receiver", async function () {
        const f = await loadFixture(load);
        const [a, b] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await expect(f.pool.connect(a).redeem(GP, b.address, 0)).to.changeTokenBalance(f.settlement, b, anyPositive());
      });

      it("refuses zero points, the zero receiver, more than the balance, and a payout under the minimum", async function () {
        const f = await loadFixture(load);
        const [a] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await expect(f.pool.connect(a).redeem(0, a.address, 0)).to.be.revertedWithCustomError(f.pool, "PoolZeroRedemption");
        await expect(f.pool.connect(a).redeem(GP, ethers.ZeroAddress, 0)).to.be.revertedWithCustomError(f.pool, "PoolInvalidAddress");
        await expect(f.pool.connect(a).redeem(22n * GP, a.address, 0))
          .to.be.revertedWithCustomError(f.points, "ERC20InsufficientBalance")
          .withArgs(a.address, 21n * GP - LOCKED, 22n * GP);
        const { payout } = await f.pool.previewRedeem(GP);
        await expect(f.pool.connect(a).redeem(GP, a.address, payout + 1n))
          .to.be.revertedWithCustomError(f.pool, "PoolPayoutBelowMinimum")
          .withArgs(payout, payout + 1n);
        await expect(f.pool.previewRedeem(22n * GP))
          .to.be.revertedWithCustomError(f.pool, "PoolRedemptionExceedsSupply")
          .withArgs(22n * GP, 21n * GP);
        expect(await f.pool.previewRedeem(0)).to.deep.equal([0n, 0n, 0n]);
      });

      it("stays open while orders are paused", async function () {
        const f = await loadFixture(load);
        const [a] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await f.pool.connect(f.admin).pause();
        await expect(f.pool.connect(a).redeem(GP, a.address, 0)).to.emit(f.pool, "Redeemed");
      });

      it("rounds a dust redemption to a zero payout rather than paying the pool's units", async function () {
        const f = await loadFixture(load);
        const [a] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        const before = await snapshot(f, [a.address]);
        await expect(f.pool.connect(a).redeem(1n, a.address, 0))
          .to.emit(f.pool, "Redeemed")
          .withArgs(a.address, a.address, 1n, anyValue, anyValue, 0n);
        expectInvariants(before, await snapshot(f, [a.address]));
      });
    });

    describe("retire", function () {
      it("burns the caller's GP without payout, so the price rises", async function () {
        const f = await loadFixture(load);
        const [a, b] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await placeOrder(f, 0, b.address, 100n * f.unit);
        const [assets, supply] = [await f.pool.assets(), await f.points.totalSupply()];
        const [priceAssets, priceSupply] = await f.pool.priceRatio();
        await expect(f.pool.connect(a).retire(GP))
          .to.emit(f.pool, "PointsRetired")
          .withArgs(a.address, GP, assets, supply - GP);
        expect(await f.pool.assets()).to.equal(assets);
        const [afterAssets, afterSupply] = await f.pool.priceRatio();
        expect(afterAssets * priceSupply > priceAssets * afterSupply, "the price rose").to.equal(true);
        await expect(f.pool.connect(a).retire(0)).to.be.revertedWithCustomError(f.pool, "PoolZeroRedemption");
        await expect(f.pool.connect(f.stranger).retire(1))
          .to.be.revertedWithCustomError(f.points, "ERC20InsufficientBalance")
          .withArgs(f.stranger.address, 0, 1);
      });
    });

    describe("a sole holder who retires or redeems all but dust (the locked minimum)", function () {
      /** The worked example's three orders, all to one buyer, who then holds every real GP. */
      async function soleHolder(f: PoolFixture) {
        const [a] = f.users;
        for (let i = 0; i < 3; i++) await placeOrder(f, 0, a.address, 100n * f.unit);
        return a;
      }

      it("locks one millionth of a GP in the pool at the first order, out of the buyer's GP", async function () {
        const f = await loadFixture(load);
        const locked = await f.pool.LOCKED_POINTS();
        expect(locked).to.equal(GP / 1_000_000n);
        const order = newOrder(f.users[0].address, 100n * f.unit);
        const tx = f.pool.connect(f.relayer).recordOrder(f.shops[0].address, order);
        await expect(tx).to.emit(f.pool, "PointsLocked").withArgs(locked);
        await expect(tx)
          .to.emit(f.pool, "OrdersSettled")
          .withArgs(f.shops[0].address, 1, 30n * f.unit, 30n * f.unit, 21n * GP);
        expect(await f.points.balanceOf(f.users[0].address)).to.equal(21n * GP - locked);
        expect(await f.points.balanceOf(await f.pool.getAddress())).to.equal(locked);
        expect(await placeOrder(f, 0, f.users[1].address, 100n * f.unit)).to.equal((147n * GP) / 10n);
        expect(await f.points.balanceOf(await f.pool.getAddress()), "only the first order locks").to.equal(locked);
      });

      it("keeps a 1-unit order mintable after the sole holder retires all its GP but one base unit", async function () {
        const f = await loadFixture(load);
        const a = await soleHolder(f);
        await f.pool.connect(a).retire((await f.points.balanceOf(a.address)) - 1n);
        const minted = await placeOrder(f, 1, f.users[1].address, f.unit);
        expect(minted).to.be.greaterThan(0n);
      });

      it("keeps a 1-unit order mintable after the sole holder redeems its last GP, whatever the initial price", async function () {
        const f = await loadFixture(load);
        const a = await soleHolder(f);
        await f.pool.connect(a).retire((await f.points.balanceOf(a.address)) - 1n);
        await f.pool.connect(a).redeem(1n, a.address, 0);
        const price = await f.pool.priceRatio();
        await f.pool.connect(f.admin).setParameter(InitialPrice, 1_000_000n * f.unit);
        expect(await f.pool.priceRatio(), "the initial price no longer moves the price").to.deep.equal(price);
        expect(await placeOrder(f, 1, f.users[1].address, f.unit)).to.be.greaterThan(0n);
      });

      it("can leave at most assets / LOCKED_POINTS per GP base unit, and every real GP still redeems", async function () {
        const f = await loadFixture(load);
        const a = await soleHolder(f);
        const locked = await f.pool.LOCKED_POINTS();
        // Retiring is the worst case: every unit of the assets stays behind the locked GP.
        await f.pool.connect(a).retire(await f.points.balanceOf(a.address));
        expect(await f.points.totalSupply()).to.equal(locked);
        expect(await f.pool.priceRatio()).to.deep.equal([90n * f.unit, locked]);
        // 90 units over 10^12 GP base units: 9 * 10^-11 units per base unit (9 * 10^7 units per GP).
        expect(await priceOf(f)).to.equal("90000000.0000");
        const minted = await placeOrder(f, 1, f.users[1].address, f.unit);
        // A 1-unit order pays 0.3 and mints 0.21 of value at that price: floor(0.21 * 10^12 / 90).
        expect(minted).to.equal((21n * f.unit * locked) / (100n * 90n * f.unit));
        const [gross] = await f.pool.previewRedeem(minted);
        expect(gross * 100n >= 20n * f.unit, "the buyer's GP are worth what the order minted, to a unit of rounding").to.equal(true);
        await expect(f.pool.connect(f.users[1]).redeem(minted, f.users[1].address, 0)).to.emit(f.pool, "Redeemed");
        expect(await f.points.totalSupply(), "only the locked GP are left").to.equal(locked);
      });
    });

    describe("when every real holder has redeemed", function () {
      it("keeps the locked GP and the fees in the pool: the supply does not return to zero", async function () {
        const f = await loadFixture(load);
        const [a, b] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await placeOrder(f, 0, b.address, 100n * f.unit);
        await f.pool.connect(a).redeem(await f.points.balanceOf(a.address), a.address, 0);
        await f.pool.connect(b).redeem(await f.points.balanceOf(b.address), b.address, 0);
        const locked = await f.pool.LOCKED_POINTS();
        expect(await f.points.totalSupply()).to.equal(locked);
        expect(await f.pool.assets()).to.be.greaterThan(0n); // the exit fees stay
        expect(await f.pool.priceRatio()).to.deep.equal([await f.pool.assets(), locked]);
        expect(await f.points.totalMinted()).to.equal((357n * GP) / 10n);
      });

      it("prices the next order at the pool's price, never lower", async function () {
        const f = await loadFixture(load);
        const [a, b] = f.users;
        for (let i = 0; i < 3; i++) await placeOrder(f, 0, a.address, 100n * f.unit);
        const lastPrice = await f.pool.priceRatio();
        await f.pool.connect(a).redeem(await f.points.balanceOf(a.address), a.address, 0);
        const emptied = await f.pool.priceRatio();
        expect(emptied[0] * lastPrice[1] >= lastPrice[0] * emptied[1], "the redemptions raised the price").to.equal(true);
        const minted = await placeOrder(f, 1, b.address, 100n * f.unit);
        expect(minted * emptied[0] <= 21n * f.unit * emptied[1]).to.equal(true);
        const [assets, supply] = await f.pool.priceRatio();
        expect(assets * emptied[1] >= emptied[0] * supply).to.equal(true);
      });
    });

    describe("setParameter", function () {
      const cases = [
        { name: "poolShare", p: PoolShare, min: 1n, max: 10_000n },
        { name: "mintShare", p: MintShare, min: 1n, max: 10_000n },
        { name: "exitFee", p: ExitFee, min: 0n, max: 5_000n },
      ];
      for (const c of cases) {
        it(`sets ${c.name} within [${c.min}, ${c.max}] and refuses outside`, async function () {
          const f = await loadFixture(load);
          const field = c.name as "poolShare" | "mintShare" | "exitFee";
          const previous = defaultParameters(decimals)[field];
          await expect(f.pool.connect(f.admin).setParameter(c.p, c.max)).to.emit(f.pool, "ParameterChanged").withArgs(c.p, previous, c.max);
          expect((await f.pool.parameters())[field]).to.equal(c.max);
          await expect(f.pool.connect(f.admin).setParameter(c.p, c.max + 1n))
            .to.be.revertedWithCustomError(f.pool, "PoolParameterOutOfRange")
            .withArgs(c.p, c.max + 1n, c.min, c.max);
          if (c.min > 0n) {
            await expect(f.pool.connect(f.admin).setParameter(c.p, c.min - 1n))
              .to.be.revertedWithCustomError(f.pool, "PoolParameterOutOfRange")
              .withArgs(c.p, c.min - 1n, c.min, c.max);
          }
          await expect(f.pool.connect(f.admin).setParameter(c.p, c.min)).to.emit(f.pool, "ParameterChanged");
        });
      }

      it("bounds the initial price to [1 base unit, 1,000,000 units]", async function () {
        const f = await loadFixture(load);
        const max = 10n ** 6n * f.unit;
        await expect(f.pool.connect(f.admin).setParameter(InitialPrice, 0))
          .to.be.revertedWithCustomError(f.pool, "PoolParameterOutOfRange")
          .withArgs(InitialPrice, 0, 1, max);
        await expect(f.pool.connect(f.admin).setParameter(InitialPrice, max + 1n))
          .to.be.revertedWithCustomError(f.pool, "PoolParameterOutOfRange")
          .withArgs(InitialPrice, max + 1n, 1, max);
        await expect(f.pool.connect(f.admin).setParameter(InitialPrice, max))
          .to.emit(f.pool, "ParameterChanged")
          .withArgs(InitialPrice, f.unit, max);
      });

      it("is for the parameter role only", async function () {
        const f = await loadFixture(load);
        await expect(f.pool.connect(f.relayer).setParameter(ExitFee, 1000))
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.relayer.address, await f.pool.PARAMETER_ROLE());
      });

      it("applies a new exit fee to the next redemption", async function () {
        const f = await loadFixture(load);
        const [a] = f.users;
        await placeOrder(f, 0, a.address, 100n * f.unit);
        await f.pool.connect(f.admin).setParameter(ExitFee, 1_000);
        const { gross, fee } = await f.pool.previewRedeem(7n * GP);
        expect(gross).to.equal(10n * f.unit);
        expect(fee).to.equal(f.unit);
      });
    });

    describe("settlement sent to the pool outside an order", function () {
      it("does not move the price and shows as surplus", async function () {
        const f = await loadFixture(load);
        await placeOrder(f, 0, f.users[0].address, 100n * f.unit);
        const price = await f.pool.priceRatio();
        await f.settlement.connect(f.stranger).transfer(await f.pool.getAddress(), 50n * f.unit);
        expect(await f.pool.priceRatio()).to.deep.equal(price);
        expect(await f.pool.surplus()).to.equal(50n * f.unit);
        expect(await f.pool.previewOrder(100n * f.unit)).to.deep.equal([30n * f.unit, (147n * GP) / 10n]);
      });

      it("can be swept back by the admin, and no more than the surplus", async function () {
        const f = await loadFixture(load);
        await placeOrder(f, 0, f.users[0].address, 100n * f.unit);
        await f.settlement.connect(f.stranger).transfer(await f.pool.getAddress(), 50n * f.unit);
        await expect(f.pool.connect(f.admin).sweepSurplus(f.stranger.address, 51n * f.unit))
          .to.be.revertedWithCustomError(f.pool, "PoolSurplusExceeded")
          .withArgs(51n * f.unit, 50n * f.unit);
        await expect(f.pool.connect(f.admin).sweepSurplus(ethers.ZeroAddress, f.unit)).to.be.revertedWithCustomError(
          f.pool,
          "PoolInvalidAddress",
        );
        await expect(f.pool.connect(f.relayer).sweepSurplus(f.stranger.address, f.unit))
          .to.be.revertedWithCustomError(f.pool, "AccessControlUnauthorizedAccount")
          .withArgs(f.relayer.address, ethers.ZeroHash);
        const tx = f.pool.connect(f.admin).sweepSurplus(f.stranger.address, 50n * f.unit);
        await expect(tx)
          .to.emit(f.pool, "SurplusSwept")
          .withArgs(f.stranger.address, 50n * f.unit);
        await expect(tx).to.changeTokenBalance(f.settlement, f.stranger, 50n * f.unit);
        expect(await f.pool.assets()).to.equal(30n * f.unit);
      });

      it("can be absorbed into the assets, which only raises the price", async function () {
        const f = await loadFixture(load);
        await placeOrder(f, 0, f.users[0].address, 100n * f.unit);
        await f.settlement.connect(f.stranger).transfer(await f.pool.getAddress(), 12n * f.unit);
        await expect(f.pool.connect(f.admin).absorbSurplus(13n * f.unit))
          .to.be.revertedWithCustomError(f.pool, "PoolSurplusExceeded")
          .withArgs(13n * f.unit, 12n * f.unit);
        await expect(f.pool.connect(f.stranger).absorbSurplus(f.unit)).to.be.revertedWithCustomError(
          f.pool,
          "AccessControlUnauthorizedAccount",
        );
        await expect(f.pool.connect(f.admin).absorbSurplus(12n * f.unit))
          .to.emit(f.pool, "SurplusAbsorbed")
          .withArgs(12n * f.unit, 42n * f.unit);
        expect(await priceOf(f)).to.equal("2.0000");
        expect(await f.pool.surplus()).to.equal(0n);
      });
    });

    describe("the reference model", function () {
      it("agrees with the contract on a mixed history", async function () {
        const f = await loadFixture(load);
        const model = new PoolModel(f.modelConfig);
        const [a, b] = f.users;
        for (const [shop, buyer, amount] of [
          [0, a, 100n * f.unit],
          [1, b, 50n],
          [2, a, 987_654n * f.unit + 321n],
        ] as const) {
          const order = newOrder(buyer.address, amount);
          const expected = model.recordOrder(f.shops[shop].address, {
            key: orderKey(f.shops[shop].address, order.orderId),
            buyer: buyer.address,
            amount,
          });
          await expect(f.pool.connect(f.relayer).recordOrder(f.shops[shop].address, order))
            .to.emit(f.pool, "OrderRecorded")
            .withArgs(anyValue, anyValue, anyValue, amount, expected.contribution, expected.points);
        }
        const k = model.balanceOf(a.address) / 2n;
        const expected = model.redeem(a.address, k);
        await expect(f.pool.connect(a).redeem(k, a.address, 0))
          .to.emit(f.pool, "Redeemed")
          .withArgs(a.address, a.address, k, expected.gross, expected.fee, expected.payout);
        expect(await f.pool.assets()).to.equal(model.assets);
        expect(await f.pool.priceRatio()).to.deep.equal(model.priceRatio());
      });
    });
  });
}

describe("Pool", function () {
  shouldBehaveLikeThePool(6, poolWith6Decimals);
  shouldBehaveLikeThePool(18, poolWith18Decimals);

  describe("deployment", function () {
    it("reads the settlement decimals, sets the parameters with events, and creates GP", async function () {
      const f = await loadFixture(poolWith6Decimals);
      expect(await f.pool.settlement()).to.equal(await f.settlement.getAddress());
      expect(await f.points.pool()).to.equal(await f.pool.getAddress());
      expect(await f.pool.parameters()).to.deep.equal([3_000n, 7_000n, 2_000n, 10n ** 6n, 0n, 0n]);
      const deployTx = f.pool.deploymentTransaction()!;
      await expect(deployTx).to.emit(f.pool, "ParameterChanged").withArgs(PoolShare, 0, 3_000);
      await expect(deployTx)
        .to.emit(f.pool, "ParameterChanged")
        .withArgs(InitialPrice, 0, 10n ** 6n);
      expect(await f.pool.hasRole(ethers.ZeroHash, f.admin.address)).to.equal(true);
    });

    it("refuses a settlement token with more than 18 decimals", async function () {
      const [admin] = await ethers.getSigners();
      const odd = await ethers.deployContract("MockStablecoin", ["Odd", "ODD", 19]);
      const factory = await ethers.getContractFactory("Pool");
      await expect(factory.deploy(await odd.getAddress(), "GP", "GP", GP, toContractParameters(defaultParameters(18)), admin.address))
        .to.be.revertedWithCustomError(factory, "PoolUnsupportedDecimals")
        .withArgs(19);
    });

    it("refuses zero addresses and out-of-range parameters", async function () {
      const [admin] = await ethers.getSigners();
      const token = await ethers.deployContract("MockStablecoin", ["T", "T", 6]);
      const factory = await ethers.getContractFactory("Pool");
      const params = toContractParameters(defaultParameters(6));
      await expect(factory.deploy(ethers.ZeroAddress, "GP", "GP", GP, params, admin.address)).to.be.revertedWithCustomError(
        factory,
        "PoolInvalidAddress",
      );
      await expect(factory.deploy(await token.getAddress(), "GP", "GP", GP, params, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "PoolInvalidAddress",
      );
      await expect(factory.deploy(await token.getAddress(), "GP", "GP", GP, { ...params, exitFee: 5_001 }, admin.address))
        .to.be.revertedWithCustomError(factory, "PoolParameterOutOfRange")
        .withArgs(ExitFee, 5_001, 0, 5_000);
    });

    it("refuses a zero cap or one above 2^128 - 1", async function () {
      const [admin] = await ethers.getSigners();
      const token = await ethers.deployContract("MockStablecoin", ["T", "T", 6]);
      const factory = await ethers.getContractFactory("Pool");
      const gpFactory = await ethers.getContractFactory("GreenPoints");
      const params = toContractParameters(defaultParameters(6));
      const limit = 2n ** 128n - 1n;
      await expect(factory.deploy(await token.getAddress(), "GP", "GP", 0, params, admin.address))
        .to.be.revertedWithCustomError(gpFactory, "GreenPointsInvalidCap")
        .withArgs(0, limit);
      await expect(factory.deploy(await token.getAddress(), "GP", "GP", limit + 1n, params, admin.address))
        .to.be.revertedWithCustomError(gpFactory, "GreenPointsInvalidCap")
        .withArgs(limit + 1n, limit);
    });
  });

  describe("with a settlement token that takes a fee on transfer", function () {
    it("refuses the order: what arrived would not back the GP", async function () {
      const [admin, relayer, shop, buyer] = await ethers.getSigners();
      const token = await ethers.deployContract("FeeOnTransferToken");
      const pool = await ethers.deployContract("Pool", [
        await token.getAddress(),
        "GP",
        "GP",
        10n ** 30n,
        toContractParameters(defaultParameters(6)),
        admin.address,
      ]);
      await pool.grantRole(await pool.RELAYER_ROLE(), relayer.address);
      await token.mint(shop.address, 10n ** 12n);
      await token.connect(shop).approve(await pool.getAddress(), ethers.MaxUint256);
      await expect(pool.connect(relayer).recordOrder(shop.address, newOrder(buyer.address, 100n * 10n ** 6n)))
        .to.be.revertedWithCustomError(pool, "PoolSettlementShortfall")
        .withArgs(shop.address, 30n * 10n ** 6n, 297n * 10n ** 5n);
    });
  });

  it("keys orders by shop and id", async function () {
    const f = await loadFixture(poolWith6Decimals);
    const id = orderId("A-1");
    expect(await f.pool.orderKey(f.shops[0].address, id)).to.equal(orderKey(f.shops[0].address, id));
  });
});

function anyPositive() {
  return (value: bigint) => value > 0n;
}
