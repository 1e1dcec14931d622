/**
 * One definition per endpoint serves both the request validation and the OpenAPI document, so
 * the two cannot drift: `defineRoute` registers the path with zod-to-openapi and mounts an
 * Express handler that parses params, query and body with the same zod schemas, authenticates
 * (or, for a signed request, verifies the signature over the raw body first), and runs a mutation
 * under its `Idempotency-Key` (docs/idempotency.md). Each route parses its own body, so the order
 * routes are mounted in does not matter.
 */
import { createHash } from "node:crypto";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { IncomingHttpHeaders } from "node:http";
import express, { type Request, type RequestHandler, type Router } from "express";
import { z } from "zod";
import type { Db, Queryable } from "../adapters/db/db";
import { storedReply, withIdempotency } from "../adapters/db/idempotency";
import { AppError, parseJsonBody, validationError } from "../errors";
import { type Principal, type PrincipalKind, principalScope } from "./auth";
import { STATUS_OF } from "./status";
import { tokenHash } from "../services/credentials";
import { clearSessionCookies, setSessionCookies, wantsCookieSession } from "./cookies";

const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ example: "VALIDATION_FAILED" }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: "Error", description: "Every refusal: a stable code, a message for people, and the values that were wrong." });

export interface Reply {
  status: number;
  body: unknown;
  /** Sent as this type (a string body) instead of JSON. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B, S = undefined> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** What the signature check of a signed route verified (the shop, the network); undefined otherwise. */
  signer: S;
  /** The client's address: the socket's, or X-Forwarded-For's through the proxies GP_TRUST_PROXY names. */
  ip: string;
  /** Which of `types` the request's Accept header prefers (the first of them when it names none), false when it takes none. */
  accepts(types: string[]): string | false;
}

/** A signed request as it arrived: the exact bytes the signature covers. */
export interface SignedInput {
  params: Record<string, string>;
  /** A header's value as sent once; undefined when absent or repeated. */
  header(name: string): string | undefined;
  rawBody: Buffer;
}

export interface SignedSpec<S> {
  /** The signature headers, for the document. */
  headers: z.ZodObject;
  /** The codes a refused signature answers with, for the document. */
  errors: readonly (keyof typeof STATUS_OF)[];
  /** Turns the headers and raw body into who signed, or throws the refusal; runs before the body is parsed. */
  verify(request: SignedInput): Promise<S>;
}

/**
 * `"required"`: refused without an `Idempotency-Key` (calls where a retry without one could move
 * value twice); `"optional"`: honoured when present, and without one the work runs once in its own
 * transaction.
 */
export type Idempotency = "optional" | "required";

export interface RouteContext<P, Q, B, X, S = undefined> extends RouteInput<P, Q, B, S> {
  /** The database to write through: inside the idempotency transaction when the route has one. */
  db: Queryable;
  /** What `prepare` made. */
  prepared: X;
}

export interface RouteSpec<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, X = undefined, S = undefined> {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI style, `/v1/shops/{shopId}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Who may call; empty for a public endpoint. */
  auth: readonly PrincipalKind[];
  params?: P;
  query?: Q;
  body?: B;
  /** Mutations take an `Idempotency-Key` header and replay its first answer (docs/idempotency.md). */
  idempotency?: Idempotency;
  /** A server-to-server request signed over its raw body instead of a bearer token (`auth` is then empty). */
  signed?: SignedSpec<S>;
  /**
   * The user's payment password, checked before anything runs: `true` for value-moving calls;
   * `"when-set"` asks for it only once the user has one (setting the first one).
   */
  paymentPassword?: true | "when-set";
  /**
   * `"start"`: the answer is a new session (`token`, `expiresAt`), which a page that sent
   * `X-GP-Session: cookie` gets as cookies instead of in the body; `"end"`: a cookie session's
   * cookies are cleared (http/cookies.ts).
   */
  session?: "start" | "end";
  /**
   * Merchant staff sessions (role `staff`) are refused with FORBIDDEN before anything runs: moving
   * value out (withdrawals) and managing keys or staff are the owner's (an owner's session or an API key).
   */
  ownerOnly?: true;
  /** A rate limiter run before authentication (login, password checks). */
  limiter?: RequestHandler;
  /** Each answer's JSON schema, and the other content types it may be sent as (`text/csv`); no schema: no body (204). */
  responses: Record<number, { description: string; schema?: z.ZodType; also?: Record<string, z.ZodType> }>;
  /** The error codes this endpoint can answer with, for the document. */
  errors?: readonly (keyof typeof STATUS_OF)[];
  /**
   * Slow work that needs no transaction (password hashing, chain simulations), done before the
   * idempotency transaction opens, so that other requests (on PGlite's one connection, all of
   * them) do not wait behind it; skipped when the request replays a stored answer.
   */
  prepare?(input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>, S> & { db: Queryable }): Promise<X>;
  handle(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>, X, S>): Promise<Reply>;
}

export interface RouteHost {
  router: Router;
  registry: OpenAPIRegistry;
  db: Db;
  authenticate(req: Request, accepted: readonly PrincipalKind[], params: Record<string, string>): Promise<Principal>;
  /** The deployment's key of the pages' CSRF tokens (http/cookies.ts). */
  csrfKey: string;
  /** Checks the payment password of a user principal; failures are committed even though the request fails. */
  checkPaymentPassword(principal: Principal, password: string | undefined, options: { required: boolean }): Promise<void>;
}

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "Idempotency-Key must be 1 to 255 visible ASCII characters")
  .meta({ description: "A key the client makes per intended change; the same key replays the first answer (docs/idempotency.md)." });

const IdempotencyHeaders = {
  required: z.object({ "idempotency-key": IdempotencyKey }),
  optional: z.object({ "idempotency-key": IdempotencyKey.optional() }),
} as const;

const PaymentPassword = z
  .string()
  .min(1)
  .max(256)
  .meta({ description: "The user's payment password (a header, so it is kept out of bodies and idempotency fingerprints)." });

const PaymentPasswordHeaders = z.object({ "x-gp-payment-password": PaymentPassword.optional() });

/** The documented headers of a route: what the server refuses to run without is required. */
function documentedHeaders(spec: {
  auth: readonly PrincipalKind[];
  path: string;
  idempotency?: Idempotency;
  paymentPassword?: true | "when-set";
  signed?: { headers: z.ZodObject };
}) {
  const shape: Record<string, z.ZodType> = { ...spec.signed?.headers.shape };
  if (spec.auth.includes("shop") && !spec.path.includes("{shopId}")) {
    const shop = z.string().meta({ description: "The calling shop's id; needed when the bearer token is its webhook secret." });
    shape["x-gp-shop"] = spec.auth.length === 1 ? shop : shop.optional();
  }
  if (spec.idempotency) shape["idempotency-key"] = IdempotencyHeaders[spec.idempotency].shape["idempotency-key"];
  if (spec.paymentPassword) {
    shape["x-gp-payment-password"] =
      spec.paymentPassword === true
        ? PaymentPassword
        : PaymentPassword.optional().meta({ description: "The user's current payment password, once one is set." });
  }
  return Object.keys(shape).length > 0 ? z.object(shape) : undefined;
}

const jsonBody = express.json({ limit: "64kb", strict: true });
/** A signed request's exact bytes, whatever its content type: the signature is checked over them. */
const rawBody = express.raw({ type: () => true, limit: "16kb" });

const singleHeader = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
};

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw validationError(parsed.error, where);
  return parsed.data;
}

export function defineRoute<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, X = undefined, S = undefined>(
  host: RouteHost,
  spec: RouteSpec<P, Q, B, X, S>,
): void {
  // Any route answers UNAVAILABLE while the database or the chain node does not answer (error-handler.ts).
  const codes = new Set<keyof typeof STATUS_OF>([
    "VALIDATION_FAILED",
    "INTERNAL",
    "UNAVAILABLE",
    ...(spec.signed?.errors ?? []),
    ...(spec.errors ?? []),
  ]);
  if (spec.auth.length > 0) codes.add("UNAUTHORIZED");
  // A page's cookie session (a user's or a staff member's) must echo its CSRF token on any call but a GET (http/cookies.ts).
  if (spec.auth.some((kind) => kind !== "shop") && spec.method !== "get") codes.add("CSRF_REFUSED");
  if (spec.ownerOnly) codes.add("FORBIDDEN");
  if (spec.body) codes.add("INVALID_JSON");
  if (spec.idempotency) codes.add("IDEMPOTENCY_CONFLICT");
  if (spec.paymentPassword)
    for (const code of ["BAD_CREDENTIALS", "PASSWORD_LOCKED", "FORBIDDEN", "RATE_LIMITED"] as const) codes.add(code);
  if (spec.limiter) codes.add("RATE_LIMITED");
  const errorResponses: Record<number, { description: string; content: Record<string, { schema: z.ZodType }> }> = {};
  for (const code of codes) {
    const status = STATUS_OF[code];
    const entry = (errorResponses[status] ??= { description: "", content: { "application/json": { schema: ErrorBody } } });
    entry.description = entry.description ? `${entry.description}, ${code}` : code;
  }
  const responses: Record<number, unknown> = { ...errorResponses };
  for (const [status, r] of Object.entries(spec.responses)) {
    const content: Record<string, { schema: z.ZodType }> = r.schema ? { "application/json": { schema: r.schema } } : {};
    for (const [type, schema] of Object.entries(r.also ?? {})) content[type] = { schema };
    responses[Number(status)] = r.schema || r.also ? { description: r.description, content } : { description: r.description };
  }
  host.registry.registerPath({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    description: spec.description,
    tags: [spec.tag],
    security: spec.auth.length > 0 ? spec.auth.map((kind) => ({ [kind]: [] })) : [],
    request: {
      params: spec.params,
      query: spec.query,
      headers: documentedHeaders(spec),
      body: spec.body ? { content: { "application/json": { schema: spec.body } }, required: true } : undefined,
    },
    responses: responses as never,
  });

  const expressPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
  const handlers: RequestHandler[] = [spec.signed ? rawBody : jsonBody, ...(spec.limiter ? [spec.limiter] : [])];
  host.router[spec.method](expressPath, ...handlers, async (req, res) => {
    const rawParams = req.params as Record<string, string>;
    const principal = await host.authenticate(req, spec.auth, rawParams);
    if (spec.ownerOnly && principal.kind === "merchant" && principal.role !== "owner")
      throw new AppError(
        "FORBIDDEN",
        `the role ${principal.role} may not do this: withdrawals and managing keys and staff are the merchant owner's`,
        { role: principal.role },
      );
    // A signed request is verified over its exact bytes before anything in it is read.
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signer = spec.signed
      ? await spec.signed.verify({ params: rawParams, header: (name) => singleHeader(req.headers, name), rawBody: bytes })
      : (undefined as S);
    const params = parse(spec.params, rawParams, "params");
    const query = parse(spec.query, req.query, "query");
    const body = spec.signed && spec.body ? parseJsonBody(bytes, spec.body) : parse(spec.body, req.body, "body");
    if (spec.paymentPassword) {
      const password = parse(PaymentPasswordHeaders, req.headers, "headers")["x-gp-payment-password"];
      await host.checkPaymentPassword(principal, password, { required: spec.paymentPassword === true });
    }
    const input = { params, query, body, principal, signer, ip: req.ip ?? "unknown", accepts: (types: string[]) => req.accepts(types) };
    const prepare = async () => (spec.prepare ? spec.prepare({ ...input, db: host.db }) : undefined) as Promise<X>;
    const key = spec.idempotency ? parse(IdempotencyHeaders[spec.idempotency], req.headers, "headers")["idempotency-key"] : undefined;
    let reply: Reply;
    if (key !== undefined) {
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([spec.method, req.originalUrl, body ?? null]))
        .digest("hex");
      const request = { scope: principalScope(principal), key, fingerprint };
      // A replay skips the slow work; a route without any answers from inside the transaction alone.
      const stored = spec.prepare ? await storedReply(host.db, request) : null;
      if (stored) reply = stored;
      else {
        const prepared = await prepare();
        reply = await withIdempotency(host.db, request, (db) => spec.handle({ ...input, db, prepared }));
      }
    } else if (spec.idempotency) {
      // No key: the work still runs in one transaction, so a failure leaves nothing half-written.
      const prepared = await prepare();
      reply = await host.db.transaction((db) => spec.handle({ ...input, db, prepared }));
    } else {
      reply = await spec.handle({ ...input, db: host.db, prepared: await prepare() });
    }
    // An answer that hands out a session is never kept by a cache, whether its token is in the body or a cookie.
    if (spec.session === "start" && reply.status < 300) res.setHeader("Cache-Control", "no-store");
    if (spec.session === "start" && reply.status < 300 && wantsCookieSession(req)) {
      // The token goes only into the httpOnly cookie: the page's scripts never hold it.
      const { token, ...rest } = reply.body as { token: string; expiresAt: string };
      setSessionCookies(req, res, { token, expiresAt: rest.expiresAt }, tokenHash(token), host.csrfKey);
      reply = { ...reply, body: rest };
    }
    if (spec.session === "end" && "cookie" in principal && principal.cookie) clearSessionCookies(req, res);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.status(reply.status).end();
    else if (reply.contentType) res.status(reply.status).type(reply.contentType).send(reply.body);
    else res.status(reply.status).json(reply.body);
  });
}
