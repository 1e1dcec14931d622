/**
 * The modules' error codes with their HTTP statuses, merged into the one vocabulary (errors.ts)
 * and its status table (http/status.ts); a new module's codes are one line here. Apart from
 * index.ts because every route imports the vocabulary, and index.ts imports the modules' routes.
 */
import { ADS_ERRORS } from "./ads/errors";

export const MODULE_ERRORS = { ...ADS_ERRORS } as const;
