/**
 * The pages' build and catalogues without a browser: both languages have the same keys with the
 * same placeholders, every key the pages' code names literally is in them, the build refuses a
 * catalogue with a gap, and the language of a request is chosen as documented.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Request } from "express";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import express from "express";
import { pageLanguage, pageRoutes } from "../../server/http/pages";
import { LANGUAGES, buildPages, catalogueGaps, readCatalogues } from "../../server/web/build";

const WEB = path.resolve(__dirname, "..", "..", "web");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? sources(file) : e.name.endsWith(".ts") ? [file] : [];
  });
}
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the pages' catalogues and build", function () {
  this.timeout(60_000);
  const catalogues = readCatalogues();

  it("has the same keys in Chinese and English, none empty, with the same placeholders", function () {
    expect(catalogueGaps(catalogues)).to.deep.equal([]);
    expect(Object.keys(catalogues["zh-CN"]).length).to.be.greaterThan(50);
    for (const key of Object.keys(catalogues.en)) {
      for (const language of LANGUAGES) expect(catalogues[language][key].trim(), `${language} ${key}`).to.not.equal("");
      expect(placeholders(catalogues["zh-CN"][key]), key).to.deep.equal(placeholders(catalogues.en[key]));
    }
  });

  it("holds every key the pages' code names literally", function () {
    const missing: string[] = [];
    let named = 0;
    for (const file of sources(path.join(WEB, "src"))) {
      const code = fs.readFileSync(file, "utf8");
      for (const m of code.matchAll(/\bt\(\s*"([\w.-]+)"/g)) {
        named++;
        if (!(m[1] in catalogues.en)) missing.push(`${path.relative(WEB, file)}: ${m[1]}`);
      }
    }
    expect(named).to.be.greaterThan(30);
    expect(missing).to.deep.equal([]);
  });

  it("finds a key one language lacks, which stops the build", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-i18n-"));
    try {
      for (const language of LANGUAGES) fs.mkdirSync(path.join(dir, language));
      fs.writeFileSync(path.join(dir, "en", "part.json"), JSON.stringify({ a: "A", b: "B" }));
      fs.writeFileSync(path.join(dir, "zh-CN", "part.json"), JSON.stringify({ a: "甲" }));
      expect(catalogueGaps(readCatalogues(dir))).to.deep.equal(["zh-CN lacks part.b"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("builds both pages into hashed ES modules and one stylesheet, nothing of node_modules by name", async function () {
    const built = await buildPages();
    for (const page of ["pool", "wallet"] as const) {
      expect(built.entries[page].script).to.match(new RegExp(`^${page}-[A-Z0-9]+\\.js$`));
      expect(built.assets.has(built.entries[page].script)).to.equal(true);
    }
    expect(built.stylesheet).to.match(/^app-[A-Z0-9]+\.css$/);
    for (const name of built.assets.keys()) expect(name).to.not.match(/node_modules/);
  });

  it("chooses the language by ?lang=, then the cookie, then Accept-Language, then Chinese", function () {
    const req = (query: Record<string, string>, headers: Record<string, string>) => ({ query, headers }) as unknown as Request;
    expect(pageLanguage(req({ lang: "en" }, { cookie: "gp_lang=zh-CN" })).language).to.equal("en");
    expect(pageLanguage(req({ lang: "fr" }, { cookie: "gp_lang=en" })).language).to.equal("en");
    expect(pageLanguage(req({}, { cookie: "gp_lang=en", "accept-language": "zh-CN" })).language).to.equal("en");
    expect(pageLanguage(req({}, { "accept-language": "fr;q=1, en-GB;q=0.8, zh;q=0.5" })).language).to.equal("en");
    expect(pageLanguage(req({}, { "accept-language": "en;q=0, zh-TW" })).language).to.equal("zh-CN");
    expect(pageLanguage(req({}, { "accept-language": "fr, de" })).language).to.equal("zh-CN");
    expect(pageLanguage(req({}, {})).language).to.equal("zh-CN");
  });

  it("serves each page with its own catalogue only, gzipped to a browser that takes it", async function () {
    const app = express();
    app.use(pageRoutes(await buildPages()));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as AddressInfo).port;
    const get = (route: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) =>
        http
          .get({ host: "127.0.0.1", port, path: route, headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
          })
          .on("error", reject),
      );
    try {
      const plain = await get("/");
      const zipped = await get("/", { "accept-encoding": "gzip, deflate, br" });
      expect(plain.headers["content-encoding"]).to.equal(undefined);
      expect(zipped.headers["content-encoding"]).to.equal("gzip");
      expect(zipped.headers.vary).to.match(/Accept-Encoding/);
      expect(gunzipSync(zipped.body).toString()).to.equal(plain.body.toString());
      expect(zipped.body.length).to.be.lessThan(plain.body.length / 2);
      const boot = (html: string) => JSON.parse(/<script type="application\/json" id="gp-boot">(.*?)<\/script>/s.exec(html)![1]);
      const poolKeys = Object.keys(boot(plain.body.toString()).messages);
      expect(poolKeys.some((k) => k.startsWith("pool."))).to.equal(true);
      expect(poolKeys.filter((k) => !/^(common|pool)\./.test(k))).to.deep.equal([]);
      const walletKeys = Object.keys(boot((await get("/wallet")).body.toString()).messages);
      expect(walletKeys.filter((k) => k.startsWith("pool."))).to.deep.equal([]);
      const script = /<script type="module" src="\/assets\/([^"]+)"/.exec(plain.body.toString())![1];
      const asset = await get(`/assets/${script}`, { "accept-encoding": "gzip" });
      expect([asset.status, asset.headers["content-encoding"], asset.headers["cache-control"]]).to.deep.equal([
        200,
        "gzip",
        "public, max-age=31536000, immutable",
      ]);
      gunzipSync(asset.body);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
