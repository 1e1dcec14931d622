import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { AdCredit, Custody, GreenPoints, MockStablecoin, Pool } from "../../typechain-types";
import type { IPool } from "../../typechain-types/contracts/pool/Pool";
import { type PoolModelConfig } from "../../models/pool-model";
import {
  type CustodyParameters,
  type PoolParameters,
  deployCustody,
  deployMockStablecoin,
  deployPoolContracts,
} from "../../server/adapters/chain/deploy";
import { type AdCreditParameters, DEFAULT_AD_CREDIT_PARAMETERS, deployAdCredit } from "../../server/modules/ads/deploy";

export const GP = 10n ** 18n;

/** The source defaults: 30% into the pool, 70% of that minted, 20% exit fee. */
export function defaultParameters(decimals: number): PoolParameters {
  return {
    poolShare: 3_000n,
    mintShare: 7_000n,
    exitFee: 2_000n,
    initialPrice: 10n ** BigInt(decimals),
    referralShare1: 0n,
    referralShare2: 0n,
  };
}

export interface PoolFixture {
  pool: Pool;
  points: GreenPoints;
  settlement: MockStablecoin;
  decimals: number;
  unit: bigint;
  admin: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  shops: HardhatEthersSigner[];
  users: HardhatEthersSigner[];
  stranger: HardhatEthersSigner;
  modelConfig: PoolModelConfig;
}

export interface PoolDeployment {
  decimals: number;
  maxIssuance?: bigint;
  parameters?: PoolParameters;
}

/** Deploys a settlement token and a pool, grants the roles, funds and approves the shops. */
export async function deployPool(options: PoolDeployment): Promise<PoolFixture> {
  const { decimals } = options;
  const unit = 10n ** BigInt(decimals);
  const maxIssuance = options.maxIssuance ?? 100_000_000n * GP;
  const parameters = options.parameters ?? defaultParameters(decimals);
  const [admin, relayer, stranger, ...rest] = await ethers.getSigners();
  const shops = rest.slice(0, 3);
  const users = rest.slice(3, 9);

  const settlement = await deployMockStablecoin(admin, decimals);
  const { pool, points } = await deployPoolContracts(admin, {
    settlement: await settlement.getAddress(),
    maxIssuance,
    parameters,
    admin: admin.address,
  });
  await pool.connect(admin).grantRole(await pool.RELAYER_ROLE(), relayer.address);
  await pool.connect(admin).grantRole(await pool.PARAMETER_ROLE(), admin.address);
  await pool.connect(admin).grantRole(await pool.PAUSER_ROLE(), admin.address);

  const funds = 10n ** 15n * unit;
  for (const shop of shops) {
    await settlement.mint(shop.address, funds);
    await settlement.connect(shop).approve(await pool.getAddress(), ethers.MaxUint256);
  }
  await settlement.mint(stranger.address, funds);

  return {
    pool,
    points,
    settlement,
    decimals,
    unit,
    admin,
    relayer,
    shops,
    users,
    stranger,
    modelConfig: { settlementDecimals: decimals, maxIssuance, parameters },
  };
}

export function toContractParameters(p: PoolParameters): IPool.ParametersStruct {
  return { ...p };
}

/** Fixture functions keyed by decimals: `loadFixture` needs the same function object each time. */
export const poolWith6Decimals = () => deployPool({ decimals: 6 });
export const poolWith18Decimals = () => deployPool({ decimals: 18 });

/** A shop's order id as the relayer makes it: 32 bytes from the shop's own string id. */
export function orderId(label: string): string {
  return ethers.id(label);
}

export { orderKey } from "../../server/adapters/chain/order-key";

export interface CustodyFixture extends PoolFixture {
  custody: Custody;
  custodyParameters: CustodyParameters;
}

export interface CustodyDeployment extends PoolDeployment {
  custody?: CustodyParameters;
}

/** A pool with referral shares, and a custody operated by the relayer. */
export async function deployCustodyFixture(options: CustodyDeployment): Promise<CustodyFixture> {
  const parameters = options.parameters ?? { ...defaultParameters(options.decimals), referralShare1: 1_000n, referralShare2: 500n };
  const f = await deployPool({ ...options, parameters });
  const custodyParameters = options.custody ?? { withdrawalFee: 100n, exitMultiple: 0n, referralMode: 0n };
  const custody = await deployCustody(f.admin, f.pool, custodyParameters, f.admin.address);
  await custody.connect(f.admin).grantRole(await custody.RELAYER_ROLE(), f.relayer.address);
  await custody.connect(f.admin).grantRole(await custody.PARAMETER_ROLE(), f.admin.address);
  return { ...f, custody, custodyParameters };
}

export const custodyWith6Decimals = () => deployCustodyFixture({ decimals: 6 });
export const custodyWith18Decimals = () => deployCustodyFixture({ decimals: 18 });

/** An opaque custodial user id, as the relayer derives it. */
export function userId(label: string): string {
  return ethers.id(`user:${label}`);
}

export interface AdCreditFixture extends CustodyFixture {
  adCredit: AdCredit;
  adParameters: AdCreditParameters;
  /** Custodial merchant accounts, flagged at the custody; the stranger funds their credit. */
  merchants: string[];
}

/** A custody fixture with the ad-credit contract, two merchants and the stranger's approval. */
export async function deployAdCreditFixture(options: CustodyDeployment & { ads?: AdCreditParameters }): Promise<AdCreditFixture> {
  const f = await deployCustodyFixture(options);
  const adParameters = options.ads ?? DEFAULT_AD_CREDIT_PARAMETERS;
  const adCredit = await deployAdCredit(f.admin, f.pool, f.custody, adParameters, f.admin.address);
  await adCredit.connect(f.admin).grantRole(await adCredit.RELAYER_ROLE(), f.relayer.address);
  await adCredit.connect(f.admin).grantRole(await adCredit.PARAMETER_ROLE(), f.admin.address);
  const merchants = [userId("ad-merchant-0"), userId("ad-merchant-1")];
  for (const m of merchants) {
    await f.custody.connect(f.relayer).register(m, ethers.ZeroHash);
    await f.custody.connect(f.relayer).setMerchant(m, true);
  }
  await f.settlement.connect(f.stranger).approve(await adCredit.getAddress(), ethers.MaxUint256);
  return { ...f, adCredit, adParameters, merchants };
}

export const adCreditWith6Decimals = () => deployAdCreditFixture({ decimals: 6 });
export const adCreditWith18Decimals = () => deployAdCreditFixture({ decimals: 18 });

/** Exit at 2x, with a cap low enough for the model test to reach, and the ad credit. */
export const systemForModel6 = () =>
  deployAdCreditFixture({
    decimals: 6,
    maxIssuance: 100_000n * GP,
    custody: { withdrawalFee: 100n, exitMultiple: 20_000n, referralMode: 0n },
  });
export const systemForModel18 = () =>
  deployAdCreditFixture({
    decimals: 18,
    maxIssuance: 100_000n * GP,
    custody: { withdrawalFee: 100n, exitMultiple: 20_000n, referralMode: 0n },
  });
