/**
 * Deploys the pool (which creates its GP token) and, for local chains, a mock settlement token.
 * Works with any ethers v6 signer: the in-process Hardhat chain, anvil, or a real EVM chain.
 */
import type { Signer } from "ethers";
import {
  type GreenPoints,
  GreenPoints__factory,
  type MockStablecoin,
  MockStablecoin__factory,
  type Pool,
  Pool__factory,
} from "../../../typechain-types";
import type { PoolParameters } from "../../domain/pool-model";

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
    { poolShare: p.poolShare, mintShare: p.mintShare, exitFee: p.exitFee, initialPrice: p.initialPrice },
    options.admin,
  );
  await pool.waitForDeployment();
  const points = GreenPoints__factory.connect(await pool.points(), deployer);
  return { pool, points };
}

/** A faucet settlement token for local chains; never for a chain where settlement has value. */
export async function deployMockStablecoin(deployer: Signer, decimals: number): Promise<MockStablecoin> {
  const token = await new MockStablecoin__factory(deployer).deploy("Test Dollar", "TUSD", decimals);
  await token.waitForDeployment();
  return token;
}
