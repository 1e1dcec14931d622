/**
 * The pages, built in memory at start: esbuild (the one bundler; it compiles the pages'
 * TypeScript and bundles Preact, htm, signals and uPlot from node_modules, so no import map has to
 * name library files and nothing of node_modules is served) writes ES modules and one stylesheet,
 * each named by its content's hash so browsers may keep them for good. The catalogues are the JSON
 * files of web/i18n/<language>/, one per part of the pages, merged with the file's name as the
 * keys' prefix; a key missing from either language stops the build.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
export const PAGES = ["pool", "wallet", "admin", "merchant"] as const;
export type PageName = (typeof PAGES)[number];

export type Catalogue = Record<string, string>;

export interface BuiltAsset {
  contents: Uint8Array;
  type: string;
}

export interface BuiltPages {
  /** By the name it is served under /assets/. */
  assets: ReadonlyMap<string, BuiltAsset>;
  /** Each page's script, the chunks it imports, and the stylesheet, by their /assets/ names. */
  entries: Record<PageName, { script: string; imports: string[] }>;
  stylesheet: string;
  catalogues: Record<Language, Catalogue>;
}

const WEB = path.resolve(__dirname, "..", "..", "web");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

/** Reads web/i18n/<language>/*.json into one flat catalogue per language, keys `<file>.<key>`. */
export function readCatalogues(dir = path.join(WEB, "i18n")): Record<Language, Catalogue> {
  const out = {} as Record<Language, Catalogue>;
  for (const language of LANGUAGES) {
    const catalogue: Catalogue = {};
    const folder = path.join(dir, language);
    for (const file of fs
      .readdirSync(folder)
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      const part = path.basename(file, ".json");
      const entries = JSON.parse(fs.readFileSync(path.join(folder, file), "utf8")) as Record<string, unknown>;
      for (const [key, text] of Object.entries(entries)) {
        if (typeof text !== "string") throw new Error(`${language}/${file}: ${key} is not a string`);
        catalogue[`${part}.${key}`] = text;
      }
    }
    out[language] = catalogue;
  }
  return out;
}

/** The keys one catalogue has and another lacks, both ways; empty when they agree. */
export function catalogueGaps(catalogues: Record<Language, Catalogue>): string[] {
  const gaps: string[] = [];
  for (const a of LANGUAGES)
    for (const b of LANGUAGES)
      if (a !== b) for (const key of Object.keys(catalogues[a])) if (!(key in catalogues[b])) gaps.push(`${b} lacks ${key}`);
  return gaps;
}

export async function buildPages(): Promise<BuiltPages> {
  const catalogues = readCatalogues();
  const gaps = catalogueGaps(catalogues);
  if (gaps.length > 0) throw new Error(`the pages' catalogues differ: ${gaps.join("; ")}`);
  const result = await build({
    absWorkingDir: WEB,
    entryPoints: { ...Object.fromEntries(PAGES.map((p) => [p, `src/${p}/main.ts`])), app: "styles/app.css" },
    bundle: true,
    splitting: true,
    format: "esm",
    target: ["es2022", "chrome111", "safari16.4", "firefox115"],
    minify: true,
    sourcemap: "linked",
    outdir: "/assets",
    entryNames: "[name]-[hash]",
    chunkNames: "chunks/[name]-[hash]",
    metafile: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const assets = new Map<string, BuiltAsset>();
  for (const file of result.outputFiles) {
    const name = path.relative("/assets", file.path).split(path.sep).join("/");
    assets.set(name, { contents: file.contents, type: TYPES[path.extname(name)] ?? "application/octet-stream" });
  }
  const entries = {} as BuiltPages["entries"];
  let stylesheet = "";
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    const name = path.relative("/assets", path.resolve(WEB, out)).split(path.sep).join("/");
    const page = PAGES.find((p) => meta.entryPoint === `src/${p}/main.ts`);
    if (page)
      entries[page] = {
        script: name,
        imports: meta.imports
          .filter((i) => i.kind === "import-statement")
          .map((i) => path.relative("/assets", path.resolve(WEB, i.path)).split(path.sep).join("/")),
      };
    if (meta.entryPoint === "styles/app.css") stylesheet = name;
  }
  return { assets, entries, stylesheet, catalogues };
}
