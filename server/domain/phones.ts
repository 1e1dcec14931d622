/**
 * Phone numbers as the ecosystem's account names: parsed with libphonenumber-js's full (`max`)
 * metadata, so a number is checked against its country's real numbering plan and not only its
 * length; mainland China is the region of a number written without `+`; only numbers that can take
 * an SMS (mobile, or where the plan cannot tell mobile from fixed line) are accepted. Stored and
 * compared in E.164 (`+8613800138000`), so every way of writing one number is one account.
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { z } from "zod";

export const DEFAULT_PHONE_REGION = "CN";

const SMS_TYPES = new Set(["MOBILE", "FIXED_LINE_OR_MOBILE"]);

/** The number in E.164, or why it is refused. */
export function parsePhone(input: string): { phone: string } | { error: string } {
  const parsed = parsePhoneNumberFromString(input, DEFAULT_PHONE_REGION);
  const abroad =
    input.trim().startsWith("+") || input.trim().startsWith("00") ? "" : "; a number without + is read as a mainland China one";
  if (!parsed || !parsed.isValid()) return { error: `is not a valid phone number (a mainland mobile, or + and the country code${abroad})` };
  const type = parsed.getType();
  if (!type || !SMS_TYPES.has(type)) return { error: `cannot receive SMS (a mobile number is needed${abroad})` };
  return { phone: parsed.number };
}

/** A phone number in a request: any usual way of writing it, turned into E.164. */
export const PhoneNumber = z
  .string()
  .min(3)
  .max(32)
  .transform((raw, ctx) => {
    const result = parsePhone(raw);
    if ("error" in result) {
      ctx.addIssue({ code: "custom", message: result.error });
      return z.NEVER;
    }
    return result.phone;
  })
  .meta({
    description: "A mobile number: 11 digits for the Chinese mainland, otherwise + and the country code. Answered in E.164.",
    example: "13800138000",
  });

/**
 * A number as others may see it: the country code and the national number with its middle hidden
 * (`+8613800138000` → `+86 138****8000`): the first 3 and last 4 digits of a number of 11 or more,
 * a quarter at each end of a shorter one.
 */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const national = parsed ? String(parsed.nationalNumber) : e164.replace(/\D/g, "");
  const [head, tail] = national.length >= 11 ? [3, 4] : [Math.floor(national.length / 4), Math.floor(national.length / 4)];
  const shown = `${national.slice(0, head)}${"*".repeat(national.length - head - tail)}${national.slice(national.length - tail)}`;
  return parsed ? `+${parsed.countryCallingCode} ${shown}` : shown;
}
