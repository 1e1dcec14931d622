/** The headers every answer carries: helmet's, and no-store on answers to requests with credentials. */
import type { RequestHandler } from "express";
import helmet from "helmet";

/**
 * helmet's headers on every answer. Its Content-Security-Policy, tightened where the docs page
 * allows: scripts only from this server (the page's Swagger UI initializer is a file,
 * /v1/docs/init.js, not an inline script), inline styles (Swagger UI sets style attributes) and
 * data: images (its icons); no upgrade-insecure-requests, since `npm start` serves plain HTTP on
 * 127.0.0.1 and a browser would then ask for the docs' assets over HTTPS.
 */
const helmetHeaders = helmet({
  contentSecurityPolicy: { directives: { "style-src": ["'self'", "'unsafe-inline'"], "upgrade-insecure-requests": null } },
});

/** A request that carries credentials gets `no-store` on its answer, so no cache keeps what it shows. */
export const securityHeaders: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== undefined || req.headers["x-gp-signature"] !== undefined) res.setHeader("Cache-Control", "no-store");
  helmetHeaders(req, res, next);
};
