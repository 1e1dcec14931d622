/**
 * Rewarded ads in the relayer (docs/rules.md, "Rewarded ads, as built"): verified ad-network callbacks counted once per
 * transaction id and capped per user per day; the release policy deciding what each completion
 * converts; and the round step that asks the chain to issue vouchers for confirmed ad sales and
 * to convert released vouchers, in batches, through the operations queue (so every transaction
 * is recorded before it is sent and settled from its receipt, like orders).
 */
import { idSchema } from "../../domain/ids";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Logger } from "pino";
import type { ChainEvent, ChainPort } from "../../adapters/chain/chain";
import { custodialUserId, merchantAccountId } from "../../adapters/chain/ids";
import { conversionChainId, saleChainId } from "./ids";
import {
  type ConversionRecord,
  type NewSale,
  adUserKnown,
  askSale,
  attachConversions,
  claimPendingConversions,
  confirmConversion,
  conversionsOfUser,
  conversionsToSettle,
  convertingVouchers,
  dueSales,
  findAdNetwork,
  insertConversion,
  insertSale,
  insertTask,
  lockAdUser,
  rejectConversions,
  salesOfMerchant,
  salesToSettle,
  settleSale,
  taskCounts,
  taskExists,
  voucherBuckets,
} from "./db";
import type { Db, Queryable } from "../../adapters/db/db";
import type { MerchantRecord } from "../../adapters/db/merchants";
import { insertOperation } from "../../adapters/db/operations";
import { noteAdCredit } from "../../adapters/db/notifications";
import { verifyAdCallback } from "./ad-callback-signature";
import { formatAmount } from "../../domain/display";
import { Rounding, mulDiv, releasedBacking, toAssets } from "../../domain/points-math";
import {
  DEFAULT_AD_POLICY,
  DEFAULT_DAILY_TASK_CAP,
  type ReleasePolicy,
  describePolicy,
  nextRelease,
  parsePolicy,
  releaseFor,
} from "./release-policy";
import type { SignedRequest } from "../../domain/inbound-signature";
import { AppError } from "../../errors";
import { newOperationId } from "../../services/operations";
import { reasonOf } from "../../services/refusals";

export const AdCallbackBody = z
  .object({
    transactionId: z.string().min(1).max(128).meta({ description: "The network's unique id of this completion." }),
    userId: idSchema().meta({ description: "The ecosystem's user id the ad was shown to." }),
  })
  .strict()
  .meta({ id: "AdCallback" });

export interface AdsConfig {
  policy: ReleasePolicy;
  /** Tasks counted per user per UTC day; more are refused. */
  dailyTaskCap: number;
  /**
   * Below this ad credit (settlement base units) a merchant is sent `ad_credit.low` once, until
   * its credit is back at or above it (GP_AD_CREDIT_LOW); 100 settlement units when absent.
   */
  creditLow?: bigint;
}

/** The deployment's defaults, as `npm start` reads them when GP_AD_* are not set. */
export function defaultAdsConfig(settlementDecimals: number): AdsConfig {
  return { policy: parsePolicy(DEFAULT_AD_POLICY, settlementDecimals), dailyTaskCap: DEFAULT_DAILY_TASK_CAP };
}

export interface AdsDeps {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  config: AdsConfig;
  nowSeconds: () => number;
  log?: Logger;
}

/** Sales per issuance and conversions per conversion transaction, at most. */
const PER_TRANSACTION = 100;

/** The UTC day of `seconds`, as YYYY-MM-DD: tasks per day and daily releases count by it. */
export const dayOf = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/**
 * Records a sale that will earn vouchers once its order or payment is confirmed, in the caller's
 * transaction (the one that records the order or queues the payment), so the relayer's rounds read
 * only sales in flight, never the history of orders and payments.
 */
export function recordAdSale(tx: Queryable, sale: Omit<NewSale, "saleKey" | "saleId">): Promise<void> {
  const saleKey = "paymentId" in sale.source ? `payment:${sale.source.paymentId}` : `order:${sale.source.shopId}:${sale.source.orderId}`;
  return insertSale(tx, { ...sale, saleKey, saleId: saleChainId(saleKey) });
}
export function createAds(deps: AdsDeps) {
  const { db, chain, config } = deps;
  const d = chain.deployments.settlementDecimals;
  /** The ad-credit contract; ADS_UNAVAILABLE on a deployment without it. */
  const adCredit = () => chain.contract("adCredit");

  /** Splits a release over the user's buckets, oldest first. */
  function allocate(buckets: { merchantId: string; available: bigint }[], release: bigint) {
    const parts: { merchantId: string; vouchers: bigint }[] = [];
    let left = release;
    for (const b of buckets) {
      if (left === 0n) break;
      const take = b.available < left ? b.available : left;
      if (take > 0n) parts.push({ merchantId: b.merchantId, vouchers: take });
      left -= take;
    }
    return parts;
  }

  /** The network that signed a callback, or the refusal; nothing in the body is read before it. */
  async function verifyCallback(networkId: string, request: SignedRequest): Promise<string> {
    adCredit();
    const network = await findAdNetwork(db, networkId);
    if (!network) throw new AppError("UNKNOWN_NETWORK", "the path names no ad network");
    verifyAdCallback(request, network, deps.nowSeconds());
    return network.id;
  }

  /** A verified network's callback, counted once. */
  async function countCallback(networkId: string, { transactionId, userId }: z.infer<typeof AdCallbackBody>) {
    const day = dayOf(deps.nowSeconds());

    return db.transaction(async (tx) => {
      await lockAdUser(tx, userId);
      if (await taskExists(tx, networkId, transactionId)) {
        throw new AppError("CALLBACK_REPLAYED", "this transaction id was counted before", { transactionId });
      }
      if (!(await adUserKnown(tx, userId))) throw new AppError("UNKNOWN_USER", "no user has this id", { userId });
      const counts = await taskCounts(tx, userId, day);
      if (counts.today >= config.dailyTaskCap) {
        throw new AppError("DAILY_TASK_CAP", `this user has done ${config.dailyTaskCap} tasks today, the most counted`, { day });
      }
      const buckets = await voucherBuckets(tx, userId);
      const balance = buckets.reduce((sum, b) => sum + b.available, 0n);
      const released = releaseFor(config.policy, { balance, tasksToday: counts.today + 1, tasksTotal: counts.total + 1 });
      const conversions: string[] = [];
      for (const part of allocate(buckets, released)) {
        const id = `cnv_${randomBytes(10).toString("hex")}`;
        await insertConversion(tx, {
          id,
          conversionId: conversionChainId(id),
          userId,
          merchantId: part.merchantId,
          vouchers: part.vouchers,
          networkId,
          transactionId,
        });
        conversions.push(id);
      }
      await insertTask(tx, { networkId: networkId, transactionId, userId, day, released });
      return { counted: true, tasksToday: counts.today + 1, released: formatAmount(released, d), conversions };
    });
  }

  // ---------------------------------------------------------------- the round step

  /** An operation of the round step: its calldata is final, `requestId` its first sale's or conversion's id. */
  const queueAdsOperation = (tx: Queryable, kind: string, requestId: string, calldata: string, details: Record<string, string>) =>
    insertOperation(tx, {
      id: newOperationId(),
      kind,
      actor: "relay",
      account: null,
      counterparty: null,
      requestId,
      target: "ads",
      calldata,
      details,
    });

  /** Sales whose order or payment is settled: one issuance operation for those that earn vouchers. */
  async function issueSales(): Promise<void> {
    const due = await dueSales(db, PER_TRANSACTION);
    if (due.length === 0) return;
    const contract = adCredit();
    // Read once per round: the price only if a sale paid in GP, the credit once per merchant.
    const price = due.some((s) => s.asset === "GP") ? await Promise.all([chain.pool.assets(), chain.points.totalSupply()]) : null;
    const credits = new Map<string, Promise<bigint>>();
    const creditOf = (account: string) => {
      if (!credits.has(account))
        credits.set(
          account,
          contract.merchantOf(account).then((m) => m.credit),
        );
      return credits.get(account)!;
    };
    const asks: { saleKey: string; saleId: string; user: string; merchant: string; amount: bigint }[] = [];
    const none: { saleKey: string; amount: bigint | null; state: "refused" | "rejected"; reason: string }[] = [];
    for (const s of due) {
      if (s.outcome === "rejected") {
        none.push({ saleKey: s.saleKey, amount: null, state: "rejected", reason: `the sale did not happen: ${s.reason ?? "refused"}` });
        continue;
      }
      // What the shopper paid, in settlement base units: a GP payment at the pool's price (Floor).
      const [assets, supply] = price ?? [0n, 0n];
      const amount = s.asset !== "GP" ? s.paid : supply === 0n ? 0n : mulDiv(s.paid, assets, supply, Rounding.Floor);
      const merchant = merchantAccountId(deps.userSalt, s.merchantId);
      // A merchant with no credit at all issues nothing: known without a transaction.
      if (amount === 0n) none.push({ saleKey: s.saleKey, amount, state: "refused", reason: "nothing was paid" });
      else if ((await creditOf(merchant)) === 0n)
        none.push({ saleKey: s.saleKey, amount, state: "refused", reason: "the merchant has no ad credit" });
      else asks.push({ saleKey: s.saleKey, saleId: s.saleId, user: custodialUserId(deps.userSalt, s.userId), merchant, amount });
    }
    await db.transaction(async (tx) => {
      for (const n of none) await askSale(tx, n.saleKey, n);
      if (asks.length === 0) return;
      const calldata = contract.interface.encodeFunctionData("issueVouchers", [
        asks.map((a) => ({ saleId: a.saleId, user: a.user, merchant: a.merchant, amount: a.amount })),
      ]);
      const op = await queueAdsOperation(tx, "issue-vouchers", asks[0].saleId, calldata, { sales: String(asks.length) });
      for (const a of asks) await askSale(tx, a.saleKey, { state: "queued", amount: a.amount, operationId: op.id });
    });
  }

  /** Released vouchers waiting: one conversion batch, unless the chain would refuse it now. */
  async function convertReleased(): Promise<void> {
    const contract = adCredit();
    await db.transaction(async (tx) => {
      const pending = await claimPendingConversions(tx, PER_TRANSACTION);
      if (pending.length === 0) return;
      const calldata = contract.interface.encodeFunctionData("convert", [
        pending.map((c) => ({
          conversionId: c.conversionId,
          user: custodialUserId(deps.userSalt, c.userId),
          merchant: merchantAccountId(deps.userSalt, c.merchantId),
          vouchers: c.vouchers,
        })),
      ]);
      const refusal = await chain.simulateCall({ to: chain.deployments.adCredit!, data: calldata });
      if (refusal?.name === "EnforcedPause") return; // orders and conversions wait for the pool
      const ids = pending.map((c) => c.id);
      if (refusal) {
        await rejectConversions(tx, ids, reasonOf(refusal));
        deps.log?.warn({ refusal, conversions: pending.length }, "conversion batch refused; its vouchers stay with their users");
        return;
      }
      const op = await queueAdsOperation(tx, "convert-vouchers", pending[0].conversionId, calldata, {
        conversions: String(pending.length),
      });
      await attachConversions(tx, ids, op.id);
    });
  }

  /**
   * The event `name` whose `key` argument is `id`: from the operation's receipt, or from the chain's
   * log when the operation was settled without its receipt (its transaction hash lost, confirmed
   * from its first id): then the receipt's events name only the first sale or conversion.
   */
  async function eventFor(result: ChainEvent[], name: string, key: string, id: string): Promise<ChainEvent | undefined> {
    const match = (events: ChainEvent[]) => events.find((e) => e.name === name && e.args[key] === id.toLowerCase());
    return match(result) ?? match(await chain.requestEvents(id));
  }

  /** Sales and conversions whose operation is settled take their outcome from its events. */
  async function settle(): Promise<void> {
    const low = deps.config.creditLow ?? 100n * 10n ** BigInt(d);
    for (const s of await salesToSettle(db)) {
      if (s.state === "rejected") {
        await settleSale(db, s.saleKey, "rejected", null, s.reason);
        continue;
      }
      const issued = await eventFor(s.result, "VouchersIssued", "saleId", s.saleId);
      const refusal = issued ? undefined : await eventFor(s.result, "VouchersRefused", "saleId", s.saleId);
      if (issued) {
        // The merchant's credit after the vouchers, read before the transaction that settles the
        // sale and notes it against the low mark (ad_credit.low): the two commit together, so a
        // crash between them cannot lose a fall below the mark.
        const merchant = issued.args.merchant;
        const credit = (await adCredit().merchantOf(merchant)).credit;
        await db.transaction(async (tx) => {
          await settleSale(tx, s.saleKey, "issued", BigInt(issued.args.backing), null);
          await noteAdCredit(tx, merchant, credit, low);
        });
      } else if (refusal) {
        const reason = `the merchant's ad credit (${formatAmount(BigInt(refusal.args.credit), d)}) was below the ${formatAmount(BigInt(refusal.args.needed), d)} needed`;
        await settleSale(db, s.saleKey, "refused", null, reason);
      }
    }
    const outcomes: { id: string; rejected?: string; backing?: bigint; points?: bigint }[] = [];
    for (const c of await conversionsToSettle(db)) {
      if (c.opState === "rejected") outcomes.push({ id: c.id, rejected: c.opReason ?? "the chain refused the batch" });
      const e = c.opState === "confirmed" ? await eventFor(c.result, "VouchersConverted", "conversionId", c.conversionId) : undefined;
      if (e) outcomes.push({ id: c.id, backing: BigInt(e.args.backing), points: BigInt(e.args.points) });
    }
    if (outcomes.length === 0) return;
    await db.transaction(async (tx) => {
      for (const o of outcomes) {
        if (o.rejected) await rejectConversions(tx, [o.id], o.rejected);
        else await confirmConversion(tx, o.id, o.backing!, o.points!);
      }
    });
  }

  // ---------------------------------------------------------------- views

  const view = (c: ConversionRecord) => ({
    conversionId: c.id,
    merchantId: c.merchantId,
    vouchers: formatAmount(c.vouchers, d),
    state: c.state,
    ...(c.backing !== null ? { backing: formatAmount(c.backing, d) } : {}),
    ...(c.points !== null ? { points: formatAmount(c.points, 18) } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
    networkId: c.networkId,
    transactionId: c.transactionId,
    createdAt: c.createdAt.toISOString(),
  });

  async function userView(userId: string) {
    const day = dayOf(deps.nowSeconds());
    const [buckets, counts, converting, history] = await Promise.all([
      voucherBuckets(db, userId),
      taskCounts(db, userId, day),
      convertingVouchers(db, userId),
      conversionsOfUser(db, userId, 100),
    ]);
    const balance = buckets.reduce((sum, b) => sum + b.available, 0n);
    const next = nextRelease(config.policy, { balance, tasksToday: counts.today, tasksTotal: counts.total });
    const capped = counts.today >= config.dailyTaskCap;
    const k = next.tasksUntilRelease;
    const upcoming =
      capped || k === null
        ? null
        : await estimateRelease(
            userId,
            allocate(buckets, releaseFor(config.policy, { balance, tasksToday: counts.today + k, tasksTotal: counts.total + k })),
          );
    return {
      vouchers: formatAmount(balance, d),
      byMerchant: buckets.map((b) => ({ merchantId: b.merchantId, vouchers: formatAmount(b.available, d) })),
      converting: formatAmount(converting, d),
      day,
      tasksToday: counts.today,
      dailyTaskCap: config.dailyTaskCap,
      policy: describePolicy(config.policy, d),
      nextCompletion: {
        converts: capped ? formatAmount(0n, d) : formatAmount(next.vouchers, d),
        tasksUntilRelease: capped ? null : next.tasksUntilRelease,
      },
      nextRelease:
        upcoming && k !== null
          ? {
              inTasks: k,
              vouchers: formatAmount(upcoming.vouchers, d),
              backing: formatAmount(upcoming.backing, d),
              points: formatAmount(upcoming.points, 18),
              value: formatAmount(upcoming.value, d),
            }
          : null,
      conversions: history.map(view),
    };
  }

  /**
   * What converting these parts would do at the chain's state now: each bucket's share of its
   * backing into the pool (as `_release` computes it), the GP that mints (`previewContribution`,
   * one contribution per part, as a conversion batch records them) and their worth at the price.
   */
  async function estimateRelease(userId: string, parts: { merchantId: string; vouchers: bigint }[]) {
    const contract = adCredit();
    const user = custodialUserId(deps.userSalt, userId);
    let vouchers = 0n;
    let backing = 0n;
    let points = 0n;
    for (const part of parts) {
      const bucket = await contract.bucketOf(user, merchantAccountId(deps.userSalt, part.merchantId));
      if (bucket.vouchers === 0n) continue;
      const take = part.vouchers < bucket.vouchers ? part.vouchers : bucket.vouchers;
      const paid = releasedBacking(bucket.backing, take, bucket.vouchers);
      vouchers += take;
      backing += paid;
      points += await chain.pool.previewContribution(paid);
    }
    const [priceAssets, priceSupply] = await chain.pool.priceRatio();
    return { vouchers, backing, points, value: toAssets(points, priceAssets, priceSupply, Rounding.Floor) };
  }

  /** The merchant's figures from the chain, and its sales by outcome from the relayer's records. */
  async function merchantView(merchant: MerchantRecord) {
    const contract = adCredit();
    const [m, parameters, sales] = await Promise.all([
      contract.merchantOf(merchant.account),
      contract.parameters(),
      salesOfMerchant(db, merchant.id),
    ]);
    return {
      credit: formatAmount(m.credit, d),
      vouchersIssued: formatAmount(m.issued, d),
      vouchersConverted: formatAmount(m.converted, d),
      vouchersOutstanding: formatAmount(m.issued - m.converted, d),
      backingOutstanding: formatAmount(m.backing, d),
      adShare: `${Number(parameters.adShare) / 100}%`,
      noticePeriodSeconds: Number(parameters.noticePeriod),
      topUp: { contract: chain.deployments.adCredit!, merchant: merchant.account, settlement: chain.deployments.settlement },
      withdrawal:
        m.withdrawal.amount === 0n
          ? null
          : {
              amount: formatAmount(m.withdrawal.amount, d),
              to: m.withdrawal.to,
              availableAt: new Date(Number(m.withdrawal.availableAt) * 1000).toISOString(),
            },
      sales: Object.fromEntries(
        Object.entries(sales).map(([state, v]) => [state, { sales: v.sales, vouchers: formatAmount(v.amount, d) }]),
      ),
    };
  }

  return {
    verifyCallback,
    countCallback,
    userView,
    merchantView,
    /** One round: settle what the chain answered, then queue new issuances and conversions. */
    async tick(): Promise<void> {
      if (!chain.adCredit) return;
      await settle();
      await issueSales();
      await convertReleased();
    },
  };
}

export type Ads = ReturnType<typeof createAds>;
