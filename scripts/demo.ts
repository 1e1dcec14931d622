/**
 * `npm run demo`: deploys the contracts to Hardhat's in-process chain, runs the worked example
 * (docs/rules.md, "The worked example") and a few hundred seeded random orders and redemptions
 * through them, checks every step against the reference model, prints the tables and draws the
 * chart.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type PoolParameters, deployMockStablecoin, deployPoolContracts } from "../server/adapters/chain/deploy";
import { orderKey } from "../server/adapters/chain/order-key";
import { renderPoolChart, type PoolHistoryPoint } from "./charts/pool-chart";
import { loadDemoConfig } from "../server/config";
import { formatAmount, formatPrice } from "../server/domain/display";
import { PoolModel } from "../models/pool-model";

const DECIMALS = 6;
const UNIT = 10n ** BigInt(DECIMALS);
const GP = 10n ** 18n;
const PARAMETERS: PoolParameters = {
  poolShare: 3_000n,
  mintShare: 7_000n,
  exitFee: 2_000n,
  initialPrice: UNIT,
  referralShare1: 0n,
  referralShare2: 0n,
};
const MAX_ISSUANCE = 100_000_000n * GP;

type Operation =
  { kind: "batch"; orders: { shop: number; user: number; cents: number }[] } | { kind: "redeem"; user: number; percent: number };

const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      orders: fc.array(fc.record({ shop: fc.nat(2), user: fc.nat(15), cents: fc.integer({ min: 100, max: 50_000 }) }), {
        minLength: 1,
        maxLength: 8,
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("redeem" as const), user: fc.nat(15), percent: fc.integer({ min: 1, max: 100 }) }),
  },
);

interface Row {
  step: number | string;
  what: string;
  amount: string;
  gp: string;
  supply: string;
  pool: string;
  price: string;
}

function table(rows: readonly Row[], header: Row): string {
  const cols = Object.keys(header) as (keyof Row)[];
  const width = (c: keyof Row) => Math.max(...[header, ...rows].map((r) => String(r[c]).length));
  const line = (r: Row) => cols.map((c) => String(r[c]).padStart(width(c))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

async function main() {
  const config = loadDemoConfig();
  const outDir = path.join(config.dataDir, "demo");
  fs.mkdirSync(outDir, { recursive: true });
  const signers = await ethers.getSigners();
  const operator = signers[0];
  const shops = signers.slice(1, 4);
  const users = signers.slice(4, 20);

  console.log("Green Points demonstration on Hardhat's in-process chain");
  const settlement = await deployMockStablecoin(operator, DECIMALS);
  const { pool, points } = await deployPoolContracts(operator, {
    settlement: await settlement.getAddress(),
    maxIssuance: MAX_ISSUANCE,
    parameters: PARAMETERS,
    admin: operator.address,
  });
  await (await pool.grantRole(await pool.RELAYER_ROLE(), operator.address)).wait();
  for (const shop of shops) {
    await (await settlement.mint(shop.address, 10n ** 9n * UNIT)).wait();
    await (await settlement.connect(shop).approve(await pool.getAddress(), ethers.MaxUint256)).wait();
  }
  console.log(`  settlement token ${await settlement.getAddress()} (${DECIMALS} decimals)`);
  console.log(`  pool             ${await pool.getAddress()}`);
  console.log(`  GP token         ${await points.getAddress()} (cap ${formatAmount(MAX_ISSUANCE, 18)} GP)`);
  console.log("  parameters       30% of each order into the pool, 70% of that minted, 20% exit fee, price 1\n");

  const model = new PoolModel({ settlementDecimals: DECIMALS, maxIssuance: MAX_ISSUANCE, parameters: PARAMETERS });
  const history: PoolHistoryPoint[] = [];
  let nextOrder = 0;
  let step = 0;

  /** The chain must hold exactly what the model computed, after every transaction. */
  const verify = async () => {
    const [assets, supply] = await Promise.all([pool.assets(), points.totalSupply()]);
    if (assets !== model.assets || supply !== model.supply) {
      throw new Error(`step ${step}: the contract (${assets}, ${supply}) and the model (${model.assets}, ${model.supply}) disagree`);
    }
  };
  /** A table row and a chart point for the state after one order or redemption. */
  const record = (what: string, amount: string, gp: string, assets: bigint, supply: bigint, places = 6): Row => {
    const [pa, ps] = supply > 0n ? [assets, supply] : model.priceRatio();
    const [poolText, supplyText] = [formatAmount(assets, DECIMALS), formatAmount(supply, 18)];
    history.push({ step, price: formatPrice(pa, ps, DECIMALS, 18), pool: poolText, supply: supplyText });
    return { step, what, amount, gp, supply: supplyText, pool: poolText, price: formatPrice(pa, ps, DECIMALS, places) };
  };
  history.push({ step: 0, price: formatPrice(PARAMETERS.initialPrice, GP, DECIMALS, 6), pool: "0", supply: "0" });

  /** Records the orders in one transaction; one row per order, priced as the pool priced it. */
  const sendBatch = async (
    orders: { shop: HardhatEthersSigner; user: HardhatEthersSigner; amount: bigint }[],
    label: (index: number, buyer: string) => string,
    places = 6,
  ) => {
    const groups = shops
      .map((shop) => ({
        shop: shop.address,
        orders: orders
          .filter((o) => o.shop === shop)
          .map((o) => ({ orderId: ethers.id(`demo-order-${nextOrder++}`), buyer: o.user.address, amount: o.amount })),
      }))
      .filter((g) => g.orders.length > 0);
    let [assets, supply] = [model.assets, model.supply];
    const results = model.recordOrders(
      groups.map((g) => ({
        shop: g.shop,
        orders: g.orders.map((o) => ({ key: orderKey(g.shop, o.orderId), buyer: o.buyer, amount: o.amount })),
      })),
    );
    await (await pool.recordOrders(groups)).wait();
    await verify();
    return results.map((r, i) => {
      step++;
      [assets, supply] = [assets + r.contribution, supply + r.points];
      const row = record(label(i, r.buyer), formatAmount(r.amount, DECIMALS), `+${formatAmount(r.points, 18)}`, assets, supply, places);
      return { ...r, row };
    });
  };

  // The worked example (docs/rules.md): three orders of 100 at price 1.
  console.log("The worked example (docs/rules.md): three orders of 100");
  const example: Row[] = [];
  let paidIn = 0n;
  for (const label of ["A", "B", "C"]) {
    const [r] = await sendBatch([{ shop: shops[0], user: users[0], amount: 100n * UNIT }], () => `order ${label}`, 4);
    paidIn += r.contribution;
    example.push(r.row);
  }
  const header: Row = {
    step: "#",
    what: "operation",
    amount: "amount",
    gp: "GP +/-",
    supply: "circulating GP",
    pool: "pool",
    price: "price after",
  };
  console.log(table(example, header));
  console.log("  (docs/rules.md's table: 21, 14.7, 12.495 GP; prices 1.4286, 1.6807, 1.8674)\n");

  // Seeded random orders and redemptions.
  const operations = fc.sample(operationArb, { seed: config.seed, numRuns: config.operations });
  const orderCount = operations.reduce((n, op) => n + (op.kind === "batch" ? op.orders.length : 0), 0);
  console.log(`${config.operations} random operations (seed ${config.seed}): ${orderCount} orders in batches, and redemptions`);
  const rows: Row[] = [];
  let paidOut = 0n;
  let feesKept = 0n;
  let redemptions = 0;
  for (const [i, op] of operations.entries()) {
    if (op.kind === "batch") {
      const orders = op.orders.map((o) => ({ shop: shops[o.shop], user: users[o.user], amount: (BigInt(o.cents) * UNIT) / 100n }));
      for (const r of await sendBatch(orders, (_, buyer) => `order ${buyer.slice(0, 8)}`)) {
        paidIn += r.contribution;
        rows.push(r.row);
      }
    } else {
      const user = users[op.user];
      const balance = model.balanceOf(user.address);
      const k = (balance * BigInt(op.percent)) / 100n;
      if (k === 0n) continue;
      step++;
      const quote = model.redeem(user.address, k);
      await (await pool.connect(user).redeem(k, user.address, quote.payout)).wait();
      await verify();
      paidOut += quote.payout;
      feesKept += quote.fee;
      redemptions++;
      rows.push(
        record(
          `redeem ${user.address.slice(0, 8)}`,
          `-${formatAmount(quote.payout, DECIMALS)}`,
          `-${formatAmount(k, 18)}`,
          model.assets,
          model.supply,
        ),
      );
    }
    if ((i + 1) % 40 === 0 || i + 1 === operations.length) {
      console.log(`  [${i + 1}/${operations.length}] ${rows.length} rows, price ${history[history.length - 1].price}`);
    }
  }
  console.log("\n" + table(rows, header) + "\n");

  const csv = [
    "step,operation,amount,gp,circulating_gp,pool,price",
    ...[...example, ...rows].map((r) => [r.step, r.what, r.amount, r.gp, r.supply, r.pool, r.price].join(",")),
  ].join("\n");
  const csvPath = path.join(outDir, "history.csv");
  fs.writeFileSync(csvPath, csv + "\n");
  const chartPath = path.join(outDir, "pool-chart.svg");
  fs.writeFileSync(chartPath, await renderPoolChart(history, `Green Points demo: ${step} operations (seed ${config.seed})`));

  const last = history[history.length - 1];
  console.log("Summary");
  console.log(
    `  orders ${step - redemptions} (paid into the pool ${formatAmount(paidIn, DECIMALS)}), redemptions ${redemptions} (paid out ${formatAmount(paidOut, DECIMALS)}, exit fees kept in the pool ${formatAmount(feesKept, DECIMALS)})`,
  );
  console.log(`  pool ${last.pool}, circulating ${last.supply} GP, price ${last.price} (started at 1)`);
  console.log("  The contract and the reference model agreed after every operation.");
  console.log("  The price rose only because each order mints less value than it pays in and each redemption");
  console.log("  leaves its fee behind. It stops rising when orders stop. This is a mechanism, not a promised return.");
  console.log(`\n  table ${csvPath}\n  chart ${chartPath}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
