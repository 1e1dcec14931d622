/**
 * The reference model of contracts/ads/AdCredit.sol in bigint: merchants' ad credit, users'
 * voucher buckets and conversions into the pool. It drives the pool and custody models for the
 * conversion's mint and deposit, and throws the contract's errors as `PoolRevert`.
 */
import { type CustodyModel } from "./custody-model";
import { adBacking, releasedBacking } from "../server/domain/points-math";
import { PoolRevert } from "./pool-model";

export enum AdParameter {
  AdShare = 0,
  NoticePeriod = 1,
}

export interface AdCreditParameters {
  adShare: bigint;
  noticePeriod: bigint;
}

export const MIN_AD_SHARE = 100n;
export const MAX_AD_SHARE = 5_000n;
export const MIN_NOTICE_PERIOD = 86_400n;
export const MAX_NOTICE_PERIOD = 90n * 86_400n;

export interface AdWithdrawal {
  amount: bigint;
  to: string;
  availableAt: bigint;
}

export interface AdMerchant {
  credit: bigint;
  issued: bigint;
  converted: bigint;
  backing: bigint;
  withdrawal: AdWithdrawal | null;
}

export interface VoucherBucket {
  vouchers: bigint;
  backing: bigint;
}

export interface ModelSale {
  saleId: string;
  user: string;
  merchant: string;
  amount: bigint;
}

export interface ModelConversion {
  conversionId: string;
  /** The pool's `orderKey(adCredit, conversionId)`, computed by the caller. */
  poolKey: string;
  user: string;
  merchant: string;
  vouchers: bigint;
}

/** What one sale did: vouchers issued with their backing, or refused for want of credit. */
export type SaleOutcome = { issued: true; vouchers: bigint; backing: bigint } | { issued: false; needed: bigint; credit: bigint };

interface AdState {
  parameters: AdCreditParameters;
  held: bigint;
  merchants: Map<string, AdMerchant>;
  buckets: Map<string, VoucherBucket>;
  processed: Set<string>;
}

const emptyMerchant = (): AdMerchant => ({ credit: 0n, issued: 0n, converted: 0n, backing: 0n, withdrawal: null });

export class AdCreditModel {
  private state: AdState;

  /** @param address The ad-credit contract's address: its GP pass through the pool model. */
  constructor(
    readonly custody: CustodyModel,
    readonly address: string,
    parameters: AdCreditParameters,
  ) {
    this.state = {
      parameters: { adShare: 0n, noticePeriod: 0n },
      held: 0n,
      merchants: new Map(),
      buckets: new Map(),
      processed: new Set(),
    };
    this.setParameter(AdParameter.AdShare, parameters.adShare);
    this.setParameter(AdParameter.NoticePeriod, parameters.noticePeriod);
  }

  // ------------------------------------------------------------ reading

  get parameters(): AdCreditParameters {
    return { ...this.state.parameters };
  }
  /** Settlement the contract holds. */
  get held(): bigint {
    return this.state.held;
  }
  get liabilities(): bigint {
    let total = 0n;
    for (const m of this.state.merchants.values()) total += m.credit + m.backing;
    return total;
  }
  merchant(id: string): AdMerchant {
    const m = this.state.merchants.get(id.toLowerCase()) ?? emptyMerchant();
    return { ...m, withdrawal: m.withdrawal && { ...m.withdrawal } };
  }
  merchants(): string[] {
    return [...this.state.merchants.keys()];
  }
  bucket(user: string, merchant: string): VoucherBucket {
    return { ...(this.state.buckets.get(bucketKey(user, merchant)) ?? { vouchers: 0n, backing: 0n }) };
  }
  buckets(): [string, string, VoucherBucket][] {
    return [...this.state.buckets.entries()].map(([k, b]) => {
      const [user, merchant] = k.split("/");
      return [user, merchant, { ...b }];
    });
  }
  /** A sale or withdrawal request id seen here; conversion ids are the pool's (`pool.isOrderRecorded`). */
  isProcessed(id: string): boolean {
    return this.state.processed.has(id.toLowerCase());
  }

  // ------------------------------------------------------------ credit

  topUp(merchant: string, amount: bigint): void {
    if (amount === 0n) throw new PoolRevert("AdCreditZeroAmount", []);
    if (!this.custody.account(merchant).merchant) throw new PoolRevert("AdCreditNotMerchant", [merchant]);
    this.get(merchant).credit += amount;
    this.state.held += amount;
  }

  requestWithdrawal(requestId: string, merchant: string, amount: bigint, to: string, now: bigint): AdWithdrawal {
    if (/^0x0+$/.test(to)) throw new PoolRevert("AdCreditInvalidAddress", []);
    if (amount === 0n) throw new PoolRevert("AdCreditZeroAmount", []);
    this.checkUnused(requestId);
    const m = this.get(merchant);
    if (m.withdrawal) throw new PoolRevert("AdCreditWithdrawalPending", [merchant]);
    if (amount > m.credit) throw new PoolRevert("AdCreditInsufficientCredit", [merchant, m.credit, amount]);
    this.state.processed.add(requestId.toLowerCase());
    m.withdrawal = { amount, to, availableAt: now + this.state.parameters.noticePeriod };
    return { ...m.withdrawal };
  }

  cancelWithdrawal(merchant: string): void {
    const m = this.get(merchant);
    if (!m.withdrawal) throw new PoolRevert("AdCreditNoWithdrawal", [merchant]);
    m.withdrawal = null;
  }

  /** Pays the amount asked, or the credit left if smaller, once the notice is over. */
  executeWithdrawal(merchant: string, now: bigint): bigint {
    const m = this.get(merchant);
    const w = m.withdrawal;
    if (!w) throw new PoolRevert("AdCreditNoWithdrawal", [merchant]);
    if (now < w.availableAt) throw new PoolRevert("AdCreditNoticeNotOver", [merchant, w.availableAt]);
    const paid = w.amount < m.credit ? w.amount : m.credit;
    m.withdrawal = null;
    m.credit -= paid;
    this.state.held -= paid;
    return paid;
  }

  // ------------------------------------------------------------ vouchers

  /** `issueVouchers(sales)`: all or nothing on a bad sale; a sale without credit issues none. */
  issueVouchers(sales: readonly ModelSale[]): SaleOutcome[] {
    const saved = cloneState(this.state);
    try {
      return sales.map((sale) => {
        if (sale.amount === 0n) throw new PoolRevert("AdCreditZeroAmount", []);
        this.checkUnused(sale.saleId);
        this.state.processed.add(sale.saleId.toLowerCase());
        if (this.custody.account(sale.user).index === 0) throw new PoolRevert("AdCreditUnknownUser", [sale.user]);
        const m = this.get(sale.merchant);
        const needed = adBacking(sale.amount, this.state.parameters.adShare);
        if (needed > m.credit) return { issued: false, needed, credit: m.credit };
        const b = this.getBucket(sale.user, sale.merchant);
        m.credit -= needed;
        m.backing += needed;
        m.issued += sale.amount;
        b.vouchers += sale.amount;
        b.backing += needed;
        return { issued: true, vouchers: sale.amount, backing: needed };
      });
    } catch (error) {
      this.state = saved;
      throw error;
    }
  }

  /** `convert(conversions)`: backing into the pool, GP to the users' custodial accounts. */
  convert(conversions: readonly ModelConversion[]): { backing: bigint; points: bigint }[] {
    const saved = cloneState(this.state);
    const restoreModels = this.custody.checkpoint();
    try {
      const backings = conversions.map((c) => {
        if (c.vouchers === 0n) throw new PoolRevert("AdCreditZeroAmount", []);
        return this.release(c); // the pool refuses a repeated conversion id
      });
      if (conversions.length === 0) return [];
      const pool = this.custody.pool;
      const points = pool.recordContributions(
        this.address,
        conversions.map((c, i) => ({ key: c.poolKey, contribution: backings[i] })),
      );
      this.state.held -= backings.reduce((a, b) => a + b, 0n);
      const minted = points.reduce((a, b) => a + b, 0n);
      if (minted !== 0n) {
        pool.approve(this.address, this.custody.address, minted);
        this.custody.depositBatch(
          this.address,
          conversions.map((c) => c.user),
          points,
        );
      }
      return conversions.map((_, i) => ({ backing: backings[i], points: points[i] }));
    } catch (error) {
      this.state = saved;
      restoreModels();
      throw error;
    }
  }

  private release(c: ModelConversion): bigint {
    const b = this.getBucket(c.user, c.merchant);
    if (c.vouchers > b.vouchers) throw new PoolRevert("AdCreditInsufficientVouchers", [c.user, c.merchant, b.vouchers, c.vouchers]);
    const backing = releasedBacking(b.backing, c.vouchers, b.vouchers);
    b.vouchers -= c.vouchers;
    b.backing -= backing;
    const m = this.get(c.merchant);
    m.converted += c.vouchers;
    m.backing -= backing;
    return backing;
  }

  setParameter(parameter: AdParameter, value: bigint): void {
    const [min, max] = parameter === AdParameter.AdShare ? [MIN_AD_SHARE, MAX_AD_SHARE] : [MIN_NOTICE_PERIOD, MAX_NOTICE_PERIOD];
    if (value < min || value > max) throw new PoolRevert("AdCreditParameterOutOfRange", [BigInt(parameter), value, min, max]);
    if (parameter === AdParameter.AdShare) this.state.parameters.adShare = value;
    else this.state.parameters.noticePeriod = value;
  }

  // ------------------------------------------------------------ helpers

  private checkUnused(id: string): void {
    if (this.state.processed.has(id.toLowerCase())) throw new PoolRevert("AdCreditAlreadyProcessed", [id]);
  }

  private get(merchant: string): AdMerchant {
    const id = merchant.toLowerCase();
    let m = this.state.merchants.get(id);
    if (!m) this.state.merchants.set(id, (m = emptyMerchant()));
    return m;
  }

  private getBucket(user: string, merchant: string): VoucherBucket {
    const key = bucketKey(user, merchant);
    let b = this.state.buckets.get(key);
    if (!b) this.state.buckets.set(key, (b = { vouchers: 0n, backing: 0n }));
    return b;
  }
}

function bucketKey(user: string, merchant: string): string {
  return `${user.toLowerCase()}/${merchant.toLowerCase()}`;
}

function cloneState(s: AdState): AdState {
  return {
    parameters: { ...s.parameters },
    held: s.held,
    merchants: new Map([...s.merchants].map(([k, m]) => [k, { ...m, withdrawal: m.withdrawal && { ...m.withdrawal } }])),
    buckets: new Map([...s.buckets].map(([k, b]) => [k, { ...b }])),
    processed: new Set(s.processed),
  };
}
