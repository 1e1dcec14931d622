/**
 * Verification codes: 6 digits from a CSPRNG, valid 5 minutes, for one number and one purpose,
 * kept only as an HMAC-SHA256 under the deployment's code key, compared in constant time, used
 * once, void after 5 tries. Sending is limited per number (a 60 s cooldown, 5 an hour, 10 a day),
 * per client address and by a daily budget for everyone, counted in the database so that several
 * relayer processes share the counts. A code is sent whether or not the number has an account, so
 * the answer says nothing about who is registered; what the code then allows is decided when it is
 * used, by its number's owner.
 */
import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import type { Db, Queryable } from "../adapters/db/db";
import { type SendCounts, countSends, insertCode, lockAndCountSends, reserveCodeTry, useCode, voidCode } from "../adapters/db/phones";
import { type CodePurpose, type SmsSender, SmsSendError, SmsThrottledError } from "../adapters/sms/sms";
import { AppError } from "../errors";

export const CODE_VALID_SECONDS = 300;
export const CODE_TRIES = 5;
/** The per-number limits the issue fixes; the per-address ones and the budget are configurable. */
export const NUMBER_COOLDOWN_SECONDS = 60;
export const NUMBER_PER_HOUR = 5;
export const NUMBER_PER_DAY = 10;
/** Of those, what one client address may ask for one number: the rest stays for its owner. */
export const NUMBER_PER_ADDRESS_HOUR = 4;
export const NUMBER_PER_ADDRESS_DAY = 7;

/** What each limit means, in the refusal's message (`details.limit` names it for programs). */
const LIMIT_WORDS: Record<string, string> = {
  "number-cooldown": "a code was sent to this number less than a minute ago",
  "number-hour": `this number was sent ${NUMBER_PER_HOUR} codes in the last hour`,
  "number-day": `this number was sent ${NUMBER_PER_DAY} codes in the last 24 hours`,
  "number-address-hour": `this address asked for ${NUMBER_PER_ADDRESS_HOUR} codes for this number in the last hour`,
  "number-address-day": `this address asked for ${NUMBER_PER_ADDRESS_DAY} codes for this number in the last 24 hours`,
  "address-hour": "this address asked for too many codes in the last hour",
  "address-day": "this address asked for too many codes in the last 24 hours",
  "daily-budget": "the service has sent all the codes it sends in a day",
};

export interface SmsLimits {
  /** Codes one client address may ask for in an hour: GP_SMS_PER_IP_HOUR, default 20. */
  perIpHour: number;
  /** …and in a day: GP_SMS_PER_IP_DAY, default 50. */
  perIpDay: number;
  /** Codes sent to everyone per UTC day: GP_SMS_DAILY_BUDGET, default 2000. */
  dailyBudget: number;
}

export const DEFAULT_SMS_LIMITS: SmsLimits = { perIpHour: 20, perIpDay: 50, dailyBudget: 2000 };

export interface PhoneCodes {
  /** Sends a new code for `purpose` to `phone` (E.164), or refuses with SMS_LIMIT_REACHED and when to try again. */
  send(phone: string, purpose: CodePurpose, ip: string): Promise<{ expiresInSeconds: number; retryAfterSeconds: number }>;
  /**
   * Checks a code (counting the try even when the request then fails); the returned id is marked
   * used by `use` in the transaction of what the code allows. CODE_INVALID when wrong, expired,
   * used or out of tries, without saying which.
   */
  check(phone: string, purpose: CodePurpose, code: string, field?: string): Promise<string>;
  /** Marks a checked code used, in `tx`; CODE_INVALID when another request used it first. */
  use(tx: Queryable, codeId: string, field?: string): Promise<void>;
}

export interface PhoneCodeDeps {
  db: Db;
  /** Null when no sender is configured: every send answers SMS_NOT_CONFIGURED. */
  sender: SmsSender | null;
  /** The HMAC key of the stored codes (hex), kept in the database's settings. */
  codeKey: string;
  limits: SmsLimits;
  log: Logger;
  /** Told each request's outcome (the /metrics counter). */
  onResult?(purpose: CodePurpose, result: SmsResult): void;
}

export type SmsResult = "sent" | "limited" | "throttled" | "failed";

const invalid = (field: string) => new AppError("CODE_INVALID", "the code is wrong, expired or used; ask for a new one", { field });

export function createPhoneCodes(deps: PhoneCodeDeps): PhoneCodes {
  const key = Buffer.from(deps.codeKey, "hex");
  const hash = (phone: string, purpose: CodePurpose, code: string) =>
    createHmac("sha256", key).update(`${phone}|${purpose}|${code}`).digest();

  const limitReached = (limit: string, retryAfterSeconds: number, max?: number): never => {
    deps.log.warn({ alert: limit === "daily-budget" ? "sms-budget-reached" : undefined, limit }, "an SMS code was refused at a limit");
    const wait = retryAfterSeconds >= 120 ? `${Math.ceil(retryAfterSeconds / 60)} minutes` : `${retryAfterSeconds} s`;
    throw new AppError("SMS_LIMIT_REACHED", `${LIMIT_WORDS[limit] ?? "too many codes"}; try again in ${wait}`, {
      limit,
      retryAfterSeconds,
      ...(max === undefined ? {} : { max }),
    });
  };

  /** Refuses at the first limit the counts reach. */
  const holdToLimits = (c: SendCounts): void => {
    const { limits } = deps;
    if (c.sinceLastSeconds !== null && c.sinceLastSeconds < NUMBER_COOLDOWN_SECONDS)
      limitReached("number-cooldown", Math.ceil(NUMBER_COOLDOWN_SECONDS - c.sinceLastSeconds));
    if (c.phoneHour >= NUMBER_PER_HOUR) limitReached("number-hour", c.waits.phoneHour, NUMBER_PER_HOUR);
    if (c.phoneDay >= NUMBER_PER_DAY) limitReached("number-day", c.waits.phoneDay, NUMBER_PER_DAY);
    if (c.phoneIpHour >= NUMBER_PER_ADDRESS_HOUR) limitReached("number-address-hour", c.waits.phoneIpHour, NUMBER_PER_ADDRESS_HOUR);
    if (c.phoneIpDay >= NUMBER_PER_ADDRESS_DAY) limitReached("number-address-day", c.waits.phoneIpDay, NUMBER_PER_ADDRESS_DAY);
    if (c.ipHour >= limits.perIpHour) limitReached("address-hour", c.waits.ipHour, limits.perIpHour);
    if (c.ipDay >= limits.perIpDay) limitReached("address-day", c.waits.ipDay, limits.perIpDay);
    if (c.today >= limits.dailyBudget) limitReached("daily-budget", secondsToUtcMidnight(), limits.dailyBudget);
  };

  return {
    async send(phone, purpose, ip) {
      const sender = deps.sender;
      if (!sender) throw new AppError("SMS_NOT_CONFIGURED", "this deployment sends no SMS (GP_SMS_PROVIDER=none)");
      if (sender.reaches && !sender.reaches(phone))
        throw new AppError("VALIDATION_FAILED", "body.phone: this deployment sends SMS to mainland China (+86) mobile numbers only", {
          field: "phone",
        });
      const counted = (result: SmsResult) => deps.onResult?.(purpose, result);
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      let codeId: string;
      try {
        holdToLimits(await countSends(deps.db, phone, ip));
        codeId = await deps.db.transaction(async (tx) => {
          holdToLimits(await lockAndCountSends(tx, phone, ip));
          const codeHash = hash(phone, purpose, code).toString("hex");
          return insertCode(tx, { phone, purpose, codeHash, ip, validSeconds: CODE_VALID_SECONDS });
        });
      } catch (error) {
        if (error instanceof AppError && error.code === "SMS_LIMIT_REACHED") counted("limited");
        throw error;
      }
      // Sent after the commit, so no lock waits on the provider; a refused code still counts.
      try {
        await sender.send({ to: phone, purpose, code });
      } catch (error) {
        await voidCode(deps.db, codeId);
        if (error instanceof SmsThrottledError) {
          counted("throttled");
          throw new AppError("SMS_PROVIDER_THROTTLED", "the SMS provider refuses more messages to this number for now; try again later", {
            retryAfterSeconds: error.retryAfterSeconds ?? NUMBER_COOLDOWN_SECONDS,
          });
        }
        counted("failed");
        // The provider's code goes to the log only: it speaks of our account (its balance, its approvals), not the caller's request.
        deps.log.error(
          {
            alert: "sms-send-failed",
            provider: sender.name,
            providerCode: error instanceof SmsSendError ? error.providerCode : undefined,
            err: error,
          },
          "an SMS was not sent",
        );
        throw new AppError("SMS_SEND_FAILED", "the SMS could not be sent; try again later");
      }
      counted("sent");
      return { expiresInSeconds: CODE_VALID_SECONDS, retryAfterSeconds: NUMBER_COOLDOWN_SECONDS };
    },

    async check(phone, purpose, code, field = "code") {
      if (!/^\d{6}$/.test(code)) throw invalid(field);
      const live = await reserveCodeTry(deps.db, phone, purpose, CODE_TRIES);
      // A hash is compared even without a live code, so both refusals take the same time.
      const expected = live ? Buffer.from(live.codeHash, "hex") : Buffer.alloc(32);
      const same = timingSafeEqual(expected, hash(phone, purpose, code));
      if (!live || !same) throw invalid(field);
      return live.id;
    },

    async use(tx, codeId, field = "code") {
      if (!(await useCode(tx, codeId))) throw invalid(field);
    },
  };
}

function secondsToUtcMidnight(nowMs = Date.now()): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return Math.ceil((next.getTime() - nowMs) / 1000);
}
