/**
 * The reference model of contracts/accounts/Custody.sol, driving a {@link PoolModel} for the
 * pool calls the custody makes. Same checks in the same order, same rounding; a refused
 * operation throws a {@link PoolRevert} named after the contract's error and changes nothing in
 * either model.
 */
import { BPS, Rounding, mulDiv, toAssets, toPoints } from "../server/domain/points-math";
import { orderKey } from "../server/adapters/chain/order-key";
import { type PoolModel, PoolRevert } from "./pool-model";

/** Same ordinals as `ICustody.Asset`. */
export enum Asset {
  GP = 0,
  CP = 1,
}

/** Same ordinals as `ICustody.Parameter`. */
export enum CustodyParameter {
  WithdrawalFee = 0,
  ExitMultiple = 1,
  ReferralMode = 2,
}

/** Same ordinals as `ICustody.ReferralMode`. */
export enum ReferralMode {
  PerOrder = 0,
  FirstOrder = 1,
}

export interface CustodyParameters {
  withdrawalFee: bigint;
  exitMultiple: bigint;
  referralMode: bigint;
}

export interface CustodyAccount {
  points: bigint;
  constantPoints: bigint;
  settlement: bigint;
  quota: bigint;
  original: string | null;
  index: number;
  quotaActive: boolean;
  merchant: boolean;
  referrer: string | null;
  /** Of `points`, GP credited by others: not compared with the quota by `exit`. */
  received: bigint;
}

export interface ModelCustodialOrder {
  /** The pool's order key, computed by the caller. */
  key: string;
  user: string;
  amount: bigint;
}

export interface ModelCustodialShopOrders {
  shop: string;
  orders: readonly ModelCustodialOrder[];
}

export interface CreditedOrder {
  key: string;
  user: string;
  points: bigint;
  quotaAdded: bigint;
  referrals: { referrer: string; level: number; points: bigint }[];
}

export const MAX_WITHDRAWAL_FEE = 2_000n;
export const MIN_EXIT_MULTIPLE = 10_000n;
export const MAX_EXIT_MULTIPLE = 100_000n;

const ZERO_ID = "0x" + "00".repeat(32);

interface CustodyState {
  parameters: CustodyParameters;
  registered: number;
  reserve: bigint;
  constantOutstanding: bigint;
  /** Settlement the custody contract holds. */
  held: bigint;
  accounts: Map<string, CustodyAccount>;
  userOfAccount: Map<string, string>;
  requests: Set<string>;
  /** Users an order was ever credited to as its buyer. */
  ordered: Set<string>;
}

function emptyAccount(): CustodyAccount {
  return {
    points: 0n,
    constantPoints: 0n,
    settlement: 0n,
    quota: 0n,
    original: null,
    index: 0,
    quotaActive: false,
    merchant: false,
    referrer: null,
    received: 0n,
  };
}

export class CustodyModel {
  private state: CustodyState;

  /** @param address The custody contract's address: its GP balance lives in the pool model. */
  constructor(
    readonly pool: PoolModel,
    readonly address: string,
    parameters: CustodyParameters,
  ) {
    this.state = {
      parameters: { withdrawalFee: 0n, exitMultiple: 0n, referralMode: 0n },
      registered: 0,
      reserve: 0n,
      constantOutstanding: 0n,
      held: 0n,
      accounts: new Map(),
      userOfAccount: new Map(),
      requests: new Set(),
      ordered: new Set(),
    };
    this.setParameter(CustodyParameter.WithdrawalFee, parameters.withdrawalFee);
    this.setParameter(CustodyParameter.ExitMultiple, parameters.exitMultiple);
    this.setParameter(CustodyParameter.ReferralMode, parameters.referralMode);
  }

  /** Saves both models; the returned function puts them back (for previews that must leave no trace). */
  checkpoint(): () => void {
    const restorePool = this.pool.checkpoint();
    const saved = cloneState(this.state);
    return () => {
      restorePool();
      this.state = saved;
    };
  }

  // ------------------------------------------------------------ reading

  get parameters(): CustodyParameters {
    return { ...this.state.parameters };
  }
  get reserve(): bigint {
    return this.state.reserve;
  }
  get constantOutstanding(): bigint {
    return this.state.constantOutstanding;
  }
  get held(): bigint {
    return this.state.held;
  }
  account(user: string): CustodyAccount {
    return { ...(this.state.accounts.get(user.toLowerCase()) ?? emptyAccount()) };
  }
  accounts(): [string, CustodyAccount][] {
    return [...this.state.accounts.entries()].map(([id, a]) => [id, { ...a }]);
  }
  userOf(account: string): string | null {
    return this.state.userOfAccount.get(account.toLowerCase()) ?? null;
  }
  hasOrdered(user: string): boolean {
    return this.state.ordered.has(user.toLowerCase());
  }
  isRequestProcessed(requestId: string): boolean {
    return this.state.requests.has(requestId.toLowerCase());
  }
  reserveSurplus(): bigint {
    const s = this.state;
    const [assets, supply] = [this.pool.assets, this.pool.supply];
    // The reserve is the whole supply but the locked GP and backs CP: no other holder for the growth.
    if (s.reserve === 0n || (s.reserve + this.pool.locked >= supply && s.constantOutstanding !== 0n)) return 0n;
    const held = s.reserve * assets;
    const owed = s.constantOutstanding * supply;
    if (held <= owed || assets <= s.constantOutstanding) return 0n;
    return (held - owed) / (assets - s.constantOutstanding);
  }

  // ------------------------------------------------------------ users

  register(user: string, referrer: string | null): void {
    this.atomically(() => {
      if (isZero(user)) throw new PoolRevert("CustodyInvalidUser", []);
      if (this.get(user).index !== 0) throw new PoolRevert("CustodyAlreadyRegistered", [user]);
      if (referrer && !isZero(referrer) && this.get(referrer).index === 0) {
        throw new PoolRevert("CustodyInvalidReferrer", [user, referrer]);
      }
      this.doRegister(user, referrer && !isZero(referrer) ? referrer : null);
    });
  }

  setReferrer(user: string, referrer: string): void {
    this.atomically(() => {
      const account = this.known(user);
      if (account.referrer) throw new PoolRevert("CustodyReferrerAlreadySet", [user, account.referrer]);
      const referrerIndex = this.get(referrer).index;
      if (referrerIndex === 0 || referrerIndex >= account.index) throw new PoolRevert("CustodyInvalidReferrer", [user, referrer]);
      account.referrer = referrer.toLowerCase();
    });
  }

  setMerchant(account: string, merchant: boolean): void {
    this.atomically(() => {
      this.entry(account).merchant = merchant;
    });
  }

  // ------------------------------------------------------------ orders

  recordOrders(batch: readonly ModelCustodialShopOrders[]): CreditedOrder[] {
    return this.atomically(() => {
      const firstOnly = this.state.parameters.referralMode === BigInt(ReferralMode.FirstOrder);
      const pooled = batch.map((group) => ({
        shop: group.shop,
        orders: group.orders.map((order) => ({
          key: order.key,
          amount: order.amount,
          referralLevels: this.referralLevels(order.user, firstOnly),
        })),
      }));
      const minted = this.pool.recordPooledOrders(this.address, pooled);
      const multiple = this.state.parameters.exitMultiple;
      const credited: CreditedOrder[] = [];
      batch.forEach((group, g) =>
        group.orders.forEach((order, i) => {
          const m = minted[g][i];
          const buyer = this.entry(order.user);
          buyer.points += m.buyer;
          const quotaAdded = mulDiv(order.amount, multiple, BPS, Rounding.Floor);
          if (multiple !== 0n) {
            buyer.quota += quotaAdded;
            buyer.quotaActive = true;
          }
          const result: CreditedOrder = { key: order.key, user: order.user, points: m.buyer, quotaAdded, referrals: [] };
          const levels = pooled[g].orders[i].referralLevels;
          if (levels > 0 && buyer.referrer) {
            const first = this.get(buyer.referrer);
            first.points += m.referrer1;
            result.referrals.push({ referrer: buyer.referrer, level: 1, points: m.referrer1 });
            if (levels > 1 && first.referrer) {
              this.get(first.referrer).points += m.referrer2;
              result.referrals.push({ referrer: first.referrer, level: 2, points: m.referrer2 });
            }
          }
          credited.push(result);
        }),
      );
      return credited;
    });
  }

  // ------------------------------------------------------------ operations

  transfer(requestId: string, from: string, to: string, asset: Asset, amount: bigint): void {
    this.atomically(() => {
      this.useRequest(requestId);
      this.move(from, to, asset, amount);
    });
  }

  payMerchant(requestId: string, user: string, merchant: string, asset: Asset, amount: bigint): void {
    this.atomically(() => {
      this.useRequest(requestId);
      if (!this.get(merchant).merchant) throw new PoolRevert("CustodyNotMerchant", [merchant]);
      this.move(user, merchant, asset, amount);
    });
  }

  redeem(requestId: string, user: string, points: bigint, minPayout: bigint): bigint {
    return this.atomically(() => {
      this.useRequest(requestId);
      const account = this.known(user);
      this.debitPoints(user, account, points);
      const { payout } = this.pool.redeem(this.address, points, minPayout);
      this.state.held += payout;
      account.settlement += payout;
      return payout;
    });
  }

  convertToConstant(requestId: string, user: string, points: bigint): bigint {
    return this.atomically(() => {
      this.useRequest(requestId);
      const account = this.known(user);
      this.debitPoints(user, account, points);
      const constantPoints = toAssets(points, this.pool.assets, this.pool.supply, Rounding.Floor);
      if (constantPoints === 0n) throw new PoolRevert("CustodyConversionTooSmall", [points]);
      this.state.reserve += points;
      this.state.constantOutstanding += constantPoints;
      account.constantPoints += constantPoints;
      return constantPoints;
    });
  }

  exchangeConstant(requestId: string, accountId: string, constantPoints: bigint): bigint {
    return this.atomically(() => {
      this.useRequest(requestId);
      const account = this.known(accountId);
      const points = this.takeFromReserve(accountId, account, constantPoints);
      account.points += points;
      return points;
    });
  }

  redeemConstant(requestId: string, accountId: string, constantPoints: bigint, minPayout: bigint): { points: bigint; payout: bigint } {
    return this.atomically(() => {
      this.useRequest(requestId);
      const account = this.known(accountId);
      const points = this.takeFromReserve(accountId, account, constantPoints);
      const { payout } = this.pool.redeem(this.address, points, minPayout);
      this.state.held += payout;
      account.settlement += payout;
      return { points, payout };
    });
  }

  /**
   * `grant(requestId, user, contribution)` by the relayer: the contribution goes into the pool
   * (keyed `orderKey(custody, requestId)`) and the GP it mints are credited to `user`, as GP
   * credited by others. The relayer's own settlement is not modelled; the pool's is.
   */
  grant(requestId: string, user: string, contribution: bigint): bigint {
    return this.atomically(() => {
      this.useRequest(requestId);
      if (contribution === 0n) throw new PoolRevert("CustodyZeroAmount", []);
      const account = this.entry(user);
      const [points] = this.pool.recordContributions(this.address, [{ key: orderKey(this.address, requestId), contribution }]);
      if (points === 0n) throw new PoolRevert("CustodyGrantTooSmall", [contribution]);
      account.points += points;
      account.received += points;
      return points;
    });
  }

  /** `remove(requestId, user, points)` by the relayer: GP credited by others leave first, then retired. */
  remove(requestId: string, user: string, points: bigint): void {
    this.atomically(() => {
      this.useRequest(requestId);
      if (points === 0n) throw new PoolRevert("CustodyZeroAmount", []);
      const account = this.known(user);
      if (account.points < points) {
        throw new PoolRevert("CustodyInsufficientBalance", [user, BigInt(Asset.GP), account.points, points]);
      }
      account.points -= points;
      account.received = account.received > points ? account.received - points : 0n;
      this.pool.retire(this.address, points);
    });
  }

  withdrawSettlement(requestId: string, accountId: string, to: string, amount: bigint): void {
    this.atomically(() => {
      this.useRequest(requestId);
      if (isZero(to)) throw new PoolRevert("CustodyInvalidAddress", []);
      if (amount === 0n) throw new PoolRevert("CustodyZeroAmount", []);
      const account = this.known(accountId);
      if (account.settlement < amount) {
        throw new PoolRevert("CustodyInsufficientSettlement", [accountId, account.settlement, amount]);
      }
      account.settlement -= amount;
      this.state.held -= amount;
    });
  }

  withdrawToOriginal(requestId: string, user: string, points: bigint): { fee: bigint; original: string } {
    return this.atomically(() => {
      this.useRequest(requestId);
      const account = this.known(user);
      const original = account.original;
      if (!original) throw new PoolRevert("CustodyNotLinked", [user]);
      const fee = mulDiv(points, this.state.parameters.withdrawalFee, BPS, Rounding.Ceil);
      if (points <= fee) throw new PoolRevert("CustodyWithdrawalTooSmall", [points]);
      this.debitPoints(user, account, points);
      if (fee !== 0n) this.pool.retire(this.address, fee);
      this.pool.transfer(this.address, original, points - fee);
      return { fee, original };
    });
  }

  deposit(from: string, user: string, points: bigint): void {
    this.atomically(() => {
      if (points === 0n) throw new PoolRevert("CustodyZeroAmount", []);
      const account = this.known(user);
      account.points += points;
      if (from.toLowerCase() !== account.original?.toLowerCase()) account.received += points;
      this.pool.transferFrom(this.address, from, this.address, points);
    });
  }

  /** `depositBatch(users, points)` called by `from`: each user credited (zeros skipped), the total pulled once. */
  depositBatch(from: string, users: readonly string[], points: readonly bigint[]): void {
    this.atomically(() => {
      if (users.length !== points.length) throw new PoolRevert("CustodyLengthMismatch", [BigInt(users.length), BigInt(points.length)]);
      let total = 0n;
      users.forEach((user, i) => {
        if (points[i] === 0n) return;
        const account = this.known(user);
        account.points += points[i];
        account.received += points[i];
        total += points[i];
      });
      if (total !== 0n) this.pool.transferFrom(this.address, from, this.address, total);
    });
  }

  link(user: string, account: string): void {
    this.atomically(() => {
      if (isZero(account)) throw new PoolRevert("CustodyInvalidAddress", []);
      const entry = this.known(user);
      if (entry.original) throw new PoolRevert("CustodyAlreadyLinked", [user, entry.original]);
      const other = this.userOf(account);
      if (other) throw new PoolRevert("CustodyAccountLinkedElsewhere", [account, other]);
      entry.original = account;
      this.state.userOfAccount.set(account.toLowerCase(), user.toLowerCase());
    });
  }

  unlink(user: string): void {
    this.atomically(() => this.doUnlink(user));
  }

  unlinkSelf(caller: string, user: string): void {
    this.atomically(() => {
      if (this.get(user).original?.toLowerCase() !== caller.toLowerCase()) {
        throw new PoolRevert("CustodyNotOriginalAccount", [user, caller]);
      }
      this.doUnlink(user);
    });
  }

  exit(user: string): { points: bigint; payout: bigint } {
    return this.atomically(() => {
      if (this.state.parameters.exitMultiple === 0n) throw new PoolRevert("CustodyExitDisabled", []);
      const account = this.known(user);
      const points = account.points;
      const own = points - account.received;
      const value = own === 0n ? 0n : toAssets(own, this.pool.assets, this.pool.supply, Rounding.Floor);
      if (!account.quotaActive || value < account.quota) {
        throw new PoolRevert("CustodyExitNotReached", [user, value, account.quota]);
      }
      account.points = 0n;
      account.received = 0n;
      account.quota = 0n;
      account.quotaActive = false;
      let payout = 0n;
      if (points !== 0n) {
        payout = this.pool.redeem(this.address, points, 0n).payout;
        this.state.held += payout;
        account.settlement += payout;
      }
      return { points, payout };
    });
  }

  releaseReserveSurplus(): bigint {
    return this.atomically(() => {
      const surplus = this.reserveSurplus();
      if (surplus === 0n) throw new PoolRevert("CustodyNoReserveSurplus", []);
      this.state.reserve -= surplus;
      this.pool.retire(this.address, surplus);
      return surplus;
    });
  }

  setParameter(parameter: CustodyParameter, value: bigint): void {
    const p = this.state.parameters;
    if (parameter === CustodyParameter.WithdrawalFee) {
      if (value < 0n || value > MAX_WITHDRAWAL_FEE) {
        throw new PoolRevert("CustodyParameterOutOfRange", [BigInt(parameter), value, 0n, MAX_WITHDRAWAL_FEE]);
      }
      p.withdrawalFee = value;
    } else if (parameter === CustodyParameter.ExitMultiple) {
      if (value !== 0n && (value < MIN_EXIT_MULTIPLE || value > MAX_EXIT_MULTIPLE)) {
        throw new PoolRevert("CustodyParameterOutOfRange", [BigInt(parameter), value, MIN_EXIT_MULTIPLE, MAX_EXIT_MULTIPLE]);
      }
      p.exitMultiple = value;
    } else {
      const last = BigInt(ReferralMode.FirstOrder);
      if (value < 0n || value > last) throw new PoolRevert("CustodyParameterOutOfRange", [BigInt(parameter), value, 0n, last]);
      p.referralMode = value;
    }
  }

  // ------------------------------------------------------------ internals

  /** Runs `action` on both models; a throw puts both back as they were. */
  private atomically<T>(action: () => T): T {
    const restore = this.checkpoint();
    try {
      return action();
    } catch (error) {
      restore();
      throw error;
    }
  }

  private get(user: string): CustodyAccount {
    const id = user.toLowerCase();
    let account = this.state.accounts.get(id);
    if (!account) {
      account = emptyAccount();
      this.state.accounts.set(id, account);
    }
    return account;
  }

  private known(user: string): CustodyAccount {
    const account = this.get(user);
    if (account.index === 0) throw new PoolRevert("CustodyUnknownUser", [user]);
    return account;
  }

  private entry(user: string): CustodyAccount {
    if (isZero(user)) throw new PoolRevert("CustodyInvalidUser", []);
    const account = this.get(user);
    if (account.index === 0) this.doRegister(user, null);
    return account;
  }

  private doRegister(user: string, referrer: string | null): void {
    const account = this.get(user);
    account.index = ++this.state.registered;
    account.referrer = referrer ? referrer.toLowerCase() : null;
  }

  /** The referral levels an order of `user` pays; marks `user` as having ordered, in both modes. */
  private referralLevels(user: string, firstOnly: boolean): number {
    const id = user.toLowerCase();
    const first = !this.state.ordered.has(id);
    this.state.ordered.add(id);
    if (firstOnly && !first) return 0;
    const [one, two] = this.referrers(user);
    return one === null ? 0 : two === null ? 1 : 2;
  }

  private referrers(user: string): [string | null, string | null] {
    const first = this.state.accounts.get(user.toLowerCase())?.referrer ?? null;
    const second = first ? (this.state.accounts.get(first)?.referrer ?? null) : null;
    return [first, second];
  }

  private useRequest(requestId: string): void {
    const id = requestId.toLowerCase();
    if (this.state.requests.has(id)) throw new PoolRevert("CustodyRequestAlreadyProcessed", [requestId]);
    this.state.requests.add(id);
  }

  private move(from: string, to: string, asset: Asset, amount: bigint): void {
    if (amount === 0n) throw new PoolRevert("CustodyZeroAmount", []);
    if (from.toLowerCase() === to.toLowerCase()) throw new PoolRevert("CustodySelfTransfer", [from]);
    const source = this.known(from);
    const target = this.known(to);
    if (asset === Asset.GP) {
      this.debitPoints(from, source, amount);
      target.points += amount;
      target.received += amount;
    } else {
      if (source.constantPoints < amount) {
        throw new PoolRevert("CustodyInsufficientBalance", [from, BigInt(Asset.CP), source.constantPoints, amount]);
      }
      source.constantPoints -= amount;
      target.constantPoints += amount;
    }
  }

  private debitPoints(user: string, account: CustodyAccount, points: bigint): void {
    if (points === 0n) throw new PoolRevert("CustodyZeroAmount", []);
    if (account.points < points) {
      throw new PoolRevert("CustodyInsufficientBalance", [user, BigInt(Asset.GP), account.points, points]);
    }
    account.points -= points;
    if (account.received > account.points) account.received = account.points;
    if (account.quotaActive) {
      const value = toAssets(points, this.pool.assets, this.pool.supply, Rounding.Floor);
      account.quota = account.quota > value ? account.quota - value : 0n;
    }
  }

  private takeFromReserve(accountId: string, account: CustodyAccount, constantPoints: bigint): bigint {
    if (constantPoints === 0n) throw new PoolRevert("CustodyZeroAmount", []);
    if (account.constantPoints < constantPoints) {
      throw new PoolRevert("CustodyInsufficientBalance", [accountId, BigInt(Asset.CP), account.constantPoints, constantPoints]);
    }
    const points = toPoints(constantPoints, this.pool.assets, this.pool.supply, Rounding.Floor);
    if (points === 0n) throw new PoolRevert("CustodyConversionTooSmall", [constantPoints]);
    account.constantPoints -= constantPoints;
    this.state.constantOutstanding -= constantPoints;
    this.state.reserve -= points;
    return points;
  }

  private doUnlink(user: string): void {
    const entry = this.known(user);
    const account = entry.original;
    if (!account) throw new PoolRevert("CustodyNotLinked", [user]);
    entry.original = null;
    this.state.userOfAccount.delete(account.toLowerCase());
  }
}

/** The zero user id or the zero address. */
function isZero(id: string): boolean {
  return BigInt(id) === 0n;
}

function cloneState(s: CustodyState): CustodyState {
  return {
    ...s,
    parameters: { ...s.parameters },
    accounts: new Map([...s.accounts.entries()].map(([k, a]) => [k, { ...a }])),
    userOfAccount: new Map(s.userOfAccount),
    requests: new Set(s.requests),
    ordered: new Set(s.ordered),
  };
}

export { ZERO_ID };
