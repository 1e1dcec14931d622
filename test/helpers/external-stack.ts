/**
 * A chain of its own for relayer processes started with RPC_URL (several on one chain): anvil in a
 * temporary folder, the embedded deployment written to a deployments.json there (the relayer key is
 * anvil's funded account, the admin key beside the file is also the treasury), mining a block a
 * second as `npm start` makes its chain do. More relayer keys get what the first one got from the
 * deployment: its roles, gas, a settlement float, allowances bounded by that float, and a refill
 * budget from the treasury (or, with `withFloat: false`, only the roles, gas and refill budget: the
 * relayer must pull its float and approve the pool itself). They are made before the chain turns to
 * a block a second, while each transaction is still mined at once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, parseEther } from "ethers";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "../../server/adapters/chain/anvil";
import type { Deployments } from "../../server/adapters/chain/chain";
import {
  DEFAULT_SETTLEMENT_FLOAT,
  type DeployedContract,
  EMBEDDED_REFILL_BUDGET,
  ensureLocalDeployment,
  grantRelayerRoles,
} from "../../server/adapters/chain/local-deployment";
import { Custody__factory, MockStablecoin__factory, Pool__factory } from "../../typechain-types";
import { MODULE_DEPLOYMENTS } from "../../server/modules";
import { freePort } from "./net";

export interface ExternalStack {
  dir: string;
  rpcUrl: string;
  deploymentsFile: string;
  deployments: Deployments;
  /** Reads the chain (no signer), for the tests' checks. */
  provider: JsonRpcProvider;
  /** The relayer keys: the deployment's (anvil's first account), then the `moreRelayerKeys` made for the test. */
  relayerKeys: readonly string[];
  stop(): Promise<void>;
}

export async function startExternalStack(
  options: { moreRelayerKeys?: number; withFloat?: boolean; settlementFloat?: bigint } = {},
): Promise<ExternalStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-external-"));
  const float = options.settlementFloat ?? DEFAULT_SETTLEMENT_FLOAT;
  let anvil: EmbeddedChain | null = null;
  let provider: JsonRpcProvider | null = null;
  try {
    anvil = await startAnvil({ port: await freePort(), stateFile: path.join(dir, "chain", "state.json") });
    const deploymentsFile = path.join(dir, "deployments.json");
    const { deployments } = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, deploymentsFile, {
      modules: MODULE_DEPLOYMENTS,
      settlementFloat: float,
    });
    const reader = (provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 }));
    reader.pollingInterval = 100;
    const admin = new NonceManager(new Wallet(fs.readFileSync(path.join(dir, "admin-key"), "utf8").trim(), reader));
    const addresses = deployments as unknown as Record<string, unknown>;
    const moduleContracts: DeployedContract[] = MODULE_DEPLOYMENTS.flatMap((m) =>
      m.contracts.flatMap((entry) =>
        typeof addresses[entry.name] === "string" ? [{ entry, address: addresses[entry.name] as string }] : [],
      ),
    );
    /** A new relayer key with what the deployment gave the first: roles, gas, refill budget, float, allowances. */
    const addRelayerKey = async () => {
      const key = Wallet.createRandom().privateKey;
      const relayer = new Wallet(key, reader);
      await grantRelayerRoles(
        admin,
        Pool__factory.connect(deployments.pool, admin),
        Custody__factory.connect(deployments.custody, admin),
        moduleContracts,
        relayer.address,
      );
      await (await admin.sendTransaction({ to: relayer.address, value: parseEther("100") })).wait();
      const settlement = MockStablecoin__factory.connect(deployments.settlement, admin);
      await (await settlement.approve(relayer.address, EMBEDDED_REFILL_BUDGET)).wait();
      if (options.withFloat === false) return key;
      await (await settlement.transfer(relayer.address, float)).wait();
      const asRelayer = settlement.connect(new NonceManager(relayer));
      await (await asRelayer.approve(deployments.pool, float)).wait();
      for (const { entry, address } of moduleContracts) if (entry.spender) await (await asRelayer.approve(address, float)).wait();
      return key;
    };
    const relayerKeys = [ANVIL_DEV_KEY];
    for (let i = 0; i < (options.moreRelayerKeys ?? 0); i++) relayerKeys.push(await addRelayerKey());
    // Then, as main.ts does: a block each second, so many transactions from one key are mined in
    // order instead of racing automine.
    await anvil.setBlockTime(1);
    const chain = anvil;
    return {
      dir,
      rpcUrl: chain.url,
      deploymentsFile,
      deployments,
      provider: reader,
      relayerKeys,
      stop: async () => {
        reader.destroy();
        await chain.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    provider?.destroy();
    await anvil?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
