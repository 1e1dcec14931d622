/**
 * The SMS port: how a verification code reaches a phone. Implementations are chosen by
 * configuration (GP_SMS_PROVIDER): an outbox for `npm start` (printed and appended to a file in
 * the data folder), a memory sender for tests, and real providers' adapters. A sender only
 * delivers: codes are made, hashed, limited and checked by services/phone-codes.ts.
 */

/** What a code is for; a code made for one purpose never works for another. */
export const CODE_PURPOSES = [
  "signup",
  "login",
  "reset-password",
  "reset-payment-password",
  "phone-change-old",
  "phone-change-new",
] as const;
export type CodePurpose = (typeof CODE_PURPOSES)[number];

export interface SmsMessage {
  /** The number in E.164, as libphonenumber-js formats it (`+8613800138000`). */
  to: string;
  purpose: CodePurpose;
  /** The 6-digit code, the only variable the provider's template takes. */
  code: string;
}

export interface SmsSender {
  /** For logs and /metrics: `outbox`, `memory`, `aliyun`, … */
  readonly name: string;
  /**
   * Whether the sender can deliver to this number (E.164) at all; absent, every number. Asked before
   * a code is made or counted, so a number it can never reach is refused at once (400).
   */
  reaches?(to: string): boolean;
  /** Resolves once the provider accepted the message; throws SmsThrottledError or SmsSendError. */
  send(message: SmsMessage): Promise<void>;
}

/** The provider refused for its own rate limits: the API answers 429 SMS_PROVIDER_THROTTLED. */
export class SmsThrottledError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "SmsThrottledError";
  }
}

/** The provider refused or could not be reached: the API answers 502 SMS_SEND_FAILED. */
export class SmsSendError extends Error {
  constructor(
    message: string,
    readonly providerCode?: string,
  ) {
    super(message);
    this.name = "SmsSendError";
  }
}
