/**
 * Every answer a test receives from a Green Points server is checked against the OpenAPI document
 * that same server serves at /v1/openapi.json: the status must be declared for the method and
 * path, the content type declared for that status, and the body valid against its schema. The
 * checks run on a copy of each answer `fetch` returns; `afterEach` (a mocha root hook, registered
 * in hardhat.config.ts) fails the test that received a non-conforming one.
 *
 * The document is OpenAPI 3.0, whose schemas are JSON Schema draft 4/5 plus `nullable` and
 * annotations like `example`; translated by `toJsonSchema`, Ajv's draft-07 mode reads them (a
 * 3.0-style boolean `exclusiveMinimum` would be refused when compiling, in strict mode).
 */
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface MediaType {
  schema?: Json;
}

interface Operation {
  responses?: Record<string, { content?: Record<string, MediaType> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json> };
}

export interface Answer {
  method: string;
  /** The path and query the request went to. */
  url: string;
  status: number;
  /** The Content-Type header, or null. */
  contentType: string | null;
  /** The body as text. */
  text: string;
}

const COMPONENT_REF = "#/components/schemas/";

/**
 * An OpenAPI 3.0 schema as JSON Schema: `$ref`s into the document's components point at the
 * `definitions` each compiled schema carries, and `nullable: true` (which Ajv accepts only beside
 * a `type`, while zod-to-openapi also puts it beside `$ref`, `allOf`, `anyOf`) becomes "that, or null".
 */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "nullable") continue;
    out[key] =
      key === "$ref" && typeof value === "string" && value.startsWith(COMPONENT_REF)
        ? `#/definitions/${value.slice(COMPONENT_REF.length)}`
        : toJsonSchema(value);
  }
  return schema.nullable === true ? { anyOf: [out, { type: "null" }] } : out;
}

/** A document's operations, matched by method and path, with their answers' validators compiled once. */
export function createAnswerChecker(document: OpenApiDocument) {
  if (!/^3\.0\./.test(document.openapi)) throw new Error(`the checker reads OpenAPI 3.0 documents; this one is ${document.openapi}`);
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  ajv.addKeyword({ keyword: "example" });
  const definitions = toJsonSchema(document.components?.schemas ?? {});
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: Json) => {
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile({ ...(toJsonSchema(schema) as object), definitions: definitions as object });
      compiled.set(key, validate);
    }
    return validate;
  };
  // Literal segments win over parameters: `/v1/merchant/statement` before `/v1/merchant/{x}`.
  const routes = Object.keys(document.paths)
    .map((template) => ({
      template,
      params: (template.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}/g, "[^/]+")}$`),
    }))
    .sort((a, b) => a.params - b.params);

  /** The problems with an answer (empty when it conforms); null when the document has no such operation. */
  return function check(answer: Answer): string[] | null {
    const path = answer.url.split("?")[0];
    const method = answer.method.toLowerCase();
    const route = routes.find((r) => r.pattern.test(path) && document.paths[r.template][method]);
    if (!route) return null;
    const where = `${answer.method.toUpperCase()} ${route.template} answered ${answer.status}`;
    const declared = document.paths[route.template][method].responses?.[String(answer.status)];
    if (!declared) return [`${where}: the document declares no ${answer.status} for it`];
    const content = declared.content ?? {};
    if (Object.keys(content).length === 0) return answer.text === "" ? [] : [`${where}: a body, where the document declares none`];
    const mediaType = (answer.contentType ?? "").split(";")[0].trim().toLowerCase();
    const media = content[mediaType];
    if (!media)
      return [`${where}: content type ${answer.contentType ?? "(none)"}, where the document declares ${Object.keys(content).join(", ")}`];
    if (!media.schema) return [];
    let body: Json;
    if (mediaType === "application/json") {
      try {
        body = JSON.parse(answer.text) as Json;
      } catch {
        return [`${where}: the body is not JSON: ${answer.text.slice(0, 200)}`];
      }
    } else {
      body = answer.text;
    }
    const validate = validator(`${method} ${route.template} ${answer.status} ${mediaType}`, media.schema);
    if (validate(body)) return [];
    return [`${where}: the body does not match the document: ${ajv.errorsText(validate.errors)}; body ${answer.text.slice(0, 500)}`];
  };
}

export type AnswerChecker = ReturnType<typeof createAnswerChecker>;

const originalFetch = globalThis.fetch;
/** Per origin: the checker of a Green Points server, or null for anything else on 127.0.0.1 (anvil). */
const checkers = new Map<string, Promise<AnswerChecker | null>>();
let pending: Promise<string[]>[] = [];

function checkerFor(origin: string): Promise<AnswerChecker | null> {
  let checker = checkers.get(origin);
  if (!checker) {
    checker = originalFetch(`${origin}/v1/openapi.json`)
      .then(async (res) => {
        const doc = res.ok ? ((await res.json()) as OpenApiDocument) : null;
        return doc?.info?.title === "Green Points" ? createAnswerChecker(doc) : null;
      })
      .catch(() => null);
    checkers.set(origin, checker);
  }
  return checker;
}

async function checkAnswer(method: string, url: URL, res: Response): Promise<string[]> {
  const text = await res.text();
  const checker = await checkerFor(url.origin);
  // A server can stop between the answer and the document's fetch: its checker is then made again next time.
  if (!checker) {
    checkers.delete(url.origin);
    return [];
  }
  const problems = checker({
    method,
    url: url.pathname + url.search,
    status: res.status,
    contentType: res.headers.get("content-type"),
    text,
  });
  return problems ?? undocumented(method, url.pathname, res.status);
}

/**
 * An answer to an operation the document lacks: a problem under /v1 (every API route is declared
 * there), except the 404 of a path the server does not serve and the browsable docs page.
 */
export function undocumented(method: string, pathname: string, status: number): string[] {
  if (!pathname.startsWith("/v1/") || pathname.startsWith("/v1/docs") || status === 404) return [];
  return [`${method} ${pathname} answered ${status}: the document has no such operation`];
}

const checkedFetch: typeof fetch = async (input, init) => {
  const res = await originalFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname === "127.0.0.1" && url.pathname !== "/v1/openapi.json") {
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    pending.push(
      checkAnswer(method, url, res.clone()).catch((error: unknown) => [
        `${method} ${url.pathname}: the answer could not be checked: ${String(error)}`,
      ]),
    );
  }
  return res;
};

/** Mocha root hooks: check every answer from a Green Points server, and fail the test that got a non-conforming one. */
export const answerHooks = {
  beforeAll(): void {
    globalThis.fetch = checkedFetch;
  },
  async afterEach(): Promise<void> {
    const checks = pending;
    pending = [];
    const problems = (await Promise.all(checks)).flat();
    if (problems.length > 0) throw new Error(`answers that do not match the OpenAPI document:\n- ${problems.join("\n- ")}`);
  },
  afterAll(): void {
    globalThis.fetch = originalFetch;
  },
};
