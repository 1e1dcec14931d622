/**
 * One definition per endpoint serves both the request validation and the OpenAPI document, so
 * the two cannot drift: `defineRoute` registers the path with zod-to-openapi and mounts an
 * Express handler that parses params, query and body with the same zod schemas, authenticates,
 * and (for mutations without a natural id) runs the work under an `Idempotency-Key`.
 */
import { createHash } from "node:crypto";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { Request, RequestHandler, Router } from "express";
import { z } from "zod";
import type { Db, Queryable } from "../adapters/db/db";
import { storedReply, withIdempotency } from "../adapters/db/idempotency";
import { validationError } from "../errors";
import { type Principal, type PrincipalKind, principalScope } from "./auth";
import { STATUS_OF } from "./status";

export const ErrorBody = z
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

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
}

export interface RouteContext<P, Q, B, X> extends RouteInput<P, Q, B> {
  /** The database to write through: inside the idempotency transaction when the route has one. */
  db: Queryable;
  /** What `prepare` made. */
  prepared: X;
}

export interface RouteSpec<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, X = undefined> {
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
  /** Mutations without a natural id take an `Idempotency-Key` header and replay its first answer. */
  idempotent?: boolean;
  /**
   * The user's payment password, checked before anything runs: `true` for value-moving calls;
   * `"when-set"` asks for it only once the user has one (setting the first one).
   */
  paymentPassword?: true | "when-set";
  /** A rate limiter run before authentication (login, password checks). */
  limiter?: RequestHandler;
  responses: Record<number, { description: string; schema: z.ZodType }>;
  /** The error codes this endpoint can answer with, for the document. */
  errors?: readonly (keyof typeof STATUS_OF)[];
  /**
   * Slow work that needs no transaction (password hashing, chain simulations), done before the
   * idempotency transaction opens, so that other requests (on PGlite's one connection, all of
   * them) do not wait behind it; skipped when the request replays a stored answer.
   */
  prepare?(input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>> & { db: Queryable }): Promise<X>;
  handle(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>, X>): Promise<Reply>;
}

export interface RouteHost {
  router: Router;
  registry: OpenAPIRegistry;
  db: Db;
  authenticate(req: Request, accepted: readonly PrincipalKind[], params: Record<string, string>): Promise<Principal>;
  /** Checks the payment password of a user principal; failures are committed even though the request fails. */
  checkPaymentPassword(principal: Principal, password: string | undefined, options: { required: boolean }): Promise<void>;
}

const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{8,128}$/, "Idempotency-Key must be 8 to 128 visible ASCII characters")
    .meta({ description: "A key the client makes per intended change; the same key replays the first answer." }),
});

const PaymentPasswordHeaders = z.object({
  "x-gp-payment-password": z
    .string()
    .min(1)
    .max(256)
    .optional()
    .meta({ description: "The user's payment password (a header, so it is kept out of bodies and idempotency fingerprints)." }),
});

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw validationError(parsed.error, where);
  return parsed.data;
}

export function defineRoute<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType, X = undefined>(
  host: RouteHost,
  spec: RouteSpec<P, Q, B, X>,
): void {
  const codes = new Set<keyof typeof STATUS_OF>(["VALIDATION_FAILED", "INTERNAL", ...(spec.errors ?? [])]);
  if (spec.auth.length > 0) codes.add("UNAUTHORIZED");
  if (spec.body) codes.add("INVALID_JSON");
  if (spec.idempotent) codes.add("IDEMPOTENCY_CONFLICT");
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
    responses[Number(status)] = { description: r.description, content: { "application/json": { schema: r.schema } } };
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
      headers:
        spec.idempotent || spec.paymentPassword
          ? z.object({
              ...(spec.idempotent ? IdempotencyHeaders.shape : {}),
              ...(spec.paymentPassword ? PaymentPasswordHeaders.shape : {}),
            })
          : undefined,
      body: spec.body ? { content: { "application/json": { schema: spec.body } }, required: true } : undefined,
    },
    responses: responses as never,
  });

  const expressPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
  const handlers: RequestHandler[] = spec.limiter ? [spec.limiter] : [];
  host.router[spec.method](expressPath, ...handlers, async (req, res) => {
    const rawParams = req.params as Record<string, string>;
    const principal = await host.authenticate(req, spec.auth, rawParams);
    const params = parse(spec.params, rawParams, "params");
    const query = parse(spec.query, req.query, "query");
    const body = parse(spec.body, req.body, "body");
    if (spec.paymentPassword) {
      const password = parse(PaymentPasswordHeaders, req.headers, "headers")["x-gp-payment-password"];
      await host.checkPaymentPassword(principal, password, { required: spec.paymentPassword === true });
    }
    const input = { params, query, body, principal };
    const prepare = async () => (spec.prepare ? spec.prepare({ ...input, db: host.db }) : undefined) as Promise<X>;
    let reply: Reply;
    if (spec.idempotent) {
      const key = parse(IdempotencyHeaders, req.headers, "headers")["idempotency-key"];
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
    } else {
      reply = await spec.handle({ ...input, db: host.db, prepared: await prepare() });
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.contentType) res.status(reply.status).type(reply.contentType).send(reply.body);
    else res.status(reply.status).json(reply.body);
  });
}
