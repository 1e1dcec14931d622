import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { createAliyunSender, percentEncode, signAcs3, type AliyunSettings } from "../../server/adapters/sms/aliyun";
import { type SmsMessage, SmsSendError, SmsThrottledError } from "../../server/adapters/sms/sms";
import { type FakeAliyunSms, startFakeAliyunSms, verifyAcs3 } from "../helpers/fake-aliyun-sms";
import { freePort } from "../helpers/net";

// Alibaba's worked example of the V3 signature, every input fixed and the result published:
// https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
const DOC = {
  method: "POST",
  host: "ecs.cn-shanghai.aliyuncs.com",
  action: "RunInstances",
  version: "2014-05-26",
  query: { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" },
  body: "",
  date: "2023-10-26T10:22:32Z",
  nonce: "3156853299f313e23d1673dc12e1703d",
  accessKeyId: "YourAccessKeyId",
  accessKeySecret: "YourAccessKeySecret",
};
const DOC_AUTHORIZATION =
  "ACS3-HMAC-SHA256 Credential=YourAccessKeyId," +
  "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version," +
  "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";
const DOC_TARGET = "/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";

const SECRET = "s3cr3t-ALIYUN-access-key-secret";
const CODE = "493817";
const account = { accessKeyId: "LTAI5tFakeKeyId", accessKeySecret: SECRET, signName: "绿色积分", templateCode: "SMS_465130001" };
const message: SmsMessage = { to: "+8613800138000", purpose: "signup", code: CODE };

/** The refusal `send` throws, checked to be of the class and provider code expected and to carry neither the secret nor the code. */
async function refusal(
  promise: Promise<void>,
  kind: typeof SmsSendError | typeof SmsThrottledError,
  providerCode?: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, "send should have thrown").to.be.instanceOf(kind);
  const error = caught as Error;
  if (kind === SmsSendError) expect((error as SmsSendError).providerCode).to.equal(providerCode);
  const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${String((error as { cause?: unknown }).cause)}`;
  expect(everything).not.to.include(SECRET);
  expect(everything).not.to.include(CODE);
  expect(everything).not.to.include("13800138000");
  return error;
}

describe("Aliyun SMS sender", function () {
  this.timeout(20_000);
  let fake: FakeAliyunSms;
  let settings: AliyunSettings;

  beforeEach(async function () {
    fake = await startFakeAliyunSms(account);
    settings = { ...account, endpoint: fake.endpoint };
  });

  afterEach(async function () {
    await fake.close();
  });

  describe("the V3 signature (ACS3-HMAC-SHA256)", function () {
    it("reproduces Alibaba's published example", function () {
      expect(signAcs3(DOC).authorization).to.equal(DOC_AUTHORIZATION);
    });

    it("is what the fake's own verifier accepts on Alibaba's example, and refuses with another secret or query", function () {
      const headers = { ...signAcs3(DOC), authorization: DOC_AUTHORIZATION };
      const request = { method: "POST", target: DOC_TARGET, headers, body: Buffer.alloc(0) };
      const at = Date.parse(DOC.date);
      expect(verifyAcs3(request, () => DOC.accessKeySecret, at, new Set()).ok).to.equal(true);
      expect(verifyAcs3(request, () => "another", at, new Set())).to.include({ ok: false, code: "SignatureDoesNotMatch" });
      const altered = { ...request, target: DOC_TARGET.replace("cn-shanghai", "cn-beijing") };
      expect(verifyAcs3(altered, () => DOC.accessKeySecret, at, new Set())).to.include({ ok: false, code: "SignatureDoesNotMatch" });
    });

    it("percent-encodes as RFC 3986: space %20, * ' ( ) ! + encoded, ~ kept, UTF-8 bytes", function () {
      expect(percentEncode("a b*'()!+~_-.")).to.equal("a%20b%2A%27%28%29%21%2B~_-.");
      expect(percentEncode('{"code":"1"}')).to.equal("%7B%22code%22%3A%221%22%7D");
      expect(percentEncode("绿")).to.equal("%E7%BB%BF");
    });
  });

  describe("a code to a mainland number", function () {
    it("reaches the provider as 11 digits with the approved signature, template and TemplateParam code", async function () {
      await createAliyunSender(settings).send(message);
      expect(fake.messages).to.deep.equal([
        {
          phoneNumbers: "13800138000",
          signName: "绿色积分",
          templateCode: "SMS_465130001",
          templateParam: { code: CODE },
          accessKeyId: "LTAI5tFakeKeyId",
        },
      ]);
    });

    it("signs each request with a fresh nonce, so consecutive sends all go through", async function () {
      const sender = createAliyunSender(settings);
      expect(sender.name).to.equal("aliyun");
      for (const code of ["111111", "222222", "333333"]) await sender.send({ ...message, code });
      expect(fake.messages.map((m) => m.templateParam.code)).to.deep.equal(["111111", "222222", "333333"]);
    });
  });

  describe("the fake's gateway checks", function () {
    async function post(headers: Record<string, string>, query: Record<string, string>) {
      const search = Object.entries(query)
        .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
        .join("&");
      const { host: _host, ...sent } = headers;
      const res = await fetch(`${fake.endpoint}/?${search}`, { method: "POST", headers: sent });
      return { status: res.status, body: (await res.json()) as { Code: string } };
    }
    const signed = (date: string, nonce: string) => {
      const query = {
        PhoneNumbers: "13800138000",
        SignName: account.signName,
        TemplateCode: account.templateCode,
        TemplateParam: '{"code":"1"}',
      };
      const headers = signAcs3({
        method: "POST",
        host: new URL(fake.endpoint).host,
        action: "SendSms",
        version: "2017-05-25",
        query,
        body: "",
        date,
        nonce,
        accessKeyId: account.accessKeyId,
        accessKeySecret: SECRET,
      });
      return { headers, query };
    };
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

    it("refuses a replayed nonce", async function () {
      const { headers, query } = signed(iso(Date.now()), "nonce-used-once");
      const first = await post(headers, query);
      expect([first.status, first.body.Code]).to.deep.equal([200, "OK"]);
      const again = await post(headers, query);
      expect([again.status, again.body.Code]).to.deep.equal([400, "SignatureNonceUsed"]);
      expect(fake.messages).to.have.length(1);
    });

    it("refuses a timestamp more than 15 minutes off, accepts one within", async function () {
      const stale = signed(iso(Date.now() - 16 * 60_000), "stale");
      const refused = await post(stale.headers, stale.query);
      expect([refused.status, refused.body.Code]).to.deep.equal([400, "InvalidTimeStamp.Expired"]);
      const fine = signed(iso(Date.now() - 14 * 60_000), "fine");
      expect((await post(fine.headers, fine.query)).body.Code).to.equal("OK");
    });

    it("answers the adapter's own clock: a process 20 minutes off is refused", async function () {
      await fake.close();
      fake = await startFakeAliyunSms({ ...account, now: () => Date.now() + 20 * 60_000 });
      await refusal(createAliyunSender({ ...settings, endpoint: fake.endpoint }).send(message), SmsSendError, "InvalidTimeStamp.Expired");
    });
  });

  describe("refusals", function () {
    it("a wrong secret: SmsSendError SignatureDoesNotMatch, without the provider's message (which quotes the code)", async function () {
      const error = await refusal(
        createAliyunSender({ ...settings, accessKeySecret: "not-the-secret" }).send(message),
        SmsSendError,
        "SignatureDoesNotMatch",
      );
      expect(error.message).not.to.include("not-the-secret");
      expect(fake.messages).to.deep.equal([]);
    });

    it("an unknown AccessKey id: SmsSendError InvalidAccessKeyId.NotFound", async function () {
      await refusal(
        createAliyunSender({ ...settings, accessKeyId: "LTAI5tNobody" }).send(message),
        SmsSendError,
        "InvalidAccessKeyId.NotFound",
      );
    });

    it("a signature name the account has not had approved: SmsSendError isv.SMS_SIGNATURE_ILLEGAL", async function () {
      await refusal(createAliyunSender({ ...settings, signName: "别的签名" }).send(message), SmsSendError, "isv.SMS_SIGNATURE_ILLEGAL");
    });

    for (const [code, status] of [
      ["isv.BUSINESS_LIMIT_CONTROL", 200],
      ["isv.DAY_LIMIT_CONTROL", 200],
      ["isv.MONTH_LIMIT_CONTROL", 200],
      ["Throttling.User", 400],
    ] as const) {
      it(`the provider's throttling ${code}: SmsThrottledError`, async function () {
        fake.answerNext({ code, status, message: `触发流控 ${CODE}` });
        const error = await refusal(createAliyunSender(settings).send(message), SmsThrottledError);
        expect(error.message).to.include(code);
        expect(fake.messages).to.deep.equal([]);
      });
    }

    for (const code of ["isv.AMOUNT_NOT_ENOUGH", "isv.MOBILE_NUMBER_ILLEGAL", "isv.OUT_OF_SERVICE"]) {
      it(`the provider's ${code}: SmsSendError with that code`, async function () {
        fake.answerNext({ code });
        await refusal(createAliyunSender(settings).send(message), SmsSendError, code);
      });
    }

    it("an answer that is not JSON: SmsSendError naming the status", async function () {
      fake.answerNextRaw(502, "<html><body>Bad Gateway</body></html>");
      const error = await refusal(createAliyunSender(settings).send(message), SmsSendError, undefined);
      expect(error.message).to.include("502");
    });

    it("no server on the endpoint: SmsSendError", async function () {
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      const error = await refusal(createAliyunSender({ ...settings, endpoint }).send(message), SmsSendError, undefined);
      expect(error.message).to.include("could not be reached");
    });

    it("no answer within 5 s: SmsSendError, after 5 s and not much more", async function () {
      fake.hangNext();
      const started = Date.now();
      const error = await refusal(createAliyunSender(settings).send(message), SmsSendError, undefined);
      const waited = Date.now() - started;
      expect(error.message).to.include("5 s");
      expect(waited).to.be.within(4_900, 7_000);
    });

    it("a number outside mainland China: SmsSendError before any request", async function () {
      for (const to of ["+14155550123", "+85261234567", "+861380013800"]) {
        await refusal(createAliyunSender(settings).send({ ...message, to }), SmsSendError, undefined);
      }
      expect(fake.hits).to.equal(0);
    });
  });

  describe("settings", function () {
    it("refuses an endpoint that is not https (plain http on loopback only), has a path, or an empty setting", function () {
      expect(() => createAliyunSender({ ...settings, endpoint: "http://dysmsapi.aliyuncs.com" })).to.throw(/https/);
      expect(() => createAliyunSender({ ...settings, endpoint: "https://dysmsapi.aliyuncs.com/sms" })).to.throw(/scheme and host only/);
      expect(() => createAliyunSender({ ...settings, templateCode: " " })).to.throw(/templateCode is empty/);
      expect(createAliyunSender({ ...settings, endpoint: "https://dysmsapi.aliyuncs.com" }).name).to.equal("aliyun");
    });
  });

  it("is imported statically by no server module (type-only imports are erased), so only the tests that ask for it load it", function () {
    const files = (fs.readdirSync(path.join(__dirname, "../../server"), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
    const importers = files.filter((file) =>
      /^\s*import\s+(?!type\s)[^;]*from\s+["'][^"']*(sms\/|\.\/)aliyun["']/m.test(
        fs.readFileSync(path.join(__dirname, "../../server", file), "utf8"),
      ),
    );
    expect(importers).to.deep.equal([]);
  });
});
