/**
 * How completed ad tasks release a shopper's vouchers for conversion, one policy per deployment
 * (docs/rules.md, "Rewarded ads, as built"). Pure bigint arithmetic on voucher base units (the
 * settlement token's decimals).
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
import { parseAmount } from "../../domain/amounts";
import { formatAmount } from "../../domain/display";
import { BPS, Rounding, mulDiv } from "../../domain/points-math";

/** The default policy setting (GP_AD_POLICY): the source's 6 rewarded videos convert 1 voucher. */
export const DEFAULT_AD_POLICY = "fixed:6:1";
/** The default cap of ad tasks counted per user per day (GP_AD_DAILY_TASK_CAP). */
export const DEFAULT_DAILY_TASK_CAP = 30;

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

/** The policy in people's words, for the user API. */
export function describePolicy(policy: ReleasePolicy, decimals: number): string {
  switch (policy.kind) {
    case "fixed":
      return `every ${policy.tasks} completed tasks convert ${formatAmount(policy.vouchers, decimals)} vouchers`;
    case "daily-share":
      return `completing the day's ${policy.tasksPerDay} tasks converts ${Number(policy.rateBps) / 100}% of the vouchers held, once a day`;
    case "thresholds":
      return (
        `completing the day's ${policy.tasksPerDay} tasks converts, once a day, ` +
        policy.levels.map((l) => `${Number(l.rateBps) / 100}% of ${formatAmount(l.level, decimals)}`).join(" or ") +
        " (the highest level reached by the vouchers held)"
      );
  }
}

/**
 * Reads GP_AD_POLICY: `fixed:<tasks>:<vouchers>`, `daily-share:<tasksPerDay>:<percent>` or
 * `thresholds:<tasksPerDay>:<level>@<percent>,<level>@<percent>...` (vouchers and levels in whole
 * units, percents with up to two decimals). Throws a message naming what is wrong.
 */
export function parsePolicy(text: string, decimals: number): ReleasePolicy {
  const parts = text.split(":");
  const count = (s: string | undefined) => {
    if (!s || !/^\d{1,4}$/.test(s) || Number(s) < 1) throw new Error(`"${s}" is not a task count (1-9999)`);
    return Number(s);
  };
  const percent = (s: string | undefined) => {
    const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(s ?? "");
    const bps = m ? BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0")) : -1n;
    if (bps <= 0n || bps > 10_000n) throw new Error(`"${s}" is not a percentage above 0 and at most 100`);
    return bps;
  };
  if (parts[0] === "fixed" && parts.length === 3)
    return { kind: "fixed", tasks: count(parts[1]), vouchers: parseAmount(parts[2], decimals) };
  if (parts[0] === "daily-share" && parts.length === 3)
    return { kind: "daily-share", tasksPerDay: count(parts[1]), rateBps: percent(parts[2]) };
  if (parts[0] === "thresholds" && parts.length === 3) {
    const levels = parts[2].split(",").map((l) => {
      const [level, rate] = l.split("@");
      return { level: parseAmount(level ?? "", decimals), rateBps: percent(rate) };
    });
    return { kind: "thresholds", tasksPerDay: count(parts[1]), levels };
  }
  throw new Error(`"${text}" is not fixed:<tasks>:<vouchers>, daily-share:<tasks>:<percent> or thresholds:<tasks>:<level>@<percent>,...`);
}
