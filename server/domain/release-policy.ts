/**
 * How completed ad tasks release a shopper's vouchers for conversion (SPEC section 7), one policy
 * per deployment. Pure bigint arithmetic on voucher base units (the settlement token's decimals).
 *
 * - `fixed`: every `tasks`-th completed task releases `vouchers` (or what is left, if less).
 *   Progress carries over days. Source: 6 rewarded videos convert 1 voucher.
 * - `daily-share`: the completion that finishes the day's `tasksPerDay` tasks releases `rateBps`
 *   of the vouchers held; once per user per day, and only on a day the tasks were all done.
 *   Source: 200 vouchers at 2% release 4, then 196 release 3.92.
 * - `thresholds`: as `daily-share`, but the release is `rateBps` of the highest `level` the balance
 *   has reached (nothing below the lowest level). Source: 1% at 200, 1.2% at 400: 300 vouchers
 *   release 2 a day, 900 release 4.8.
 *
 * Rounding: a release rounds down to the base unit (a shopper is never released more than the
 * rate gives); the backing each release carries rounds up (contracts/libraries/PointsMath.sol).
 */
import { BPS, Rounding, mulDiv } from "./points-math";

export type ReleasePolicy =
  | { kind: "fixed"; tasks: number; vouchers: bigint }
  | { kind: "daily-share"; tasksPerDay: number; rateBps: bigint }
  | { kind: "thresholds"; tasksPerDay: number; levels: readonly { level: bigint; rateBps: bigint }[] };

/** What the policy needs to know about a shopper when a task is completed. */
export interface TaskProgress {
  /** Vouchers held and not yet released. */
  balance: bigint;
  /** Tasks completed today, including the one being counted. */
  tasksToday: number;
  /** Tasks ever completed, including the one being counted. */
  tasksTotal: number;
}

/** The vouchers the completion described by `progress` releases (zero for most completions). */
export function releaseFor(policy: ReleasePolicy, progress: TaskProgress): bigint {
  const { balance } = progress;
  if (balance === 0n) return 0n;
  switch (policy.kind) {
    case "fixed":
      if (progress.tasksTotal % policy.tasks !== 0) return 0n;
      return policy.vouchers < balance ? policy.vouchers : balance;
    case "daily-share":
      if (progress.tasksToday !== policy.tasksPerDay) return 0n;
      return mulDiv(balance, policy.rateBps, BPS, Rounding.Floor);
    case "thresholds": {
      if (progress.tasksToday !== policy.tasksPerDay) return 0n;
      const reached = policy.levels.filter((l) => l.level <= balance).sort((a, b) => (a.level < b.level ? 1 : -1))[0];
      if (!reached) return 0n;
      const release = mulDiv(reached.level, reached.rateBps, BPS, Rounding.Floor);
      return release < balance ? release : balance;
    }
  }
}

/** What the next completion would release, and how many more tasks until one releases anything. */
export function nextRelease(
  policy: ReleasePolicy,
  current: { balance: bigint; tasksToday: number; tasksTotal: number },
): { vouchers: bigint; tasksUntilRelease: number | null } {
  const next = { balance: current.balance, tasksToday: current.tasksToday + 1, tasksTotal: current.tasksTotal + 1 };
  if (policy.kind === "fixed") {
    const remaining = policy.tasks - (current.tasksTotal % policy.tasks);
    const at = { ...current, tasksToday: current.tasksToday + remaining, tasksTotal: current.tasksTotal + remaining };
    return { vouchers: releaseFor(policy, next), tasksUntilRelease: releaseFor(policy, at) > 0n ? remaining : null };
  }
  const remaining = policy.tasksPerDay - current.tasksToday;
  if (remaining <= 0) return { vouchers: 0n, tasksUntilRelease: null };
  const at = { ...current, tasksToday: policy.tasksPerDay, tasksTotal: current.tasksTotal + remaining };
  return { vouchers: releaseFor(policy, next), tasksUntilRelease: releaseFor(policy, at) > 0n ? remaining : null };
}

/** The source examples' policies, in base units of a token with `decimals` decimals. */
export function sourcePolicies(decimals: number) {
  const unit = 10n ** BigInt(decimals);
  return {
    fixed: { kind: "fixed", tasks: 6, vouchers: unit } as ReleasePolicy,
    dailyShare: { kind: "daily-share", tasksPerDay: 6, rateBps: 200n } as ReleasePolicy,
    thresholds: {
      kind: "thresholds",
      tasksPerDay: 6,
      levels: [
        { level: 200n * unit, rateBps: 100n },
        { level: 400n * unit, rateBps: 120n },
      ],
    } as ReleasePolicy,
  };
}
