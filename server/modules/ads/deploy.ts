/**
 * Deploys the ad-credit contract: in tests and the bench against their own core contracts, and on
 * the embedded chain's first start through the module's deployment hook.
 */
import type { Signer } from "ethers";
import type { ModuleDeployment } from "../../adapters/chain/local-deployment";
import { type AdCredit, AdCredit__factory, type Custody, type Pool } from "../../../typechain-types";
import { adCreditContract } from "./contract";

export interface AdCreditParameters {
  /** Basis points of a sale that back its ad vouchers (source default 15%). */
  adShare: bigint;
  /** Seconds between a merchant's withdrawal request and when it can be carried out. */
  noticePeriod: bigint;
}

/** The source default: 15% of a sale backs its vouchers; a week's notice to withdraw credit. */
export const DEFAULT_AD_CREDIT_PARAMETERS: AdCreditParameters = { adShare: 1_500n, noticePeriod: 7n * 24n * 3600n };

/**
 * Deploys the ad-credit contract for `custody` and gives it the pool's relayer role, which it
 * needs to pay conversions in as contributions. `deployer` must hold the pool's admin role.
 */
export async function deployAdCredit(
  deployer: Signer,
  pool: Pool,
  custody: Custody,
  parameters: AdCreditParameters,
  admin: string,
): Promise<AdCredit> {
  const adCredit = await new AdCredit__factory(deployer).deploy(await custody.getAddress(), { ...parameters }, admin);
  await adCredit.waitForDeployment();
  await (await pool.connect(deployer).grantRole(await pool.RELAYER_ROLE(), await adCredit.getAddress())).wait();
  return adCredit;
}

/** The embedded chain's ad credit: the source defaults, administered by the core's admin. */
export const adsDeployment: ModuleDeployment = {
  contracts: [adCreditContract],
  deploy: async ({ pool, custody, admin }, signer) => {
    const adCredit = await deployAdCredit(signer, pool, custody, DEFAULT_AD_CREDIT_PARAMETERS, admin);
    return { [adCreditContract.name]: await adCredit.getAddress() };
  },
};
