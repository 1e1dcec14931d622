/**
 * Shops' refunds (docs/rules.md, "Who pays, pending points and refunds"): signed like orders,
 * idempotent by (shop, refundId), recorded with their effect in one database transaction.
 *
 * - Pending or not sent yet: the order's amount is reduced by the refund (the pool gets the rest
 *   when it is sent), or the order is cancelled when refunded whole; nothing goes to the chain.
 * - Confirmed, policy `none`: the refund is recorded; the GP stay.
 * - Confirmed, policy `clawback`: the buyer's GP in proportion to what is refunded in all
 *   (floor(gpMinted × refunded / amount), less what earlier refunds asked) are retired through
 *   Custody.remove, as much as the custodial account still holds; the contribution stays in the
 *   pool, so the price rises. What the account no longer holds is recorded as already spent.
 * - Refused, changing nothing: a refund of an unknown order (ORDER_UNKNOWN), of a rejected or
 *   cancelled one (ORDER_REJECTED), of one in a transaction on its way (ORDER_IN_FLIGHT, sent
 *   again later), more than is left of the order (REFUND_EXCEEDS_ORDER), a refundId used before
 *   with another body (REFUND_CONFLICT). The same refund again answers with its recorded outcome.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { Db, Queryable } from "../adapters/db/db";
import { type OrderRecord, findOrder, wakeShopOrders } from "../adapters/db/orders";
import { emitOrderEvent } from "../adapters/db/notifications";
import type { Shop } from "../adapters/db/shops";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { idSchema } from "../domain/ids";
import { AppError } from "../errors";
import { REMOVAL_KIND } from "./grants";
import { planCall, recordPlanned } from "./operations";

export const RefundBody = z
  .object({
    refundId: idSchema().meta({ description: "The shop's id of this refund: the idempotency key.", example: "R-1001-1" }),
    orderId: idSchema().meta({ description: "The shop's order id.", example: "A-1001" }),
    amount: z.string().min(1).max(64).meta({ description: "Settlement units refunded (part or whole of what is left).", example: "40.00" }),
  })
  .strict();
export type RefundRequest = z.infer<typeof RefundBody>;

export type RefundOutcome = "reduced" | "cancelled" | "kept" | "clawback";

export interface RefundRecord {
  refundId: string;
  orderId: string;
  amount: bigint;
  outcome: RefundOutcome;
  /** GP retired from the buyer's account (clawback): what it still held of what the refund asks back. */
  clawback: bigint;
  /** GP the buyer no longer held of what the clawback asked. */
  spent: bigint;
  operationId: string | null;
  bodyHash: string;
}

interface RefundRow {
  refund_id: string;
  order_id: string;
  amount: string;
  outcome: RefundOutcome;
  clawback: string;
  spent: string;
  operation_id: string | null;
  body_hash: string;
}
const toRefund = (r: RefundRow): RefundRecord => ({
  refundId: r.refund_id,
  orderId: r.order_id,
  amount: BigInt(r.amount),
  outcome: r.outcome,
  clawback: BigInt(r.clawback),
  spent: BigInt(r.spent),
  operationId: r.operation_id,
  bodyHash: r.body_hash,
});
const REFUND_COLUMNS =
  "refund_id, order_id, amount::text AS amount, outcome, clawback::text AS clawback, spent::text AS spent, operation_id, body_hash";

export function createRefunds(deps: { db: Db; chain: ChainPort; userSalt: string; settlementDecimals: number }) {
  const d = deps.settlementDecimals;

  async function view(db: Queryable, shopId: string, r: RefundRecord, order: OrderRecord) {
    const [op] = r.operationId
      ? await db.query<{ state: string; tx_hash: string | null }>("SELECT state, tx_hash FROM operations WHERE id = $1", [r.operationId])
      : [];
    return {
      refundId: r.refundId,
      orderId: r.orderId,
      amount: formatAmount(r.amount, d),
      outcome: r.outcome,
      orderState: order.state,
      orderRefunded: formatAmount(order.refunded, d),
      ...(r.outcome === "clawback"
        ? {
            clawback: formatAmount(r.clawback, 18),
            alreadySpent: formatAmount(r.spent, 18),
            operationId: r.operationId,
            operationState: op?.state ?? null,
            ...(op?.tx_hash ? { txHash: op.tx_hash } : {}),
          }
        : {}),
    };
  }
  type RefundView = Awaited<ReturnType<typeof view>>;

  const findRefund = async (db: Queryable, shopId: string, refundId: string) => {
    const [row] = await db.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE shop_id = $1 AND refund_id = $2`, [
      shopId,
      refundId,
    ]);
    return row ? toRefund(row) : null;
  };
  const lockOrder = async (db: Queryable, shopId: string, orderId: string) => {
    // Locked: the sender's claim (FOR UPDATE SKIP LOCKED) and another refund of it wait for this one.
    await db.query("SELECT 1 FROM orders WHERE shop_id = $1 AND order_id = $2 FOR UPDATE", [shopId, orderId]);
    return findOrder(db, shopId, orderId);
  };

  return {
    async record(shop: Shop, body: RefundRequest): Promise<{ created: boolean; refund: RefundView }> {
      const amount = parseAmount(body.amount, d);
      if (amount === 0n) throw new AppError("AMOUNT_OUT_OF_RANGE", "a refund's amount must be above 0", { amount: body.amount });
      const bodyHash = createHash("sha256")
        .update(JSON.stringify([body.refundId, body.orderId, amount.toString()]))
        .digest("hex");
      return deps.db.transaction(async (tx) => {
        // Two deliveries of one refund at once: the second waits for the first's row.
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`refund:${shop.id}:${body.refundId}`]);
        const earlier = await findRefund(tx, shop.id, body.refundId);
        if (earlier) {
          if (earlier.bodyHash !== bodyHash) {
            throw new AppError("REFUND_CONFLICT", "this refundId was received before with a different body", { refundId: body.refundId });
          }
          return { created: false, refund: await view(tx, shop.id, earlier, (await lockOrder(tx, shop.id, earlier.orderId))!) };
        }
        const order = await lockOrder(tx, shop.id, body.orderId);
        if (!order) throw new AppError("ORDER_UNKNOWN", `this shop sent no order ${body.orderId}`, { orderId: body.orderId });
        if (order.state === "rejected" || order.state === "cancelled") {
          throw new AppError("ORDER_REJECTED", `order ${body.orderId} is ${order.state}: nothing to refund`, {
            orderId: body.orderId,
            state: order.state,
          });
        }
        if (order.state === "submitted") {
          throw new AppError("ORDER_IN_FLIGHT", `order ${body.orderId} is on its way to the chain; send the refund again in a moment`, {
            orderId: body.orderId,
          });
        }
        const left = order.amount - order.refunded;
        if (amount > left) {
          throw new AppError("REFUND_EXCEEDS_ORDER", "the refunds would pass the order's amount", {
            orderId: body.orderId,
            amount: formatAmount(order.amount, d),
            refunded: formatAmount(order.refunded, d),
            asked: formatAmount(amount, d),
          });
        }
        const refunded = order.refunded + amount;
        let outcome: RefundOutcome;
        let clawback = 0n;
        let spent = 0n;
        let operationId: string | null = null;
        if (order.state === "pending" || order.state === "received") {
          // Not sent: the pool never gets the refunded part; refunded whole, the order is cancelled.
          outcome = refunded === order.amount ? "cancelled" : "reduced";
          await tx.query(
            `UPDATE orders SET refunded = $3, state = CASE WHEN $3 = amount THEN 'cancelled' ELSE state END,
               reason = CASE WHEN $3 = amount THEN 'refunded while pending' ELSE reason END, updated_at = now()
             WHERE shop_id = $1 AND order_id = $2`,
            [shop.id, order.orderId, refunded.toString()],
          );
          // The refunded part is no longer owed to the platform (the shop's outstanding counts order amounts).
          await tx.query("UPDATE shops SET outstanding = GREATEST(outstanding - $2, 0) WHERE id = $1", [shop.id, amount.toString()]);
          // A smaller order may now fit a prefunded shop's balance: its waiting orders are looked at again.
          await wakeShopOrders(tx, shop.id);
        } else {
          await tx.query("UPDATE orders SET refunded = $3, updated_at = now() WHERE shop_id = $1 AND order_id = $2", [
            shop.id,
            order.orderId,
            refunded.toString(),
          ]);
          outcome = shop.refundPolicy === "clawback" ? "clawback" : "kept";
          if (outcome === "clawback") {
            const minted = order.gpMinted ?? 0n;
            const wanted = (minted * refunded) / order.amount - (minted * order.refunded) / order.amount;
            const account = custodialUserId(deps.userSalt, order.userId);
            const held = (await deps.chain.custody.accountOf(account, { blockTag: "pending" })).points;
            const [queued] = await tx.query<{ n: string }>(
              `SELECT COALESCE(sum(r.clawback), 0)::text AS n FROM refunds r JOIN operations op ON op.id = r.operation_id
               WHERE op.account = $1 AND op.state = 'queued'`,
              [account],
            );
            const available = held > BigInt(queued.n) ? held - BigInt(queued.n) : 0n;
            const take = wanted < available ? wanted : available;
            clawback = take;
            spent = wanted - take;
            if (take > 0n) {
              const planned = await planCall(deps.chain, {
                simulate: false,
                kind: REMOVAL_KIND,
                actor: `shop:${shop.id}`,
                account,
                target: "custody",
                fn: "remove",
                args: (requestId) => [requestId, account, take],
                details: {
                  userId: order.userId,
                  points: formatAmount(take, 18),
                  reason: `refund ${body.refundId} of order ${order.orderId} (shop ${shop.id})`,
                },
              });
              operationId = (await recordPlanned(tx, planned)).id;
            }
          }
        }
        await tx.query(
          `INSERT INTO refunds (shop_id, refund_id, order_id, amount, body_hash, outcome, clawback, spent, operation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [shop.id, body.refundId, order.orderId, amount.toString(), bodyHash, outcome, clawback.toString(), spent.toString(), operationId],
        );
        // The shop hears of the refund in this transaction (the outbox): what it did and what it retired.
        await emitOrderEvent(
          tx,
          "order.refunded",
          { shopId: shop.id, orderId: order.orderId, userId: order.userId, amount: order.amount },
          {
            refundId: body.refundId,
            refunded: amount.toString(),
            refundedTotal: refunded.toString(),
            outcome,
            clawback: clawback.toString(),
            spent: spent.toString(),
            operationId,
          },
          body.refundId,
        );
        const refund = (await findRefund(tx, shop.id, body.refundId))!;
        return { created: true, refund: await view(tx, shop.id, refund, (await lockOrder(tx, shop.id, order.orderId))!) };
      });
    },
  };
}

export type Refunds = ReturnType<typeof createRefunds>;
