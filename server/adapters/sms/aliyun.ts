/**
 * Alibaba Cloud SMS: Dysmsapi `SendSms`, API version 2017-05-25, over Node's fetch and
 * node:crypto. Alibaba's SDK (`@alicloud/dysmsapi20170525` and the Tea runtime it pulls) is many
 * packages for one signed POST; the signature below is short, and a published test vector checks
 * it (test/server/sms-aliyun.test.ts).
 *
 * Signing is the "V3" method, ACS3-HMAC-SHA256 in the Authorization header, which Alibaba
 * recommends over the older query-string HMAC-SHA1 ("V2", discontinued for new integrations):
 * https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
 * SendSms is an RPC-style operation: canonical URI `/`, its parameters in the query, an empty body.
 *
 * Numbers: mainland China only. SendSms takes `+86` numbers as 11 digits; it also takes other
 * countries' numbers (country code + number) but only with an international template, and one
 * GP_SMS_ALIYUN_TEMPLATE_CODE cannot be both. A number outside +86 is refused here with
 * SmsSendError, before any request, rather than spending a request the provider refuses.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { type SmsMessage, type SmsSender, SmsSendError, SmsThrottledError } from "./sms";

export interface AliyunSettings {
  accessKeyId: string;
  accessKeySecret: string;
  /** The approved signature (签名), shown in 【】 before the text. */
  signName: string;
  /** The approved verification-code template (`SMS_…`), whose one variable is `${code}`. */
  templateCode: string;
  /** `https://dysmsapi.aliyuncs.com` in production; plain http is accepted for loopback only (the tests' fake). */
  endpoint: string;
}

const API_VERSION = "2017-05-25";
const TIMEOUT_MS = 5_000;
const ALGORITHM = "ACS3-HMAC-SHA256";

/**
 * The provider's own rate limits: per number and signature (BUSINESS_LIMIT_CONTROL: by default
 * 1 a minute, 5 an hour, 10 a day), the account's daily and monthly caps set in the console, and
 * the API gateway's request-rate limits.
 */
const THROTTLING_CODES = new Set([
  "isv.BUSINESS_LIMIT_CONTROL",
  "isv.DAY_LIMIT_CONTROL",
  "isv.MONTH_LIMIT_CONTROL",
  "Throttling",
  "Throttling.User",
  "Throttling.Api",
]);

/** RFC 3986: everything but A-Z a-z 0-9 - _ . ~ as %XX of its UTF-8 bytes (encodeURIComponent leaves ! ' ( ) * too). */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");

export interface Acs3Input {
  method: string;
  /** The Host header exactly as sent: with the port when it is not the scheme's default. */
  host: string;
  action: string;
  version: string;
  query: Record<string, string>;
  body: string;
  /** yyyy-MM-ddTHH:mm:ssZ, UTC. */
  date: string;
  nonce: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** The headers of a V3-signed RPC request, Authorization included (the three steps of the page cited above). */
export function signAcs3(input: Acs3Input): Record<string, string> {
  const headers: Record<string, string> = {
    host: input.host,
    "x-acs-action": input.action,
    "x-acs-content-sha256": sha256Hex(input.body),
    "x-acs-date": input.date,
    "x-acs-signature-nonce": input.nonce,
    "x-acs-version": input.version,
  };
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method.toUpperCase(),
    "/",
    canonicalQuery(input.query),
    names.map((name) => `${name}:${headers[name].trim()}\n`).join(""),
    signedHeaders,
    headers["x-acs-content-sha256"],
  ].join("\n");
  const stringToSign = `${ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac("sha256", input.accessKeySecret).update(stringToSign, "utf8").digest("hex");
  return {
    ...headers,
    authorization: `${ALGORITHM} Credential=${input.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`,
  };
}

/** Sorted by name, each name and value percent-encoded; also the query string sent, so the two cannot differ. */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(query[name])}`)
    .join("&");
}

/** `+8613800138000` -> `13800138000`; anything else is not a mainland mobile number. */
const MAINLAND_MOBILE = /^\+86(1\d{10})$/;
function mainlandNumber(e164: string): string {
  const match = MAINLAND_MOBILE.exec(e164);
  if (!match) throw new SmsSendError("the Aliyun sender delivers to mainland China (+86) mobile numbers only");
  return match[1];
}

interface AliyunAnswer {
  Code?: unknown;
  RequestId?: unknown;
}

/** Ends the Aliyun error messages: never the provider's Message, which for a bad signature quotes the string it signed (the code within). */
function refusal(answer: AliyunAnswer): string {
  return typeof answer.RequestId === "string" && /^[\w-]{1,64}$/.test(answer.RequestId) ? ` (request ${answer.RequestId})` : "";
}

export function createAliyunSender(s: AliyunSettings): SmsSender {
  for (const [name, value] of Object.entries(s)) {
    if (typeof value !== "string" || value.trim() === "") throw new Error(`Aliyun SMS: ${name} is empty`);
  }
  const url = new URL(s.endpoint);
  const loopback = ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error("Aliyun SMS: the endpoint must be https (plain http only on loopback)");
  }
  if (url.pathname !== "/" || url.search !== "" || url.username !== "" || url.password !== "") {
    throw new Error("Aliyun SMS: the endpoint is a scheme and host only, e.g. https://dysmsapi.aliyuncs.com");
  }

  return {
    name: "aliyun",
    reaches: (to) => MAINLAND_MOBILE.test(to),
    async send(message: SmsMessage): Promise<void> {
      const query = {
        PhoneNumbers: mainlandNumber(message.to),
        SignName: s.signName,
        TemplateCode: s.templateCode,
        TemplateParam: JSON.stringify({ code: message.code }),
      };
      const headers = signAcs3({
        method: "POST",
        host: url.host,
        action: "SendSms",
        version: API_VERSION,
        query,
        body: "",
        date: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        nonce: randomBytes(16).toString("hex"),
        accessKeyId: s.accessKeyId,
        accessKeySecret: s.accessKeySecret,
      });
      // fetch sets Host itself, from the URL: the same url.host that was signed.
      const sent = { ...headers };
      delete sent.host;

      let status: number;
      let text: string;
      try {
        const res = await fetch(`${url.origin}/?${canonicalQuery(query)}`, {
          method: "POST",
          headers: sent,
          redirect: "error",
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        status = res.status;
        text = await res.text();
      } catch (error) {
        const name = (error as Error).name;
        if (name === "TimeoutError" || name === "AbortError") {
          throw new SmsSendError(`Aliyun SendSms did not answer within ${TIMEOUT_MS / 1000} s`);
        }
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        throw new SmsSendError(`Aliyun SendSms could not be reached${typeof code === "string" ? ` (${code})` : ""}`);
      }

      let answer: AliyunAnswer;
      try {
        answer = JSON.parse(text) as AliyunAnswer;
      } catch {
        throw new SmsSendError(`Aliyun SendSms answered HTTP ${status} without JSON`);
      }
      const code = answer !== null && typeof answer === "object" && typeof answer.Code === "string" ? answer.Code : undefined;
      if (code === undefined) throw new SmsSendError(`Aliyun SendSms answered HTTP ${status} without a Code`);
      if (code === "OK" && status >= 200 && status < 300) return;
      if (THROTTLING_CODES.has(code)) throw new SmsThrottledError(`Aliyun SendSms throttled: ${code}${refusal(answer)}`);
      throw new SmsSendError(`Aliyun SendSms refused: ${code}${refusal(answer)}`, code);
    },
  };
}
