/** An operation as its readers see it: the operator, the user or merchant who asked, and the merchant it paid. */
import { merchantAccountId } from "../adapters/chain/ids";
import type { Queryable } from "../adapters/db/db";
import { type OperationRecord, findOperation } from "../adapters/db/operations";
import { AppError } from "../errors";
import { operationView } from "./operations";

/** Who reads (the API's authenticated callers have this shape); any other kind reads nothing. */
export type Reader = { kind: "admin" } | { kind: "user"; userId: string } | { kind: "merchant"; merchantId: string } | { kind: string };

function mayRead(userSalt: string, r: Reader, op: OperationRecord): boolean {
  if (r.kind === "admin") return true;
  if ("userId" in r && r.kind === "user") return op.actor === `user:${r.userId}`;
  if ("merchantId" in r && r.kind === "merchant")
    return op.actor === `merchant:${r.merchantId}` || op.counterparty === merchantAccountId(userSalt, r.merchantId);
  return false;
}

/** The operation, if the reader may read it; NOT_FOUND alike for one that does not exist and one it may not read. */
export async function readOperation(db: Queryable, userSalt: string, reader: Reader, operationId: string) {
  const op = await findOperation(db, operationId);
  if (!op || !mayRead(userSalt, reader, op)) throw new AppError("NOT_FOUND", `no operation ${operationId}`);
  return operationView(op);
}
