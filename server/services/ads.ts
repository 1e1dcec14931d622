/**
 * Rewarded ads in the relayer (SPEC section 7): verified ad-network callbacks counted once per
 * transaction id and capped per user per day; the release policy deciding what each completion
 * converts; and the round step that asks the chain to issue vouchers for confirmed ad sales and
 * to convert released vouchers, in batches, through the operations queue (so every transaction
 * is recorded before it is sent and settled from its receipt, like orders).
 */
import { randomBytes } from "node:crypto";
import { keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";
import type { Logger } from "pino";
import type { ChainEvent, ChainPort } from "../adapters/chain/chain";
import { custodialUserId, merchantAccountId } from "../adapters/chain/ids";
import {
  type ConversionRecord,
  adUserKnown,
  attachConversions,
  claimPendingConversions,
  confirmConversion,
  conversionsOfUser,
  conversionsToSettle,
  findAdNetwork,
  insertConversion,
  insertSale,
  insertTask,
  lockAdUser,
  newSales,
  rejectConversions,
  salesToSettle,
  settleSale,
  taskCounts,
  taskExists,
  voucherBuckets,
} from "../adapters/db/ads";
import type { Db } from "../adapters/db/db";
import { findMerchant } from "../adapters/db/merchants";
import { insertOperation } from "../adapters/db/operations";
import { verifyAdCallback } from "../domain/ad-callback-signature";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { Rounding, mulDiv } from "../domain/points-math";
import { type ReleasePolicy, describePolicy, nextRelease, releaseFor } from "../domain/release-policy";
import type { SignedRequest } from "../domain/webhook-signature";
import { AppError, validationError } from "../errors";
import { adsUnavailable, newOperationId, reasonOf } from "./operations";

export const AdCallbackBody = z
  .object({
    transactionId: z.string().min(1).max(128).meta({ description: "The network's unique id of this completion." }),
    userId: z.string().min(1).max(128).meta({ description: "The ecosystem's user id the ad was shown to." }),
  })
  .strict()
  .meta({ id: "AdCallback" });

export interface AdsConfig {
  policy: ReleasePolicy;
  /** Tasks counted per user per UTC day; more are refused. */
  dailyTaskCap: number;
}

export interface AdsDeps {
  db: Db;
  chain: ChainPort;
  userSalt: string;
  config: AdsConfig;
  nowSeconds: () => number;
  log?: Logger;
  /** Conversions (and sales) per transaction; default 100. */
  batchSize?: number;
}

/** The UTC day of `seconds`, as YYYY-MM-DD: tasks per day and daily releases count by it. */
export const dayOf = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** The 32-byte id under which the chain records a sale or a conversion, exactly once. */
const chainIdOf = (label: string) => keccak256(toUtf8Bytes(label));

export function createAds(deps: AdsDeps) {
  const { db, chain, config } = deps;
  const d = chain.deployments.settlementDecimals;
  const batchSize = deps.batchSize ?? 100;
  const adCredit = () => {
    if (!chain.adCredit) throw adsUnavailable();
    return chain.adCredit;
  };

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

  async function receiveCallback(networkId: string, request: SignedRequest) {
    adCredit();
    const network = await findAdNetwork(db, networkId);
    if (!network) throw new AppError("UNKNOWN_NETWORK", "the path names no ad network");
    const now = deps.nowSeconds();
    verifyAdCallback(request, network, now);
    let json: unknown;
    try {
      json = JSON.parse(request.rawBody.toString("utf8"));
    } catch (error) {
      throw new AppError("INVALID_JSON", "the body is not JSON", undefined, { cause: error });
    }
    const parsed = AdCallbackBody.safeParse(json);
    if (!parsed.success) throw validationError(parsed.error, "body");
    const { transactionId, userId } = parsed.data;
    const day = dayOf(now);

    return db.transaction(async (tx) => {
      await lockAdUser(tx, userId);
      if (await taskExists(tx, network.id, transactionId)) {
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
      const account = custodialUserId(deps.userSalt, userId);
      const conversions: string[] = [];
      for (const part of allocate(buckets, released)) {
        const id = `cnv_${randomBytes(10).toString("hex")}`;
        await insertConversion(tx, {
          id,
          conversionId: chainIdOf(`conversion:${id}`),
          userId,
          account,
          merchantId: part.merchantId,
          vouchers: part.vouchers,
          networkId: network.id,
          transactionId,
        });
        conversions.push(id);
      }
      await insertTask(tx, { networkId: network.id, transactionId, userId, day, released });
      return { counted: true, tasksToday: counts.today + 1, released: formatAmount(released, d), conversions };
    });
  }

  // ---------------------------------------------------------------- the round step

  /** Sales confirmed since the last round: one issuance operation for all of them. */
  async function issueSales(): Promise<void> {
    const sales = await newSales(db, batchSize);
    if (sales.length === 0) return;
    const contract = adCredit();
    const [assets, supply] = await Promise.all([chain.pool.assets(), chain.points.totalSupply()]);
    const toIssue: {
      saleKey: string;
      saleId: string;
      userId: string;
      account: string;
      merchantId: string;
      merchant: string;
      amount: bigint;
    }[] = [];
    const refused: typeof toIssue = [];
    for (const s of sales) {
      // What the shopper paid, in settlement base units: a GP payment at the pool's price (Floor).
      const paid =
        s.asset === "settlement"
          ? BigInt(s.amount)
          : s.asset === "CP"
            ? parseAmount(s.amount, d)
            : supply === 0n
              ? 0n
              : mulDiv(parseAmount(s.amount, 18), assets, supply, Rounding.Floor);
      const merchant = merchantAccountId(deps.userSalt, s.merchantId);
      const sale = {
        saleKey: s.saleKey,
        saleId: chainIdOf(`sale:${s.saleKey}`),
        userId: s.userId,
        account: custodialUserId(deps.userSalt, s.userId),
        merchantId: s.merchantId,
        merchant,
        amount: paid,
      };
      // A merchant with no credit at all issues nothing: known without a transaction.
      if (paid === 0n || (await contract.merchantOf(merchant)).credit === 0n) refused.push(sale);
      else toIssue.push(sale);
    }
    await db.transaction(async (tx) => {
      for (const s of refused) {
        await insertSale(tx, {
          ...s,
          operationId: null,
          state: "refused",
          reason: s.amount === 0n ? "nothing was paid" : "the merchant has no ad credit",
        });
      }
      if (toIssue.length === 0) return;
      const op = await insertOperation(tx, {
        id: newOperationId(),
        kind: "issue-vouchers",
        actor: "relay",
        account: null,
        counterparty: null,
        requestId: toIssue[0].saleId,
        target: "ads",
        calldata: contract.interface.encodeFunctionData("issueVouchers", [
          toIssue.map((s) => ({ saleId: s.saleId, user: s.account, merchant: s.merchant, amount: s.amount })),
        ]),
        details: { sales: String(toIssue.length) },
      });
      for (const s of toIssue) await insertSale(tx, { ...s, operationId: op.id, state: "queued", reason: null });
    });
  }

  /** Released vouchers waiting: one conversion batch, unless the chain would refuse it now. */
  async function convertReleased(): Promise<void> {
    const contract = adCredit();
    await db.transaction(async (tx) => {
      const pending = await claimPendingConversions(tx, batchSize);
      if (pending.length === 0) return;
      const calldata = contract.interface.encodeFunctionData("convert", [
        pending.map((c) => ({ conversionId: c.conversionId, user: c.account, merchant: c.merchantAccount!, vouchers: c.vouchers })),
      ]);
      const refusal = await chain.simulateCall({ to: chain.deployments.adCredit!, data: calldata });
      if (refusal?.name === "EnforcedPause") return; // orders and conversions wait for the pool
      if (refusal) {
        await rejectConversions(
          tx,
          pending.map((c) => c.id),
          reasonOf(refusal),
        );
        deps.log?.warn({ refusal, conversions: pending.length }, "conversion batch refused; its vouchers stay with their users");
        return;
      }
      const op = await insertOperation(tx, {
        id: newOperationId(),
        kind: "convert-vouchers",
        actor: "relay",
        account: null,
        counterparty: null,
        requestId: pending[0].conversionId,
        target: "ads",
        calldata,
        details: { conversions: String(pending.length) },
      });
      await attachConversions(
        tx,
        pending.map((c) => c.id),
        op.id,
      );
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
    for (const s of await salesToSettle(db)) {
      if (s.state === "rejected") {
        await settleSale(db, s.saleKey, "rejected", null, s.reason);
        continue;
      }
      const issued = await eventFor(s.result, "VouchersIssued", "saleId", s.saleId);
      const refusal = issued ? undefined : await eventFor(s.result, "VouchersRefused", "saleId", s.saleId);
      if (issued) await settleSale(db, s.saleKey, "issued", BigInt(issued.args.backing), null);
      else if (refusal) {
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
    const [buckets, counts, history] = await Promise.all([
      voucherBuckets(db, userId),
      taskCounts(db, userId, day),
      conversionsOfUser(db, userId, 100),
    ]);
    const balance = buckets.reduce((sum, b) => sum + b.available, 0n);
    const next = nextRelease(config.policy, { balance, tasksToday: counts.today, tasksTotal: counts.total });
    const capped = counts.today >= config.dailyTaskCap;
    return {
      vouchers: formatAmount(balance, d),
      byMerchant: buckets.map((b) => ({ merchantId: b.merchantId, vouchers: formatAmount(b.available, d) })),
      converting: formatAmount(
        history.filter((c) => c.state === "pending" || c.state === "submitted").reduce((s, c) => s + c.vouchers, 0n),
        d,
      ),
      day,
      tasksToday: counts.today,
      dailyTaskCap: config.dailyTaskCap,
      policy: describePolicy(config.policy, d),
      nextCompletion: {
        converts: capped ? formatAmount(0n, d) : formatAmount(next.vouchers, d),
        tasksUntilRelease: capped ? null : next.tasksUntilRelease,
      },
      conversions: history.map(view),
    };
  }

  async function merchantView(merchantId: string) {
    const contract = adCredit();
    const merchant = await findMerchant(db, merchantId);
    if (!merchant) throw new AppError("NOT_FOUND", "no such merchant");
    const m = await contract.merchantOf(merchant.account);
    return {
      credit: formatAmount(m.credit, d),
      vouchersIssued: formatAmount(m.issued, d),
      vouchersConverted: formatAmount(m.converted, d),
      vouchersOutstanding: formatAmount(m.issued - m.converted, d),
      backingOutstanding: formatAmount(m.backing, d),
      adShare: `${Number((await contract.parameters()).adShare) / 100}%`,
      withdrawal:
        m.withdrawal.amount === 0n
          ? null
          : {
              amount: formatAmount(m.withdrawal.amount, d),
              to: m.withdrawal.to,
              availableAt: new Date(Number(m.withdrawal.availableAt) * 1000).toISOString(),
            },
    };
  }

  return {
    receiveCallback,
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
