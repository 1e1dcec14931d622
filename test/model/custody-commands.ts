/**
 * fast-check commands for the custody and the original accounts, in the same style as
 * pool-commands.ts: inputs derived from the models, the models' verdict carried out on the chain,
 * then `settle` compares everything and checks the rules. Each command names the custodial
 * accounts it may change; `settle` fails if any other account moved.
 */
import { expect } from "chai";
import fc from "fast-check";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { Asset, CustodyParameter, ReferralMode, ZERO_ID } from "../../models/custody-model";
import { PoolRevert } from "../../models/pool-model";
import { orderId, orderKey } from "../helpers/fixtures";
import { signDeposit, signLink, signPermit, signRedeem, signTransfer } from "../helpers/signatures";
import { drain } from "./pool-commands";
import {
  ACCOUNT_IDS,
  type AmountSpec,
  type Chain,
  MERCHANT_ID,
  USER_IDS,
  type World,
  amountArb,
  carryOut,
  count,
  pick,
  eventsOf,
  predict,
  requestId,
  resolveAmount,
  settle,
  shareArb,
  stringify,
} from "./world";

type Command = fc.AsyncCommand<World, Chain>;
const relayer = (c: Chain) => c.f.custody.connect(c.f.relayer);
const share = (amount: bigint, bps: bigint) => (amount * bps) / 10_000n;
const balanceOf = (m: World, id: string, asset: Asset) =>
  asset === Asset.GP ? m.custody.account(id).points : m.custody.account(id).constantPoints;
async function deadline() {
  return BigInt(await time.latest()) + 3_600n;
}

/** The request id of the previous custodial operation, to replay it, or a fresh one. */
function pickRequest(m: World, replay: boolean): string {
  const last = `model-request-${m.nextId - 1}`;
  return replay && m.nextId > 0 ? ethers.id(last) : requestId(m);
}

// ------------------------------------------------------------------ orders and users

/** The accounts an order for `user` credits: the buyer and its referrers, two levels at most. */
function orderNames(m: World, user: string): string[] {
  const first = m.custody.account(user).referrer;
  const second = first ? m.custody.account(first).referrer : null;
  return [user, first, second].filter((id): id is string => id !== null);
}

interface CustodialOrderSpec {
  user: number;
  amount: AmountSpec;
}

export class CustodialOrdersCommand implements Command {
  constructor(readonly groups: { shop: number; orders: CustodialOrderSpec[] }[]) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const concrete = this.groups.map((g) => ({
      shop: c.f.shops[g.shop].address,
      orders: g.orders.map((o) => ({
        orderId: orderId(`custodial-${m.nextId++}`),
        user: USER_IDS[o.user],
        amount: resolveAmount(o.amount, m.model),
      })),
    }));
    const names = concrete.flatMap((g) => g.orders.flatMap((o) => orderNames(m, o.user)));
    const expected = m.paused
      ? { ok: false as const, revert: new PoolRevert("EnforcedPause", []) }
      : predict(() =>
          m.custody.recordOrders(
            concrete.map((g) => ({
              shop: g.shop,
              orders: g.orders.map((o) => ({ key: orderKey(g.shop, o.orderId), user: o.user, amount: o.amount })),
            })),
          ),
        );
    const receipt = await carryOut(c, expected, () => relayer(c).recordOrders(concrete));
    if (receipt && expected.ok) {
      const credited = eventsOf(c.f.custody, receipt, "OrderCredited").map((a) => [a.orderKey, a.user, a.points, a.quotaAdded]);
      expect(credited).to.deep.equal(expected.value.map((o) => [o.key, o.user, o.points, o.quotaAdded]));
      const referrals = eventsOf(c.f.custody, receipt, "ReferralCredited").map((a) => [
        a.referrer.toLowerCase(),
        Number(a.level),
        a.points,
      ]);
      expect(referrals).to.deep.equal(expected.value.flatMap((o) => o.referrals.map((r) => [r.referrer, r.level, r.points])));
    }
    await settle(m, c, { names });
  }
  toString() {
    return `custodialOrders(${stringify(this.groups)})`;
  }
}

export const custodialOrdersCommand = fc
  .array(
    fc.record({ shop: fc.nat(2), orders: fc.array(fc.record({ user: fc.nat(5), amount: amountArb }), { minLength: 1, maxLength: 5 }) }),
    { minLength: 1, maxLength: 2 },
  )
  .map((groups) => new CustodialOrdersCommand(groups));

export class RegisterCommand implements Command {
  constructor(
    readonly user: number,
    readonly referrer: number | null,
    readonly later: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const user = USER_IDS[this.user];
    const referrer = this.referrer === null ? ZERO_ID : USER_IDS[this.referrer];
    if (this.later && this.referrer !== null) {
      await carryOut(
        c,
        predict(() => m.custody.setReferrer(user, referrer)),
        () => relayer(c).setReferrer(user, referrer),
      );
    } else {
      await carryOut(
        c,
        predict(() => m.custody.register(user, this.referrer === null ? null : referrer)),
        () => relayer(c).register(user, referrer),
      );
    }
    await settle(m, c);
  }
  toString() {
    return `${this.later ? "setReferrer" : "register"}(${this.user}, ${this.referrer})`;
  }
}

export const registerCommand = fc
  .tuple(fc.nat(5), fc.option(fc.nat(5), { freq: 3 }), fc.boolean())
  .map(([u, r, later]) => new RegisterCommand(u, r, later));

export class SetMerchantCommand implements Command {
  constructor(readonly merchant: boolean) {}
  check = () => true;
  async run(m: World, c: Chain) {
    m.custody.setMerchant(MERCHANT_ID, this.merchant);
    await (await relayer(c).setMerchant(MERCHANT_ID, this.merchant)).wait();
    await settle(m, c);
  }
  toString() {
    return `setMerchant(${this.merchant})`;
  }
}

export const setMerchantCommand = fc.boolean().map((b) => new SetMerchantCommand(b));

// ------------------------------------------------------------------ custodial operations

export class MoveCommand implements Command {
  constructor(
    readonly from: number,
    readonly to: number,
    readonly asset: Asset,
    readonly bps: bigint,
    readonly toMerchant: boolean,
    readonly replay: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const from = pick(ACCOUNT_IDS, this.from, (id) => balanceOf(m, id, this.asset) > 0n);
    const to = this.toMerchant ? MERCHANT_ID : pick(ACCOUNT_IDS, this.to, (id) => m.custody.account(id).index > 0);
    const amount = share(balanceOf(m, from, this.asset), this.bps);
    const id = pickRequest(m, this.replay);
    const expected = predict(() =>
      this.toMerchant ? m.custody.payMerchant(id, from, to, this.asset, amount) : m.custody.transfer(id, from, to, this.asset, amount),
    );
    await carryOut(c, expected, () =>
      this.toMerchant ? relayer(c).payMerchant(id, from, to, this.asset, amount) : relayer(c).transfer(id, from, to, this.asset, amount),
    );
    await settle(m, c, { names: [from, to] });
  }
  toString() {
    return `${this.toMerchant ? "payMerchant" : "transfer"}(${this.from} -> ${this.toMerchant ? "merchant" : this.to}, ${Asset[this.asset]}, ${this.bps}bps${this.replay ? ", replayed id" : ""})`;
  }
}

export const moveCommand = fc
  .tuple(
    fc.nat(1000),
    fc.nat(1000),
    fc.constantFrom(Asset.GP, Asset.CP),
    shareArb,
    fc.boolean(),
    fc.nat(9).map((n) => n === 0),
  )
  .map(([a, b, asset, bps, merchant, replay]) => new MoveCommand(a, b, asset, bps, merchant, replay));

type MinPayout = "none" | "exact" | "above";
const minPayoutArb = fc.constantFrom<MinPayout>("none", "exact", "above");

export class CustodyRedeemCommand implements Command {
  constructor(
    readonly account: number,
    readonly asset: Asset,
    readonly bps: bigint,
    readonly min: MinPayout,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const id = pick(ACCOUNT_IDS, this.account, (a) => balanceOf(m, a, this.asset) > 0n);
    const amount = share(balanceOf(m, id, this.asset), this.bps);
    // The minimum is what the same call predicts now (or one unit more, which must fail).
    let minPayout = 0n;
    if (this.min !== "none") {
      const probe =
        this.asset === Asset.GP
          ? () => m.custody.redeem(ethers.ZeroHash, id, amount, 0n)
          : () => m.custody.redeemConstant(ethers.ZeroHash, id, amount, 0n).payout;
      const restore = m.custody.checkpoint();
      const quoted = predict(probe);
      restore();
      if (quoted.ok) minPayout = quoted.value + (this.min === "above" ? 1n : 0n);
    }
    const request = requestId(m);
    const expected = predict(() =>
      this.asset === Asset.GP
        ? m.custody.redeem(request, id, amount, minPayout)
        : m.custody.redeemConstant(request, id, amount, minPayout).payout,
    );
    const receipt = await carryOut(c, expected, () =>
      this.asset === Asset.GP
        ? relayer(c).redeem(request, id, amount, minPayout)
        : relayer(c).redeemConstant(request, id, amount, minPayout),
    );
    if (receipt && expected.ok) {
      const [event] = eventsOf(c.f.custody, receipt, "RedeemedToBalance");
      expect(event.payout).to.equal(expected.value);
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `custodyRedeem(${this.account}, ${Asset[this.asset]}, ${this.bps}bps, min ${this.min})`;
  }
}

export const custodyRedeemCommand = fc
  .tuple(fc.nat(1000), fc.constantFrom(Asset.GP, Asset.CP), shareArb, minPayoutArb)
  .map(([a, asset, bps, min]) => new CustodyRedeemCommand(a, asset, bps, min));

export class ConstantCommand implements Command {
  constructor(
    readonly account: number,
    readonly action: "convert" | "exchange",
    readonly bps: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const asset = this.action === "convert" ? Asset.GP : Asset.CP;
    const id = pick(ACCOUNT_IDS, this.account, (a) => balanceOf(m, a, asset) > 0n);
    const request = requestId(m);
    if (this.action === "convert") {
      const amount = share(m.custody.account(id).points, this.bps);
      await carryOut(
        c,
        predict(() => m.custody.convertToConstant(request, id, amount)),
        () => relayer(c).convertToConstant(request, id, amount),
      );
    } else {
      const amount = share(m.custody.account(id).constantPoints, this.bps);
      await carryOut(
        c,
        predict(() => m.custody.exchangeConstant(request, id, amount)),
        () => relayer(c).exchangeConstant(request, id, amount),
      );
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `${this.action}(${this.account}, ${this.bps}bps)`;
  }
}

export const constantCommand = fc
  .tuple(fc.nat(1000), fc.constantFrom("convert" as const, "exchange" as const), shareArb)
  .map(([a, action, bps]) => new ConstantCommand(a, action, bps));

export class WithdrawCommand implements Command {
  constructor(
    readonly account: number,
    readonly what: "settlement" | "toOriginal",
    readonly bps: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const id = pick(ACCOUNT_IDS, this.account, (a) =>
      this.what === "settlement"
        ? m.custody.account(a).settlement > 0n
        : m.custody.account(a).original !== null && m.custody.account(a).points > 0n,
    );
    const request = requestId(m);
    if (this.what === "settlement") {
      const amount = share(m.custody.account(id).settlement, this.bps);
      const to = c.f.stranger.address;
      await carryOut(
        c,
        predict(() => m.custody.withdrawSettlement(request, id, to, amount)),
        () => relayer(c).withdrawSettlement(request, id, to, amount),
      );
    } else {
      const amount = share(m.custody.account(id).points, this.bps);
      await carryOut(
        c,
        predict(() => m.custody.withdrawToOriginal(request, id, amount)),
        () => relayer(c).withdrawToOriginal(request, id, amount),
      );
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `withdraw ${this.what}(${this.account}, ${this.bps}bps)`;
  }
}

export const withdrawCommand = fc
  .tuple(fc.nat(1000), fc.constantFrom("settlement" as const, "toOriginal" as const), shareArb)
  .map(([a, w, bps]) => new WithdrawCommand(a, w, bps));

export class ExitCommand implements Command {
  constructor(readonly user: number) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const id = pick(USER_IDS, this.user, (a) => m.custody.account(a).quotaActive);
    const expected = predict(() => m.custody.exit(id));
    const receipt = await carryOut(c, expected, () => c.f.custody.connect(c.f.stranger).exit(id));
    if (receipt && expected.ok) {
      const [event] = eventsOf(c.f.custody, receipt, "Exited");
      expect([event.points, event.payout]).to.deep.equal([expected.value.points, expected.value.payout]);
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `exit(${this.user})`;
  }
}

export const exitCommand = fc.nat(1000).map((u) => new ExitCommand(u));

/**
 * Someone tries to force another account's exit: a wallet deposits all its GP into the account,
 * or another custodial account transfers all its GP to it; then anyone calls `exit`. The models
 * predict both; the exit must not be reached through GP credited by others: whenever it is
 * refused before, it is refused after.
 */
export class PushExitCommand implements Command {
  constructor(
    readonly target: number,
    readonly from: number,
    readonly by: "deposit" | "transfer",
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const id = pick(USER_IDS, this.target, (a) => m.custody.account(a).quotaActive);
    const reachedBefore = exitReached(m, id);
    if (this.by === "deposit") {
      const wallet = c.f.users[this.from];
      const points = m.model.balanceOf(wallet.address);
      await carryOut(
        c,
        predict(() => m.custody.deposit(wallet.address, id, points)),
        () => c.f.custody.connect(wallet).deposit(id, points),
      );
    } else {
      const source = USER_IDS[this.from];
      const points = m.custody.account(source).points;
      const request = requestId(m);
      await carryOut(
        c,
        predict(() => m.custody.transfer(request, source, id, Asset.GP, points)),
        () => relayer(c).transfer(request, source, id, Asset.GP, points),
      );
    }
    await settle(m, c, { names: [id, USER_IDS[this.from]] });
    if (!reachedBefore) {
      expect(exitReached(m, id), "GP credited by others reached the exit").to.equal(false);
      count(`exit push by ${this.by} refused`);
    }
    const expected = predict(() => m.custody.exit(id));
    await carryOut(c, expected, () => c.f.custody.connect(c.f.stranger).exit(id));
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `pushExit(${this.target} <- ${this.by} from ${this.from})`;
  }
}

/** Whether the model would let anyone exit `id` now (without changing it). */
function exitReached(m: World, id: string): boolean {
  const restore = m.custody.checkpoint();
  try {
    return predict(() => m.custody.exit(id)).ok;
  } finally {
    restore();
  }
}

export const pushExitCommand = fc
  .tuple(fc.nat(1000), fc.nat(5), fc.constantFrom("deposit" as const, "transfer" as const))
  .map(([t, f, by]) => new PushExitCommand(t, f, by));

/**
 * Drives a user to its forced exit the way a market could: the user buys, then a whale buys big
 * and sells everything, again and again (each sale leaves its exit fee in the pool, so the price
 * climbs), until the user's GP are worth its quota; then anyone exits it. Every step is
 * predicted by the models and settled; the cap or the order limit may stop it first.
 */
export class ExitScenarioCommand implements Command {
  constructor(
    readonly user: number,
    readonly whale: number,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    if (m.paused || m.custody.parameters.exitMultiple === 0n) return;
    const id = USER_IDS[this.user];
    const whale = c.f.users[this.whale];
    const shop = c.f.shops[0].address;
    const order = async (send: () => Promise<unknown>, predicted: () => unknown, names: string[] = []) => {
      const expected = predict(predicted);
      if (!expected.ok) return false;
      await (await (send() as Promise<{ wait(): Promise<unknown> }>)).wait();
      await settle(m, c, { names });
      return true;
    };
    const buy = { orderId: orderId(`exit-${m.nextId++}`), user: id, amount: 100n * m.model.unit };
    const bought = await order(
      () => relayer(c).recordOrders([{ shop, orders: [buy] }]),
      () => m.custody.recordOrders([{ shop, orders: [{ key: orderKey(shop, buy.orderId), user: id, amount: buy.amount }] }]),
      orderNames(m, id),
    );
    if (!bought) return;
    for (let cycle = 0; cycle < 8 && !predict(() => probeExit(m, id)).ok; cycle++) {
      const amount = m.model.assets * 20n > m.model.maxOrderAmount ? m.model.maxOrderAmount : m.model.assets * 20n;
      const pump = { orderId: orderId(`whale-${m.nextId++}`), buyer: whale.address, amount };
      const pumped = await order(
        () => c.f.pool.connect(c.f.relayer).recordOrder(shop, pump),
        () => m.model.recordOrder(shop, { key: orderKey(shop, pump.orderId), buyer: whale.address, amount }),
      );
      if (!pumped) return;
      const held = m.model.balanceOf(whale.address);
      await order(
        () => c.f.pool.connect(whale).redeem(held, whale.address, 0n),
        () => m.model.redeem(whale.address, held, 0n),
      );
    }
    const expected = predict(() => m.custody.exit(id));
    await carryOut(c, expected, () => c.f.custody.connect(c.f.stranger).exit(id));
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `exitScenario(user ${this.user}, whale ${this.whale})`;
  }
}

/** Whether the exit would go through now, leaving the models as they were. */
function probeExit(m: World, id: string) {
  const restore = m.custody.checkpoint();
  try {
    return m.custody.exit(id);
  } finally {
    restore();
  }
}

export const exitScenarioCommand = fc.tuple(fc.nat(5), fc.nat(5)).map(([u, w]) => new ExitScenarioCommand(u, w));

export class ReleaseSurplusCommand implements Command {
  check = () => true;
  async run(m: World, c: Chain) {
    await carryOut(
      c,
      predict(() => m.custody.releaseReserveSurplus()),
      () => c.f.custody.connect(c.f.stranger).releaseReserveSurplus(),
    );
    await settle(m, c);
  }
  toString() {
    return "releaseReserveSurplus";
  }
}

export const releaseSurplusCommand = fc.constant(new ReleaseSurplusCommand());

export class CustodyParameterCommand implements Command {
  constructor(
    readonly parameter: CustodyParameter,
    readonly value: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    await carryOut(
      c,
      predict(() => m.custody.setParameter(this.parameter, this.value)),
      () => c.f.custody.connect(c.f.admin).setParameter(this.parameter, this.value),
    );
    await settle(m, c);
  }
  toString() {
    return `custodySet(${CustodyParameter[this.parameter]}, ${this.value})`;
  }
}

export const custodyParameterCommand = fc.oneof(
  fc.constantFrom(0n, 1n, 100n, 2_000n, 2_001n).map((v) => new CustodyParameterCommand(CustodyParameter.WithdrawalFee, v)),
  fc
    .constantFrom(0n, 9_999n, 10_000n, 20_000n, 100_000n, 100_001n)
    .map((v) => new CustodyParameterCommand(CustodyParameter.ExitMultiple, v)),
  fc
    .constantFrom(BigInt(ReferralMode.PerOrder), BigInt(ReferralMode.FirstOrder), BigInt(ReferralMode.FirstOrder), 2n)
    .map((v) => new CustodyParameterCommand(CustodyParameter.ReferralMode, v)),
);

// ------------------------------------------------------------------ operator grants and removals

/**
 * The operator grants a user GP backed by a contribution from the relayer's settlement: the pool's
 * price rule and backing are checked by `settle` like any mint's. Small amounts reach the refusal
 * of a grant that mints nothing; an id used before is refused.
 */
export class GrantCommand implements Command {
  constructor(
    readonly user: number,
    readonly contribution: AmountSpec,
    readonly replay: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const user = USER_IDS[this.user];
    const contribution = resolveAmount(this.contribution, m.model);
    const id = pickRequest(m, this.replay);
    const expected = m.paused
      ? { ok: false as const, revert: new PoolRevert("EnforcedPause", []) }
      : predict(() => m.custody.grant(id, user, contribution));
    const receipt = await carryOut(c, expected, () => relayer(c).grant(id, user, contribution));
    if (receipt && expected.ok) {
      const [event] = eventsOf(c.f.custody, receipt, "Granted");
      expect([event.user, event.payer, event.contribution, event.points]).to.deep.equal([
        user,
        c.f.relayer.address,
        contribution,
        expected.value,
      ]);
    }
    await settle(m, c, { names: [user] });
  }
  toString() {
    return `grant(${this.user}, ${stringify(this.contribution)}${this.replay ? ", replayed id" : ""})`;
  }
}

export const grantCommand = fc
  .tuple(
    fc.nat(5),
    amountArb,
    fc.nat(9).map((n) => n === 0),
  )
  .map(([u, amount, replay]) => new GrantCommand(u, amount, replay));

/** The operator removes a share of an account's GP (or one base unit more than it holds): burned, paid to no one. */
export class RemoveCommand implements Command {
  constructor(
    readonly account: number,
    readonly bps: bigint,
    readonly over: boolean,
    readonly replay: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const id = pick(ACCOUNT_IDS, this.account, (a) => m.custody.account(a).points > 0n);
    const held = m.custody.account(id).points;
    const points = this.over ? held + 1n : share(held, this.bps);
    const request = pickRequest(m, this.replay);
    const expected = predict(() => m.custody.remove(request, id, points));
    const receipt = await carryOut(c, expected, () => relayer(c).remove(request, id, points));
    if (receipt) {
      const [event] = eventsOf(c.f.custody, receipt, "Removed");
      expect([event.user, event.points]).to.deep.equal([id, points]);
      expect(eventsOf(c.f.pool, receipt, "Redeemed"), "a removal pays no one").to.have.length(0);
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `remove(${this.account}, ${this.over ? "more than held" : `${this.bps}bps`}${this.replay ? ", replayed id" : ""})`;
  }
}

export const removeCommand = fc
  .tuple(
    fc.nat(1000),
    shareArb,
    fc.nat(7).map((n) => n === 0),
    fc.nat(9).map((n) => n === 0),
  )
  .map(([a, bps, over, replay]) => new RemoveCommand(a, bps, over, replay));

// ------------------------------------------------------------------ original accounts

export class LinkCommand implements Command {
  constructor(
    readonly user: number,
    readonly wallet: number,
    readonly action: "link" | "unlink" | "unlinkSelf",
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const linked = (a: string) => m.custody.account(a).original !== null;
    const id = pick(USER_IDS, this.user, (a) => (this.action === "link" ? !linked(a) : linked(a)));
    const original = m.custody.account(id).original;
    const ownWallet = this.action === "unlinkSelf" && original !== null && this.wallet % 4 !== 0;
    const wallet = ownWallet ? c.f.users.find((u) => u.address.toLowerCase() === original.toLowerCase())! : c.f.users[this.wallet % 6];
    if (this.action === "link") {
      const until = await deadline();
      const signature = await signLink(wallet, c.f.custody, id, until);
      await carryOut(
        c,
        predict(() => m.custody.link(id, wallet.address)),
        () => relayer(c).link(id, wallet.address, until, signature),
      );
    } else if (this.action === "unlink") {
      await carryOut(
        c,
        predict(() => m.custody.unlink(id)),
        () => relayer(c).unlink(id),
      );
    } else {
      await carryOut(
        c,
        predict(() => m.custody.unlinkSelf(wallet.address, id)),
        () => c.f.custody.connect(wallet).unlinkSelf(id),
      );
    }
    await settle(m, c);
  }
  toString() {
    return `${this.action}(user ${this.user}, wallet ${this.wallet})`;
  }
}

export const linkCommand = fc
  .tuple(fc.nat(1000), fc.nat(1000), fc.constantFrom("link" as const, "link" as const, "unlink" as const, "unlinkSelf" as const))
  .map(([u, w, a]) => new LinkCommand(u, w, a));

export class DepositCommand implements Command {
  constructor(
    readonly wallet: number,
    readonly user: number,
    readonly bps: bigint,
    readonly bySignature: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const walletAddress = pick(
      c.f.users.map((u) => u.address),
      this.wallet,
      (a) => m.model.balanceOf(a) > 0n,
    );
    const wallet = c.f.users.find((u) => u.address === walletAddress)!;
    const id = pick(USER_IDS, this.user, (a) => m.custody.account(a).index > 0);
    const amount = share(m.model.balanceOf(wallet.address), this.bps);
    const expected = predict(() => m.custody.deposit(wallet.address, id, amount));
    if (this.bySignature) {
      const until = await deadline();
      const signature = await signDeposit(wallet, c.f.custody, id, amount, until);
      await carryOut(c, expected, () => relayer(c).depositBySig(wallet.address, id, amount, until, signature));
    } else {
      await carryOut(c, expected, () => c.f.custody.connect(wallet).deposit(id, amount));
    }
    await settle(m, c, { names: [id] });
  }
  toString() {
    return `deposit${this.bySignature ? "BySig" : ""}(wallet ${this.wallet} -> user ${this.user}, ${this.bps}bps)`;
  }
}

export const depositCommand = fc
  .tuple(fc.nat(1000), fc.nat(1000), shareArb, fc.boolean())
  .map(([w, u, bps, sig]) => new DepositCommand(w, u, bps, sig));

export class SignedRequestCommand implements Command {
  constructor(
    readonly wallet: number,
    readonly to: number,
    readonly kind: "redeem" | "transfer",
    readonly bps: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const walletAddress = pick(
      c.f.users.map((u) => u.address),
      this.wallet,
      (a) => m.model.balanceOf(a) > 0n,
    );
    const wallet = c.f.users.find((u) => u.address === walletAddress)!;
    const to = c.f.users[this.to % 6].address;
    const amount = share(m.model.balanceOf(wallet.address), this.bps);
    const until = await deadline();
    if (this.kind === "redeem") {
      const signature = await signRedeem(wallet, c.f.pool, { points: amount, receiver: to, minPayout: 0n, deadline: until });
      await carryOut(
        c,
        predict(() => m.model.redeem(wallet.address, amount, 0n)),
        () => c.f.pool.connect(c.f.relayer).redeemBySig(wallet.address, amount, to, 0n, until, signature),
      );
    } else {
      const signature = await signTransfer(wallet, c.f.points, { to, value: amount, deadline: until });
      await carryOut(
        c,
        predict(() => m.model.transfer(wallet.address, to, amount)),
        () => c.f.points.connect(c.f.relayer).transferBySig(wallet.address, to, amount, until, signature),
      );
    }
    await settle(m, c);
  }
  toString() {
    return `signed ${this.kind}(wallet ${this.wallet} -> ${this.to}, ${this.bps}bps)`;
  }
}

/**
 * A wallet signs an EIP-2612 permit for the custody (some of its balance, or unlimited) and the
 * relayer submits it: later deposits spend that allowance, and fail when it runs short.
 */
export class PermitCommand implements Command {
  constructor(
    readonly wallet: number,
    readonly bps: bigint,
    readonly unlimited: boolean,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const wallet = c.f.users[this.wallet];
    const value = this.unlimited ? ethers.MaxUint256 : share(m.model.balanceOf(wallet.address), this.bps);
    const until = await deadline();
    const { v, r, s } = await signPermit(wallet, c.f.points, c.custodyAddress, value, until);
    m.model.approve(wallet.address, c.custodyAddress, value);
    await (await c.f.points.connect(c.f.relayer).permit(wallet.address, c.custodyAddress, value, until, v, r, s)).wait();
    expect(await c.f.points.allowance(wallet.address, c.custodyAddress)).to.equal(value);
    await settle(m, c);
  }
  toString() {
    return `permit(wallet ${this.wallet}, ${this.unlimited ? "unlimited" : `${this.bps}bps`})`;
  }
}

export const permitCommand = fc.tuple(fc.nat(5), shareArb, fc.boolean()).map(([w, bps, unlimited]) => new PermitCommand(w, bps, unlimited));

export const signedRequestCommand = fc
  .tuple(fc.nat(1000), fc.nat(1000), fc.constantFrom("redeem" as const, "transfer" as const), shareArb)
  .map(([w, t, k, bps]) => new SignedRequestCommand(w, t, k, bps));

// ------------------------------------------------------------------ the end of every sequence

/**
 * Solvency for real: every wallet redeems all its GP, every custodial account redeems its CP and
 * its GP, and the reserve's remainder is released, in the given order of wallets and accounts.
 * Only the GP locked in the pool and GP backing CP too small to redeem may remain.
 */
export async function drainEverything(m: World, c: Chain, walletOrder: readonly number[]) {
  await drain(m, c, walletOrder);
  for (const i of [...walletOrder, 6]) {
    const id = ACCOUNT_IDS[i];
    const cp = m.custody.account(id).constantPoints;
    if (cp > 0n) {
      const request = requestId(m);
      await carryOut(
        c,
        predict(() => m.custody.redeemConstant(request, id, cp, 0n)),
        () => relayer(c).redeemConstant(request, id, cp, 0n),
      );
      await settle(m, c, { names: [id] });
    }
    const points = m.custody.account(id).points;
    if (points > 0n) {
      const request = requestId(m);
      const expected = predict(() => m.custody.redeem(request, id, points, 0n));
      expect(expected.ok, `custodial account ${i} can redeem all its GP`).to.equal(true);
      await carryOut(c, expected, () => relayer(c).redeem(request, id, points, 0n));
      await settle(m, c, { names: [id] });
    }
  }
  if (m.custody.reserveSurplus() > 0n) {
    await carryOut(
      c,
      predict(() => m.custody.releaseReserveSurplus()),
      () => relayer(c).releaseReserveSurplus(),
    );
    await settle(m, c);
  }
  expect(c.state.supply, "only the locked GP and GP backing unredeemable CP dust remain").to.equal(c.state.locked + m.custody.reserve);
  if (m.custody.constantOutstanding === 0n) expect(c.state.supply, "every GP redeemed but the locked ones").to.equal(c.state.locked);
}
