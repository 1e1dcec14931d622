/**
 * Shop order webhooks: verified, validated, held to the shop's limits and recorded in one
 * transaction before the answer, so an accepted order is never lost and a refused one leaves
 * nothing behind. Idempotent by (shop, order id): the same order again gets its current state,
 * never a second mint; the same id with another body is a conflict.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import type { Db, Queryable } from "../adapters/db/db";
import { type OrderState, findOrder, insertOrder } from "../adapters/db/orders";
import { findMerchant } from "../adapters/db/merchants";
import { type Shop, countOrder, findShop, isAdMerchantAllowed, shopDailyTotal } from "../adapters/db/shops";
import { claimUserOrigin } from "../adapters/db/users";
import { chainOrderId, custodialUserId } from "../adapters/chain/ids";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { idSchema } from "../domain/ids";
import { DEFAULT_LIMIT_UNITS, type OrderLimits, crossedNearLimit, limitsInForce, orderLimits, utcDay } from "../domain/shop-limits";
import { verifyInboundSignature } from "../domain/inbound-signature";
import { AppError, parseJsonBody } from "../errors";
import { queueRegistration } from "./operations";
import { type SaleHook, saleRecorded } from "./sales";

export const InboundOrderBody = z
  .object({
    orderId: idSchema().meta({ description: "The shop's order id." }),
    userId: idSchema().meta({ description: "The ecosystem's user id of the buyer." }),
    amount: z.string().min(1).max(64),
    referrerId: idSchema()
      .optional()
      .meta({ description: "Honoured only on the order that creates the buyer's user id; ignored on later orders." }),
    adMerchantId: idSchema()
      .optional()
      .meta({
        description:
          "Flags the order as a sale of this ad merchant, which the operator or the merchant allowed for this shop: once the order " +
          "is confirmed, the buyer gets ad vouchers worth the amount.",
      }),
  })
  .strict();

export interface InboundOrderRequest {
  shopId: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
}

export interface OrderAcceptance {
  created: boolean;
  orderId: string;
  state: OrderState;
}

export interface OrderIntakeDeps {
  db: Db;
  settlementDecimals: number;
  maxOrderAmount: bigint;
  /** Salts the custodial user ids (a referral is registered on the chain by them). */
  userSalt: string;
  nowSeconds: () => number;
  /** The shops' default limits and the deployment's daily limit; a small shop's when absent. */
  limits?: OrderLimits;
  /** Where alerts go (a shop near or at its limit). */
  log?: Logger;
  /** The modules' hooks for an order that names a merchant (services/sales.ts). */
  saleHooks: readonly SaleHook[];
}

type LimitName = "perOrder" | "perDay" | "outstanding";

export function createOrderIntake(deps: OrderIntakeDeps) {
  const d = deps.settlementDecimals;
  const limits = deps.limits ?? orderLimits(DEFAULT_LIMIT_UNITS, d);
  const refuse = (shop: Shop, limit: LimitName, max: bigint, used: bigint, amount: bigint): never => {
    const details = { shopId: shop.id, limit, max: formatAmount(max, d), used: formatAmount(used, d), amount: formatAmount(amount, d) };
    deps.log?.warn({ alert: "shop-limit-reached", ...details }, "a shop's order was refused at its limit");
    throw new AppError("SHOP_LIMIT_EXCEEDED", `the order would pass the shop's ${limit} limit of ${details.max}`, details);
  };
  const warnIfNear = (shop: Shop, limit: LimitName, usedAfter: bigint, amount: bigint, max: bigint) => {
    if (crossedNearLimit(usedAfter, amount, max))
      deps.log?.warn(
        { alert: "shop-limit-near", shopId: shop.id, limit, used: formatAmount(usedAfter, d), max: formatAmount(max, d) },
        "a shop is near its limit",
      );
  };

  /** Counts a new order against the shop's limits and the deployment's, or refuses it (the transaction then rolls back). */
  async function holdToLimits(tx: Queryable, shop: Shop, amount: bigint): Promise<void> {
    const own = limitsInForce(shop.limits, limits.shopDefaults);
    if (amount > own.perOrder) refuse(shop, "perOrder", own.perOrder, 0n, amount);
    const day = utcDay(deps.nowSeconds());
    const counted = await countOrder(tx, {
      shopId: shop.id,
      day,
      amount,
      perDay: own.perDay,
      outstanding: own.outstanding,
      deploymentPerDay: limits.deploymentPerDay,
    });
    if (counted.day === null) refuse(shop, "perDay", own.perDay, await shopDailyTotal(tx, shop.id, day), amount);
    if (counted.outstanding === null) refuse(shop, "outstanding", own.outstanding, shop.outstanding, amount);
    if (counted.everyone === null) {
      deps.log?.error(
        { alert: "deployment-limit-reached", day, max: formatAmount(limits.deploymentPerDay, d) },
        "the daily limit of all shops is reached",
      );
      throw new AppError("DEPLOYMENT_LIMIT_REACHED", "the platform's daily order limit is reached; send the order again tomorrow (UTC)", {
        day,
        max: formatAmount(limits.deploymentPerDay, d),
      });
    }
    const today = counted.day;
    const outstanding = counted.outstanding;
    warnIfNear(shop, "perDay", today!, amount, own.perDay);
    warnIfNear(shop, "outstanding", outstanding!, amount, own.outstanding);
  }

  /** The shop that signed the request, or the refusal (UNKNOWN_SHOP, BAD_SIGNATURE, STALE_TIMESTAMP); nothing is read before it. */
  async function verify(request: InboundOrderRequest): Promise<Shop> {
    const shop = request.shopId ? await findShop(deps.db, request.shopId) : null;
    if (!shop) throw new AppError("UNKNOWN_SHOP", "X-GP-Shop names no shop");
    verifyInboundSignature(request, shop.webhookSecret, deps.nowSeconds());
    return shop;
  }

  const intake = {
    verify,
    /** A signed request, verified and parsed, then recorded. */
    async receive(request: InboundOrderRequest): Promise<OrderAcceptance> {
      return intake.record(await verify(request), parseJsonBody(request.rawBody, InboundOrderBody));
    },
    /** An order from a verified shop: held to its limits and recorded, or refused with nothing left behind. */
    async record(shop: Shop, body: z.infer<typeof InboundOrderBody>): Promise<OrderAcceptance> {
      const amount = parseAmount(body.amount, d);
      if (amount === 0n || amount > deps.maxOrderAmount) {
        throw new AppError("AMOUNT_OUT_OF_RANGE", "amount must be above 0 and at most the pool's largest order", { amount: body.amount });
      }
      // Orders without an ad merchant hash as before, so their repeats still match.
      const fields = [
        body.orderId,
        body.userId,
        amount.toString(),
        body.referrerId ?? null,
        ...(body.adMerchantId ? [body.adMerchantId] : []),
      ];
      const bodyHash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");

      const inserted = await deps.db.transaction(async (tx) => {
        const order = await insertOrder(tx, {
          shopId: shop.id,
          orderId: body.orderId,
          userId: body.userId,
          referrerId: body.referrerId ?? null,
          amount,
          bodyHash,
          chainOrderId: chainOrderId(shop.id, body.orderId),
        });
        if (!order) return null;
        // A new order only: a repeat of one accepted before answers with its state, whatever changed since.
        if (body.adMerchantId) await requireAllowedMerchant(tx, shop.id, body.adMerchantId);
        await holdToLimits(tx, shop, amount);
        const createsUser = await claimUserOrigin(tx, body.userId, shop.id);
        if (body.adMerchantId) {
          const source = { shopId: shop.id, orderId: body.orderId };
          const sale = { userId: body.userId, merchantId: body.adMerchantId, source, asset: "settlement" as const, paid: amount };
          await saleRecorded(deps.saleHooks, tx, sale);
        }
        // Only the order that creates the user id chooses its referrer (that order is the user's
        // registration); a later order, from this shop or another, cannot give anyone a referrer.
        if (createsUser && body.referrerId && body.referrerId !== body.userId) {
          await queueRegistration(tx, {
            actor: `shop:${shop.id}`,
            userId: body.userId,
            account: custodialUserId(deps.userSalt, body.userId),
            referrerId: body.referrerId,
            referrer: custodialUserId(deps.userSalt, body.referrerId),
          });
        }
        return order;
      });
      if (inserted) return { created: true, orderId: inserted.orderId, state: inserted.state };
      const existing = await findOrder(deps.db, shop.id, body.orderId);
      if (!existing) throw new AppError("INTERNAL", "the order vanished between insert and read");
      if (existing.bodyHash !== bodyHash) {
        throw new AppError("ORDER_CONFLICT", "this order id was received before with a different body", { orderId: body.orderId });
      }
      return { created: false, orderId: existing.orderId, state: existing.state };
    },
  };
  return intake;
}

export type OrderIntake = ReturnType<typeof createOrderIntake>;

/** An order may name an ad merchant (and spend its ad credit) only when the operator or the merchant allowed it for the shop. */
async function requireAllowedMerchant(tx: Queryable, shopId: string, merchantId: string): Promise<void> {
  // An allowed merchant exists (the allowance references it): one query for an accepted ad order.
  if (await isAdMerchantAllowed(tx, shopId, merchantId)) return;
  if (!(await findMerchant(tx, merchantId)))
    throw new AppError("VALIDATION_FAILED", "body.adMerchantId names no merchant", { adMerchantId: merchantId });
  throw new AppError("AD_MERCHANT_NOT_ALLOWED", "this shop may not name that merchant: the operator or the merchant allows it", {
    adMerchantId: merchantId,
  });
}
