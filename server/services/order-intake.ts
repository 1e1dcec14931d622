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
import { emitOrderEvent } from "../adapters/db/notifications";
import { type Counted, LimitRefused, type OrderCount, type Shop, countOrder, findShop, recordCountedOrder } from "../adapters/db/shops";
import { claimUserOrigin } from "../adapters/db/users";
import { chainOrderId, custodialUserId } from "../adapters/chain/ids";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { idSchema } from "../domain/ids";
import { DEFAULT_LIMIT_UNITS, type OrderLimits, crossedNearLimit, limitsInForce, orderLimits, utcDay } from "../domain/shop-limits";
import { verifyInboundSignature } from "../domain/inbound-signature";
import { AppError, type ErrorCode, parseJsonBody } from "../errors";
import { queueRegistration } from "./operations";
import { PhoneNumber } from "../domain/phones";
import { userIdOfPhone } from "./phone-accounts";

/** The core's fields of an inbound order; the modules' follow (`OrderExtension.fields`). */
const CORE_ORDER_FIELDS = {
  orderId: idSchema().meta({ description: "The shop's order id." }),
  userId: idSchema().optional().meta({ description: "The ecosystem's user id of the buyer; or, instead, `phone`." }),
  phone: PhoneNumber.optional().meta({
    description:
      "The buyer's mobile number instead of a user id (11 digits for the Chinese mainland, else + and the country code): the " +
      "points go to that number's account, made now if it has none, and its owner finds them on signing up with the number.",
    example: "13800138000",
  }),
  amount: z.string().min(1).max(64),
  referrerId: idSchema()
    .optional()
    .meta({ description: "Honoured only on the order that creates the buyer's user id; ignored on later orders." }),
};

/** An inbound order as parsed: the core's fields and the modules' (each one validated by its module's schema). */
export type InboundOrder = z.infer<z.ZodObject<typeof CORE_ORDER_FIELDS>> & Readonly<Record<string, unknown>>;
/** An inbound order whose buyer is known by user id (a phone's account resolved): what the modules see. */
export type AcceptedOrder = InboundOrder & { userId: string };

/** Thrown inside the order's transaction to roll back a phone's new account when the order id turns out to be taken. */
const ROLL_BACK = Symbol("roll back");

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
   * Whether `accepted` has anything to do with this order (absent: always). When no module's has
   * and the order names no referrer, the order is recorded in one statement and `accepted` is not run.
   */
  involves?(body: InboundOrder): boolean;
  /**
   * Run for a new order (never a repeat) in its transaction, before the shop's limits are counted:
   * a throw refuses the order and leaves nothing behind.
   */
  accepted(tx: Queryable, order: { shop: Shop; body: AcceptedOrder; amount: bigint }): Promise<void>;
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
  const orderBody = z
    .object({ ...CORE_ORDER_FIELDS, ...moduleShape })
    .strict()
    .superRefine((order, ctx) => {
      if ((order.userId === undefined) === (order.phone === undefined))
        ctx.addIssue({ code: "custom", path: ["userId"], message: "name the buyer by exactly one of userId and phone" });
      // A phone's account is its owner's, across every shop: its referrer is the owner's choice at
      // sign-up (a referral code), not that of the first shop to name the number.
      if (order.phone !== undefined && order.referrerId !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["referrerId"],
          message: "a phone's referrer is chosen by its owner at sign-up; send no referrerId with phone",
        });
    });
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

  /** The order's count against the shop's limits and the deployment's, as of now. */
  const countOf = (shop: Shop, amount: bigint): OrderCount => {
    const own = limitsInForce(shop.limits, limits.shopDefaults);
    return {
      shopId: shop.id,
      day: utcDay(deps.nowSeconds()),
      amount,
      perOrder: own.perOrder,
      perDay: own.perDay,
      outstanding: own.outstanding,
      deploymentPerDay: limits.deploymentPerDay,
    };
  };

  /**
   * Counts a new order (`count`, that of `countOf`) through `counting`: the alerts of a shop near
   * its limits, or the refusal of a limit it would pass (nothing of the order is then left).
   */
  async function heldToLimits<T extends Counted | null>(shop: Shop, count: OrderCount, counting: Promise<T>): Promise<T> {
    let counted: T;
    try {
      counted = await counting;
    } catch (error) {
      if (!(error instanceof LimitRefused)) throw error;
      const { amount, day } = count;
      if (error.limit === "perOrder") refuse(shop, "perOrder", count.perOrder, 0n, amount);
      if (error.limit === "perDay") refuse(shop, "perDay", count.perDay, error.used, amount);
      if (error.limit === "outstanding") refuse(shop, "outstanding", count.outstanding, error.used, amount);
      deps.log?.error(
        { alert: "deployment-limit-reached", day, max: formatAmount(count.deploymentPerDay, d) },
        "the daily limit of all shops is reached",
      );
      throw new AppError("DEPLOYMENT_LIMIT_REACHED", "the platform's daily order limit is reached; send the order again tomorrow (UTC)", {
        day,
        max: formatAmount(count.deploymentPerDay, d),
      });
    }
    if (counted) {
      warnIfNear(shop, "perDay", counted.day, count.amount, count.perDay);
      warnIfNear(shop, "outstanding", counted.outstanding, count.amount, count.outstanding);
    }
    return counted;
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
      // A phone's order hashes the number (E.164) where a user id's hashes the id.
      const fields = [
        body.orderId,
        body.userId ?? `phone:${body.phone}`,
        amount.toString(),
        body.referrerId ?? null,
        ...moduleFields.flatMap((f) => (body[f] === undefined ? [] : [body[f]])),
      ];
      const bodyHash = createHash("sha256").update(JSON.stringify(fields)).digest("hex");

      const record = {
        shopId: shop.id,
        orderId: body.orderId,
        referrerId: body.referrerId ?? null,
        amount,
        bodyHash,
        chainOrderId: chainOrderId(shop.id, body.orderId),
      };
      // A phone order names no referrer (the schema refuses one), and is recorded in a transaction: its number may need its account made.
      const mayRegister = body.referrerId !== undefined && body.referrerId !== body.userId;
      let created: boolean;
      // A shop with a pending window records its orders pending until the window ends (relayer's clock).
      const releaseAt = shop.pendingSeconds > 0 ? deps.nowSeconds() + shop.pendingSeconds : null;
      if (releaseAt === null && body.userId !== undefined && !mayRegister && !extensions.some((e) => e.involves?.(body) ?? true)) {
        // Nothing to do but record and count: one statement, its own transaction, so the limits'
        // rows are locked only while the database runs it, never across a round trip to this process.
        const count = countOf(shop, amount);
        created = (await heldToLimits(shop, count, recordCountedOrder(deps.db, { ...count, ...record, userId: body.userId }))) !== null;
      } else {
        created = await deps.db
          .transaction(async (tx) => {
            const phone = body.phone ? await userIdOfPhone(tx, body.phone) : null;
            const userId = phone?.userId ?? body.userId!;
            if (!(await insertOrder(tx, { ...record, userId, releaseAt }))) {
              // The order id is taken: a number's account made just now for it is not kept.
              if (phone?.created) throw ROLL_BACK;
              return false;
            }
            // Held for the shop's window: the shop hears of it in this transaction (the outbox).
            if (releaseAt !== null)
              await emitOrderEvent(
                tx,
                "order.pending",
                { shopId: shop.id, orderId: body.orderId, userId, amount },
                { releaseAt: new Date(releaseAt * 1000).toISOString() },
              );
            // A new order only: a repeat of one accepted before answers with its state, whatever changed since.
            for (const extension of extensions) await extension.accepted(tx, { shop, body: { ...body, userId }, amount });
            // A phone's account is made by the first order that names the number (its origin is the platform's).
            const createsUser = phone ? phone.created : await claimUserOrigin(tx, userId, shop.id);
            // Only the order that creates the user id chooses its referrer (that order is the user's
            // registration); a later order, from this shop or another, cannot give anyone a referrer.
            if (createsUser && mayRegister) {
              await queueRegistration(tx, {
                actor: `shop:${shop.id}`,
                userId,
                account: custodialUserId(deps.userSalt, userId),
                referrerId: body.referrerId!,
                referrer: custodialUserId(deps.userSalt, body.referrerId!),
              });
            }
            // Last before the commit: counting locks the shop's rows and the deployment's day, which
            // every order of every shop needs, so on PostgreSQL each statement after it would be a
            // round trip that all other orders wait behind. A refusal still rolls back all of the above.
            const count = countOf(shop, amount);
            await heldToLimits(shop, count, countOrder(tx, count));
            return true;
          })
          .catch((error) => {
            if (error === ROLL_BACK) return false;
            throw error;
          });
      }
      if (created) return { created: true, orderId: body.orderId, state: releaseAt === null ? "received" : "pending" };
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
