/**
 * The operator's chain controls (admin token): the pool's and the custody's parameters, pause and
 * unpause. Each is an operation sent with the relayer's key, which needs the contracts'
 * PARAMETER_ROLE and PAUSER_ROLE (the embedded chain's deployment grants them).
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { planCustodyParameter, planPause, planPoolParameter } from "../services/chain-controls";
import { CUSTODY_PARAMETERS, POOL_PARAMETERS, recordPlanned } from "../services/operations";
import { type RouteHost, defineRoute } from "./route";
import { OperationView } from "./schemas";
import { accepted } from "./operations";
import { insertAuditEntry } from "../adapters/db/audit";
import type { Queryable } from "../adapters/db/db";
import type { PlannedOperation } from "../services/operations";
import { actorOf } from "./callers";
import type { Principal } from "./auth";

/** Records the operation and, in the same transaction, the audit entry naming who asked for it. */
async function recordAudited(
  db: Queryable,
  principal: Principal,
  planned: PlannedOperation,
  action: string,
  subject: string,
  value?: string,
) {
  const op = await recordPlanned(db, planned);
  await insertAuditEntry(db, {
    actor: actorOf(principal),
    action,
    subject,
    operationId: op.id,
    reason: null,
    details: value === undefined ? {} : { value },
  });
  return accepted(op);
}

const BasisPoints = z
  .string()
  .regex(/^\d{1,10}$/, "must be a whole number")
  .meta({ description: "Basis points (1/100 of a percent), or the exit multiple in basis points.", example: "2000" });

export function parameterRoutes(host: RouteHost, deps: { chain: ChainPort }): void {
  const { chain } = deps;

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/pool/parameters/{name}",
    tag: "admin",
    summary: "Change a pool parameter",
    description:
      "Shares and fees in basis points (`poolShare`, `mintShare`, `exitFee`, `referralShare1`, `referralShare2`); `initialPrice` in " +
      "settlement units. The contract refuses values outside its bounds (answered at once, with the bounds).",
    auth: ["admin"],
    idempotency: "optional",
    params: z.object({ name: z.enum(POOL_PARAMETERS) }),
    body: z.object({ value: z.string().min(1).max(64).meta({ example: "2000" }) }).strict(),
    responses: { 202: { description: "Queued.", schema: OperationView } },
    errors: ["CHAIN_REFUSED"],
    prepare: ({ params, body }) => planPoolParameter(chain, params.name, body.value),
    handle: ({ db, prepared, principal, params, body }) =>
      recordAudited(db, principal, prepared, "pool-parameter", `pool:${params.name}`, body.value),
  });

  defineRoute(host, {
    method: "put",
    path: "/v1/admin/custody/parameters/{name}",
    tag: "admin",
    summary: "Change a custody parameter",
    description:
      "`withdrawalFee` in basis points; `exitMultiple` in basis points of an order's amount added to the exit quota (0 turns the exit off).",
    auth: ["admin"],
    idempotency: "optional",
    params: z.object({ name: z.enum(CUSTODY_PARAMETERS) }),
    body: z.object({ value: BasisPoints }).strict(),
    responses: { 202: { description: "Queued.", schema: OperationView } },
    errors: ["CHAIN_REFUSED"],
    prepare: ({ params, body }) => planCustodyParameter(chain, params.name, body.value),
    handle: ({ db, prepared, principal, params, body }) =>
      recordAudited(db, principal, prepared, "custody-parameter", `custody:${params.name}`, body.value),
  });

  for (const action of ["pause", "unpause"] as const) {
    defineRoute(host, {
      method: "post",
      path: `/v1/admin/${action}`,
      tag: "admin",
      summary: action === "pause" ? "Pause the pool" : "Unpause the pool",
      description:
        action === "pause"
          ? "Order mints stop: webhooks are still recorded and wait, answered `received`. Redemptions and custodial moves go on."
          : "Order mints resume; the orders that waited are sent.",
      auth: ["admin"],
      idempotency: "optional",
      responses: { 202: { description: "Queued.", schema: OperationView } },
      errors: ["CHAIN_REFUSED"],
      prepare: () => planPause(chain, action),
      handle: ({ db, prepared, principal }) => recordAudited(db, principal, prepared, action, "pool"),
    });
  }
}
