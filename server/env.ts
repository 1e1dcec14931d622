/** Schemas of settings in the environment, shared by config.ts and the modules' own settings. */
import { z } from "zod";

/** A whole number from `min` to `max`; `fallback` when unset or empty. */
export const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === "") return fallback;
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value < min || value > max) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}, got "${raw}"` });
        return z.NEVER;
      }
      return value;
    });
