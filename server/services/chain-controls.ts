/**
 * The operator's chain controls as operations: the pool's and the custody's parameters, pause and
 * unpause, each planned (encoded and run on the pending state) to be recorded by the caller.
 */
import type { ChainPort } from "../adapters/chain/chain";
import { parseAmount } from "../domain/amounts";
import { CUSTODY_PARAMETERS, POOL_PARAMETERS, type PlannedOperation, planCall } from "./operations";

export type PoolParameter = (typeof POOL_PARAMETERS)[number];
export type CustodyParameter = (typeof CUSTODY_PARAMETERS)[number];

/** A change of a pool parameter: basis points as whole numbers, the initial price in settlement units. */
export function planPoolParameter(chain: ChainPort, name: PoolParameter, asGiven: string): Promise<PlannedOperation> {
  const value = parseAmount(asGiven, name === "initialPrice" ? chain.deployments.settlementDecimals : 0, "value");
  return planCall(chain, {
    kind: "pool-parameter",
    actor: "admin",
    target: "pool",
    fn: "setParameter",
    args: [POOL_PARAMETERS.indexOf(name), value],
    details: { name, value: value.toString(), asGiven },
  });
}

/** A change of a custody parameter, in basis points (a whole number, checked by the route's schema). */
export function planCustodyParameter(chain: ChainPort, name: CustodyParameter, value: string): Promise<PlannedOperation> {
  return planCall(chain, {
    kind: "custody-parameter",
    actor: "admin",
    target: "custody",
    fn: "setParameter",
    args: [CUSTODY_PARAMETERS.indexOf(name), BigInt(value)],
    details: { name, value },
  });
}

/** Pausing or unpausing the pool's order mints. */
export function planPause(chain: ChainPort, action: "pause" | "unpause"): Promise<PlannedOperation> {
  return planCall(chain, { kind: action, actor: "admin", target: "pool", fn: action, args: [], details: {} });
}
