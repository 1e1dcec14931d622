/**
 * What the relayer's chain and key must be, checked at start. The node must answer the chain id
 * the deployments file names: on another chain its addresses are someone else's contracts, or
 * none. The key must hold every role it sends with (each registered contract's `relayerRoles`:
 * RELAYER_ROLE on the custody, PARAMETER_ROLE on each contract and PAUSER_ROLE on the pool, for
 * the operator's endpoints, and a module's own): without one, the start is refused, naming it. It
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
  const { sender } = chain;
  const chainId = await chain.chainId();
  if (chainId.toString() !== String(chain.deployments.chainId)) {
    throw new Error(
      `the node answers chain id ${chainId}, the deployments file names chain id ${chain.deployments.chainId}: point RPC_URL at the chain it was deployed to, or DEPLOYMENTS_FILE at this chain's`,
    );
  }
  const registered = chain.contracts();
  const missing: string[] = [];
  const excess: string[] = [];
  for (const { label, contract, entry } of registered) {
    if (!entry.relayerRoles) continue;
    const roles = contract as unknown as Roles & Record<string, () => Promise<string>>;
    for (const role of entry.relayerRoles) {
      if (!(await roles.hasRole(await roles[role](), sender))) missing.push(`${role} on the ${label}`);
    }
    if (await roles.hasRole(await roles.DEFAULT_ADMIN_ROLE(), sender)) excess.push(`DEFAULT_ADMIN_ROLE on the ${label}`);
  }
  if (missing.length > 0) {
    throw new Error(`the relayer key ${sender} lacks ${missing.join(", ")}: grant them from the admin key (see docs/security.md)`);
  }
  for (const { label, address, entry } of registered) {
    if (entry.spender && (await chain.settlement.allowance(sender, address)) === MaxUint256)
      excess.push(`an unlimited settlement allowance to the ${label}`);
  }
  if (excess.length > 0) {
    log.warn(
      { relayer: sender, excess },
      `the relayer key holds what it should not: ${excess.join(", ")}. A data folder made before the admin key runs this way; move it away to start afresh with separate keys, or revoke these from the admin.`,
    );
  }
}
