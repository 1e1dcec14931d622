import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { GreenPoints, MockStablecoin, Pool } from "../../typechain-types";
import type { IPool } from "../../typechain-types/contracts/pool/Pool";
import { type PoolModelConfig, type PoolParameters } from "../../server/domain/pool-model";
import { deployMockStablecoin, deployPoolContracts } from "../../server/adapters/chain/deploy";

export const GP = 10n ** 18n;

/** The source defaults: 30% into the pool, 70% of that minted, 20% exit fee. */
export function defaultParameters(decimals: number): PoolParameters {
  return { poolShare: 3_000n, mintShare: 7_000n, exitFee: 2_000n, initialPrice: 10n ** BigInt(decimals) };
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
  return { poolShare: p.poolShare, mintShare: p.mintShare, exitFee: p.exitFee, initialPrice: p.initialPrice };
}

/** Fixture functions keyed by decimals: `loadFixture` needs the same function object each time. */
export const poolWith6Decimals = () => deployPool({ decimals: 6 });
export const poolWith18Decimals = () => deployPool({ decimals: 18 });

/** A shop's order id as the relayer makes it: 32 bytes from the shop's own string id. */
export function orderId(label: string): string {
  return ethers.id(label);
}

export { orderKey } from "../../server/adapters/chain/order-key";
