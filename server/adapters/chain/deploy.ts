/**
 * Deploys the pool (which creates its GP token) and, for local chains, a mock settlement token.
 * Works with any ethers v6 signer: the in-process Hardhat chain, anvil, or a real EVM chain.
 */
import type { Signer } from "ethers";
import {
  type AdCredit,
  AdCredit__factory,
  type Custody,
  Custody__factory,
  type GreenPoints,
  GreenPoints__factory,
  type MockStablecoin,
  MockStablecoin__factory,
  type Pool,
  Pool__factory,
} from "../../../typechain-types";

/** The pool constructor's `IPool.Parameters`, in basis points except `initialPrice`. */
export interface PoolParameters {
  poolShare: bigint;
  mintShare: bigint;
  exitFee: bigint;
  /** Settlement base units per whole GP while no GP exist. */
  initialPrice: bigint;
  /** Shares of the contribution minted to the first and second referral level (pooled orders). */
  referralShare1: bigint;
  referralShare2: bigint;
}

export interface PoolDeploymentOptions {
  /** Address of the settlement token (6 or 18 decimals). */
  settlement: string;
  /** GP base units that can ever be minted. */
  maxIssuance: bigint;
  parameters: PoolParameters;
  /** Receives DEFAULT_ADMIN_ROLE. */
  admin: string;
  pointsName?: string;
  pointsSymbol?: string;
}

export interface PoolContracts {
  pool: Pool;
  points: GreenPoints;
}

export async function deployPoolContracts(deployer: Signer, options: PoolDeploymentOptions): Promise<PoolContracts> {
  const p = options.parameters;
  const pool = await new Pool__factory(deployer).deploy(
    options.settlement,
    options.pointsName ?? "Green Points",
    options.pointsSymbol ?? "GP",
    options.maxIssuance,
    { ...p },
    options.admin,
  );
  await pool.waitForDeployment();
  const points = GreenPoints__factory.connect(await pool.points(), deployer);
  return { pool, points };
}

export interface CustodyParameters {
  /** Basis points of GP withdrawn to an original account, retired at the pool. */
  withdrawalFee: bigint;
  /** Basis points of an order's amount added to the buyer's exit quota; 0 turns the exit off. */
  exitMultiple: bigint;
}

/**
 * Deploys the custody contract for `pool` and gives it the pool's relayer role, which it needs
 * to record custodial orders. `deployer` must hold the pool's admin role.
 */
export async function deployCustody(
  deployer: Signer,
  pool: Pool,
  parameters: CustodyParameters,
  admin: string,
): Promise<Custody> {
  const custody = await new Custody__factory(deployer).deploy(await pool.getAddress(), { ...parameters }, admin);
  await custody.waitForDeployment();
  await (await pool.connect(deployer).grantRole(await pool.RELAYER_ROLE(), await custody.getAddress())).wait();
  return custody;
}

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
export async function deployAdCredit(deployer: Signer, pool: Pool, custody: Custody, parameters: AdCreditParameters, admin: string): Promise<AdCredit> {
  const adCredit = await new AdCredit__factory(deployer).deploy(await custody.getAddress(), { ...parameters }, admin);
  await adCredit.waitForDeployment();
  await (await pool.connect(deployer).grantRole(await pool.RELAYER_ROLE(), await adCredit.getAddress())).wait();
  return adCredit;
}

/** A faucet settlement token for local chains; never for a chain where settlement has value. */
export async function deployMockStablecoin(deployer: Signer, decimals: number): Promise<MockStablecoin> {
  const token = await new MockStablecoin__factory(deployer).deploy("Test Dollar", "TUSD", decimals);
  await token.waitForDeployment();
  return token;
}
