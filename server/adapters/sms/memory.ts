/**
 * The memory sender of the tests: it keeps what it was asked to send, and can be told to refuse
 * the way a provider does (throttled, or failed) to test the API's answers.
 */
import { type SmsMessage, type SmsSender, SmsSendError, SmsThrottledError } from "./sms";

export interface MemorySender extends SmsSender {
  readonly sent: SmsMessage[];
  /** The last code sent to `to` for `purpose`; throws when there is none, so a test cannot pass without one. */
  lastCode(to: string, purpose: SmsMessage["purpose"]): string;
  /** What the next sends do: deliver (null), refuse as throttled, or fail. */
  refuse: "throttled" | "failed" | null;
}

export function createMemorySender(): MemorySender {
  const sender: MemorySender = {
    name: "memory",
    sent: [],
    refuse: null,
    async send(message) {
      if (sender.refuse === "throttled") throw new SmsThrottledError("the provider throttles this number", 60);
      if (sender.refuse === "failed") throw new SmsSendError("the provider refused the message", "isv.TEST_REFUSAL");
      sender.sent.push({ ...message });
    },
    lastCode(to, purpose) {
      const found = [...sender.sent].reverse().find((m) => m.to === to && m.purpose === purpose);
      if (!found) throw new Error(`no code was sent to ${to} for ${purpose}`);
      return found.code;
    },
  };
  return sender;
}
