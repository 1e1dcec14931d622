/**
 * `npm run bench`: gas of the pool's operations on Hardhat's in-process chain, beside the
 * OrderFloor reference (contracts/bench/) that does only what an order cannot avoid. Prints the
 * figures and writes them to bench/results.json. Gas is deterministic for a given compiler and
 * hardfork; nothing here is asserted by the tests.
 */
import { ethers, config as hardhatConfig } from "hardhat";
import { mergeResults } from "./bench-results";
import { deployCustody, deployMockStablecoin, deployPoolContracts } from "../server/adapters/chain/deploy";
import { DOMAIN_NAMES, REDEEM_TYPES } from "../server/adapters/chain/typed-data";

const DECIMALS = 6;
const UNIT = 10n ** BigInt(DECIMALS);
const GP = 10n ** 18n;
const BATCH_SIZES = [1, 10, 100];

let counter = 0;
const nextId = () => ethers.id(`bench-${counter++}`);

async function main() {
  const [operator, shop, ...rest] = await ethers.getSigners();
  const buyers = Array.from({ length: 100 }, (_, i) => ethers.getAddress(ethers.zeroPadValue(ethers.toBeHex(0x1000 + i), 20)));
  const redeemer = rest[0];

  const settlement = await deployMockStablecoin(operator, DECIMALS);
  const { pool, points } = await deployPoolContracts(operator, {
    settlement: await settlement.getAddress(),
    maxIssuance: 10n ** 12n * GP,
    parameters: { poolShare: 3_000n, mintShare: 7_000n, exitFee: 2_000n, initialPrice: UNIT, referralShare1: 0n, referralShare2: 0n },
    admin: operator.address,
  });
  await (await pool.grantRole(await pool.RELAYER_ROLE(), operator.address)).wait();
  await (await settlement.mint(shop.address, 10n ** 12n * UNIT)).wait();
  await (await settlement.connect(shop).approve(await pool.getAddress(), ethers.MaxUint256)).wait();
  const floor = await ethers.deployContract("OrderFloor");
  await floor.waitForDeployment();

  const order = (buyer: string, amount = 100n * UNIT) => ({ orderId: nextId(), buyer, amount });
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => Number((await (await tx).wait())!.gasUsed);

  // Warm-up: every buyer already holds GP (a returning holder), as in steady operation; the
  // reference gets the same non-zero balance slots.
  await (await pool.recordOrders([{ shop: shop.address, orders: buyers.map((b) => order(b)) }])).wait();
  await (await pool.recordOrder(shop.address, order(redeemer.address))).wait();
  await (
    await floor.record(
      buyers.map(() => nextId()),
      buyers,
      buyers.map(() => 1n),
    )
  ).wait();

  const figures: Record<string, number> = {};
  figures.order_single_returning_holder = await gasOf(pool.recordOrder(shop.address, order(buyers[0])));
  figures.order_single_new_holder = await gasOf(pool.recordOrder(shop.address, order(ethers.Wallet.createRandom().address)));

  const batches: { size: number; pool: number; floor: number; poolPerOrder: number; floorPerOrder: number; ratio: number }[] = [];
  for (const size of BATCH_SIZES) {
    const chosen = buyers.slice(0, size);
    const poolGas = await gasOf(pool.recordOrders([{ shop: shop.address, orders: chosen.map((b) => order(b)) }]));
    const floorGas = await gasOf(
      floor.record(
        chosen.map(() => nextId()),
        chosen,
        chosen.map(() => 1n),
      ),
    );
    batches.push({
      size,
      pool: poolGas,
      floor: floorGas,
      poolPerOrder: Math.round(poolGas / size),
      floorPerOrder: Math.round(floorGas / size),
      ratio: Number((poolGas / floorGas).toFixed(2)),
    });
  }
  const b1 = batches[0].pool;
  const b100 = batches[batches.length - 1].pool;
  figures.batch_marginal_order = Math.round((b100 - b1) / 99);
  figures.floor_marginal_order = Math.round((batches[batches.length - 1].floor - batches[0].floor) / 99);

  const held = await points.balanceOf(redeemer.address);
  figures.redeem_part = await gasOf(pool.connect(redeemer).redeem(held / 2n, redeemer.address, 0));
  figures.redeem_rest = await gasOf(pool.connect(redeemer).redeem(held - held / 2n, redeemer.address, 0));

  // The custody: transfers, a relayed (signed) redemption, and custodial batches with referrals.
  const custody = await deployCustody(operator, pool, { withdrawalFee: 100n, exitMultiple: 20_000n, referralMode: 0n }, operator.address);
  await (await custody.grantRole(await custody.RELAYER_ROLE(), operator.address)).wait();
  await (await pool.grantRole(await pool.PARAMETER_ROLE(), operator.address)).wait();
  await (await pool.setParameter(4, 1_000n)).wait(); // level-1 referral share 10%
  await (await pool.setParameter(5, 500n)).wait(); // level-2 referral share 5%
  const user = (i: number | string) => ethers.id(`bench-user-${i}`);
  await (await custody.register(user("root"), ethers.ZeroHash)).wait();
  await (await custody.register(user("referrer"), user("root"))).wait();
  const referred = Array.from({ length: 100 }, (_, i) => user(`referred-${i}`));
  const plain = Array.from({ length: 100 }, (_, i) => user(`plain-${i}`));
  for (const u of referred) await (await custody.register(u, user("referrer"))).wait();
  const custodialBatch = (users: string[]) =>
    custody.recordOrders([{ shop: shop.address, orders: users.map((u) => ({ orderId: nextId(), user: u, amount: 100n * UNIT })) }]);
  // Warm-up: every custodial user has ordered once already (returning shoppers).
  await (await custodialBatch(referred)).wait();
  await (await custodialBatch(plain)).wait();
  const custodialPlain = await gasOf(custodialBatch(plain));
  const custodialReferred = await gasOf(custodialBatch(referred));
  figures.custodial_batch100_per_order = Math.round(custodialPlain / 100);
  figures.custodial_batch100_two_level_referrals_per_order = Math.round(custodialReferred / 100);
  figures.custodial_transfer = await gasOf(custody.transfer(nextId(), plain[0], plain[1], 0, GP));
  figures.custodial_redeem = await gasOf(custody.redeem(nextId(), plain[2], GP, 0));

  const holder = rest[1];
  await (await pool.recordOrder(shop.address, order(holder.address))).wait();
  const deadline = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 3_600n;
  const { chainId } = await ethers.provider.getNetwork();
  const signature = await holder.signTypedData(
    { name: DOMAIN_NAMES.pool, version: "1", chainId, verifyingContract: await pool.getAddress() },
    REDEEM_TYPES,
    { owner: holder.address, points: GP, receiver: holder.address, minPayout: 0n, nonce: await pool.nonces(holder.address), deadline },
  );
  figures.relayed_signed_redeem = await gasOf(pool.redeemBySig(holder.address, GP, holder.address, 0, deadline, signature));

  console.log("Gas (Hardhat in-process chain, solc " + hardhatConfig.solidity.compilers[0].version + ", optimizer 200 runs)");
  console.log(`  one order, returning holder      ${figures.order_single_returning_holder}`);
  console.log(`  one order, new holder            ${figures.order_single_new_holder}`);
  console.log(`  redemption (part of a balance)   ${figures.redeem_part}`);
  console.log(`  redemption (the rest)            ${figures.redeem_rest}`);
  console.log("  batches (returning holders, one shop):");
  console.log("    size   pool total   per order   floor total   per order   pool/floor");
  for (const b of batches) {
    console.log(
      `    ${String(b.size).padStart(4)}  ${String(b.pool).padStart(11)}  ${String(b.poolPerOrder).padStart(10)}  ${String(b.floor).padStart(12)}  ${String(b.floorPerOrder).padStart(10)}  ${b.ratio.toFixed(2).padStart(10)}`,
    );
  }
  console.log(
    `  marginal order in a batch: pool ${figures.batch_marginal_order}, floor ${figures.floor_marginal_order}` +
      ` (ratio ${(figures.batch_marginal_order / figures.floor_marginal_order).toFixed(2)})`,
  );

  console.log("  custody:");
  console.log(
    `    batch of 100 custodial orders, per order               ${figures.custodial_batch100_per_order}` +
      ` (floor ${batches[batches.length - 1].floorPerOrder}, ratio ${(figures.custodial_batch100_per_order / batches[batches.length - 1].floorPerOrder).toFixed(2)})`,
  );
  console.log(`    batch of 100 with two referral levels each, per order  ${figures.custodial_batch100_two_level_referrals_per_order}`);
  console.log(`    custodial transfer                                     ${figures.custodial_transfer}`);
  console.log(`    custodial redemption into the settlement balance       ${figures.custodial_redeem}`);
  console.log(`    relayed signed redemption (EIP-712, redeemBySig)       ${figures.relayed_signed_redeem}`);

  const written = mergeResults({
    generatedAt: new Date().toISOString(),
    environment: { node: process.version, solc: hardhatConfig.solidity.compilers[0].version, chain: "hardhat in-process" },
    gas: { ...figures, batches },
  });
  console.log(`\nwritten to ${written}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
