/**
 * fast-check commands for an order's life at the relayer (models/order-lifecycle-model.ts):
 * orders held pending (nothing reaches the pool), refunds while pending (reduced or cancelled,
 * nothing on the chain), release (what is left sent through Custody.recordOrders and minted at
 * the price of that moment) and refunds after minting (clawback through Custody.remove, or none).
 * Each ends in `settle`, which compares the chain with the models and checks the rules of
 * docs/rules.md, the price rule as an integer cross-product among them.
 */
import { expect } from "chai";
import fc from "fast-check";
import { PoolRevert } from "../../models/pool-model";
import type { LifecycleOrder } from "../../models/order-lifecycle-model";
import { orderId, orderKey } from "../helpers/fixtures";
import {
  type AmountSpec,
  type Chain,
  USER_IDS,
  type World,
  amountArb,
  carryOut,
  count,
  eventsOf,
  predict,
  requestId,
  resolveAmount,
  settle,
  shareArb,
} from "./world";

type Command = fc.AsyncCommand<World, Chain>;
const relayer = (c: Chain) => c.f.custody.connect(c.f.relayer);

/** The orders of `list`, by an index chosen without knowing how many there are. */
const nth = (list: LifecycleOrder[], index: number) => (list.length === 0 ? null : list[index % list.length]);

/** The buyer and its referrers: the accounts an order credits. */
function orderNames(m: World, user: string): string[] {
  const first = m.custody.account(user).referrer;
  const second = first ? m.custody.account(first).referrer : null;
  return [user, first, second].filter((id): id is string => id !== null);
}

/** A shop with a pending window receives an order: held apart, the pool and the price do not move. */
export class PendingOrderCommand implements Command {
  constructor(
    readonly shop: number,
    readonly user: number,
    readonly amount: AmountSpec,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const amount = resolveAmount(this.amount, m.model);
    if (amount === 0n) return void (await settle(m, c, { names: [] }));
    const shop = c.f.shops[this.shop].address;
    const id = orderId(`pending-${m.nextId++}`);
    let estimate = 0n;
    try {
      estimate = m.model.previewOrder(amount).points;
    } catch (e) {
      if (!(e instanceof PoolRevert)) throw e;
    }
    m.lifecycle.receive({ shop, key: orderKey(shop, id), orderId: id, user: USER_IDS[this.user], amount, estimate });
    count("lifecycle pending");
    const before = c.state;
    await settle(m, c, { names: [] });
    expect([c.state.assets, c.state.supply], "a pending order is not in the pool").to.deep.equal([before.assets, before.supply]);
  }
  toString() {
    return `pendingOrder(${this.shop}, ${this.user}, ${JSON.stringify(this.amount, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))})`;
  }
}
export const pendingOrderCommand = fc
  .tuple(fc.nat(2), fc.nat(5), amountArb)
  .map(([shop, user, amount]) => new PendingOrderCommand(shop, user, amount));

/** A refund of a pending order (a share of what is left, or one base unit more): reduced or cancelled, nothing on the chain. */
export class RefundPendingCommand implements Command {
  constructor(
    readonly index: number,
    readonly bps: bigint,
    readonly over: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const order = nth(m.lifecycle.pending(), this.index);
    if (order) {
      const left = order.amount - order.refunded;
      const amount = this.over ? left + 1n : (left * this.bps) / 10_000n;
      const refundedBefore = order.refunded;
      const effect = predict(() => m.lifecycle.refund(order, amount, "none"));
      if (effect.ok) count(`lifecycle refund ${effect.value.outcome}`);
      else {
        count(`lifecycle refund refused ${effect.revert.errorName}`);
        expect(order.refunded, "a refused refund changes nothing").to.equal(refundedBefore);
      }
    }
    await settle(m, c, { names: [] });
  }
  toString() {
    return `refundPending(${this.index}, ${this.over ? "over" : `${this.bps}bps`})`;
  }
}
export const refundPendingCommand = fc
  .tuple(
    fc.nat(1000),
    shareArb,
    fc.nat(5).map((n) => n === 0),
  )
  .map(([i, bps, over]) => new RefundPendingCommand(i, bps, over));

/** The window ends: what is left of the order is sent and minted at the price of this moment. */
export class ReleaseCommand implements Command {
  constructor(readonly index: number) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const order = nth(m.lifecycle.pending(), this.index);
    if (!order) return void (await settle(m, c, { names: [] }));
    const amount = m.lifecycle.toSend(order);
    const concrete = [{ shop: order.shop, orders: [{ orderId: order.orderId, user: order.user, amount }] }];
    const expected = m.paused
      ? { ok: false as const, revert: new PoolRevert("EnforcedPause", []) }
      : predict(() => m.custody.recordOrders([{ shop: order.shop, orders: [{ key: order.key, user: order.user, amount }] }]));
    const receipt = await carryOut(c, expected, () => relayer(c).recordOrders(concrete));
    if (receipt && expected.ok) {
      const [credited] = eventsOf(c.f.custody, receipt, "OrderCredited");
      // Minted at this moment's price: what the models quote now, after everything since its receipt.
      expect(credited.points, "GP at the price of the release").to.equal(expected.value[0].points);
      m.lifecycle.released(order, credited.points);
      count("lifecycle released");
    } else if (!expected.ok && expected.revert.errorName !== "EnforcedPause") {
      // The relayer rejects an order the pool refuses alone (too large, too small); a pause only delays it.
      m.lifecycle.released(order, null);
    }
    await settle(m, c, { names: orderNames(m, order.user) });
  }
  toString() {
    return `release(${this.index})`;
  }
}
export const releaseCommand = fc.nat(1000).map((i) => new ReleaseCommand(i));

/**
 * A refund after minting: under clawback the buyer's GP in proportion, as much as it still holds,
 * are retired through Custody.remove (the price rises, the contribution stays); under none, or
 * when the account holds nothing, nothing goes to the chain.
 */
export class ClawbackCommand implements Command {
  constructor(
    readonly index: number,
    readonly bps: bigint,
    readonly over: boolean,
    readonly policy: "none" | "clawback",
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const order = nth(m.lifecycle.confirmed(), this.index);
    if (!order) return void (await settle(m, c, { names: [] }));
    const left = order.amount - order.refunded;
    const amount = this.over ? left + 1n : (left * this.bps) / 10_000n;
    const effect = predict(() => m.lifecycle.refund(order, amount, this.policy));
    if (!effect.ok) {
      count(`lifecycle refund refused ${effect.revert.errorName}`);
      return void (await settle(m, c, { names: [] }));
    }
    count(`lifecycle refund ${effect.value.outcome}${effect.value.spent > 0n ? " (part spent)" : ""}`);
    const before = c.state;
    if (effect.value.take > 0n) {
      const request = requestId(m);
      const expected = predict(() => m.custody.remove(request, order.user, effect.value.take));
      expect(expected.ok, "a clawback takes no more than the account holds").to.equal(true);
      const receipt = await carryOut(c, expected, () => relayer(c).remove(request, order.user, effect.value.take));
      expect(eventsOf(c.f.custody, receipt, "Removed").map((e) => e.points)).to.deep.equal([effect.value.take]);
    }
    await settle(m, c, { names: [order.user] });
    if (effect.value.take > 0n) {
      const after = c.state;
      expect(after.assets, "the contribution stays in the pool").to.equal(before.assets);
      // The price rule as an integer cross-product: strictly higher, GP left the supply and no asset left the pool.
      expect(after.priceAssets * before.priceSupply > before.priceAssets * after.priceSupply, "a clawback raises the price").to.equal(true);
    }
  }
  toString() {
    return `refundAfterMint(${this.index}, ${this.over ? "over" : `${this.bps}bps`}, ${this.policy})`;
  }
}
export const clawbackCommand = fc
  .tuple(
    fc.nat(1000),
    shareArb,
    fc.nat(5).map((n) => n === 0),
    fc.constantFrom("none" as const, "clawback" as const, "clawback" as const),
  )
  .map(([i, bps, over, policy]) => new ClawbackCommand(i, bps, over, policy));
