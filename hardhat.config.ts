import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import { answerHooks } from "./test/helpers/openapi-answers";

/**
 * The compiler comes from the `solc` npm package, pinned to exactly this version in package.json:
 * Hardhat cannot download compilers on a machine that reaches only the npm registry.
 */
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(async (args: { solcVersion: string }) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(`only solc ${SOLC_VERSION} is installed (npm package solc); asked for ${args.solcVersion}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: SOLC_VERSION, longVersion };
});

const config: HardhatUserConfig = {
  solidity: { version: SOLC_VERSION, settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" } },
  mocha: {
    timeout: 600_000,
    // Every answer a test gets from a Green Points server is checked against its OpenAPI document.
    rootHooks: answerHooks,
  },
  gasReporter: { enabled: process.env.REPORT_GAS === "true" },
};

export default config;
