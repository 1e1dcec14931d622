/**
 * fast-check commands for the ad credit (docs/rules.md, "Rewarded ads, as built"), in the style of custody-commands.ts:
 * merchants' top-ups, voucher issuance, conversions into the pool and credit withdrawals. Each
 * command carries the model's verdict out on the chain; `settle` then compares the pool, the
 * custody and the ad credit with their models and checks the rules.
 */
import { expect } from "chai";
import fc from "fast-check";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { AdParameter, type ModelConversion, type ModelSale } from "../../models/ad-credit-model";
import { orderKey } from "../helpers/fixtures";
import {
  type AmountSpec,
  type Chain,
  USER_IDS,
  type World,
  amountArb,
  carryOut,
  eventsOf,
  pick,
  predict,
  resolveAmount,
  settle,
  shareArb,
} from "./world";

const relayer = (c: Chain) => c.f.adCredit.connect(c.f.relayer);
const share = (amount: bigint, bps: bigint) => (amount * bps) / 10_000n;
const merchantOf = (c: Chain, index: number) => c.f.merchants[index % c.f.merchants.length];
const nextId = (m: World, label: string) => ethers.id(`model-${label}-${m.nextId++}`);

/** A top-up from the stranger's settlement; amounts kept below what the stranger holds. */
export class TopUpCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly merchant: number,
    readonly amount: AmountSpec,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const merchant = merchantOf(c, this.merchant);
    // Five times an order-sized amount, so that most sales find credit and some do not.
    const amount = (resolveAmount(this.amount, m.model) * 5n) % (10n ** 8n * m.model.unit);
    await carryOut(
      c,
      predict(() => m.ads.topUp(merchant, amount)),
      () => c.f.adCredit.connect(c.f.stranger).topUp(merchant, amount),
    );
    await settle(m, c);
  }
  toString() {
    return `topUp(merchant ${this.merchant}, ${JSON.stringify(this.amount, (_, v) => (typeof v === "bigint" ? String(v) : v))})`;
  }
}
export const topUpCommand = fc.tuple(fc.nat(1), amountArb).map(([merchant, amount]) => new TopUpCommand(merchant, amount));

/** Sales to users 0-5 (4 and 5 may be unregistered) at either merchant, some beyond its credit. */
export class IssueCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly sales: { user: number; merchant: number; amount: AmountSpec; repeat: boolean }[]) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const sales: ModelSale[] = this.sales.map((s) => ({
      saleId: s.repeat && m.lastSale ? m.lastSale : nextId(m, "sale"),
      user: pick(USER_IDS, s.user, (id) => m.custody.account(id).index > 0),
      merchant: merchantOf(c, s.merchant),
      amount: resolveAmount(s.amount, m.model) % (10n ** 9n * m.model.unit),
    }));
    if (sales.length > 0) m.lastSale = sales[sales.length - 1].saleId;
    const expected = predict(() => m.ads.issueVouchers(sales));
    const receipt = await carryOut(c, expected, () => relayer(c).issueVouchers(sales));
    if (expected.ok) {
      const issued = eventsOf(c.f.adCredit, receipt, "VouchersIssued").map((a) => [a.vouchers, a.backing]);
      expect(issued).to.deep.equal(expected.value.flatMap((o) => (o.issued ? [[o.vouchers, o.backing]] : [])));
      expect(eventsOf(c.f.adCredit, receipt, "VouchersRefused").length).to.equal(expected.value.filter((o) => !o.issued).length);
    }
    await settle(m, c);
  }
  toString() {
    return `issue(${this.sales.length} sales)`;
  }
}
export const issueCommand = fc
  .array(
    fc.record({ user: fc.nat(1000), merchant: fc.nat(1), amount: amountArb, repeat: fc.integer({ min: 0, max: 19 }).map((n) => n === 0) }),
    { minLength: 1, maxLength: 4 },
  )
  .map((sales) => new IssueCommand(sales));

/** Conversions of a share of users' buckets (sometimes more than they hold), in one batch. */
export class ConvertCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly conversions: { bucket: number; bps: bigint; over: boolean; repeat: boolean }[]) {}
  check = () => true;
  async run(m: World, c: Chain) {
    const buckets = m.ads.buckets().filter(([, , b]) => b.vouchers > 0n);
    if (buckets.length === 0) return;
    const adCredit = await c.f.adCredit.getAddress();
    const conversions: ModelConversion[] = this.conversions.map((x) => {
      const [user, merchant, bucket] = buckets[x.bucket % buckets.length];
      const conversionId = x.repeat && m.lastConversion ? m.lastConversion : nextId(m, "conversion");
      const vouchers = x.over ? bucket.vouchers + 1n : share(bucket.vouchers, x.bps) || 1n;
      return { conversionId, poolKey: orderKey(adCredit, conversionId), user, merchant, vouchers };
    });
    m.lastConversion = conversions[conversions.length - 1].conversionId;
    const expected = predict(() => m.ads.convert(conversions));
    const receipt = await carryOut(c, expected, () => relayer(c).convert(conversions.map(({ poolKey: _, ...rest }) => rest)));
    if (expected.ok) {
      const converted = eventsOf(c.f.adCredit, receipt, "VouchersConverted").map((a) => [a.backing, a.points]);
      expect(converted).to.deep.equal(expected.value.map((v) => [v.backing, v.points]));
    }
    await settle(m, c, { names: conversions.map((x) => x.user) });
  }
  toString() {
    return `convert(${this.conversions.map((x) => `${x.bucket}:${x.over ? "over" : x.bps}${x.repeat ? ":repeat" : ""}`).join(", ")})`;
  }
}
export const convertCommand = fc
  .array(
    fc.record({
      bucket: fc.nat(100),
      bps: shareArb,
      over: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
      repeat: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((conversions) => new ConvertCommand(conversions));

/** A withdrawal request, a cancellation or an execution, at a chosen time after the last block. */
export class WithdrawalCommand implements fc.AsyncCommand<World, Chain> {
  constructor(
    readonly merchant: number,
    readonly action: "request" | "cancel" | "execute",
    readonly bps: bigint,
    readonly wait: bigint,
  ) {}
  check = () => true;
  async run(m: World, c: Chain) {
    // Cancellations and executions usually name a merchant with a request pending.
    const merchant =
      this.action === "request"
        ? merchantOf(c, this.merchant)
        : pick(c.f.merchants, this.merchant, (id) => m.ads.merchant(id).withdrawal !== null);
    const now = BigInt(await time.latest()) + 1n + this.wait;
    await time.setNextBlockTimestamp(now);
    if (this.action === "request") {
      const id = nextId(m, "withdrawal");
      const amount = share(m.ads.merchant(merchant).credit, this.bps);
      const to = c.f.users[5].address;
      await carryOut(
        c,
        predict(() => m.ads.requestWithdrawal(id, merchant, amount, to, now)),
        () => relayer(c).requestWithdrawal(id, merchant, amount, to),
      );
    } else if (this.action === "cancel") {
      await carryOut(
        c,
        predict(() => m.ads.cancelWithdrawal(merchant)),
        () => relayer(c).cancelWithdrawal(merchant),
      );
    } else {
      const to = c.f.users[5].address;
      const before = await c.f.settlement.balanceOf(to);
      const expected = predict(() => m.ads.executeWithdrawal(merchant, now));
      await carryOut(c, expected, () => c.f.adCredit.connect(c.f.stranger).executeWithdrawal(merchant));
      if (expected.ok) expect(await c.f.settlement.balanceOf(to), "withdrawal paid").to.equal(before + expected.value);
    }
    await settle(m, c);
  }
  toString() {
    return `withdrawal(merchant ${this.merchant}, ${this.action}, ${this.bps}bps, +${this.wait}s)`;
  }
}
const notice = 7n * 86_400n;
export const withdrawalCommand = fc
  .tuple(
    fc.nat(7),
    fc.constantFrom("request" as const, "request" as const, "cancel" as const, "execute" as const, "execute" as const),
    shareArb,
    fc.oneof(fc.constant(0n), fc.constant(notice - 2n), fc.constant(notice), fc.bigInt(0n, 2n * notice)),
  )
  .map(([merchant, action, bps, wait]) => new WithdrawalCommand(merchant, action, bps, wait));

/** The ad share changes within (or, to reach the refusal, outside) its bounds. */
export class AdShareCommand implements fc.AsyncCommand<World, Chain> {
  constructor(readonly value: bigint) {}
  check = () => true;
  async run(m: World, c: Chain) {
    await carryOut(
      c,
      predict(() => m.ads.setParameter(AdParameter.AdShare, this.value)),
      () => c.f.adCredit.connect(c.f.admin).setParameter(AdParameter.AdShare, this.value),
    );
    await settle(m, c);
  }
  toString() {
    return `adShare(${this.value})`;
  }
}
export const adShareCommand = fc.oneof(fc.bigInt(100n, 5_000n), fc.constantFrom(99n, 5_001n)).map((v) => new AdShareCommand(v));

/**
 * Converts every voucher left, one bucket at a time, so that the final drain redeems their GP
 * too. Only the cap may stop one (it stops orders the same way); the chain must agree.
 */
export async function convertEverything(m: World, c: Chain) {
  const adCredit = await c.f.adCredit.getAddress();
  const buckets = m.ads.buckets().filter(([, , b]) => b.vouchers > 0n);
  let capped = false;
  for (const [user, merchant, b] of buckets) {
    const conversionId = nextId(m, "final-conversion");
    const conversion: ModelConversion = { conversionId, poolKey: orderKey(adCredit, conversionId), user, merchant, vouchers: b.vouchers };
    const expected = predict(() => m.ads.convert([conversion]));
    if (!expected.ok) {
      expect(expected.revert.errorName, "only the cap stops a conversion").to.equal("GreenPointsCapExceeded");
      capped = true;
    }
    await carryOut(c, expected, () => relayer(c).convert([{ conversionId, user, merchant, vouchers: b.vouchers }]));
    await settle(m, c, { names: [user] });
  }
  if (!capped) for (const merchant of c.f.merchants) expect(m.ads.merchant(merchant).backing, "no backing left behind").to.equal(0n);
}
