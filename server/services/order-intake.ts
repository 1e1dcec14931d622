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
import { type Shop, countOrder, findShop, shopDailyTotal } from "../adapters/db/shops";
import { claimUserOrigin } from "../adapters/db/users";
import { chainOrderId, custodialUserId } from "../adapters/chain/ids";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { idSchema } from "../domain/ids";
import { DEFAULT_LIMIT_UNITS, type OrderLimits, crossedNearLimit, limitsInForce, orderLimits, utcDay } from "../domain/shop-limits";
import { verifyInboundSignature } from "../domain/inbound-signature";
import { AppError, type ErrorCode, parseJsonBody } from "../errors";
import { queueRegistration } from "./operations";

/** The core's fields of an inbound order; the modules' follow (`OrderExtension.fields`). */
const CORE_ORDER_FIELDS = {
  orderId: idSchema().meta({ description: "The shop's order id." }),
  userId: idSchema().meta({ description: "The ecosystem's user id of the buyer." }),
  amount: z.string().min(1).max(64),
  referrerId: idSchema()
    .optional()
    .meta({ description: "Honoured only on the order that creates the buyer's user id; ignored on later orders." }),
};

/** An inbound order as parsed: the core's fields and the modules' (each one validated by its module's schema). */
export type InboundOrder = z.infer<z.ZodObject<typeof CORE_ORDER_FIELDS>> & Readonly<Record<string, unknown>>;

/** What a module adds to a shop's inbound order (its `RunningModule.order`). */
export interface OrderExtension {
  /**
   * Optional fields of the order's body, after the core's and those of the modules before, in this
   * order; each one sent is appended to the order's body hash, so orders without them hash as before.
   */
  fields: z.ZodRawShape;
  /** The refusals `accepted` may answer with, for the document. */
  errors?: readonly ErrorCode[];
  /**
   * Run for a new order (never a repeat) in its transaction, before the shop's limits are counted:
   * a throw refuses the order and leaves nothing behind.
   */
  accepted(tx: Queryable, order: { shop: Shop; body: InboundOrder; amount: bigint }): Promise<void>;
}

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
  /** The modules' fields of the order and their part in accepting it, in the modules' order. */
  extensions: readonly OrderExtension[];
}

type LimitName = "perOrder" | "perDay" | "outstanding";

export function createOrderIntake(deps: OrderIntakeDeps) {
  const d = deps.settlementDecimals;
  const extensions = deps.extensions;
  const moduleShape: z.ZodRawShape = Object.assign({}, ...extensions.map((e) => e.fields));
  const orderBody = z.object({ ...CORE_ORDER_FIELDS, ...moduleShape }).strict();
  const moduleFields = Object.keys(moduleShape);
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
    /** The order body's schema: the core's fields, then the modules', and no others. */
    orderBody,
    /** The codes the modules' part in accepting an order may refuse it with. */
    errors: extensions.flatMap((e) => e.errors ?? []),
    verify,
    /** A signed request, verified and parsed, then recorded. */
    async receive(request: InboundOrderRequest): Promise<OrderAcceptance> {
      return intake.record(await verify(request), parseJsonBody(request.rawBody, orderBody));
    },
    /** An order from a verified shop: held to its limits and recorded, or refused with nothing left behind. */
    async record(shop: Shop, body: InboundOrder): Promise<OrderAcceptance> {
      const amount = parseAmount(body.amount, d);
      if (amount === 0n || amount > deps.maxOrderAmount) {
        throw new AppError("AMOUNT_OUT_OF_RANGE", "amount must be above 0 and at most the pool's largest order", { amount: body.amount });
      }
      // A module's field counts only when sent, so orders without it hash as before and their repeats still match.
      const fields = [
        body.orderId,
        body.userId,
        amount.toString(),
        body.referrerId ?? null,
        ...moduleFields.flatMap((f) => (body[f] === undefined ? [] : [body[f]])),
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
        for (const extension of extensions) await extension.accepted(tx, { shop, body, amount });
        const createsUser = await claimUserOrigin(tx, body.userId, shop.id);
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
        // Last before the commit: counting locks the shop's rows and the deployment's day, which
        // every order of every shop needs, so on PostgreSQL each statement after it would be a
        // round trip that all other orders wait behind. A refusal still rolls back all of the above.
        await holdToLimits(tx, shop, amount);
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
