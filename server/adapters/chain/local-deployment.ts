/**
 * First start on the embedded chain: makes the admin key (kept in the data folder as
 * `admin-key`, mode 0600), which deploys a test settlement token (6 decimals, a faucet), the
 * pool, the custody and the ad credit and keeps DEFAULT_ADMIN_ROLE on them; the relayer key gets
 * only the roles it sends with. The admin key is also the treasury: it holds the settlement,
 * gives the relayer a bounded float and lets it pull refills up to a bounded budget. Writes the
 * addresses to the data folder; later starts read them back.
 *
 * A data folder made before the admin key existed (no `admin-key`) keeps working as it was: the
 * relayer key is its admin, and the relayer's start warns about it (services/relayer-key.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, parseEther } from "ethers";
import { DEFAULT_AD_CREDIT_PARAMETERS, deployAdCredit, deployCustody, deployMockStablecoin, deployPoolContracts } from "./deploy";
import { type Deployments, readDeployments } from "./chain";
import {
  type AdCredit,
  AdCredit__factory,
  type Custody,
  Custody__factory,
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
  options: { settlementFloat?: bigint } = {},
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
        // Its pool predates ad conversions when it has no ad-credit contract: ads stay off there.
        await grantRelayerRoles(
          new NonceManager(relayerWallet),
          Pool__factory.connect(existing.pool, relayerWallet),
          Custody__factory.connect(existing.custody, relayerWallet),
          existing.adCredit ? AdCredit__factory.connect(existing.adCredit, relayerWallet) : null,
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
        referralShare2: 500n,
      },
      admin,
    });
    const custody = await deployCustody(signer, pool, { withdrawalFee: 100n, exitMultiple: 0n }, admin);
    const adCredit = await deployAdCredit(signer, pool, custody, DEFAULT_AD_CREDIT_PARAMETERS, admin);
    await grantRelayerRoles(signer, pool, custody, adCredit, relayer);
    // The treasury: the supply, a float for the relayer, and a bounded budget it may pull refills from.
    const float = options.settlementFloat ?? DEFAULT_SETTLEMENT_FLOAT;
    await (await settlement.mint(admin, TREASURY_SUPPLY)).wait();
    await (await settlement.transfer(relayer, float)).wait();
    await (await settlement.approve(relayer, EMBEDDED_REFILL_BUDGET)).wait();
    // The relayer's own allowances are bounded by its float: the pool pulls orders' settlement,
    // the ad credit the operator's top-ups (POST /v1/admin/merchants/{id}/ad-credit).
    const asRelayer = settlement.connect(new NonceManager(relayerWallet));
    await (await asRelayer.approve(await pool.getAddress(), float)).wait();
    await (await asRelayer.approve(await adCredit.getAddress(), float)).wait();
    const deployments: Deployments = {
      chainId: (await provider.getNetwork()).chainId.toString(),
      settlement: await settlement.getAddress(),
      settlementDecimals: DECIMALS,
      pool: await pool.getAddress(),
      points: await points.getAddress(),
      custody: await custody.getAddress(),
      adCredit: await adCredit.getAddress(),
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
 * The roles the relayer key sends with: RELAYER_ROLE on the custody and the ad credit (the pool's
 * goes to those two contracts), and the operator's PARAMETER_ROLE on each contract and PAUSER_ROLE
 * on the pool, because the operator's endpoints send parameter changes and pauses through it.
 * Never DEFAULT_ADMIN_ROLE, which can grant roles and sweep the pool's surplus.
 */
export async function grantRelayerRoles(
  signer: NonceManager,
  pool: Pool,
  custody: Custody,
  adCredit: AdCredit | null,
  relayer: string,
): Promise<void> {
  const wanted: [Pool | Custody | AdCredit, string][] = [
    [custody, await custody.RELAYER_ROLE()],
    [pool, await pool.PARAMETER_ROLE()],
    [pool, await pool.PAUSER_ROLE()],
    [custody, await custody.PARAMETER_ROLE()],
  ];
  if (adCredit) wanted.push([adCredit, await adCredit.RELAYER_ROLE()], [adCredit, await adCredit.PARAMETER_ROLE()]);
  for (const [contract, role] of wanted) {
    if (!(await contract.hasRole(role, relayer))) await (await contract.connect(signer).grantRole(role, relayer)).wait();
  }
}
