import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { GP, deployPool } from "../helpers/fixtures";
import { snapshot } from "../helpers/invariants";
import { PoolModel } from "../../server/domain/pool-model";
import {
  type Chain,
  type World,
  batchCommand,
  donateCommand,
  drain,
  drainCommand,
  orderCommand,
  pauseCommand,
  permutationArb,
  redeemCommand,
  setParameterCommand,
  surplusCommand,
  transferCommand,
} from "./commands";

/** A cap of 100,000 GP, low enough for random sequences to reach it. */
const MODEL_CAP = 100_000n * GP;
const fixtures = {
  6: () => deployPool({ decimals: 6, maxIssuance: MODEL_CAP }),
  18: () => deployPool({ decimals: 18, maxIssuance: MODEL_CAP }),
};

const runs = Number(process.env.GP_MODEL_RUNS ?? 200);
const seed = Number(process.env.GP_MODEL_SEED ?? Date.now() % 2 ** 31);
const path = process.env.GP_MODEL_PATH;
/** The `replayPath` fast-check prints beside a failing command list. */
const replayPath = process.env.GP_MODEL_REPLAY;

describe("Pool against the reference model (fast-check, model-based)", function () {
  it(`keeps SPEC rules 1-5 and the model's figures over ${runs} random sequences`, async function () {
    console.log(
      `      model-based: ${runs} runs, seed ${seed}${path ? `, path ${path}` : ""}` +
        ` (replay a failure: GP_MODEL_SEED=${seed} GP_MODEL_PATH=<path> GP_MODEL_REPLAY=<replayPath>` +
        " npx hardhat test test/model/pool.model.test.ts)",
    );
    let commandsRun = 0;
    const property = fc.asyncProperty(
      fc.constantFrom(6 as const, 18 as const),
      fc.commands(
        [
          orderCommand,
          orderCommand,
          batchCommand,
          batchCommand,
          redeemCommand,
          redeemCommand,
          transferCommand,
          drainCommand,
          donateCommand,
          surplusCommand,
          setParameterCommand,
          pauseCommand,
        ],
        { maxCommands: 30, size: "max", replayPath },
      ),
      permutationArb,
      async (decimals, commands, finalOrder) => {
        const f = await loadFixture(fixtures[decimals]);
        const holders = f.users.map((u) => u.address);
        const world: World = { model: new PoolModel(f.modelConfig), paused: false, nextId: 0, used: [] };
        const chain: Chain = { f, state: await snapshot(f, holders) };
        await fc.asyncModelRun(() => ({ model: world, real: chain }), commands);
        commandsRun += [...commands].length;
        // Solvency for real: whatever happened, every holder redeems all, in a random order.
        await drain(world, chain, finalOrder);
      },
    );
    await fc.assert(property, { numRuns: runs, seed, path });
    console.log(`      model-based: ${runs} sequences, ${commandsRun} commands, every one checked`);
  });
});
