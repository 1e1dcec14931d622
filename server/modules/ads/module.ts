/**
 * Rewarded ads as a module of the relayer: the ad-credit contract, the round step that asks the
 * chain to issue vouchers for confirmed ad sales and to convert released vouchers, the inbound
 * order's `adMerchantId`, and the routes (the networks' signed callbacks, the users', merchants'
 * and operator's endpoints, the shops' allowances).
 */
import { z } from "zod";
import { DEFAULT_AD_POLICY, DEFAULT_DAILY_TASK_CAP, parsePolicy } from "./release-policy";
import { int } from "../../env";
import type { Module } from "../module";
import { adCreditContract } from "./contract";
import { adsDeployment } from "./deploy";
import { adCallbackRoutes, adRoutes } from "./routes";
import { type AdsConfig, createAds, defaultAdsConfig, recordAdSale } from "./service";
import { adShopRoutes } from "./shop-routes";
import { adOrders } from "./shops";

declare module "../module" {
  interface ModuleSettings {
    /** Rewarded ads: the release policy and the daily task cap; the deployment's defaults when absent. */
    ads?: AdsConfig;
  }
}

/**
 * The least time between two runs of the ads step: order rounds come every few milliseconds under
 * load, and its queries would take turns with the webhooks' on PGlite's one connection.
 */
const ADS_STEP_MS = 250;

export const adsModule: Module = {
  name: "ads",
  contracts: [adCreditContract],
  deployment: adsDeployment,
  env: {
    /** How completed ad tasks release vouchers: default `fixed:6:1` (6 tasks convert 1 settlement unit). */
    GP_AD_POLICY: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        if (!text) return;
        try {
          parsePolicy(text, 18);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      }),
    /** Ad tasks counted per user per UTC day. */
    GP_AD_DAILY_TASK_CAP: int(DEFAULT_DAILY_TASK_CAP, 1, 10_000),
    /** Below this ad credit (whole settlement units) a merchant is sent ad_credit.low once: default 100. */
    GP_AD_CREDIT_LOW: z
      .string()
      .regex(/^\d{1,18}$/, "GP_AD_CREDIT_LOW must be a whole number of settlement units")
      .optional(),
  },
  settings: (env, settlementDecimals) => ({
    ads: {
      policy: parsePolicy((env.GP_AD_POLICY as string | undefined) || DEFAULT_AD_POLICY, settlementDecimals),
      dailyTaskCap: env.GP_AD_DAILY_TASK_CAP as number,
      creditLow: BigInt((env.GP_AD_CREDIT_LOW as string | undefined) || "100") * 10n ** BigInt(settlementDecimals),
    },
  }),
  start: (context) => {
    const { chain } = context;
    const ads = createAds({
      db: context.db,
      chain,
      userSalt: context.userSalt,
      config: context.settings.ads ?? defaultAdsConfig(chain.deployments.settlementDecimals),
      nowSeconds: context.nowSeconds,
      log: context.log,
    });
    return {
      steps: [{ name: "ads", everyMs: ADS_STEP_MS, tick: ads.tick }],
      // A payment to a merchant, or an order naming it, earns vouchers once confirmed, if the merchant has ad credit.
      saleRecorded: recordAdSale,
      order: adOrders,
      routes: (host) => {
        adCallbackRoutes(host, { ads });
        adRoutes(host, { chain, ads, settlement: context.settlement });
        adShopRoutes(host);
      },
    };
  },
};
