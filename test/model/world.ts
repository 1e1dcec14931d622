/**
 * The state the model-based test carries: the reference models beside the deployed contracts,
 * and `settle`, which after every command compares the chain with the models and checks the
 * rules of docs/rules.md ("What always holds") on the chain's own figures.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { ContractTransactionResponse } from "ethers";
import { ethers } from "hardhat";
import { type CustodyModel } from "../../models/custody-model";
import { type PoolModel, PoolRevert } from "../../models/pool-model";
import { type AdCreditFixture, userId } from "../helpers/fixtures";
import { type AdCreditModel } from "../../models/ad-credit-model";
import type { OrderLifecycleModel } from "../../models/order-lifecycle-model";
import { type PoolSnapshot, expectInvariants, snapshot } from "../helpers/invariants";

/** The custodial user ids the commands use; the last one is made a merchant by a command. */
export const USER_IDS = [0, 1, 2, 3, 4, 5].map((i) => userId(`model-${i}`));
export const MERCHANT_ID = userId("model-merchant");
export const ACCOUNT_IDS = [...USER_IDS, MERCHANT_ID];

export interface World {
  model: PoolModel;
  custody: CustodyModel;
  ads: AdCreditModel;
  /** Orders held pending, released and refunded at the relayer (issue 18). */
  lifecycle: OrderLifecycleModel;
  /** The last sale id used, so that a later issuance can repeat it. */
  lastSale?: string;
  /** The last conversion id used, so that a later conversion can repeat it. */
  lastConversion?: string;
  paused: boolean;
  nextId: number;
  /** Orders recorded or attempted, so that later commands can repeat one. */
  used: { shop: number; id: string }[];
}

export interface CustodySnapshot {
  accounts: Map<string, { points: bigint; constantPoints: bigint; settlement: bigint; quota: bigint; received: bigint }>;
  reserve: bigint;
  outstanding: bigint;
  pointsHeld: bigint;
  settlementHeld: bigint;
}

export interface Chain {
  f: AdCreditFixture;
  custodyAddress: string;
  state: PoolSnapshot;
  custodyState: CustodySnapshot;
}

/** An amount chosen without knowing the decimals; resolved against the model's unit. */
export type AmountSpec = { kind: "base"; value: bigint } | { kind: "cents"; value: bigint } | { kind: "max"; offset: bigint };

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

/**
 * One of `ids`, usually among those for which the operation means something (`useful`), so that
 * sequences reach the success paths; one time in four any of them, to reach the refusals too.
 */
export function pick(ids: readonly string[], index: number, useful: (id: string) => boolean): string {
  const candidates = ids.filter(useful);
  return candidates.length > 0 && index % 4 !== 0 ? candidates[index % candidates.length] : ids[index % ids.length];
}

/** A share in basis points, often all of it, sometimes none. */
export const shareArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(10_000n) },
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 6, arbitrary: fc.bigInt(1n, 10_000n) },
);

export function stringify(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
}

/** Every address that can hold GP: the wallets and the custody contract. */
export function holders(c: Chain): string[] {
  return [...c.f.users.map((u) => u.address), c.custodyAddress];
}

export function contractFor(c: Chain, errorName: string) {
  if (errorName.startsWith("GreenPoints") || errorName.startsWith("ERC20")) return c.f.points;
  if (errorName.startsWith("Custody")) return c.f.custody;
  if (errorName.startsWith("AdCredit") || errorName.startsWith("AccessControl")) return c.f.adCredit;
  return c.f.pool;
}

/** The model's verdict: a result, or the revert it predicts. */
export function predict<T>(action: () => T): { ok: true; value: T } | { ok: false; revert: PoolRevert } {
  try {
    return { ok: true, value: action() };
  } catch (e) {
    if (e instanceof PoolRevert) return { ok: false, revert: e };
    throw e;
  }
}

export async function expectRevert(c: Chain, tx: Promise<ContractTransactionResponse>, revert: PoolRevert) {
  await expect(tx)
    .to.be.revertedWithCustomError(contractFor(c, revert.errorName), revert.errorName)
    .withArgs(...revert.args);
}

/** What the commands did over a whole run: events emitted and reverts seen, by name. */
export const outcomes = new Map<string, number>();

/** Counts one outcome under `key` in the run's statistics. */
export function count(key: string) {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

/** Runs the command on the chain as the model predicts: the same revert, or success. */
export async function carryOut<T>(
  c: Chain,
  expected: { ok: true; value: T } | { ok: false; revert: PoolRevert },
  send: () => Promise<ContractTransactionResponse>,
) {
  if (!expected.ok) {
    count(`reverted ${expected.revert.errorName}`);
    await expectRevert(c, send(), expected.revert);
    return null;
  }
  const receipt = (await (await send()).wait())!;
  const names = new Set<string>();
  for (const contract of [c.f.custody, c.f.pool, c.f.adCredit]) {
    for (const log of receipt.logs) {
      try {
        const parsed = contract.interface.parseLog(log);
        if (parsed) names.add(parsed.name);
      } catch {
        // another contract's event
      }
    }
  }
  for (const name of names) count(`emitted ${name}`);
  return receipt;
}

/** The counts, for the run's log. */
export function outcomeReport(): string {
  return [...outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

export function eventsOf(
  contract: { interface: { parseLog(log: { topics: string[]; data: string }): { name: string; args: any } | null } },
  receipt: { logs: readonly unknown[] } | null,
  name: string,
) {
  return (receipt?.logs ?? [])
    .map((log) => {
      try {
        return contract.interface.parseLog(log as { topics: string[]; data: string });
      } catch {
        return null;
      }
    })
    .filter((e) => e?.name === name)
    .map((e) => e!.args);
}

export async function custodySnapshot(c: Chain): Promise<CustodySnapshot> {
  const f = c.f;
  const address = await f.custody.getAddress();
  const accounts = new Map<string, { points: bigint; constantPoints: bigint; settlement: bigint; quota: bigint; received: bigint }>();
  await Promise.all(
    ACCOUNT_IDS.map(async (id) => {
      const a = await f.custody.accountOf(id);
      accounts.set(id, {
        points: a.points,
        constantPoints: a.constantPoints,
        settlement: a.settlement,
        quota: a.quota,
        received: a.received,
      });
    }),
  );
  const [reserve, outstanding, pointsHeld, settlementHeld] = await Promise.all([
    f.custody.reserve(),
    f.custody.constantOutstanding(),
    f.points.balanceOf(address),
    f.settlement.balanceOf(address),
  ]);
  return { accounts, reserve, outstanding, pointsHeld, settlementHeld };
}

export interface SettleOptions {
  /** A parameter change: may move the price only before the first mint (the locked GP keep the supply above zero). */
  parameterChange?: boolean;
  /** The custodial accounts the operation names; every other account must stay as it was. */
  names?: readonly string[];
}

/**
 * The chain equals the models, and the rules hold from the previous state: rules 1-5 on the
 * pool; on the custody, entries + reserve == GP held, settlement held >= settlement owed, the CP
 * reserve backs the CP, and no account changed that the operation did not name.
 */
export async function settle(m: World, c: Chain, options: SettleOptions = {}) {
  const after = await snapshot(c.f, holders(c));
  const model = m.model;
  expect(after.assets, "assets").to.equal(model.assets);
  expect(after.supply, "supply").to.equal(model.supply);
  expect(after.minted, "minted").to.equal(model.minted);
  expect(after.held, "settlement held").to.equal(model.held);
  expect(after.locked, "GP locked in the pool").to.equal(model.locked);
  expect([after.priceAssets, after.priceSupply], "price").to.deep.equal(model.priceRatio());
  for (const h of holders(c)) expect(after.balances.get(h.toLowerCase()), `balance of ${h}`).to.equal(model.balanceOf(h));

  const before = c.state;
  if (options.parameterChange && after.supply === 0n) {
    expect(after.minted, "the supply is zero only before the first mint").to.equal(0n);
    expectInvariants({ ...before, priceAssets: after.priceAssets, priceSupply: after.priceSupply }, after);
  } else {
    if (options.parameterChange) {
      expect([after.priceAssets, after.priceSupply], "a parameter moved the price").to.deep.equal([before.priceAssets, before.priceSupply]);
    }
    expectInvariants(before, after);
  }
  c.state = after;

  const cs = await custodySnapshot(c);
  const cm = m.custody;
  for (const id of ACCOUNT_IDS) {
    const a = cm.account(id);
    expect(cs.accounts.get(id), `custodial account ${id}`).to.deep.equal({
      points: a.points,
      constantPoints: a.constantPoints,
      settlement: a.settlement,
      quota: a.quota,
      received: a.received,
    });
    expect(a.received <= a.points, "GP received by others never exceed the GP held").to.equal(true);
  }
  expect([cs.reserve, cs.outstanding, cs.settlementHeld], "reserve, CP, settlement held").to.deep.equal([
    cm.reserve,
    cm.constantOutstanding,
    cm.held,
  ]);
  const entries = [...cs.accounts.values()].reduce((s, a) => s + a.points, 0n);
  expect(cs.pointsHeld, "GP held by custody == entries + reserve").to.equal(entries + cs.reserve);
  const owed = [...cs.accounts.values()].reduce((s, a) => s + a.settlement, 0n);
  expect(cs.settlementHeld >= owed, "custody holds the settlement it owes").to.equal(true);
  if (cs.outstanding > 0n) {
    expect(cs.reserve * after.assets >= cs.outstanding * after.supply, "the CP reserve backs the CP").to.equal(true);
  }
  const named = new Set((options.names ?? []).map((n) => n.toLowerCase()));
  for (const id of ACCOUNT_IDS) {
    if (named.has(id.toLowerCase())) continue;
    expect(cs.accounts.get(id), `account ${id} changed by an operation that did not name it`).to.deep.equal(
      c.custodyState.accounts.get(id),
    );
  }
  c.custodyState = cs;
  await settleAds(m, c);
}

/**
 * The ad credit equals its model (every merchant, every bucket, settlement held) and holds what
 * it owes; it never keeps GP; a bucket without vouchers has no backing.
 */
async function settleAds(m: World, c: Chain) {
  const ads = m.ads;
  const address = await c.f.adCredit.getAddress();
  for (const id of c.f.merchants) {
    const chain = await c.f.adCredit.merchantOf(id);
    const model = ads.merchant(id);
    expect([chain.credit, chain.issued, chain.converted, chain.backing], `ad merchant ${id}`).to.deep.equal([
      model.credit,
      model.issued,
      model.converted,
      model.backing,
    ]);
    const w = model.withdrawal;
    expect([chain.withdrawal.amount, chain.withdrawal.availableAt], "pending withdrawal").to.deep.equal(
      w ? [w.amount, w.availableAt] : [0n, 0n],
    );
  }
  for (const user of ACCOUNT_IDS) {
    for (const merchant of c.f.merchants) {
      const chain = await c.f.adCredit.bucketOf(user, merchant);
      const model = ads.bucket(user, merchant);
      expect([chain.vouchers, chain.backing], `vouchers of ${user} at ${merchant}`).to.deep.equal([model.vouchers, model.backing]);
      if (chain.vouchers === 0n) expect(chain.backing, "backing left without vouchers").to.equal(0n);
    }
  }
  const held = await c.f.settlement.balanceOf(address);
  expect(held, "settlement held by the ad credit").to.equal(ads.held);
  expect(await c.f.adCredit.liabilities(), "liabilities").to.equal(ads.liabilities);
  expect(held >= ads.liabilities, "the ad credit holds what it owes").to.equal(true);
  expect(await c.f.points.balanceOf(address), "the ad credit keeps no GP").to.equal(0n);
}

/** A fresh id for a relayed request. */
export function requestId(m: World): string {
  return ethers.id(`model-request-${m.nextId++}`);
}
