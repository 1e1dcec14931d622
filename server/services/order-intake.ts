/**
 * Shop order webhooks: verified, validated, and recorded in one statement before the answer, so
 * an accepted order is never lost. Idempotent by (shop, order id): the same order again gets its
 * current state, never a second mint; the same id with another body is a conflict.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Db, Queryable } from "../adapters/db/db";
import { type OrderState, findOrder, insertOrder } from "../adapters/db/orders";
import { findMerchant } from "../adapters/db/merchants";
import { findShop } from "../adapters/db/shops";
import { chainOrderId, custodialUserId } from "../adapters/chain/ids";
import { parseAmount } from "../domain/amounts";
import { verifyWebhook } from "../domain/webhook-signature";
import { AppError, parseJsonBody } from "../errors";
import { recordAdSale } from "./ads";
import { queueRegistration } from "./operations";

export const OrderWebhookBody = z
  .object({
    orderId: z.string().min(1).max(128),
    userId: z.string().min(1).max(128),
    amount: z.string().min(1).max(64),
    referrerId: z.string().min(1).max(128).optional(),
    adMerchantId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: "Flags the order as a sale of this ad merchant: once it is confirmed, the buyer gets ad vouchers worth the amount." }),
  })
  .strict();

export interface WebhookRequest {
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
}

export function createOrderIntake(deps: OrderIntakeDeps) {
  return {
    async receive(request: WebhookRequest): Promise<OrderAcceptance> {
      const shop = request.shopId ? await findShop(deps.db, request.shopId) : null;
      if (!shop) throw new AppError("UNKNOWN_SHOP", "X-GP-Shop names no shop");
      verifyWebhook(request, shop.webhookSecret, deps.nowSeconds());

      const body = parseJsonBody(request.rawBody, OrderWebhookBody);
      const amount = parseAmount(body.amount, deps.settlementDecimals);
      if (amount === 0n || amount > deps.maxOrderAmount) {
        throw new AppError("AMOUNT_OUT_OF_RANGE", "amount must be above 0 and at most the pool's largest order", { amount: body.amount });
      }
      if (body.adMerchantId && !(await findMerchant(deps.db, body.adMerchantId))) {
        throw new AppError("VALIDATION_FAILED", "body.adMerchantId names no merchant", { adMerchantId: body.adMerchantId });
      }
      // Orders without an ad merchant hash as before, so their repeats still match.
      const fields = [body.orderId, body.userId, amount.toString(), body.referrerId ?? null, ...(body.adMerchantId ? [body.adMerchantId] : [])];
      const bodyHash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");

      const record = async (tx: Queryable) => {
        const order = await insertOrder(tx, {
          shopId: shop.id,
          orderId: body.orderId,
          userId: body.userId,
          referrerId: body.referrerId ?? null,
          amount,
          bodyHash,
          chainOrderId: chainOrderId(shop.id, body.orderId),
        });
        if (order && body.adMerchantId) {
          const source = { shopId: shop.id, orderId: body.orderId };
          await recordAdSale(tx, { userId: body.userId, merchantId: body.adMerchantId, source, asset: "settlement", paid: amount });
        }
        if (order && body.referrerId && body.referrerId !== body.userId) {
          // Registers the buyer with the referrer before the order is sent (the buyer's orders wait
          // for it); a buyer who has a referrer already keeps it, an unknown referrer is refused
          // with reason. Not again for a referrer already asked for: shops repeat it on every order.
          await queueRegistration(
            tx,
            {
              actor: `shop:${shop.id}`,
              userId: body.userId,
              account: custodialUserId(deps.userSalt, body.userId),
              referrerId: body.referrerId,
              referrer: custodialUserId(deps.userSalt, body.referrerId),
            },
            true,
          );
        }
        return order;
      };
      // One statement needs no transaction; an order with a referral or an ad sale writes its rows together.
      const inserted = body.referrerId || body.adMerchantId ? await deps.db.transaction(record) : await record(deps.db);
      if (inserted) return { created: true, orderId: inserted.orderId, state: inserted.state };
      const existing = await findOrder(deps.db, shop.id, body.orderId);
      if (!existing) throw new AppError("INTERNAL", "the order vanished between insert and read");
      if (existing.bodyHash !== bodyHash) {
        throw new AppError("ORDER_CONFLICT", "this order id was received before with a different body", { orderId: body.orderId });
      }
      return { created: false, orderId: existing.orderId, state: existing.state };
    },
  };
}

export type OrderIntake = ReturnType<typeof createOrderIntake>;
