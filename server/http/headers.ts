/** The headers every answer carries: helmet's, and no-store on answers to requests with credentials. */
import type { RequestHandler } from "express";
import helmet from "helmet";
import { sessionCookie } from "./cookies";

/**
 * helmet's headers on every answer, with a Content-Security-Policy tighter than its default: no
 * inline script or style at all (the pages' styles are one stylesheet, their scripts ES modules
 * from this server, and what they set on elements goes through the CSSOM, which the policy
 * allows), no frames, connections only to this server; no upgrade-insecure-requests, since
 * `npm start` serves plain HTTP on 127.0.0.1 and a browser would then ask for the assets over
 * HTTPS.
 */
const strictDirectives = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "script-src-attr": ["'none'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "font-src": ["'self'"],
  "object-src": ["'none'"],
  "base-uri": ["'self'"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
  "upgrade-insecure-requests": null,
};
const strict = helmet({ contentSecurityPolicy: { useDefaults: false, directives: strictDirectives } });
/** The API docs page (Swagger UI) alone sets style attributes in its markup, so it alone gets inline styles. */
const docs = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { ...strictDirectives, "style-src": ["'self'", "'unsafe-inline'"] } },
});

/** A request that carries credentials gets `no-store` on its answer, so no cache keeps what it shows. */
export const securityHeaders: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== undefined || req.headers["x-gp-signature"] !== undefined || sessionCookie(req) !== undefined)
    res.setHeader("Cache-Control", "no-store");
  (req.path.startsWith("/v1/docs") ? docs : strict)(req, res, next);
};
