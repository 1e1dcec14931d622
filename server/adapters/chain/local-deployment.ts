/**
 * First start on the embedded chain: makes the admin key (kept in the data folder as
 * `admin-key`, mode 0600), which deploys a test settlement token (6 decimals, a faucet), the
 * pool, the custody and the contracts of the modules it is given (their deployment hooks) and
 * keeps DEFAULT_ADMIN_ROLE on them; the relayer key gets only the roles it sends with. The admin
 * key is also the treasury: it holds the settlement, gives the relayer a bounded float and lets it
 * pull refills up to a bounded budget. Writes the addresses to the data folder; later starts read
 * them back.
 *
 * A data folder made before the admin key existed (no `admin-key`) keeps working as it was: the
 * relayer key is its admin, and the relayer's start warns about it (services/relayer-key.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type BaseContract, JsonRpcProvider, NonceManager, type Signer, Wallet, parseEther } from "ethers";
import { REFERRAL_MODES, deployCustody, deployMockStablecoin, deployPoolContracts } from "./deploy";
import { CORE, type ContractEntry, type Deployments, readDeployments } from "./chain";
import {
  type Custody,
  Custody__factory,
  IAccessControl__factory,
  MockStablecoin__factory,
  type Pool,
  Pool__factory,
} from "../../../typechain-types";

/** The embedded test settlement token's decimals. */
export const LOCAL_SETTLEMENT_DECIMALS = 6;
const DECIMALS = LOCAL_SETTLEMENT_DECIMALS;
const UNIT = 10n ** BigInt(DECIMALS);
/** The relayer's settlement float on the embedded chain unless told otherwise: 100,000 TUSD. */
export const DEFAULT_SETTLEMENT_FLOAT = 100_000n * UNIT;
/** What the relayer may pull from the treasury; each embedded start sets it back to this. */
export const EMBEDDED_REFILL_BUDGET = 1_000_000n * UNIT;
/** The faucet's supply, minted to the treasury at the first start. */
const TREASURY_SUPPLY = 10n ** 12n * UNIT;
/** `ICustody.ReferralMode.FirstOrder`: the embedded start's referrers earn on a referee's first order only. */
const FIRST_ORDER = BigInt(REFERRAL_MODES.indexOf("firstOrder"));

/** The core contracts a module's own are deployed against, and the admin that keeps their DEFAULT_ADMIN_ROLE. */
export interface CoreDeployment {
  pool: Pool;
  custody: Custody;
  admin: string;
}

/**
 * How a module deploys its contracts on a fresh embedded chain. Their registry entries say the
 * rest: each address is written to the deployments file under the entry's `name`, the relayer key
 * is granted its `relayerRoles`, and a `spender` is approved the relayer's float.
 */
export interface ModuleDeployment {
  contracts: readonly ContractEntry[];
  /** Deploys them with `signer` (the admin key), answering their addresses by entry name. */
  deploy(core: CoreDeployment, signer: Signer): Promise<Record<string, string>>;
}

/** A module's contract at its address in this deployment. */
export interface DeployedContract {
  entry: ContractEntry;
  address: string;
}

/** The modules' contracts `addresses` names, in the modules' order; a contract it lacks (a folder made before its module) is left out. */
function deployedContracts(modules: readonly ModuleDeployment[], addresses: Readonly<Record<string, unknown>>): DeployedContract[] {
  return modules.flatMap((m) =>
    m.contracts.flatMap((entry) => {
      const address = addresses[entry.name];
      return typeof address === "string" ? [{ entry, address }] : [];
    }),
  );
}

/** The admin key of the data folder that holds `file`, made on first use (mode 0600). */
function adminKey(file: string, create: boolean): string | null {
  const keyFile = path.join(path.dirname(file), "admin-key");
  if (!fs.existsSync(keyFile)) {
    if (!create) return null;
    fs.mkdirSync(path.dirname(keyFile), { recursive: true });
    fs.writeFileSync(keyFile, Wallet.createRandom().privateKey + "\n", { mode: 0o600 });
  }
  return fs.readFileSync(keyFile, "utf8").trim();
}

export async function ensureLocalDeployment(
  rpcUrl: string,
  relayerKey: string,
  file: string,
  options: { modules: readonly ModuleDeployment[]; settlementFloat?: bigint },
): Promise<{ deployments: Deployments; fresh: boolean }> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const relayerWallet = new Wallet(relayerKey, provider);
    const relayer = relayerWallet.address;
    const existing = readDeployments(file);
    if (existing && (await provider.getCode(existing.custody)) !== "0x") {
      const key = adminKey(file, false);
      if (!key) {
        // From before the admin key: the relayer key is the admin and grants itself the operator's roles.
        // A module's contract it lacks (made before the module) stays absent: that module is off there.
        await grantRelayerRoles(
          new NonceManager(relayerWallet),
          Pool__factory.connect(existing.pool, relayerWallet),
          Custody__factory.connect(existing.custody, relayerWallet),
          deployedContracts(options.modules, existing as unknown as Record<string, unknown>),
          relayer,
        );
      } else if (existing.treasury) {
        const settlement = MockStablecoin__factory.connect(existing.settlement, new NonceManager(new Wallet(key, provider)));
        await (await settlement.approve(relayer, EMBEDDED_REFILL_BUDGET)).wait();
      }
      return { deployments: existing, fresh: false };
    }
    if (existing)
      throw new Error(
        `${file} names contracts the chain does not have: was the chain state lost? Move the data folder away to start afresh.`,
      );
    const adminWallet = new Wallet(adminKey(file, true)!, provider);
    const admin = adminWallet.address;
    // The local chain's funded account pays the admin key's gas.
    await (await relayerWallet.sendTransaction({ to: admin, value: parseEther("1000") })).wait();
    const signer = new NonceManager(adminWallet);
    const settlement = await deployMockStablecoin(signer, DECIMALS);
    const { pool, points } = await deployPoolContracts(signer, {
      settlement: await settlement.getAddress(),
      maxIssuance: 100_000_000n * 10n ** 18n,
      parameters: {
        poolShare: 3_000n,
        mintShare: 7_000n,
        exitFee: 2_000n,
        initialPrice: UNIT,
        referralShare1: 1_000n,
        // One level, paid once (the first-order reward below): the shape with the least legal weight.
        referralShare2: 0n,
      },
      admin,
    });
    const custody = await deployCustody(signer, pool, { withdrawalFee: 100n, exitMultiple: 0n, referralMode: FIRST_ORDER }, admin);
    const addresses: Record<string, string> = {};
    for (const module of options.modules) Object.assign(addresses, await module.deploy({ pool, custody, admin }, signer));
    const moduleContracts = deployedContracts(options.modules, addresses);
    await grantRelayerRoles(signer, pool, custody, moduleContracts, relayer);
    // The treasury: the supply, a float for the relayer, and a bounded budget it may pull refills from.
    const float = options.settlementFloat ?? DEFAULT_SETTLEMENT_FLOAT;
    await (await settlement.mint(admin, TREASURY_SUPPLY)).wait();
    await (await settlement.transfer(relayer, float)).wait();
    await (await settlement.approve(relayer, EMBEDDED_REFILL_BUDGET)).wait();
    // The relayer's own allowances are bounded by its float: the pool pulls orders' settlement, a
    // module's spender what the relayer pays it.
    const asRelayer = settlement.connect(new NonceManager(relayerWallet));
    await (await asRelayer.approve(await pool.getAddress(), float)).wait();
    // The custody pulls an operator's grant from the relayer's settlement.
    await (await asRelayer.approve(await custody.getAddress(), float)).wait();
    for (const { entry, address } of moduleContracts) if (entry.spender) await (await asRelayer.approve(address, float)).wait();
    const deployments: Deployments = {
      chainId: (await provider.getNetwork()).chainId.toString(),
      settlement: await settlement.getAddress(),
      settlementDecimals: DECIMALS,
      pool: await pool.getAddress(),
      points: await points.getAddress(),
      custody: await custody.getAddress(),
      ...addresses,
      treasury: admin,
      deployedAtBlock: await provider.getBlockNumber(),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(deployments, null, 2) + "\n");
    return { deployments, fresh: true };
  } finally {
    provider.destroy();
  }
}

/**
 * The roles the relayer key sends with, as the registry's entries name them (`relayerRoles`, the
 * list its start checks and `npm run deploy` grants): RELAYER_ROLE on the custody (the pool's
 * goes to the custody and to the modules' contracts that pay it), the operator's PARAMETER_ROLE on
 * the pool and the custody and PAUSER_ROLE on the pool, because the operator's endpoints send
 * parameter changes and pauses through it, and each module contract's. Never DEFAULT_ADMIN_ROLE,
 * which can grant roles and sweep the pool's surplus.
 */
export async function grantRelayerRoles(
  signer: NonceManager,
  pool: Pool,
  custody: Custody,
  moduleContracts: readonly DeployedContract[],
  relayer: string,
): Promise<void> {
  const core: DeployedContract[] = [
    { address: await pool.getAddress(), entry: CORE.find((e) => e.name === "pool")! },
    { address: await custody.getAddress(), entry: CORE.find((e) => e.name === "custody")! },
  ];
  const wanted: [string, string][] = [];
  for (const { entry, address } of [...core, ...moduleContracts]) {
    const contract: BaseContract = entry.connect(address, signer);
    for (const role of entry.relayerRoles ?? []) wanted.push([address, await contract.getFunction(role).staticCall()]);
  }
  for (const [address, role] of wanted) {
    const contract = IAccessControl__factory.connect(address, signer);
    if (!(await contract.hasRole(role, relayer))) await (await contract.grantRole(role, relayer)).wait();
  }
}
