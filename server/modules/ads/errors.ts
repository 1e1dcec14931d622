/** Rewarded ads' error codes, with the HTTP status each answers (merged into http/status.ts). */
export const ADS_ERRORS = {
  /** An ad network's callback names a network the operator has not registered. */
  UNKNOWN_NETWORK: 401,
  /** An order names an ad merchant the shop may not name. */
  AD_MERCHANT_NOT_ALLOWED: 403,
  /** A callback names a user the relayer does not know. */
  UNKNOWN_USER: 404,
  /** A callback whose id the network sent before. */
  CALLBACK_REPLAYED: 409,
  /** The user completed as many ad tasks today as the daily cap counts. */
  DAILY_TASK_CAP: 422,
  /** The deployment has no ad-credit contract (its data folder predates rewarded ads). */
  ADS_UNAVAILABLE: 503,
} as const;
