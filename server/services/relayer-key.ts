/**
 * What the relayer's key may hold, checked at start. It must hold every role it sends with
 * (RELAYER_ROLE on the custody and the ad credit; PARAMETER_ROLE on each contract and PAUSER_ROLE
 * on the pool, for the operator's endpoints): without one, the start is refused, naming it. It
 * should hold nothing more: DEFAULT_ADMIN_ROLE (which grants roles and sweeps the pool's
 * surplus) or an unlimited settlement allowance is logged as a warning naming them, since a data
 * folder made before the admin key had its own key still runs that way.
 */
import { MaxUint256 } from "ethers";
import type { Logger } from "pino";
import type { ChainPort } from "../adapters/chain/chain";

interface Roles {
  hasRole(role: string, account: string): Promise<boolean>;
  DEFAULT_ADMIN_ROLE(): Promise<string>;
}

export async function checkRelayerKey(chain: ChainPort, log: Logger): Promise<void> {
  const { pool, custody, adCredit, sender, deployments } = chain;
  const contracts: [string, Roles, string[]][] = [
    ["pool", pool, ["PARAMETER_ROLE", "PAUSER_ROLE"]],
    ["custody", custody, ["RELAYER_ROLE", "PARAMETER_ROLE"]],
    ...(adCredit ? [["ad credit", adCredit, ["RELAYER_ROLE", "PARAMETER_ROLE"]] as [string, Roles, string[]]] : []),
  ];
  const missing: string[] = [];
  const excess: string[] = [];
  for (const [name, contract, needed] of contracts) {
    for (const role of needed) {
      const id = await (contract as unknown as Record<string, () => Promise<string>>)[role]();
      if (!(await contract.hasRole(id, sender))) missing.push(`${role} on the ${name}`);
    }
    if (await contract.hasRole(await contract.DEFAULT_ADMIN_ROLE(), sender)) excess.push(`DEFAULT_ADMIN_ROLE on the ${name}`);
  }
  if (missing.length > 0) {
    throw new Error(`the relayer key ${sender} lacks ${missing.join(", ")}: grant them from the admin key (see docs/security.md)`);
  }
  for (const [name, spender] of [
    ["pool", deployments.pool],
    ["ad credit", deployments.adCredit],
  ] as const) {
    if (spender && (await chain.settlement.allowance(sender, spender)) === MaxUint256)
      excess.push(`an unlimited settlement allowance to the ${name}`);
  }
  if (excess.length > 0) {
    log.warn(
      { relayer: sender, excess },
      `the relayer key holds what it should not: ${excess.join(", ")}. A data folder made before the admin key runs this way; move it away to start afresh with separate keys, or revoke these from the admin.`,
    );
  }
}
