import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { GP, poolWith6Decimals } from "../helpers/fixtures";
import { placeOrder } from "../helpers/orders";
import { signPermit } from "../helpers/signatures";

async function withPoolSigner() {
  const f = await poolWith6Decimals();
  const poolAddress = await f.pool.getAddress();
  await impersonateAccount(poolAddress);
  await setBalance(poolAddress, 10n ** 18n);
  const poolSigner = await ethers.getSigner(poolAddress);
  return { ...f, poolSigner };
}

describe("GreenPoints", function () {
  it("is an 18-decimal ERC-20 named by the deployment", async function () {
    const f = await loadFixture(poolWith6Decimals);
    expect(await f.points.name()).to.equal("Green Points");
    expect(await f.points.symbol()).to.equal("GP");
    expect(await f.points.decimals()).to.equal(18);
    expect(await f.points.maxIssuance()).to.equal(100_000_000n * GP);
  });

  describe("mint and burn", function () {
    it("are for the pool only", async function () {
      const f = await loadFixture(withPoolSigner);
      for (const caller of [f.admin, f.relayer, f.stranger]) {
        await expect(f.points.connect(caller).mint(caller.address, 1))
          .to.be.revertedWithCustomError(f.points, "GreenPointsUnauthorized")
          .withArgs(caller.address);
        await expect(f.points.connect(caller).burn(caller.address, 0))
          .to.be.revertedWithCustomError(f.points, "GreenPointsUnauthorized")
          .withArgs(caller.address);
      }
    });

    it("count every mint towards the cap, and burning does not give it back", async function () {
      const f = await loadFixture(withPoolSigner);
      const holder = f.users[0].address;
      await expect(f.points.connect(f.poolSigner).mint(holder, 60_000_000n * GP))
        .to.emit(f.points, "Transfer")
        .withArgs(ethers.ZeroAddress, holder, 60_000_000n * GP);
      await f.points.connect(f.poolSigner).burn(holder, 50_000_000n * GP);
      expect(await f.points.totalSupply()).to.equal(10_000_000n * GP);
      expect(await f.points.totalMinted()).to.equal(60_000_000n * GP);
      await expect(f.points.connect(f.poolSigner).mint(holder, 40_000_000n * GP + 1n))
        .to.be.revertedWithCustomError(f.points, "GreenPointsCapExceeded")
        .withArgs(100_000_000n * GP + 1n, 100_000_000n * GP);
      await f.points.connect(f.poolSigner).mint(holder, 40_000_000n * GP);
      expect(await f.points.totalMinted()).to.equal(await f.points.maxIssuance());
    });
  });

  describe("permit (EIP-2612)", function () {
    it("lets a holder approve by signature, once, before the deadline", async function () {
      const f = await loadFixture(poolWith6Decimals);
      const [owner, spender] = f.users;
      await placeOrder(f, 0, owner.address, 100n * f.unit);
      const deadline = BigInt(await time.latest()) + 3600n;
      const value = 5n * GP;
      const { v, r, s } = await signPermit(owner, f.points, spender.address, value, deadline);
      await expect(f.points.connect(f.stranger).permit(owner.address, spender.address, value, deadline, v, r, s))
        .to.emit(f.points, "Approval")
        .withArgs(owner.address, spender.address, value);
      expect(await f.points.nonces(owner.address)).to.equal(1n);
      await expect(
        f.points.connect(f.stranger).permit(owner.address, spender.address, value, deadline, v, r, s),
      ).to.be.revertedWithCustomError(f.points, "ERC2612InvalidSigner");
      await f.points.connect(spender).transferFrom(owner.address, spender.address, value);
      expect(await f.points.balanceOf(spender.address)).to.equal(value);
    });
  });
});
