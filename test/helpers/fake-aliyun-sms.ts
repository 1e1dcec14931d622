/**
 * A local fake of Alibaba Cloud's Dysmsapi `SendSms` (2017-05-25) on 127.0.0.1. It checks what
 * the real gateway checks, in the same order: the V3 signature (ACS3-HMAC-SHA256), written here
 * again from Alibaba's page rather than imported from the adapter, so that the two agree only if
 * both follow it; the timestamp within 15 minutes; a nonce used once; then the message (number,
 * approved signature and template, TemplateParam). It answers as the real one does: HTTP 200
 * with `Code` for the operation's outcome (isv.*), a 4xx with `Code` for the gateway's refusals.
 * https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeAliyunOptions {
  accessKeyId: string;
  accessKeySecret: string;
  /** The signature name the fake account has approved. */
  signName: string;
  /** The template the fake account has approved; it takes one variable, `code`. */
  templateCode: string;
  /** The fake's clock, ms; the real time by default. */
  now?: () => number;
}

/** A message the fake accepted (answered Code OK). */
export interface ReceivedSms {
  phoneNumbers: string;
  signName: string;
  templateCode: string;
  templateParam: Record<string, unknown>;
  accessKeyId: string;
}

export interface ScriptedAnswer {
  /** The provider's Code, e.g. `isv.BUSINESS_LIMIT_CONTROL`. */
  code: string;
  /** 200 by default, as the real API answers the isv.* codes. */
  status?: number;
  message?: string;
}

export interface FakeAliyunSms {
  /** Scheme, host and port, for AliyunSettings.endpoint. */
  endpoint: string;
  messages: ReceivedSms[];
  /** The requests that reached the API's path `/`, whatever became of them. */
  hits: number;
  /** The next verified request gets this answer instead of being sent. */
  answerNext(answer: ScriptedAnswer): void;
  /** The next request gets this status and raw body (e.g. an HTML error page from a proxy). */
  answerNextRaw(status: number, body: string): void;
  /** The next request is never answered. */
  hangNext(): void;
  close(): Promise<void>;
}

const ALGORITHM = "ACS3-HMAC-SHA256";
const REQUIRED_SIGNED = ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];
const MAX_SKEW_MS = 15 * 60_000;

/** RFC 3986 percent-encoding byte by byte of the UTF-8 form: only A-Z a-z 0-9 - _ . ~ stay as they are. */
function rfc3986(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The decoded query parameters of a raw request target (`/?a=1&b=2`). */
function parseQuery(target: string): Map<string, string> {
  const params = new Map<string, string>();
  const at = target.indexOf("?");
  if (at < 0) return params;
  for (const pair of target.slice(at + 1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    params.set(name, eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1)));
  }
  return params;
}

export interface VerifiableRequest {
  method: string;
  /** The raw request target, path and query as sent. */
  target: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export type Verdict =
  | { ok: true; accessKeyId: string; nonce: string; date: string; params: Map<string, string> }
  | { ok: false; status: number; code: string; message: string };

/**
 * The gateway's check of a V3 signature, the clock and the nonce. `secretOf` answers the secret
 * of an AccessKey id, or undefined for an unknown one; `seen` holds the nonces already used.
 */
export function verifyAcs3(
  request: VerifiableRequest,
  secretOf: (id: string) => string | undefined,
  now: number,
  seen: Set<string>,
): Verdict {
  const refuse = (status: number, code: string, message: string): Verdict => ({ ok: false, status, code, message });
  const authorization = request.headers["authorization"] ?? "";
  const parsed = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parsed) return refuse(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.");
  const [, accessKeyId, signedList, signature] = parsed;
  const secret = secretOf(accessKeyId);
  if (secret === undefined) return refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");

  const signed = signedList.split(";");
  const missing = REQUIRED_SIGNED.filter((name) => !signed.includes(name) || request.headers[name] === undefined);
  if (missing.length > 0) return refuse(400, "IncompleteSignature", `Unsigned or missing headers: ${missing.join(", ")}.`);
  if ([...signed].sort().join(";") !== signedList) return refuse(400, "IncompleteSignature", "SignedHeaders are not sorted.");

  const payloadHash = createHash("sha256").update(request.body).digest("hex");
  if (request.headers["x-acs-content-sha256"] !== payloadHash) {
    return refuse(400, "SignatureDoesNotMatch", "x-acs-content-sha256 is not the hash of the body.");
  }
  const params = parseQuery(request.target);
  const names = [...params.keys()].sort();
  const query = names.map((name) => `${rfc3986(name)}=${rfc3986(params.get(name) as string)}`).join("&");
  const path = request.target.split("?")[0];
  const headerLines = signed.map((name) => `${name}:${(request.headers[name] as string).trim()}\n`).join("");
  const canonicalRequest = `${request.method}\n${path}\n${query}\n${headerLines}\n${signedList}\n${payloadHash}`;
  const stringToSign = `${ALGORITHM}\n${createHash("sha256").update(canonicalRequest, "utf8").digest("hex")}`;
  const expected = createHmac("sha256", secret).update(stringToSign, "utf8").digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    // The real gateway quotes what it signed, which is why the adapter never repeats a Message.
    return refuse(
      400,
      "SignatureDoesNotMatch",
      `Specified signature does not match our calculation. Server string to sign is: ${canonicalRequest}`,
    );
  }

  const date = request.headers["x-acs-date"] as string;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(date) || Number.isNaN(Date.parse(date))) {
    return refuse(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
  }
  if (Math.abs(now - Date.parse(date)) > MAX_SKEW_MS) {
    return refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
  }
  const nonce = request.headers["x-acs-signature-nonce"] as string;
  if (seen.has(nonce)) return refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
  seen.add(nonce);
  return { ok: true, accessKeyId, nonce, date, params };
}

export async function startFakeAliyunSms(options: FakeAliyunOptions): Promise<FakeAliyunSms> {
  const now = options.now ?? Date.now;
  const seen = new Set<string>();
  const scripted: Array<{ kind: "answer"; answer: ScriptedAnswer } | { kind: "raw"; status: number; body: string } | { kind: "hang" }> = [];
  const messages: ReceivedSms[] = [];

  const server = http.createServer((req, res) => {
    // Only the API's path counts and takes scripted answers: the tests' answer checker also asks
    // every 127.0.0.1 origin for /v1/openapi.json.
    if ((req.url ?? "").split("?")[0] !== "/") {
      res.writeHead(404, { "content-type": "application/json;charset=utf-8" });
      res.end(JSON.stringify({ Code: "InvalidApi.NotFound", Message: "Specified api is not found." }));
      return;
    }
    fake.hits++;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const requestId = randomUUID().toUpperCase();
      const answer = (status: number, body: Record<string, unknown>) => {
        res.writeHead(status, { "content-type": "application/json;charset=utf-8" });
        res.end(JSON.stringify({ RequestId: requestId, ...body }));
      };
      const refuse = (status: number, code: string, message: string) =>
        answer(
          status,
          status === 200 ? { Code: code, Message: message } : { HostId: "dysmsapi.aliyuncs.com", Code: code, Message: message },
        );

      const next = scripted[0];
      if (next?.kind === "hang") {
        scripted.shift();
        return;
      }
      if (next?.kind === "raw") {
        scripted.shift();
        res.writeHead(next.status, { "content-type": "text/html" });
        res.end(next.body);
        return;
      }

      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(",") : value;
      const verdict = verifyAcs3(
        { method: req.method ?? "", target: req.url ?? "/", headers, body: Buffer.concat(chunks) },
        (id) => (id === options.accessKeyId ? options.accessKeySecret : undefined),
        now(),
        seen,
      );
      if (!verdict.ok) return refuse(verdict.status, verdict.code, verdict.message);
      if (req.method !== "POST") return refuse(404, "InvalidApi.NotFound", "Specified api is not found.");
      if (headers["x-acs-action"] !== "SendSms" || headers["x-acs-version"] !== "2017-05-25") {
        return refuse(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
      }

      if (next?.kind === "answer") {
        scripted.shift();
        return refuse(next.answer.status ?? 200, next.answer.code, next.answer.message ?? next.answer.code);
      }

      const params = verdict.params;
      for (const name of ["PhoneNumbers", "SignName", "TemplateCode"]) {
        if (!params.get(name)) return refuse(400, `Missing${name}`, `${name} is mandatory for this action.`);
      }
      const phoneNumbers = params.get("PhoneNumbers") as string;
      if (!/^1\d{10}$/.test(phoneNumbers)) return refuse(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
      if (params.get("SignName") !== options.signName) return refuse(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
      if (params.get("TemplateCode") !== options.templateCode) return refuse(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
      let templateParam: unknown;
      try {
        templateParam = JSON.parse(params.get("TemplateParam") ?? "");
      } catch {
        return refuse(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
      }
      if (templateParam === null || typeof templateParam !== "object" || typeof (templateParam as { code?: unknown }).code !== "string") {
        return refuse(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量");
      }
      messages.push({
        phoneNumbers,
        signName: params.get("SignName") as string,
        templateCode: params.get("TemplateCode") as string,
        templateParam: templateParam as Record<string, unknown>,
        accessKeyId: verdict.accessKeyId,
      });
      answer(200, { Code: "OK", Message: "OK", BizId: `${Date.now()}^0` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeAliyunSms = {
    endpoint: `http://127.0.0.1:${port}`,
    messages,
    hits: 0,
    answerNext: (answer) => void scripted.push({ kind: "answer", answer }),
    answerNextRaw: (status, body) => void scripted.push({ kind: "raw", status, body }),
    hangNext: () => void scripted.push({ kind: "hang" }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return fake;
}
