/**
 * The operator's grants and removals of users' GP, and the audit log that records them (admin
 * token only).
 *
 * Who may call: the admin token alone; a shop's secret, a merchant's key or a user's session is
 * refused (401/403). The worst such caller (the admin token, stolen) can grant only what the
 * relayer's float pays for (each GP backed, at most the float per grant) and burn users' GP; each
 * one leaves an audit entry with its reason, written with the operation, that the API cannot
 * change or delete.
 */
import { z } from "zod";
import { listAuditEntries, type AuditEntry } from "../adapters/db/audit";
import type { Queryable } from "../adapters/db/db";
import { loginsOf } from "../adapters/db/staff";
import type { ChainPort } from "../adapters/chain/chain";
import { csvCell } from "../services/statements";
import { type GrantDeps, type PlannedAdjustment, planGrant, planRemoval, recordAdjustment } from "../services/grants";
import { type SettlementFloat, operationView } from "../services/operations";
import type { Principal } from "./auth";
import { actorOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";
import { Amount, Id, OperationView } from "./schemas";

const Reason = z
  .string()
  .trim()
  .min(1, "a reason is required")
  .max(500)
  .meta({ description: "Why (fraud, a correction, a goodwill gesture): kept in the audit log.", example: "refund of order 1042" });

const AdjustmentView = (preview: z.ZodObject) =>
  OperationView.extend({ preview }).meta({ description: "The operation queued (poll it until confirmed or rejected), and its preview." });

const GrantPreview = z.object({
  points: z.string().meta({ description: "GP the grant mints at the pool's price now (previewContribution).", example: "14.7" }),
  price: z.string().meta({ description: "The pool's price now, settlement units per GP.", example: "1.428571428571428571" }),
});
const RemovalPreview = z.object({ held: z.string().meta({ description: "GP the account held in custody when asked.", example: "21" }) });

const AuditEntryView = z
  .object({
    seq: z.string().meta({ description: "The entry's place in the log." }),
    at: z.string(),
    actor: z
      .string()
      .meta({
        description: "Who did it: `operator:<staffId>` (an operator's session), `admin-token`, or `merchant:<merchantId>:<keyId>`.",
        example: "operator:stf_0a1b2c3d4e5f",
      }),
    actorLogin: z
      .string()
      .nullable()
      .meta({
        description: "The login of the operator or merchant staff account named by `actor`; null for a token or an API key.",
        example: "operator",
      }),
    action: z.string().meta({ example: "grant" }),
    subject: z.string().nullable().meta({ example: "user:alice" }),
    operationId: z.string().nullable(),
    reason: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).meta({ description: "The request as given, and what the answer showed." }),
  })
  .meta({ id: "AuditEntry" });

/** The staff account an actor names (`operator:<staffId>`, `merchant:<merchantId>:staff:<staffId>`), if any. */
const staffIdOfActor = (actor: string): string | null =>
  /^operator:(.+)$/.exec(actor)?.[1] ?? /^merchant:[^:]+:staff:(.+)$/.exec(actor)?.[1] ?? null;

/** Each entry's actor's login, read in one query. */
async function actorLogins(db: Queryable, entries: readonly AuditEntry[]): Promise<Map<string, string>> {
  return loginsOf(
    db,
    entries.map((e) => staffIdOfActor(e.actor)).filter((id): id is string => id !== null),
  );
}

const auditView = (e: AuditEntry, logins: ReadonlyMap<string, string>) => ({
  seq: e.seq.toString(),
  at: e.createdAt.toISOString(),
  actor: e.actor,
  actorLogin: logins.get(staffIdOfActor(e.actor) ?? "") ?? null,
  action: e.action,
  subject: e.subject,
  operationId: e.operationId,
  reason: e.reason,
  details: e.details,
});

const CSV_COLUMNS = ["seq", "at", "actor", "actorLogin", "action", "subject", "operationId", "reason", "details"] as const;

/** The entries as CSV: a header line, then one per entry (details as JSON), CRLF-terminated. */
export function auditCsv(entries: readonly AuditEntry[], logins: ReadonlyMap<string, string>): string {
  const cells = (e: AuditEntry) => {
    const v = auditView(e, logins);
    return CSV_COLUMNS.map((c) => csvCell(c === "details" ? JSON.stringify(v.details) : (v[c] ?? ""))).join(",");
  };
  return [CSV_COLUMNS.join(","), ...entries.map(cells)].join("\r\n") + "\r\n";
}

export function grantRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string; settlement: SettlementFloat | null }): void {
  const grants: GrantDeps = deps;
  const userParams = z.object({ userId: Id("The user.", "alice") });
  const reply = async (db: Parameters<typeof recordAdjustment>[0], p: PlannedAdjustment, principal: Principal) => ({
    status: 202,
    body: { ...operationView(await recordAdjustment(db, grants, p, actorOf(principal))), preview: p.preview },
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/users/{userId}/grants",
    tag: "admin",
    summary: "Grant a user GP, backed by a contribution from the operator's wallet",
    description:
      "The relayer's key pays `contribution` (settlement units) from its float into the pool and the GP are minted to the user's " +
      "custodial account at the current price exactly as an order of that contribution mints to its buyer: no GP without settlement " +
      "in. No referral credit, no exit quota. At most the float per grant (refilled from the treasury first when short). The answer " +
      "previews the GP at the price now; the operation's `Granted` event has the GP minted. Written to the audit log with the reason.",
    auth: ["admin"],
    idempotency: "required",
    params: userParams,
    body: z.object({ contribution: Amount("Settlement units paid into the pool.", "10.00"), reason: Reason }).strict(),
    responses: { 202: { description: "Queued.", schema: AdjustmentView(GrantPreview) } },
    errors: ["NOT_FOUND", "AMOUNT_OUT_OF_RANGE", "CHAIN_REFUSED", "INSUFFICIENT_BALANCE"],
    prepare: ({ params, body, db }) => planGrant(db, grants, { userId: params.userId, ...body }),
    handle: ({ db, prepared, principal }) => reply(db, prepared, principal),
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/users/{userId}/removals",
    tag: "admin",
    summary: "Remove GP from a user's custodial account",
    description:
      "Retires `points` GP of the user's custodial account at the pool: burned without payout (paid to no one, the operator " +
      "included), so the price rises for every holder. GP credited by others (grants among them) leave first; the exit quota is " +
      "kept. Refused with INSUFFICIENT_POINTS when the account holds fewer. Written to the audit log with the reason.",
    auth: ["admin"],
    idempotency: "required",
    params: userParams,
    body: z.object({ points: Amount("GP to remove.", "5"), reason: Reason }).strict(),
    responses: { 202: { description: "Queued.", schema: AdjustmentView(RemovalPreview) } },
    errors: ["NOT_FOUND", "INSUFFICIENT_POINTS", "AMOUNT_OUT_OF_RANGE", "CHAIN_REFUSED"],
    prepare: ({ params, body, db }) => planRemoval(db, grants, { userId: params.userId, ...body }),
    handle: ({ db, prepared, principal }) => reply(db, prepared, principal),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/audit",
    tag: "admin",
    summary: "The audit log of operator actions",
    description:
      "Newest first: who, when, what (`action`), to whom (`subject`), why (`reason`), the operation it queued and the request's " +
      "details. `nextCursor` (also the `X-Next-Cursor` header) reads the next, older page. `format=csv` answers the page as text/csv.",
    auth: ["admin"],
    query: z.object({
      cursor: z
        .string()
        .regex(/^[1-9]\d{0,18}$/, "must be a cursor this endpoint answered")
        .optional(),
      action: z.string().min(1).max(64).optional().meta({ example: "grant" }),
      subject: z.string().min(1).max(300).optional().meta({ example: "user:alice" }),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      format: z.enum(["json", "csv"]).default("json"),
    }),
    responses: {
      200: {
        description: "A page of the log.",
        schema: z.object({ entries: z.array(AuditEntryView), nextCursor: z.string().nullable() }),
        also: { "text/csv": z.string().meta({ description: "With `format=csv`: a header line, then one line per entry." }) },
      },
    },
    handle: async ({ query, db }) => {
      const rows = await listAuditEntries(db, {
        before: query.cursor ? BigInt(query.cursor) : undefined,
        action: query.action,
        subject: query.subject,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? page[page.length - 1].seq.toString() : null;
      const headers: Record<string, string> = nextCursor ? { "X-Next-Cursor": nextCursor } : {};
      const logins = await actorLogins(db, page);
      if (query.format === "csv") {
        return {
          status: 200,
          body: auditCsv(page, logins),
          contentType: "text/csv; charset=utf-8",
          headers: { ...headers, "Content-Disposition": 'attachment; filename="audit.csv"' },
        };
      }
      return { status: 200, body: { entries: page.map((e) => auditView(e, logins)), nextCursor }, headers };
    },
  });
}
