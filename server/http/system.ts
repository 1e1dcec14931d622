/** Health, the OpenAPI document and its browsable page (Swagger UI, served from the npm package). */
import * as path from "node:path";
import { OpenApiGeneratorV3, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import express from "express";
import { z } from "zod";
import type { Db } from "../adapters/db/db";
import type { ChainPort } from "../adapters/chain/chain";

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Green Points API</title><link rel="stylesheet" href="/v1/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/v1/docs/assets/swagger-ui-bundle.js"></script>
<script src="/v1/docs/init.js"></script>
</body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#docs", deepLinking: true });`;

export function openApiDocument(registry: OpenAPIRegistry) {
  registry.registerComponent("securitySchemes", "admin", { type: "http", scheme: "bearer", description: "The operator's admin token." });
  registry.registerComponent("securitySchemes", "shop", { type: "http", scheme: "bearer", description: "The shop's webhook secret." });
  registry.registerComponent("securitySchemes", "user", {
    type: "http",
    scheme: "bearer",
    description: "A session token from POST /v1/sessions.",
  });
  registry.registerComponent("securitySchemes", "merchant", { type: "http", scheme: "bearer", description: "A merchant API key." });
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

export function systemRouter(deps: { db: Db; chain: ChainPort; registry: OpenAPIRegistry }): express.Router {
  const router = express.Router();
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
    try {
      await deps.db.query("SELECT 1");
    } catch {
      res.status(503).json({ status: "unavailable" });
      return;
    }
    const chainBlock = await deps.chain.blockNumber().catch(() => null);
    res.json({ status: "ok", chainBlock });
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
