/**
 * The pages: the public pool page at `/`, the shopper's wallet at `/wallet`, the operator console
 * at `/admin` and the merchant portal at `/merchant`. Each is a small
 * HTML shell naming its built script and stylesheet (server/web/build.ts) and carrying its
 * language's catalogue as a JSON data block (not a script: the CSP runs no inline code). The
 * language is `?lang=` (then kept in the `gp_lang` cookie), else that cookie, else the browser's
 * Accept-Language, else Chinese.
 */
import { gzipSync } from "node:zlib";
import express, { type Request, type Response, type Router } from "express";
import { readCookie } from "./cookies";
import { LANGUAGES, type Language, type PageName, type BuiltPages } from "../web/build";

export const LANGUAGE_COOKIE = "gp_lang";
const DEFAULT_LANGUAGE: Language = "zh-CN";

/** What a language tag of a request names, if one of ours: `zh`, `zh-Hans-CN`, `zh-TW` read as Chinese; `en-GB` as English. */
function ourLanguage(tag: string | undefined): Language | null {
  const t = (tag ?? "").trim().toLowerCase();
  if (t === "en" || t.startsWith("en-")) return "en";
  if (t === "zh" || t.startsWith("zh-")) return "zh-CN";
  return null;
}

/** Accept-Language's tags, best first by their q (ties keep the order sent); q=0 means not wanted. */
function acceptedLanguages(header: string | undefined): string[] {
  return (header ?? "")
    .split(",")
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag, q: q === undefined ? 1 : Number(q), index };
    })
    .filter((x) => x.tag && Number.isFinite(x.q) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((x) => x.tag);
}

export function pageLanguage(req: Request): { language: Language; fromQuery: boolean } {
  const asked = typeof req.query.lang === "string" ? (LANGUAGES as readonly string[]).find((l) => l === req.query.lang) : undefined;
  if (asked) return { language: asked as Language, fromQuery: true };
  const kept = ourLanguage(readCookie(req.headers.cookie, LANGUAGE_COOKIE));
  if (kept) return { language: kept, fromQuery: false };
  for (const tag of acceptedLanguages(req.headers["accept-language"])) {
    const ours = ourLanguage(tag);
    if (ours) return { language: ours, fromQuery: false };
  }
  return { language: DEFAULT_LANGUAGE, fromQuery: false };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside a <script type="application/json">: no `<` may end the element early. */
const jsonInHtml = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/** Which catalogue parts each page reads: its own and the common one (the pool page need not carry the wallet's words). */
const PARTS: Record<PageName, (key: string) => boolean> = {
  pool: (key) => key.startsWith("common.") || key.startsWith("pool."),
  wallet: (key) => key.startsWith("common.") || key.startsWith("wallet.") || key.startsWith("wallet-"),
  admin: (key) => key.startsWith("common.") || key.startsWith("staff.") || key.startsWith("admin.") || key.startsWith("admin-"),
  merchant: (key) => key.startsWith("common.") || key.startsWith("staff.") || key.startsWith("merchant.") || key.startsWith("merchant-"),
};

/** What the server tells the pages about itself (no secret): whether SMS codes go to the outbox file instead of phones. */
export interface PageFacts {
  smsOutbox: boolean;
}

function shell(pages: BuiltPages, page: PageName, language: Language, facts: PageFacts): string {
  const messages = Object.fromEntries(Object.entries(pages.catalogues[language]).filter(([key]) => PARTS[page](key)));
  const entry = pages.entries[page];
  return `<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(messages[`common.title.${page}`] ?? "Green Points")}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/${pages.stylesheet}">
${entry.imports.map((i) => `<link rel="modulepreload" href="/assets/${i}">`).join("\n")}
<script type="application/json" id="gp-boot">${jsonInHtml({ language, page, messages, ...facts })}</script>
<script type="module" src="/assets/${entry.script}"></script>
</head>
<body>
<div id="app"><noscript>${escapeHtml(messages["common.noscript"] ?? "")}</noscript></div>
</body>
</html>
`;
}

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="#1b7f4b"/>' +
  '<text x="16" y="22" font-family="sans-serif" font-size="17" font-weight="700" text-anchor="middle" fill="#fff">G</text></svg>';

/** A body and its gzip form, made once: the pages and assets do not change while the server runs. */
interface Servable {
  body: Buffer;
  gzipped: Buffer;
}
const servable = (body: Buffer): Servable => ({ body, gzipped: gzipSync(body, { level: 9 }) });

/** The gzip form to a client that takes it (every browser does); the answer then varies by Accept-Encoding. */
function sendMaybeGzipped(req: Request, res: Response, s: Servable): void {
  res.append("Vary", "Accept-Encoding");
  if (/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) && s.body.length > 1024) {
    res.setHeader("Content-Encoding", "gzip");
    res.send(s.gzipped);
  } else res.send(s.body);
}

export function pageRoutes(pages: BuiltPages, facts: PageFacts = { smsOutbox: false }): Router {
  // Each shell (a page in a language) and each asset made and compressed once, the first time it is asked for.
  const made = new Map<string, Servable>();
  const once = (key: string, make: () => Buffer) => {
    let s = made.get(key);
    if (!s) made.set(key, (s = servable(make())));
    return s;
  };
  const router = express.Router();
  const paths: Record<PageName, string> = { pool: "/", wallet: "/wallet", admin: "/admin", merchant: "/merchant" };
  for (const [page, at] of Object.entries(paths) as [PageName, string][]) {
    router.get(at, (req, res) => {
      const { language, fromQuery } = pageLanguage(req);
      if (fromQuery)
        res.cookie(LANGUAGE_COOKIE, language, { sameSite: "lax", path: "/", maxAge: 365 * 24 * 3600 * 1000, secure: req.secure });
      // The shell names the current build's files, so it is never kept; the files themselves are.
      res.setHeader("Cache-Control", "no-cache");
      res.setHeader("Vary", "Accept-Language, Cookie");
      res.type("html");
      sendMaybeGzipped(
        req,
        res,
        once(`page:${page}:${language}`, () => Buffer.from(shell(pages, page, language, facts))),
      );
    });
  }
  // The mark in the tab: a green circle with a G, drawn here (no file to lose, nothing to ask elsewhere).
  for (const at of ["/favicon.svg", "/favicon.ico"])
    router.get(at, (_req, res) => {
      res.setHeader("Cache-Control", "public, max-age=86400");
      res.type("image/svg+xml").send(FAVICON);
    });
  router.get(/^\/assets\/(.+)$/, (req, res, next) => {
    const name = (req.params as Record<string, string>)[0];
    const asset = pages.assets.get(name);
    if (!asset) return next();
    res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
    res.type(asset.type);
    sendMaybeGzipped(
      req,
      res,
      once(`asset:${name}`, () => Buffer.from(asset.contents)),
    );
  });
  return router;
}
