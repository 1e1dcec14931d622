/**
 * The outbox sender of `npm start`: no provider, the code is logged and appended to a file in the
 * data folder (`sms-outbox.log`), one line per message, so a newcomer can sign up with a code read
 * from `tail .data/sms-outbox.log`. Never for a deployment people use: the codes are in the log.
 */
import * as fs from "node:fs";
import type { Logger } from "pino";
import type { SmsMessage, SmsSender } from "./sms";

export const OUTBOX_FILE = "sms-outbox.log";

export function createOutboxSender(file: string, log: Logger): SmsSender {
  return {
    name: "outbox",
    async send(message: SmsMessage) {
      const line = `${new Date().toISOString()} to ${message.to} code ${message.code} (${message.purpose}, valid 5 minutes)\n`;
      await fs.promises.appendFile(file, line, { mode: 0o600 });
      log.info(
        { to: message.to, purpose: message.purpose, code: message.code, file },
        `SMS outbox: code ${message.code} for ${message.to}`,
      );
    },
  };
}
