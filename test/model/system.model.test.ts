import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { type CustodyFixture, custodyForModel18, custodyForModel6 } from "../helpers/fixtures";
import { snapshot } from "../helpers/invariants";
import { CustodyModel } from "../../server/domain/custody-model";
import { PoolModel } from "../../server/domain/pool-model";
import {
  batchCommand,
  donateCommand,
  drainCommand,
  orderCommand,
  pauseCommand,
  permutationArb,
  redeemCommand,
  setParameterCommand,
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
  linkCommand,
  moveCommand,
  permitCommand,
  registerCommand,
  releaseSurplusCommand,
  setMerchantCommand,
  signedRequestCommand,
  withdrawCommand,
} from "./custody-commands";
import { MERCHANT_ID, USER_IDS, type Chain, type World, custodySnapshot, outcomeReport } from "./world";

/** The wallets approve the custody once, as an original account does before its first deposit. */
async function withApprovals(f: CustodyFixture): Promise<CustodyFixture> {
  for (const wallet of f.users) await f.points.connect(wallet).approve(await f.custody.getAddress(), ethers.MaxUint256);
  return f;
}
const fixtures = {
  6: async () => withApprovals(await custodyForModel6()),
  18: async () => withApprovals(await custodyForModel18()),
};

const runs = Number(process.env.GP_MODEL_RUNS ?? 200);
const seed = Number(process.env.GP_MODEL_SEED ?? Date.now() % 2 ** 31);
const path = process.env.GP_MODEL_PATH;
/** The `replayPath` fast-check prints beside a failing command list. */
const replayPath = process.env.GP_MODEL_REPLAY;

describe("The pool and the custody against the reference models (fast-check, model-based)", function () {
  it(`keep SPEC rules 1-5, the custody's invariants and the models' figures over ${runs} random sequences`, async function () {
    console.log(
      `      model-based: ${runs} runs, seed ${seed}${path ? `, path ${path}` : ""}` +
        ` (replay a failure: GP_MODEL_SEED=${seed} GP_MODEL_PATH=<path> GP_MODEL_REPLAY=<replayPath>` +
        " npx hardhat test test/model/system.model.test.ts)",
    );
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
          releaseSurplusCommand,
          custodyParameterCommand,
          linkCommand,
          depositCommand,
          permitCommand,
          signedRequestCommand,
        ],
        { maxCommands: 40, size: "max", replayPath },
      ),
      permutationArb,
      async (decimals, commands, finalOrder) => {
        const f = await loadFixture(fixtures[decimals]);
        const custodyAddress = await f.custody.getAddress();
        const pool = new PoolModel(f.modelConfig);
        for (const wallet of f.users) pool.approve(wallet.address, custodyAddress, ethers.MaxUint256);
        const world: World = {
          model: pool,
          custody: new CustodyModel(pool, custodyAddress, f.custodyParameters),
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
        const chain = { f, custodyAddress } as Chain;
        chain.state = await snapshot(f, [...f.users.map((u) => u.address), custodyAddress]);
        chain.custodyState = await custodySnapshot(chain);
        await fc.asyncModelRun(() => ({ model: world, real: chain }), commands);
        commandsRun += [...commands].length;
        await drainEverything(world, chain, finalOrder);
      },
    );
    await fc.assert(property, { numRuns: runs, seed, path });
    console.log(`      model-based: ${runs} sequences, ${commandsRun} commands, every one checked`);
    console.log(`      outcomes: ${outcomeReport()}`);
  });
});
