import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { BaseContract, ContractTransactionResponse } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type CustodyFixture, GP, custodyWith6Decimals, orderId, userId } from "../helpers/fixtures";
import { type SignOptions, signDeposit, signRedeem, signTransfer } from "../helpers/signatures";

/** One gasless request kind: how to sign it, submit it, and which contract reports its errors. */
interface SignedRequest {
  name: string;
  contract: (f: CustodyFixture) => BaseContract;
  errors: { expired: string; invalid: string };
  sign: (f: CustodyFixture, owner: HardhatEthersSigner, deadline: bigint, options?: SignOptions) => Promise<string>;
  submit: (f: CustodyFixture, owner: HardhatEthersSigner, deadline: bigint, signature: string) => Promise<ContractTransactionResponse>;
  /** What a valid submission emits. */
  event: string;
}

const ALICE = userId("alice");
const holderFixture = async () => {
  const f = await custodyWith6Decimals();
  const owner = f.users[0];
  await f.pool.connect(f.relayer).recordOrder(f.shops[0].address, { orderId: orderId("sig"), buyer: owner.address, amount: 100n * f.unit });
  await f.custody.connect(f.relayer).register(ALICE, ethers.ZeroHash);
  await f.points.connect(owner).approve(await f.custody.getAddress(), ethers.MaxUint256);
  return f;
};

const requests: SignedRequest[] = [
  {
    name: "a redemption (Pool.redeemBySig)",
    contract: (f) => f.pool,
    errors: { expired: "PoolExpiredSignature", invalid: "PoolInvalidSigner" },
    sign: (f, owner, deadline, options) =>
      signRedeem(owner, f.pool, { points: GP, receiver: owner.address, minPayout: 0n, deadline }, options),
    submit: (f, owner, deadline, signature) =>
      f.pool.connect(f.relayer).redeemBySig(owner.address, GP, owner.address, 0, deadline, signature),
    event: "Redeemed",
  },
  {
    name: "a transfer (GreenPoints.transferBySig)",
    contract: (f) => f.points,
    errors: { expired: "GreenPointsExpiredSignature", invalid: "GreenPointsInvalidSigner" },
    sign: (f, owner, deadline, options) => signTransfer(owner, f.points, { to: f.stranger.address, value: GP, deadline }, options),
    submit: (f, owner, deadline, signature) =>
      f.points.connect(f.relayer).transferBySig(owner.address, f.stranger.address, GP, deadline, signature),
    event: "Transfer",
  },
  {
    name: "a deposit to custody (Custody.depositBySig)",
    contract: (f) => f.custody,
    errors: { expired: "CustodyExpiredSignature", invalid: "CustodyInvalidSigner" },
    sign: (f, owner, deadline, options) => signDeposit(owner, f.custody, ALICE, GP, deadline, options),
    submit: (f, owner, deadline, signature) => f.custody.connect(f.relayer).depositBySig(owner.address, ALICE, GP, deadline, signature),
    event: "Deposited",
  },
];

describe("Signed requests from original accounts", function () {
  for (const r of requests) {
    describe(r.name, function () {
      async function setup() {
        const f = await loadFixture(holderFixture);
        const deadline = BigInt(await time.latest()) + 600n;
        return { f, owner: f.users[0], other: f.users[1], deadline };
      }

      it("is carried out when the owner signed it, whoever submits it", async function () {
        const { f, owner, deadline } = await setup();
        await expect(r.submit(f, owner, deadline, await r.sign(f, owner, deadline))).to.emit(r.contract(f), r.event);
      });

      it("is refused when replayed", async function () {
        const { f, owner, deadline } = await setup();
        const signature = await r.sign(f, owner, deadline);
        await r.submit(f, owner, deadline, signature);
        await expect(r.submit(f, owner, deadline, signature))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.invalid)
          .withArgs(owner.address);
      });

      it("is refused after its deadline", async function () {
        const { f, owner } = await setup();
        const deadline = BigInt(await time.latest()) + 10n;
        const signature = await r.sign(f, owner, deadline);
        await time.increaseTo(deadline + 1n);
        await expect(r.submit(f, owner, deadline, signature))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.expired)
          .withArgs(deadline);
      });

      it("is refused when signed for another chain", async function () {
        const { f, owner, deadline } = await setup();
        await expect(r.submit(f, owner, deadline, await r.sign(f, owner, deadline, { chainId: 1n })))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.invalid)
          .withArgs(owner.address);
      });

      it("is refused when signed by another key", async function () {
        const { f, owner, other, deadline } = await setup();
        await expect(r.submit(f, owner, deadline, await r.sign(f, other, deadline)))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.invalid)
          .withArgs(owner.address);
      });

      it("is refused when signed over another nonce", async function () {
        const { f, owner, deadline } = await setup();
        await expect(r.submit(f, owner, deadline, await r.sign(f, owner, deadline, { nonce: 5n })))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.invalid)
          .withArgs(owner.address);
      });

      it("is refused when the submitted request differs from the signed one", async function () {
        const { f, owner, deadline } = await setup();
        const signature = await r.sign(f, owner, deadline);
        await expect(r.submit(f, owner, deadline + 1n, signature))
          .to.be.revertedWithCustomError(r.contract(f), r.errors.invalid)
          .withArgs(owner.address);
      });
    });
  }
});
