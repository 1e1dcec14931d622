import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { type AdCreditFixture, systemForModel18, systemForModel6 } from "../helpers/fixtures";
import { snapshot } from "../helpers/invariants";
import { AdCreditModel } from "../../models/ad-credit-model";
import { CustodyModel } from "../../models/custody-model";
import { PoolModel } from "../../models/pool-model";
import { OrderLifecycleModel } from "../../models/order-lifecycle-model";
import { clawbackCommand, pendingOrderCommand, refundPendingCommand, releaseCommand } from "./lifecycle-commands";
import {
  batchCommand,
  donateCommand,
  drainCommand,
  orderCommand,
  pauseCommand,
  permutationArb,
  redeemCommand,
  setParameterCommand,
  soleHolderAttackCommand,
  surplusCommand,
  transferCommand,
} from "./pool-commands";
import {
  constantCommand,
  custodialOrdersCommand,
  custodyParameterCommand,
  custodyRedeemCommand,
  depositCommand,
  drainEverything,
  exitCommand,
  exitScenarioCommand,
  grantCommand,
  linkCommand,
  pushExitCommand,
  moveCommand,
  permitCommand,
  registerCommand,
  releaseSurplusCommand,
  removeCommand,
  setMerchantCommand,
  signedRequestCommand,
  withdrawCommand,
} from "./custody-commands";
import { adShareCommand, convertCommand, convertEverything, issueCommand, topUpCommand, withdrawalCommand } from "./ad-commands";
import { MERCHANT_ID, USER_IDS, type Chain, type World, custodySnapshot, outcomeReport, outcomes } from "./world";

/**
 * The wallets approve the custody once, as an original account does before its first deposit; the
 * relayer holds a settlement float for grants and approves the custody for it.
 */
async function withApprovals(f: AdCreditFixture): Promise<AdCreditFixture> {
  for (const wallet of f.users) await f.points.connect(wallet).approve(await f.custody.getAddress(), ethers.MaxUint256);
  await f.settlement.mint(f.relayer.address, 10n ** 15n * f.unit);
  await f.settlement.connect(f.relayer).approve(await f.custody.getAddress(), ethers.MaxUint256);
  return f;
}
const fixtures = { 6: async () => withApprovals(await systemForModel6()), 18: async () => withApprovals(await systemForModel18()) };

/** The deployed system beside fresh models, with the referral chain, the merchant and a starting ad credit. */
async function freshWorld(decimals: 6 | 18): Promise<{ world: World; chain: Chain }> {
  const f = await loadFixture(fixtures[decimals]);
  const custodyAddress = await f.custody.getAddress();
  const pool = new PoolModel(f.modelConfig);
  for (const wallet of f.users) pool.approve(wallet.address, custodyAddress, ethers.MaxUint256);
  const custody = new CustodyModel(pool, custodyAddress, f.custodyParameters);
  // The fixture registered the ad merchants first (indices 1 and 2) and flagged them.
  for (const merchant of f.merchants) {
    custody.register(merchant, null);
    custody.setMerchant(merchant, true);
  }
  const world: World = {
    model: pool,
    custody,
    ads: new AdCreditModel(custody, await f.adCredit.getAddress(), f.adParameters),
    lifecycle: new OrderLifecycleModel(custody),
    paused: false,
    nextId: 0,
    used: [],
  };
  // Users 0-3 form a referral chain (0 <- 1 <- 2 <- 3) and the merchant is one; 4 and 5 are new.
  const relayer = f.custody.connect(f.relayer);
  for (let i = 0; i < 4; i++) {
    const referrer = i === 0 ? null : USER_IDS[i - 1];
    world.custody.register(USER_IDS[i], referrer);
    await (await relayer.register(USER_IDS[i], referrer ?? ethers.ZeroHash)).wait();
  }
  world.custody.setMerchant(MERCHANT_ID, true);
  await (await relayer.setMerchant(MERCHANT_ID, true)).wait();
  // Merchant 0 starts with credit, so that sequences reach issuance and conversion early.
  const startingCredit = 10_000n * f.unit;
  world.ads.topUp(f.merchants[0], startingCredit);
  await (await f.adCredit.connect(f.stranger).topUp(f.merchants[0], startingCredit)).wait();
  const chain = { f, custodyAddress } as Chain;
  chain.state = await snapshot(f, [...f.users.map((u) => u.address), custodyAddress]);
  chain.custodyState = await custodySnapshot(chain);
  return { world, chain };
}

const runs = Number(process.env.GP_MODEL_RUNS ?? 200);
/** The order-lifecycle property's runs (a quarter of the main one's by default). */
const lifecycleRuns = Number(process.env.GP_MODEL_LIFECYCLE_RUNS ?? Math.max(1, Math.ceil(runs / 4)));
const seed = Number(process.env.GP_MODEL_SEED ?? Date.now() % 2 ** 31);
const path = process.env.GP_MODEL_PATH;
/** The `replayPath` fast-check prints beside a failing command list. */
const replayPath = process.env.GP_MODEL_REPLAY;

describe("The pool, the custody and the ad credit against the reference models (fast-check, model-based)", function () {
  it(`keep the rules 1-5 of docs/rules.md, the custody's and the ad credit's invariants and the models' figures over ${runs} random sequences`, async function () {
    console.log(
      `      model-based: ${runs} runs, seed ${seed}${path ? `, path ${path}` : ""}` +
        ` (replay a failure: GP_MODEL_SEED=${seed} GP_MODEL_PATH=<path> GP_MODEL_REPLAY=<replayPath>` +
        " npx hardhat test test/model/system.model.test.ts)",
    );
    // About 3 s a sequence on a shared 2-core machine: the default 200 runs outgrow mocha's 600 s.
    this.timeout(Math.max(600_000, runs * 6_000));
    let commandsRun = 0;
    const property = fc.asyncProperty(
      fc.constantFrom(6 as const, 18 as const),
      fc.commands(
        [
          orderCommand,
          batchCommand,
          redeemCommand,
          transferCommand,
          drainCommand,
          soleHolderAttackCommand,
          soleHolderAttackCommand,
          donateCommand,
          surplusCommand,
          setParameterCommand,
          pauseCommand,
          custodialOrdersCommand,
          custodialOrdersCommand,
          custodialOrdersCommand,
          registerCommand,
          registerCommand,
          setMerchantCommand,
          moveCommand,
          moveCommand,
          custodyRedeemCommand,
          constantCommand,
          constantCommand,
          withdrawCommand,
          exitCommand,
          exitScenarioCommand,
          pushExitCommand,
          pushExitCommand,
          releaseSurplusCommand,
          custodyParameterCommand,
          custodyParameterCommand,
          grantCommand,
          grantCommand,
          removeCommand,
          removeCommand,
          linkCommand,
          depositCommand,
          permitCommand,
          signedRequestCommand,
          topUpCommand,
          topUpCommand,
          issueCommand,
          issueCommand,
          issueCommand,
          convertCommand,
          convertCommand,
          convertCommand,
          withdrawalCommand,
          withdrawalCommand,
          adShareCommand,
          pendingOrderCommand,
          pendingOrderCommand,
          refundPendingCommand,
          releaseCommand,
          releaseCommand,
          clawbackCommand,
          clawbackCommand,
        ],
        { maxCommands: 40, size: "max", replayPath },
      ),
      permutationArb,
      async (decimals, commands, finalOrder) => {
        const { world, chain } = await freshWorld(decimals);
        await fc.asyncModelRun(() => ({ model: world, real: chain }), commands);
        commandsRun += [...commands].length;
        await convertEverything(world, chain);
        await drainEverything(world, chain, finalOrder);
      },
    );
    await fc.assert(property, { numRuns: runs, seed, path });
    console.log(`      model-based: ${runs} sequences, ${commandsRun} commands, every one checked`);
    console.log(`      outcomes: ${outcomeReport()}`);
  });

  it(`keep them over ${lifecycleRuns} sequences of pending orders, refunds while pending, releases and clawbacks after minting`, async function () {
    this.timeout(Math.max(600_000, lifecycleRuns * 6_000));
    outcomes.clear();
    let commandsRun = 0;
    const property = fc.asyncProperty(
      fc.constantFrom(6 as const, 18 as const),
      fc.commands(
        [
          pendingOrderCommand,
          pendingOrderCommand,
          pendingOrderCommand,
          refundPendingCommand,
          refundPendingCommand,
          releaseCommand,
          releaseCommand,
          releaseCommand,
          clawbackCommand,
          clawbackCommand,
          clawbackCommand,
          custodialOrdersCommand,
          moveCommand,
          custodyRedeemCommand,
          redeemCommand,
          setParameterCommand,
          pauseCommand,
        ],
        { maxCommands: 30, size: "max", replayPath },
      ),
      async (decimals, commands) => {
        const { world, chain } = await freshWorld(decimals);
        await fc.asyncModelRun(() => ({ model: world, real: chain }), commands);
        commandsRun += [...commands].length;
      },
    );
    await fc.assert(property, { numRuns: lifecycleRuns, seed, path });
    console.log(`      order lifecycle: ${lifecycleRuns} sequences, ${commandsRun} commands, every one checked`);
    console.log(`      outcomes: ${outcomeReport()}`);
  });
});
