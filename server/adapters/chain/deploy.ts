/**
 * Deploys the pool (which creates its GP token) and, for local chains, a mock settlement token.
 * Works with any ethers v6 signer: the in-process Hardhat chain, anvil, or a real EVM chain.
 */
import type { Signer } from "ethers";
import {
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
  /** `ICustody.ReferralMode`: 0 a share of every order of a referee, 1 only of its first order. */
  referralMode: bigint;
}

/** `ICustody.ReferralMode`'s ordinals. */
export const REFERRAL_MODES = ["perOrder", "firstOrder"] as const;
export type ReferralModeName = (typeof REFERRAL_MODES)[number];

/**
 * Deploys the custody contract for `pool` and gives it the pool's relayer role, which it needs
 * to record custodial orders. `deployer` must hold the pool's admin role.
 */
export async function deployCustody(deployer: Signer, pool: Pool, parameters: CustodyParameters, admin: string): Promise<Custody> {
  const custody = await new Custody__factory(deployer).deploy(await pool.getAddress(), { ...parameters }, admin);
  await custody.waitForDeployment();
  await (await pool.connect(deployer).grantRole(await pool.RELAYER_ROLE(), await custody.getAddress())).wait();
  return custody;
}

/** A faucet settlement token for local chains; never for a chain where settlement has value. */
export async function deployMockStablecoin(deployer: Signer, decimals: number): Promise<MockStablecoin> {
  const token = await new MockStablecoin__factory(deployer).deploy("Test Dollar", "TUSD", decimals);
  await token.waitForDeployment();
  return token;
}
