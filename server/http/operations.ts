/** Operations as the API answers them: 202 when queued, and their state to poll. */
import { z } from "zod";
import { merchantAccountId } from "../adapters/chain/ids";
import { type OperationRecord, findOperation } from "../adapters/db/operations";
import { AppError } from "../errors";
import { operationView } from "../services/operations";
import type { Principal } from "./auth";
import { type Reply, type RouteHost, defineRoute } from "./route";
import { Id, OperationView } from "./schemas";

export const accepted = (op: OperationRecord): Reply => ({ status: 202, body: operationView(op) });

export function operationRoutes(host: RouteHost, deps: { userSalt: string }): void {
  /** The operator, the user or merchant who asked, and the merchant it paid may read it. */
  const mayRead = (p: Principal, op: OperationRecord) =>
    p.kind === "admin" ||
    (p.kind === "user" && op.actor === `user:${p.userId}`) ||
    (p.kind === "merchant" &&
      (op.actor === `merchant:${p.merchantId}` || op.counterparty === merchantAccountId(deps.userSalt, p.merchantId)));

  defineRoute(host, {
    method: "get",
    path: "/v1/operations/{operationId}",
    tag: "operations",
    summary: "An operation's state",
    auth: ["admin", "user", "merchant"],
    params: z.object({ operationId: Id("The operation.", "op_3f9a1c0d2b4e6f8a0c1d") }),
    responses: { 200: { description: "The operation.", schema: OperationView } },
    errors: ["NOT_FOUND"],
    handle: async ({ params, principal, db }) => {
      const op = await findOperation(db, params.operationId);
      if (!op || !mayRead(principal, op)) throw new AppError("NOT_FOUND", `no operation ${params.operationId}`);
      return { status: 200, body: operationView(op) };
    },
  });
}
