/**
 * The reference model of an order's life at the relayer (issue 18, docs/rules.md "Who pays,
 * pending points and refunds"), in bigint, beside the custody and pool models it drives:
 *
 * - `receive` holds an order pending: nothing reaches the pool, so the price does not move.
 * - `refund` while pending reduces the amount to send, or cancels the order when refunded whole;
 *   nothing reaches the chain. More than what is left is refused (REFUND_EXCEEDS_ORDER).
 * - `release` sends what is left through the custody's `recordOrders`: GP are minted at the
 *   price of that moment, never at the price the order was received at.
 * - `refund` after minting, under clawback: the buyer's GP in proportion to what is refunded in
 *   all, floor(minted × refunded / amount), less what earlier refunds asked, as much as the
 *   custodial account still holds, are retired through the custody's `remove`; the contribution
 *   stays in the pool. What the account no longer holds is "already spent", never a debt.
 *
 * The server's refunds service (server/services/refunds.ts) computes the same figures.
 */
import type { CustodyModel } from "./custody-model";
import { PoolRevert } from "./pool-model";

export type LifecycleState = "pending" | "cancelled" | "confirmed" | "rejected";

export interface LifecycleOrder {
  shop: string;
  key: string;
  orderId: string;
  user: string;
  amount: bigint;
  refunded: bigint;
  state: LifecycleState;
  /** GP credited to the buyer when released. */
  minted: bigint;
  /** The GP the order's buyer would have got at the price when it was received (an estimate, never minted). */
  estimateAtReceipt: bigint;
  /** Clawed back and found already spent, over all its refunds. */
  clawedBack: bigint;
  spent: bigint;
}

/** What a refund did: `take` GP to retire with Custody.remove (0: nothing goes to the chain). */
export interface RefundEffect {
  outcome: "reduced" | "cancelled" | "kept" | "clawback";
  take: bigint;
  spent: bigint;
}

export class OrderLifecycleModel {
  readonly orders: LifecycleOrder[] = [];

  constructor(private readonly custody: CustodyModel) {}

  /** An order received by a shop with a pending window: held, nothing sent. */
  receive(o: { shop: string; key: string; orderId: string; user: string; amount: bigint; estimate: bigint }): LifecycleOrder {
    const order: LifecycleOrder = {
      ...o,
      refunded: 0n,
      state: "pending",
      minted: 0n,
      estimateAtReceipt: o.estimate,
      clawedBack: 0n,
      spent: 0n,
      amount: o.amount,
    };
    delete (order as Partial<{ estimate: bigint }>).estimate;
    this.orders.push(order);
    return order;
  }

  /** What `release` sends: the amount less what was refunded while pending. */
  toSend(order: LifecycleOrder): bigint {
    return order.amount - order.refunded;
  }

  /** The release was carried out (the custody credited `minted` to the buyer), or refused by the pool (`rejected`). */
  released(order: LifecycleOrder, minted: bigint | null): void {
    if (order.state !== "pending") throw new Error("only a pending order is released");
    if (minted === null) order.state = "rejected";
    else {
      order.state = "confirmed";
      order.minted = minted;
    }
  }

  /**
   * A refund of `amount`: its effect, or a PoolRevert-style refusal (`REFUND_EXCEEDS_ORDER`,
   * `ORDER_REJECTED`, `AMOUNT_OUT_OF_RANGE`) with nothing changed. Under `clawback`, `take` is bounded by what the
   * buyer's custodial account holds now.
   */
  refund(order: LifecycleOrder, amount: bigint, policy: "none" | "clawback"): RefundEffect {
    if (order.state === "rejected" || order.state === "cancelled") throw new PoolRevert("ORDER_REJECTED", [order.orderId]);
    if (amount === 0n) throw new PoolRevert("AMOUNT_OUT_OF_RANGE", [order.orderId, amount]);
    if (amount > order.amount - order.refunded) throw new PoolRevert("REFUND_EXCEEDS_ORDER", [order.orderId, amount]);
    const before = order.refunded;
    order.refunded += amount;
    if (order.state === "pending") {
      if (order.refunded === order.amount) {
        order.state = "cancelled";
        return { outcome: "cancelled", take: 0n, spent: 0n };
      }
      return { outcome: "reduced", take: 0n, spent: 0n };
    }
    if (policy === "none") return { outcome: "kept", take: 0n, spent: 0n };
    const wanted = (order.minted * order.refunded) / order.amount - (order.minted * before) / order.amount;
    const held = this.custody.account(order.user).points;
    const take = wanted < held ? wanted : held;
    order.clawedBack += take;
    order.spent += wanted - take;
    return { outcome: "clawback", take, spent: wanted - take };
  }

  pending(): LifecycleOrder[] {
    return this.orders.filter((o) => o.state === "pending");
  }

  confirmed(): LifecycleOrder[] {
    return this.orders.filter((o) => o.state === "confirmed");
  }
}
