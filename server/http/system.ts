/**
 * Health, the OpenAPI document and its browsable page (Swagger UI, served from the npm package).
 * Three health answers, for three askers: `/healthz` (SPEC section 10: the server can take orders),
 * `/livez` (the process answers: restart it when it does not) and `/readyz` (the relayer can do its
 * whole work now: the database and the chain answer and new chain work does not wait for gas).
 */
import * as path from "node:path";
import { OpenApiGeneratorV3, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import express from "express";
import { z } from "zod";
import type { Db } from "../adapters/db/db";
import type { ChainPort } from "../adapters/chain/chain";
import type { GasWatch } from "../services/gas-watch";
import { within } from "../services/metrics";

const Check = z.object({ ok: z.boolean(), detail: z.string() });
const Readiness = z.object({
  status: z.enum(["ready", "unavailable"]),
  checks: z.object({
    database: Check.meta({ description: "The database answers a query." }),
    chain: Check.meta({ description: "The chain node answers (its head block)." }),
    gas: Check.meta({
      description: "New chain work does not wait: the relayer's gas balance and the fees (GP_MIN_GAS_BALANCE, GP_MAX_FEE_GWEI).",
    }),
  }),
});
type Readiness = z.infer<typeof Readiness>;

/** The oldest a reading of the database and the chain may be and still answer /readyz and /healthz. */
const READING_MS = 1_000;

interface Reading {
  database: boolean;
  /** The chain head; null when the node did not answer. */
  head: number | null;
  /** When it was started (ms since the epoch). */
  at: number;
}

/**
 * The readings /readyz and /healthz answer from. Their callers are anonymous, so however many ask,
 * one reading is in flight at a time and it serves every caller until it is READING_MS old: at
 * most one chain call and one query a second, whatever the traffic (a flood of health checks
 * must not spend a paid RPC's quota and get the relayer itself throttled). Only whether each answered is kept, never an error's message: ethers' messages
 * carry the RPC URL, and with it the API key many providers put in its path or query.
 */
function createReadings(deps: { db: Db; chain: ChainPort }): () => Promise<Reading> {
  let last: { value: Promise<Reading>; settled: Reading | null } | null = null;
  async function readNow(): Promise<Reading> {
    const at = Date.now();
    const [database, head] = await Promise.all([
      within(deps.db.query("SELECT 1")).then(
        () => true,
        () => false,
      ),
      within(deps.chain.blockNumber()).then(
        (block) => block,
        () => null,
      ),
    ]);
    return { database, head, at };
  }
  return () => {
    if (last && (last.settled === null || Date.now() - last.settled.at <= READING_MS)) return last.value;
    const current: { value: Promise<Reading>; settled: Reading | null } = { value: readNow(), settled: null };
    void current.value.then((reading) => (current.settled = reading));
    last = current;
    return current.value;
  };
}

function readiness(reading: Reading, gasWatch: GasWatch | undefined): Readiness {
  const database = reading.database ? { ok: true, detail: "answers" } : { ok: false, detail: "does not answer" };
  const chain = reading.head !== null ? { ok: true, detail: `answers at block ${reading.head}` } : { ok: false, detail: "does not answer" };
  // The waits' messages are composed by the gas watch from figures, never from an error.
  const waits = gasWatch?.waiting() ?? [];
  const gas =
    waits.length > 0
      ? { ok: false, detail: waits.map((w) => `${w.alert}: ${w.message}`).join("; ") }
      : { ok: true, detail: gasWatch?.reading() ? "new chain work goes on" : "not checked yet" };
  const ok = database.ok && chain.ok && gas.ok;
  return { status: ok ? "ready" : "unavailable", checks: { database, chain, gas } };
}

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Green Points API</title><link rel="stylesheet" href="/v1/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/v1/docs/assets/swagger-ui-bundle.js"></script>
<script src="/v1/docs/init.js"></script>
</body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#docs", deepLinking: true });`;

export function openApiDocument(registry: OpenAPIRegistry) {
  registry.registerComponent("securitySchemes", "admin", {
    type: "http",
    scheme: "bearer",
    description: "The operator's admin token, or an operator's session (`gpo_…`, from POST /v1/staff/sessions).",
  });
  registry.registerComponent("securitySchemes", "shop", { type: "http", scheme: "bearer", description: "The shop's webhook secret." });
  registry.registerComponent("securitySchemes", "user", {
    type: "http",
    scheme: "bearer",
    description: "A session token from POST /v1/sessions.",
  });
  registry.registerComponent("securitySchemes", "merchant", {
    type: "http",
    scheme: "bearer",
    description: "A merchant API key (`gpk_…`), or a merchant owner's or staff's session (`gpm_…`, from POST /v1/staff/sessions).",
  });
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: "3.0.3",
    info: {
      title: "Green Points",
      version: "1.0.0",
      description:
        "Loyalty points backed by an on-chain pool: the price of a point is the pool's assets divided by the points in circulation. " +
        "Amounts are decimal strings in whole units. Errors: `{ error: { code, message, details? } }`.",
    },
  });
}

export function systemRouter(deps: { db: Db; chain: ChainPort; registry: OpenAPIRegistry; gas?: GasWatch }): express.Router {
  const router = express.Router();
  deps.registry.registerPath({
    method: "get",
    path: "/livez",
    tags: ["system"],
    summary: "200 while the process answers (it asks nothing of the database or the chain)",
    responses: { 200: { description: "Alive.", content: { "application/json": { schema: z.object({ status: z.literal("alive") }) } } } },
  });
  router.get("/livez", (_req, res) => {
    res.json({ status: "alive" });
  });
  deps.registry.registerPath({
    method: "get",
    path: "/readyz",
    tags: ["system"],
    summary: "200 when the relayer can do all its work now; 503 naming each failing check",
    responses: {
      200: { description: "Ready: every check passes.", content: { "application/json": { schema: Readiness } } },
      503: {
        description: "The database or the chain does not answer, or new chain work waits for gas or for fees to fall.",
        content: { "application/json": { schema: Readiness } },
      },
    },
  });
  const read = createReadings(deps);
  router.get("/readyz", async (_req, res) => {
    const answer = readiness(await read(), deps.gas);
    res.status(answer.status === "ready" ? 200 : 503).json(answer);
  });
  deps.registry.registerPath({
    method: "get",
    path: "/healthz",
    tags: ["system"],
    summary: "200 once the server can take orders (its database answers)",
    responses: {
      200: {
        description: "Ready.",
        content: { "application/json": { schema: z.object({ status: z.literal("ok"), chainBlock: z.number().nullable() }) } },
      },
      503: {
        description: "The database does not answer.",
        content: { "application/json": { schema: z.object({ status: z.literal("unavailable") }) } },
      },
    },
  });
  router.get("/healthz", async (_req, res) => {
    const { database, head } = await read();
    if (!database) res.status(503).json({ status: "unavailable" });
    else res.json({ status: "ok", chainBlock: head });
  });
  let document: unknown;
  router.get("/v1/openapi.json", (_req, res) => {
    document ??= openApiDocument(deps.registry);
    res.json(document);
  });
  router.get("/v1/docs", (_req, res) => {
    res.type("html").send(DOCS_PAGE);
  });
  router.get("/v1/docs/init.js", (_req, res) => {
    res.type("application/javascript").send(DOCS_INIT);
  });
  router.use("/v1/docs/assets", express.static(path.dirname(require.resolve("swagger-ui-dist/package.json")), { index: false }));
  return router;
}
