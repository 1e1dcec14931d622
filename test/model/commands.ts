/**
 * fast-check commands that drive the pool and the reference model side by side. Each command
 * derives its concrete inputs from the model (whose state equals the chain's after every step),
 * asks the model what must happen, does it on the chain, and compares: the same custom error
 * with the same arguments, or the same events and the same state. Then it checks SPEC rules 1-5
 * between the states before and after, on the chain's own figures.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { ContractTransactionResponse } from "ethers";
import { type ModelShopOrders, Parameter, PoolModel, PoolRevert } from "../../server/domain/pool-model";
import { type PoolFixture, orderId, orderKey } from "../helpers/fixtures";
import { type PoolSnapshot, type PriceRatio, expectInvariants, expectPriceNotFallen, snapshot } from "../helpers/invariants";

export interface World {
  model: PoolModel;
  paused: boolean;
  nextId: number;
  /** Orders recorded or attempted, so that later commands can repeat one. */
  used: { shop: number; id: string }[];
}

export interface Chain {
  f: PoolFixture;
  state: PoolSnapshot;
  /** The price just before the supply last returned to zero, as this test saw it. */
  emptiedAt?: PriceRatio;
}

/** An amount chosen without knowing the decimals; resolved against the model's unit. */
export type AmountSpec =
  | { kind: "base"; value: bigint }
  | { kind: "cents"; value: bigint }
  | { kind: "max"; offset: bigint };

export function resolveAmount(spec: AmountSpec, model: PoolModel): bigint {
  if (spec.kind === "base") return spec.value;
  if (spec.kind === "cents") return (spec.value * model.unit) / 100n;
  return model.maxOrderAmount + spec.offset;
}

export const amountArb: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.bigInt(0n, 10_000n).map((value) => ({ kind: "base" as const, value })) },
  { weight: 6, arbitrary: fc.bigInt(1n, 2_000_000n).map((value) => ({ kind: "cents" as const, value })) },
  { weight: 1, arbitrary: fc.bigInt(-1n, 1n).map((offset) => ({ kind: "max" as const, offset })) },
);

function holders(c: Chain): string[] {
  return c.f.users.map((u) => u.address);
}

function contractFor(c: Chain, errorName: string) {
  return errorName.startsWith("GreenPoints") || errorName.startsWith("ERC20") ? c.f.points : c.f.pool;
}

/** The model's verdict: a result, or the revert it predicts. */
function predict<T>(action: () => T): { ok: true; value: T } | { ok: false; revert: PoolRevert } {
  try {
    return { ok: true, value: action() };
  } catch (e) {
    if (e instanceof PoolRevert) return { ok: false, revert: e };
    throw e;
  }
}

async function expectRevert(c: Chain, tx: Promise<ContractTransactionResponse>, revert: PoolRevert) {
  await expect(tx)
    .to.be.revertedWithCustomError(contractFor(c, revert.errorName), revert.errorName)
    .withArgs(...revert.args);
}

/**
 * The chain's state equals the model's, and rules 1-5 hold from the previous state. A parameter
 * change may move the price only while no GP circulate (the launch price), and never below the
 * price at which the supply last emptied, which this test remembers from its own snapshots.
 */
async function settle(m: World, c: Chain, options: { parameterChange?: boolean } = {}) {
  const after = await snapshot(c.f, holders(c));
  const model = m.model;
  expect(after.assets, "assets").to.equal(model.assets);
  expect(after.supply, "supply").to.equal(model.supply);
  expect(after.minted, "minted").to.equal(model.minted);
  expect(after.held, "settlement held").to.equal(model.held);
  expect([after.priceAssets, after.priceSupply], "price").to.deep.equal(model.priceRatio());
  for (const h of holders(c)) expect(after.balances.get(h.toLowerCase()), `balance of ${h}`).to.equal(model.balanceOf(h));
  const before = c.state;
  if (options.parameterChange && after.supply === 0n) {
    if (c.emptiedAt) expectPriceNotFallen(c.emptiedAt, after);
    expectInvariants({ ...before, priceAssets: after.priceAssets, priceSupply: after.priceSupply }, after);
  } else {
    if (options.parameterChange) {
      expect([after.priceAssets, after.priceSupply], "a parameter moved the price").to.deep.equal([before.priceAssets, before.priceSupply]);
    }
    expectInvariants(before, after);
  }
  if (before.supply > 0n && after.supply === 0n) c.emptiedAt = { priceAssets: before.priceAssets, priceSupply: before.priceSupply };
  c.state = after;
}

function eventsOf(c: Chain, receipt: { logs: readonly unknown[] } | null, name: string) {
  return (receipt?.logs ?? [])
    .map((log) => c.f.pool.interface.parseLog(log as { topics: string[]; data: string }))
    .filter((e) => e?.name === name)
    .map((e) => e!.args);
}

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
      const recorded = eventsOf(c, receipt, "OrderRecorded").map((a) => [a.orderKey, a.shop, a.buyer, a.amount, a.contribution, a.points]);
      expect(recorded).to.deep.equal(expected.value.map((r) => [r.key, r.shop, r.buyer, r.amount, r.contribution, r.points]));
    }
    await settle(m, c);
  }
  toString() {
    return `${this.single ? "order" : "batch"}(${JSON.stringify(this.groups, (_, v) => (typeof v === "bigint" ? `${v}n` : v))})`;
  }
}

export const orderCommand = fc
  .tuple(fc.nat(2), orderSpecArb)
  .map(([shop, spec]) => new RecordBatchCommand([{ shop, orders: [spec] }], true));

export const batchCommand = fc
  .array(fc.record({ shop: fc.nat(2), orders: fc.array(orderSpecArb, { minLength: 0, maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 3,
  })
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
      const [event] = eventsOf(c, receipt, "Redeemed");
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

export const transferCommand = fc
  .tuple(fc.nat(5), fc.nat(5), fc.bigInt(0n, 10_000n))
  .map(([a, b, s]) => new TransferCommand(a, b, s));

/** Every holder redeems everything, in the given order: the supply returns to zero. */
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
  expect(c.state.supply, "every GP redeemed").to.equal(0n);
}

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
    return `donate(${JSON.stringify(this.amount, (_, v) => (typeof v === "bigint" ? `${v}n` : v))})`;
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
    const expected = predict(() =>
      this.action === "sweep" ? m.model.sweepSurplus(amount) : m.model.absorbSurplus(amount),
    );
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
    return `set(${Parameter[this.parameter]}, ${typeof this.value === "bigint" ? this.value : JSON.stringify(this.value, (_, v) => (typeof v === "bigint" ? `${v}n` : v))})`;
  }
}

/** Values inside a range, biased to its bounds and one past them, where rounding bites. */
function boundedValue(min: bigint, max: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(min, max, min - 1n, max + 1n, min + 1n, max - 1n), fc.bigInt(min, max));
}

export const setParameterCommand = fc.oneof(
  fc.tuple(fc.constantFrom(Parameter.PoolShare, Parameter.MintShare), boundedValue(1n, 10_000n)),
  fc.tuple(fc.constant(Parameter.ExitFee), boundedValue(0n, 5_000n).filter((v) => v >= 0n)),
  fc.tuple(fc.constant(Parameter.InitialPrice), amountArb),
).map(([p, v]) => new SetParameterCommand(p, v));

export class PauseCommand implements fc.AsyncCommand<World, Chain> {
  check = () => true;
  async run(m: World, c: Chain) {
    const admin = c.f.pool.connect(c.f.admin);
    await (await (m.paused ? admin.unpause() : admin.pause())).wait();
    m.paused = !m.paused;
    await settle(m, c);
  }
  toString() {
    return "togglePause";
  }
}

export const pauseCommand = fc.constant(new PauseCommand());

export { settle };
