/**
 * The SMS sender GP_SMS_PROVIDER names: `outbox` (the default of the embedded `npm start`),
 * `aliyun`, or `none` (phone sign-up answers SMS_NOT_CONFIGURED; the default with RPC_URL, so a
 * real deployment never logs codes by accident). A provider's adapter is imported only when it is
 * chosen, so neither it nor its settings are loaded otherwise.
 */
import * as path from "node:path";
import type { Logger } from "pino";
import type { AliyunSettings } from "./aliyun";
import { OUTBOX_FILE, createOutboxSender } from "./outbox";
import type { SmsSender } from "./sms";

export const SMS_PROVIDERS = ["outbox", "aliyun", "none"] as const;
export type SmsProvider = (typeof SMS_PROVIDERS)[number];

export type SmsSettings = { provider: "outbox" } | { provider: "none" } | { provider: "aliyun"; aliyun: AliyunSettings };

export async function createSmsSender(settings: SmsSettings, deps: { dataDir: string; log: Logger }): Promise<SmsSender | null> {
  switch (settings.provider) {
    case "none":
      return null;
    case "outbox":
      return createOutboxSender(path.join(deps.dataDir, OUTBOX_FILE), deps.log);
    case "aliyun": {
      const { createAliyunSender } = await import("./aliyun");
      return createAliyunSender(settings.aliyun);
    }
  }
}
