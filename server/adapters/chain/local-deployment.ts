/**
 * First start on the embedded chain: deploys a test settlement token (6 decimals, a faucet), the
 * pool, the custody and the ad credit, gives the relayer its roles and settlement to pay orders with, and
 * writes the addresses to the data folder. Later starts read them back.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider, MaxUint256, NonceManager, Wallet } from "ethers";
import { DEFAULT_AD_CREDIT_PARAMETERS, deployAdCredit, deployCustody, deployMockStablecoin, deployPoolContracts } from "./deploy";
import { type Deployments, readDeployments } from "./chain";
import { type AdCredit, AdCredit__factory, type Custody, Custody__factory, type Pool, Pool__factory } from "../../../typechain-types";

const DECIMALS = 6;

export async function ensureLocalDeployment(rpcUrl: string, privateKey: string, file: string): Promise<{ deployments: Deployments; fresh: boolean }> {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const existing = readDeployments(file);
    if (existing && (await provider.getCode(existing.custody)) !== "0x") {
      // A data folder from before the operator's endpoints: the relayer key gets their roles.
      const wallet = new Wallet(privateKey, provider);
      // Its pool predates ad conversions when it has no ad-credit contract: ads stay off there.
      await grantOperatorRoles(
        new NonceManager(wallet),
        Pool__factory.connect(existing.pool, wallet),
        Custody__factory.connect(existing.custody, wallet),
        existing.adCredit ? AdCredit__factory.connect(existing.adCredit, wallet) : null,
        wallet.address,
      );
      return { deployments: existing, fresh: false };
    }
    if (existing) throw new Error(`${file} names contracts the chain does not have: was the chain state lost? Move the data folder away to start afresh.`);
    const signer = new NonceManager(new Wallet(privateKey, provider));
    const admin = await signer.getAddress();
    const unit = 10n ** BigInt(DECIMALS);
    const settlement = await deployMockStablecoin(signer, DECIMALS);
    const { pool, points } = await deployPoolContracts(signer, {
      settlement: await settlement.getAddress(),
      maxIssuance: 100_000_000n * 10n ** 18n,
      parameters: { poolShare: 3_000n, mintShare: 7_000n, exitFee: 2_000n, initialPrice: unit, referralShare1: 1_000n, referralShare2: 500n },
      admin,
    });
    const custody = await deployCustody(signer, pool, { withdrawalFee: 100n, exitMultiple: 0n }, admin);
    await (await custody.grantRole(await custody.RELAYER_ROLE(), admin)).wait();
    const adCredit = await deployAdCredit(signer, pool, custody, DEFAULT_AD_CREDIT_PARAMETERS, admin);
    await (await adCredit.grantRole(await adCredit.RELAYER_ROLE(), admin)).wait();
    await grantOperatorRoles(signer, pool, custody, adCredit, admin);
    await (await settlement.mint(admin, 10n ** 12n * unit)).wait();
    await (await settlement.approve(await pool.getAddress(), MaxUint256)).wait();
    // The operator tops up merchants' ad credit from this wallet (POST /v1/admin/merchants/{id}/ad-credit).
    await (await settlement.approve(await adCredit.getAddress(), MaxUint256)).wait();
    const deployments: Deployments = {
      chainId: (await provider.getNetwork()).chainId.toString(),
      settlement: await settlement.getAddress(),
      settlementDecimals: DECIMALS,
      pool: await pool.getAddress(),
      points: await points.getAddress(),
      custody: await custody.getAddress(),
      adCredit: await adCredit.getAddress(),
      deployedAtBlock: await provider.getBlockNumber(),
    };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(deployments, null, 2) + "\n");
    return { deployments, fresh: true };
  } finally {
    provider.destroy();
  }
}

/** The relayer key sends the operator's changes: parameters on each contract, pause on the pool. */
async function grantOperatorRoles(signer: NonceManager, pool: Pool, custody: Custody, adCredit: AdCredit | null, admin: string): Promise<void> {
  const wanted: [Pool | Custody | AdCredit, string][] = [
    [pool, await pool.PARAMETER_ROLE()],
    [pool, await pool.PAUSER_ROLE()],
    [custody, await custody.PARAMETER_ROLE()],
  ];
  if (adCredit) wanted.push([adCredit, await adCredit.PARAMETER_ROLE()]);
  for (const [contract, role] of wanted) {
    if (!(await contract.hasRole(role, admin))) await (await contract.connect(signer).grantRole(role, admin)).wait();
  }
}
