/** Operations as the API answers them: 202 when queued, and their state to poll. */
import { z } from "zod";
import type { OperationRecord } from "../adapters/db/operations";
import { readOperation } from "../services/operation-reads";
import { operationView } from "../services/operations";
import { type Reply, type RouteHost, defineRoute } from "./route";
import { Id, OperationView } from "./schemas";

export const accepted = (op: OperationRecord): Reply => ({ status: 202, body: operationView(op) });

export function operationRoutes(host: RouteHost, deps: { userSalt: string }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/operations/{operationId}",
    tag: "operations",
    summary: "An operation's state",
    auth: ["admin", "user", "merchant"],
    params: z.object({ operationId: Id("The operation.", "op_3f9a1c0d2b4e6f8a0c1d") }),
    responses: { 200: { description: "The operation.", schema: OperationView } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => ({
      status: 200,
      body: await readOperation(db, deps.userSalt, principal, params.operationId),
    }),
  });
}
