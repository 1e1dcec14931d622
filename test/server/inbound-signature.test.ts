import { expect } from "chai";
import { AppError } from "../../server/errors";
import { parseAmount } from "../../server/domain/amounts";
import { signPayload, verifyInboundSignature } from "../../server/domain/inbound-signature";

function codeOf(action: () => void): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe("inbound order signatures", function () {
  const secret = "whsec_test";
  const body = Buffer.from('{"orderId":"A","userId":"u","amount":"100.00"}');
  const now = 1_800_000_000;
  const signed = (timestamp: number, raw = body) => ({
    rawBody: raw,
    timestamp: String(timestamp),
    signature: signPayload(secret, timestamp, raw),
  });

  it("accepts the HMAC of timestamp and raw body within 300 s either way", function () {
    expect(codeOf(() => verifyInboundSignature(signed(now), secret, now))).to.equal(undefined);
    expect(codeOf(() => verifyInboundSignature(signed(now - 300), secret, now))).to.equal(undefined);
    expect(codeOf(() => verifyInboundSignature(signed(now + 300), secret, now))).to.equal(undefined);
  });

  it("refuses a timestamp more than 300 s away, or missing", function () {
    expect(codeOf(() => verifyInboundSignature(signed(now - 301), secret, now))).to.equal("STALE_TIMESTAMP");
    expect(codeOf(() => verifyInboundSignature(signed(now + 301), secret, now))).to.equal("STALE_TIMESTAMP");
    expect(codeOf(() => verifyInboundSignature({ ...signed(now), timestamp: undefined }, secret, now))).to.equal("STALE_TIMESTAMP");
    expect(codeOf(() => verifyInboundSignature({ ...signed(now), timestamp: "12.5" }, secret, now))).to.equal("STALE_TIMESTAMP");
  });

  it("refuses another secret, an altered body, an altered timestamp, and a malformed header", function () {
    expect(codeOf(() => verifyInboundSignature(signed(now), "other", now))).to.equal("BAD_SIGNATURE");
    expect(
      codeOf(() => verifyInboundSignature({ ...signed(now), rawBody: Buffer.from(body.toString().replace("100", "900")) }, secret, now)),
    ).to.equal("BAD_SIGNATURE");
    expect(codeOf(() => verifyInboundSignature({ ...signed(now), timestamp: String(now - 1) }, secret, now))).to.equal("BAD_SIGNATURE");
    expect(codeOf(() => verifyInboundSignature({ ...signed(now), signature: "v0=abc" }, secret, now))).to.equal("BAD_SIGNATURE");
    expect(codeOf(() => verifyInboundSignature({ ...signed(now), signature: undefined }, secret, now))).to.equal("BAD_SIGNATURE");
  });
});

describe("decimal amounts", function () {
  it("turns decimal strings into base units exactly", function () {
    expect(parseAmount("100.00", 6)).to.equal(100_000_000n);
    expect(parseAmount("21", 18)).to.equal(21n * 10n ** 18n);
    expect(parseAmount("0.000001", 6)).to.equal(1n);
    expect(parseAmount("123456789012345678901234567890.5", 6)).to.equal(123456789012345678901234567890_500000n);
  });

  it("refuses more places than the token has, and anything but a plain decimal", function () {
    for (const bad of ["0.0000001", "1e6", "-1", "1.", ".5", " 1", "1,00", "0x10", ""]) {
      expect(() => parseAmount(bad, 6), bad)
        .to.throw(AppError)
        .with.property("code", "VALIDATION_FAILED");
    }
  });
});
