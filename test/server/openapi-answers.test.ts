/**
 * The checker every end-to-end answer goes through (test/helpers/openapi-answers.ts) refuses what
 * the document does not describe: it must be able to fail, or it proves nothing.
 */
import { OpenAPIRegistry, OpenApiGeneratorV3 } from "@asteasolutions/zod-to-openapi";
import { expect } from "chai";
import { z } from "zod";
import { type OpenApiDocument, createAnswerChecker, undocumented } from "../helpers/openapi-answers";

function document(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const Money = z.object({ amount: z.string(), note: z.string().nullable() }).meta({ id: "Money" });
  const Discount = z.object({ percent: z.number().int() }).meta({ id: "Discount" });
  registry.registerPath({
    method: "get",
    path: "/v1/things/{thingId}",
    responses: {
      200: {
        description: "A thing.",
        content: {
          "application/json": { schema: z.object({ id: z.string(), price: Money, discount: Discount.nullable() }) },
          "text/csv": { schema: z.string() },
        },
      },
      404: { description: "None.", content: { "application/json": { schema: z.object({ error: z.object({ code: z.string() }) }) } } },
    },
  });
  registry.registerPath({ method: "get", path: "/v1/things/mine", responses: { 204: { description: "Nothing." } } });
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: "3.0.3",
    info: { title: "t", version: "1" },
  }) as unknown as OpenApiDocument;
}

describe("the OpenAPI answer checker", function () {
  const check = createAnswerChecker(document());
  const json = "application/json; charset=utf-8";
  const answer = (status: number, body: unknown, contentType: string | null = json) => ({
    method: "GET",
    url: "/v1/things/t1?x=1",
    status,
    contentType,
    text: typeof body === "string" ? body : JSON.stringify(body),
  });

  it("passes an answer the document describes, through a $ref and a nullable field", function () {
    expect(check(answer(200, { id: "t1", price: { amount: "1.5", note: null }, discount: null }))).to.deep.equal([]);
    expect(check(answer(200, { id: "t1", price: { amount: "1.5", note: "n" }, discount: { percent: 5 } }))).to.deep.equal([]);
    expect(check(answer(200, "id,amount\r\n", "text/csv; charset=utf-8"))).to.deep.equal([]);
    expect(check(answer(404, { error: { code: "NOT_FOUND" } }))).to.deep.equal([]);
  });

  it("refuses a body that does not match its schema", function () {
    const [problem] = check(answer(200, { id: "t1", price: { amount: 15 }, discount: null }))!;
    expect(problem).to.contain("does not match").and.contain("/price/amount").and.contain("note");
    expect(check(answer(200, { id: "t1", price: { amount: "1", note: null }, discount: { percent: "5" } }))![0]).to.contain("/discount");
    expect(check(answer(200, "not json"))![0]).to.contain("not JSON");
  });

  it("refuses a status the document does not declare for the operation", function () {
    expect(check(answer(409, { error: { code: "CONFLICT" } }))).to.deep.equal([
      "GET /v1/things/{thingId} answered 409: the document declares no 409 for it",
    ]);
  });

  it("refuses a content type the document does not declare, and a body where none is declared", function () {
    expect(check(answer(200, "<p>", "text/html"))![0]).to.contain("content type text/html");
    expect(check({ ...answer(204, "{}"), url: "/v1/things/mine" })![0]).to.contain("a body, where the document declares none");
  });

  it("counts an answer to an operation the document lacks as a problem under /v1, but not a 404 or the docs page", function () {
    expect(undocumented("POST", "/v1/things", 200)).to.deep.equal(["POST /v1/things answered 200: the document has no such operation"]);
    expect(undocumented("GET", "/v1/nothing", 404)).to.deep.equal([]);
    expect(undocumented("GET", "/v1/docs/index.css", 200)).to.deep.equal([]);
    expect(undocumented("GET", "/healthz", 200)).to.deep.equal([]);
  });

  it("matches a literal path before a templated one, and leaves operations the document lacks to others", function () {
    expect(check({ ...answer(204, ""), url: "/v1/things/mine" })).to.deep.equal([]);
    expect(check({ ...answer(200, {}), method: "POST" })).to.equal(null);
    expect(check({ ...answer(404, {}), url: "/v1/nothing" })).to.equal(null);
  });
});
