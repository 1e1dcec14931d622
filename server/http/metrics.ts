/**
 * `GET /metrics`: the relayer's figures in Prometheus' text format (services/metrics.ts). Not for
 * anyone: the caller presents the metrics token (GP_METRICS_TOKEN, made for the scraper: it reads
 * figures and can change nothing) or the admin token, as a bearer token. Anonymous callers are
 * refused 401, like any other protected endpoint.
 */
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import express from "express";
import { z } from "zod";
import { AppError } from "../errors";
import type { Metrics } from "../services/metrics";
import { bearerToken, sameSecret } from "./auth";

export function metricsRouter(deps: {
  metrics: Metrics;
  adminToken: string;
  metricsToken: string | null;
  registry: OpenAPIRegistry;
}): express.Router {
  const router = express.Router();
  deps.registry.registerComponent("securitySchemes", "metrics", {
    type: "http",
    scheme: "bearer",
    description: "The metrics token (GP_METRICS_TOKEN), for the Prometheus scraper; the admin token also reads /metrics.",
  });
  const error = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
  deps.registry.registerPath({
    method: "get",
    path: "/metrics",
    tags: ["system"],
    summary: "The relayer's figures in Prometheus text format (docs/operations.md, Monitoring)",
    security: [{ metrics: [] }, { admin: [] }],
    responses: {
      200: { description: "Prometheus text exposition format 0.0.4.", content: { "text/plain": { schema: z.string() } } },
      401: { description: "UNAUTHORIZED: no metrics or admin token.", content: { "application/json": { schema: error } } },
    },
  });
  const accepted = [deps.adminToken, ...(deps.metricsToken ? [deps.metricsToken] : [])];
  router.get("/metrics", async (req, res) => {
    // The admin API's parsing (auth.ts), so the admin token reads /metrics exactly where it reads the admin API.
    const token = bearerToken(req.headers.authorization);
    // Every accepted token is compared, so the time taken does not tell which one came close.
    const matches = token === null ? [] : accepted.filter((secret) => sameSecret(token, secret));
    if (matches.length === 0) throw new AppError("UNAUTHORIZED", "/metrics needs a bearer token: the metrics token or the admin token");
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
