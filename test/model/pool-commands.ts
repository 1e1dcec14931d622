/**
 * fast-check commands that drive the pool and the reference model side by side. Each command
 * derives its concrete inputs from the model (whose state equals the chain's after every step),
 * asks the model what must happen, does it on the chain, and compares: the same custom error
 * with the same arguments, or the same events and the same state. Then it checks rules 1-5
 * (docs/rules.md, "What always holds") between the states before and after, on the chain's own
 * figures.
 */
import { expect } from "chai";
import fc from "fast-check";
import { LOCKED_POINTS, type ModelShopOrders, Parameter, PoolRevert } from "../../models/pool-model";
import { mintValue, contribution } from "../../server/domain/points-math";
import { orderId, orderKey } from "../helpers/fixtures";
import {
  type AmountSpec,
  type Chain,
  type World,
  amountArb,
  count,
  eventsOf,
  expectRevert,
  predict,
  resolveAmount,
  settle,
  stringify,
} from "./world";

// ------------------------------------------------------------------ orders

interface OrderSpec {
  buyer: number;
  amount: AmountSpec;
  /** When set and orders exist, repeats an earlier order id (of this shop, or of another one). */
  repeat: number | null;
}

const orderSpecArb: fc.Arbitrary<OrderSpec> = fc.record({
  buyer: fc.nat(5),
  amount: amountArb,
  repeat: fc.option(fc.nat(1000), { freq: 12 }),
});

function materialise(m: World, c: Chain, shop: number, spec: OrderSpec) {
  let id: string;
  if (spec.repeat !== null && m.used.length > 0) {
    id = m.used[spec.repeat % m.used.length].id;
  } else {
    id = orderId(`model-${m.nextId++}`);
  }
  m.used.push({ shop, id });
  const shopAddress = c.f.shops[shop].address;
  const buyer = c.f.users[spec.buyer].address;
  const amount = resolveAmount(spec.amount, m.model);
  return { shopAddress, order: { orderId: id, buyer, amount }, key: orderKey(shopAddress, id) };
}

export class RecordBatchCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly groups: { shop: number; orders: OrderSpec[] }[],
    readonly single: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const concrete = this.groups.map((g) => ({ shop: g.shop, orders: g.orders.map((o) => materialise(m, c, g.shop, o)) }));
    const batch: ModelShopOrders[] = concrete.map((g) => ({
      shop: c.f.shops[g.shop].address,
      orders: g.orders.map((o) => ({ key: o.key, buyer: o.order.buyer, amount: o.order.amount })),
    }));
    const expected = m.paused
      ? { ok: false as const, revert: new PoolRevert("EnforcedPause", []) }
      : predict(() => m.model.recordOrders(batch));
    const relayerPool = c.f.pool.connect(c.f.relayer);
    const send = () =>
      this.single
        ? relayerPool.recordOrder(concrete[0].orders[0].shopAddress, concrete[0].orders[0].order)
        : relayerPool.recordOrders(concrete.map((g) => ({ shop: c.f.shops[g.shop].address, orders: g.orders.map((o) => o.order) })));
    if (!expected.ok) {
      await expectRevert(c, send(), expected.revert);
    } else {
      const receipt = await (await send()).wait();
      const recorded = eventsOf(c.f.pool, receipt, "OrderRecorded").map((a) => [
        a.orderKey,
        a.shop,
        a.buyer,
        a.amount,
        a.contribution,
        a.points,
      ]);
      expect(recorded).to.deep.equal(expected.value.map((r) => [r.key, r.shop, r.buyer, r.amount, r.contribution, r.points]));
    }
    await settle(m, c);
  }
  toString() {
    return `${this.single ? "order" : "batch"}(${stringify(this.groups)})`;
  }
}

export const orderCommand = fc
  .tuple(fc.nat(2), orderSpecArb)
  .map(([shop, spec]) => new RecordBatchCommand([{ shop, orders: [spec] }], true));

export const batchCommand = fc
  .array(fc.record({ shop: fc.nat(2), orders: fc.array(orderSpecArb, { minLength: 0, maxLength: 6 }) }), { minLength: 1, maxLength: 3 })
  .map((groups) => new RecordBatchCommand(groups, false));

// ------------------------------------------------------------------ redemptions and transfers

export class RedeemCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly holder: number,
    readonly shareBps: bigint,
    readonly overBalance: boolean,
    readonly minPayout: "none" | "exact" | "above",
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const signer = c.f.users[this.holder];
    const balance = m.model.balanceOf(signer.address);
    const points = this.overBalance ? balance + 1n : (balance * this.shareBps) / 10_000n;
    let minPayout = 0n;
    if (this.minPayout !== "none" && points > 0n && points <= m.model.supply) {
      const quoted = m.model.previewRedeem(points).payout;
      minPayout = this.minPayout === "exact" ? quoted : quoted + 1n;
    }
    const expected = predict(() => m.model.redeem(signer.address, points, minPayout));
    const tx = () => c.f.pool.connect(signer).redeem(points, signer.address, minPayout);
    if (!expected.ok) {
      await expectRevert(c, tx(), expected.revert);
    } else {
      const receipt = await (await tx()).wait();
      const [event] = eventsOf(c.f.pool, receipt, "Redeemed");
      expect([event.points, event.gross, event.fee, event.payout]).to.deep.equal([
        points,
        expected.value.gross,
        expected.value.fee,
        expected.value.payout,
      ]);
    }
    await settle(m, c);
  }
  toString() {
    return `redeem(user ${this.holder}, ${this.overBalance ? "balance+1" : `${this.shareBps}bps`}, min ${this.minPayout})`;
  }
}

export const redeemCommand = fc
  .tuple(
    fc.nat(5),
    fc.oneof(fc.constant(10_000n), fc.bigInt(0n, 10_000n)),
    fc.nat(4).map((n) => n === 0),
    fc.constantFrom("none" as const, "exact" as const, "above" as const),
  )
  .map(([h, share, over, min]) => new RedeemCommand(h, share, over, min));

export class TransferCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly shareBps: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const [from, to] = [c.f.users[this.from], c.f.users[this.to]];
    const points = (m.model.balanceOf(from.address) * this.shareBps) / 10_000n;
    m.model.transfer(from.address, to.address, points);
    await (await c.f.points.connect(from).transfer(to.address, points)).wait();
    await settle(m, c);
  }
  toString() {
    return `transfer(${this.from} -> ${this.to}, ${this.shareBps}bps)`;
  }
}

export const transferCommand = fc.tuple(fc.nat(5), fc.nat(5), fc.bigInt(0n, 10_000n)).map(([a, b, s]) => new TransferCommand(a, b, s));

/** Every holder redeems everything, in the given order: the supply returns to the locked GP. */
export class DrainCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly order: number[]) {}
  check = () => true;
  async run(m: World, c: Chain) {
    await drain(m, c, this.order);
  }
  toString() {
    return `drain(${this.order.join(",")})`;
  }
}

/** Every wallet redeems all its GP, in the given order. */
export async function drain(m: World, c: Chain, order: readonly number[]) {
  for (const i of order) {
    const signer = c.f.users[i];
    const balance = m.model.balanceOf(signer.address);
    if (balance === 0n) continue;
    const quote = m.model.redeem(signer.address, balance);
    await expect(c.f.pool.connect(signer).redeem(balance, signer.address, quote.payout)).to.changeTokenBalance(
      c.f.settlement,
      signer,
      quote.payout,
    );
    await settle(m, c);
  }
}

/**
 * The sole holder's attack on small orders: every wallet's GP go to one wallet, which retires
 * them all but one base unit, or redeems them all, or retires all but one and redeems the last
 * (the custody's GP stay, as another holder's would). Then an order of 1 settlement unit: the
 * model says what it mints, and whenever its value is at least `assets / LOCKED_POINTS` (the
 * bound the locked GP keep) it must mint.
 */
export class SoleHolderAttackCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly holder: number,
    readonly how: "retire" | "redeem" | "retire-then-redeem",
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const attacker = c.f.users[this.holder];
    for (const [i, wallet] of c.f.users.entries()) {
      const balance = m.model.balanceOf(wallet.address);
      if (i === this.holder || balance === 0n) continue;
      m.model.transfer(wallet.address, attacker.address, balance);
      await (await c.f.points.connect(wallet).transfer(attacker.address, balance)).wait();
    }
    await settle(m, c);
    const held = m.model.balanceOf(attacker.address);
    const retired = this.how === "redeem" ? 0n : held - 1n;
    if (retired > 0n) {
      m.model.retire(attacker.address, retired);
      await (await c.f.pool.connect(attacker).retire(retired)).wait();
      await settle(m, c);
    }
    const left = m.model.balanceOf(attacker.address);
    if (this.how !== "retire" && left > 0n) {
      const quote = m.model.redeem(attacker.address, left);
      await (await c.f.pool.connect(attacker).redeem(left, attacker.address, quote.payout)).wait();
      await settle(m, c);
    }
    count(`attack ${this.how}`);
    const unitOrder = m.model.unit;
    const value = mintValue(contribution(unitOrder, m.model.parameters.poolShare), m.model.parameters.mintShare);
    const bounded = m.model.supply > 0n && value * LOCKED_POINTS >= m.model.assets;
    if (m.model.supply > 0n) {
      const [priceAssets, priceSupply] = m.model.priceRatio();
      expect(priceAssets * LOCKED_POINTS <= m.model.assets * priceSupply, "price per base unit <= assets / LOCKED_POINTS").to.equal(true);
    }
    const preview = predict(() => m.model.previewOrder(unitOrder));
    if (bounded) {
      const refusal = preview.ok ? null : preview.revert.errorName;
      expect(refusal === null || refusal === "GreenPointsCapExceeded", `a 1-unit order refused with ${refusal}`).to.equal(true);
      if (preview.ok) count("attack then a 1-unit order minted");
    }
    await new RecordBatchCommand(
      [{ shop: 0, orders: [{ buyer: this.holder, amount: { kind: "base", value: unitOrder }, repeat: null }] }],
      true,
    ).run(m, c);
  }
  toString() {
    return `soleHolderAttack(user ${this.holder}, ${this.how})`;
  }
}

export const soleHolderAttackCommand = fc
  .tuple(fc.nat(5), fc.constantFrom("retire" as const, "redeem" as const, "retire-then-redeem" as const))
  .map(([h, how]) => new SoleHolderAttackCommand(h, how));

export const permutationArb = fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 });
export const drainCommand = permutationArb.map((order) => new DrainCommand(order));

// ------------------------------------------------------------------ surplus

export class DonateCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly amount: AmountSpec) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const amount = resolveAmount(this.amount, m.model) % (10n ** 9n * m.model.unit);
    m.model.donate(amount);
    await (await c.f.settlement.connect(c.f.stranger).transfer(await c.f.pool.getAddress(), amount)).wait();
    await settle(m, c);
  }
  toString() {
    return `donate(${stringify(this.amount)})`;
  }
}

export class SurplusCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly action: "sweep" | "absorb",
    readonly shareBps: bigint,
    readonly over: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const amount = this.over ? m.model.surplus + 1n : (m.model.surplus * this.shareBps) / 10_000n;
    const admin = c.f.pool.connect(c.f.admin);
    const expected = predict(() => (this.action === "sweep" ? m.model.sweepSurplus(amount) : m.model.absorbSurplus(amount)));
    const tx = () => (this.action === "sweep" ? admin.sweepSurplus(c.f.stranger.address, amount) : admin.absorbSurplus(amount));
    if (!expected.ok) await expectRevert(c, tx(), expected.revert);
    else await (await tx()).wait();
    await settle(m, c);
  }
  toString() {
    return `${this.action}(${this.over ? "surplus+1" : `${this.shareBps}bps`})`;
  }
}

export const donateCommand = amountArb.map((a) => new DonateCommand(a));
export const surplusCommand = fc
  .tuple(fc.constantFrom("sweep" as const, "absorb" as const), fc.bigInt(0n, 10_000n), fc.boolean())
  .map(([a, s, o]) => new SurplusCommand(a, s, o && s % 5n === 0n));

// ------------------------------------------------------------------ operator

export class SetParameterCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly parameter: Parameter,
    readonly value: bigint | AmountSpec,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const value = typeof this.value === "bigint" ? this.value : resolveAmount(this.value, m.model) / 1000n;
    const expected = predict(() => m.model.setParameter(this.parameter, value));
    const tx = () => c.f.pool.connect(c.f.admin).setParameter(this.parameter, value);
    if (!expected.ok) await expectRevert(c, tx(), expected.revert);
    else await expect(tx()).to.emit(c.f.pool, "ParameterChanged");
    await settle(m, c, { parameterChange: true });
  }
  toString() {
    return `set(${Parameter[this.parameter]}, ${typeof this.value === "bigint" ? this.value : stringify(this.value)})`;
  }
}

/** Values inside a range, biased to its bounds and one past them, where rounding bites. */
function boundedValue(min: bigint, max: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(min, max, min - 1n, max + 1n, min + 1n, max - 1n), fc.bigInt(min, max));
}

export const setParameterCommand = fc
  .oneof(
    fc.tuple(fc.constantFrom(Parameter.PoolShare, Parameter.MintShare), boundedValue(1n, 10_000n)),
    fc.tuple(
      fc.constant(Parameter.ExitFee),
      boundedValue(0n, 5_000n).filter((v) => v >= 0n),
    ),
    fc.tuple(fc.constant(Parameter.InitialPrice), amountArb),
    fc.tuple(
      fc.constantFrom(Parameter.ReferralShare1, Parameter.ReferralShare2),
      boundedValue(0n, 10_000n).filter((v) => v >= 0n),
    ),
  )
  .map(([p, v]) => new SetParameterCommand(p, v));

/** Pauses orders, shows that orders are refused and redemptions are not, and resumes. */
export class PauseCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly holder: number) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const admin = c.f.pool.connect(c.f.admin);
    await (await admin.pause()).wait();
    m.paused = true;
    await new RecordBatchCommand(
      [{ shop: 0, orders: [{ buyer: this.holder, amount: { kind: "cents", value: 10_000n }, repeat: null }] }],
      true,
    ).run(m, c);
    await new RedeemCommand(this.holder, 5_000n, false, "none").run(m, c);
    await (await admin.unpause()).wait();
    m.paused = false;
    await settle(m, c);
  }
  toString() {
    return `pausePulse(${this.holder})`;
  }
}

export const pauseCommand = fc.nat(5).map((h) => new PauseCommand(h));
