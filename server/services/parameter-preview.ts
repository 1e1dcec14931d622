/**
 * The operator's view of every chain parameter (the pool's, the custody's, the ad credit's) with
 * its bounds as the contracts enforce them, and what a change would do: the figures of one order
 * (or redemption, withdrawal, ad sale) now, from the contracts' own preview functions where they
 * have one, and with the proposed value, computed with domain/points-math.ts (PointsMath.sol's
 * mirror) on the same block's assets and supply.
 */
import type { ChainPort } from "../adapters/chain/chain";
import { parseAmount } from "../domain/amounts";
import { formatAmount } from "../domain/display";
import { BPS, ONE_POINT, Rounding, adBacking, contribution, exitFee, mintValue, mulDiv, toAssets, toPoints } from "../domain/points-math";
import { AppError } from "../errors";
import { CUSTODY_PARAMETERS, POOL_PARAMETERS } from "./operations";
import { readCustodyParameters } from "../adapters/chain/custody-parameters";

export const AD_CREDIT_PARAMETERS = ["adShare", "noticePeriod"] as const;
export type ParameterContract = "pool" | "custody" | "adCredit";
export type ParameterUnit = "bps" | "settlement" | "seconds" | "mode";
export type ParameterName = (typeof POOL_PARAMETERS)[number] | (typeof CUSTODY_PARAMETERS)[number] | (typeof AD_CREDIT_PARAMETERS)[number];
export const PARAMETER_NAMES = [...POOL_PARAMETERS, ...CUSTODY_PARAMETERS, ...AD_CREDIT_PARAMETERS] as const;

/** GP the pool's first mint locks in it for ever (Pool.sol `LOCKED_POINTS`). */
const LOCKED_POINTS = 10n ** 12n;

export interface ParameterView {
  contract: ParameterContract;
  name: ParameterName;
  unit: ParameterUnit;
  /** As the change endpoint takes it: basis points, seconds or a mode as a whole number; a price in settlement units. */
  value: string;
  min: string;
  max: string;
  /** The exit multiple may also be 0 (the exit off) below its minimum. */
  zeroAllowed: boolean;
  /** The endpoint that changes it, or null where the server has none. */
  changePath: string | null;
}

export interface ParametersView {
  block: number;
  paused: boolean;
  settlementDecimals: number;
  parameters: ParameterView[];
}

const CHANGE_PATH: Record<ParameterContract, string | null> = {
  pool: "/v1/admin/pool/parameters/",
  custody: "/v1/admin/custody/parameters/",
  adCredit: null,
};

function contractOf(name: ParameterName): ParameterContract {
  if ((POOL_PARAMETERS as readonly string[]).includes(name)) return "pool";
  if ((CUSTODY_PARAMETERS as readonly string[]).includes(name)) return "custody";
  return "adCredit";
}

interface Raw {
  contract: ParameterContract;
  name: ParameterName;
  unit: ParameterUnit;
  value: bigint;
  min: bigint;
  max: bigint;
  zeroAllowed: boolean;
}

async function readRaw(chain: ChainPort, block: number): Promise<{ raw: Raw[]; paused: boolean }> {
  const at = { blockTag: block };
  const pool = chain.pool;
  const custody = chain.custody;
  const [p, paused, custodyParams, maxWithdrawalFee, minExit, maxExit] = await Promise.all([
    pool.parameters(at),
    pool.paused(at),
    readCustodyParameters(chain, block),
    custody.MAX_WITHDRAWAL_FEE(at),
    custody.MIN_EXIT_MULTIPLE(at),
    custody.MAX_EXIT_MULTIPLE(at),
  ]);
  const poolBounds = await Promise.all(POOL_PARAMETERS.map((_, i) => pool.parameterBounds(i, at)));
  const poolValues = [p.poolShare, p.mintShare, p.exitFee, p.initialPrice, p.referralShare1, p.referralShare2].map(BigInt);
  const raw: Raw[] = POOL_PARAMETERS.map((name, i) => ({
    contract: "pool",
    name,
    unit: name === "initialPrice" ? "settlement" : "bps",
    value: poolValues[i],
    min: poolBounds[i][0],
    max: poolBounds[i][1],
    zeroAllowed: false,
  }));
  raw.push(
    {
      contract: "custody",
      name: "withdrawalFee",
      unit: "bps",
      value: custodyParams.withdrawalFee,
      min: 0n,
      max: maxWithdrawalFee,
      zeroAllowed: false,
    },
    {
      contract: "custody",
      name: "exitMultiple",
      unit: "bps",
      value: custodyParams.exitMultiple,
      min: minExit,
      max: maxExit,
      zeroAllowed: true,
    },
    // ReferralMode: PerOrder (0), FirstOrder (1); a custody made before the mode paid per order.
    { contract: "custody", name: "referralMode", unit: "mode", value: custodyParams.referralMode, min: 0n, max: 1n, zeroAllowed: false },
  );
  if (chain.deployments.adCredit) {
    const ad = chain.contract("adCredit");
    const [ap, shareBounds, noticeBounds] = await Promise.all([ad.parameters(at), ad.parameterBounds(0, at), ad.parameterBounds(1, at)]);
    raw.push(
      {
        contract: "adCredit",
        name: "adShare",
        unit: "bps",
        value: BigInt(ap.adShare),
        min: shareBounds[0],
        max: shareBounds[1],
        zeroAllowed: false,
      },
      {
        contract: "adCredit",
        name: "noticePeriod",
        unit: "seconds",
        value: BigInt(ap.noticePeriod),
        min: noticeBounds[0],
        max: noticeBounds[1],
        zeroAllowed: false,
      },
    );
  }
  return { raw, paused };
}

export async function readParameters(chain: ChainPort): Promise<ParametersView> {
  const block = await chain.blockNumber();
  const d = chain.deployments.settlementDecimals;
  const { raw, paused } = await readRaw(chain, block);
  const show = (r: Raw, v: bigint) => (r.unit === "settlement" ? formatAmount(v, d) : v.toString());
  return {
    block,
    paused,
    settlementDecimals: d,
    parameters: raw.map((r) => ({
      contract: r.contract,
      name: r.name,
      unit: r.unit,
      value: show(r, r.value),
      min: show(r, r.min),
      max: show(r, r.max),
      zeroAllowed: r.zeroAllowed,
      changePath: CHANGE_PATH[r.contract] && `${CHANGE_PATH[r.contract]}${r.name}`,
    })),
  };
}

export const PREVIEW_FIGURES = [
  "contribution",
  "buyerPoints",
  "referrer1Points",
  "referrer2Points",
  "gross",
  "exitFee",
  "payout",
  "withdrawalFee",
  "withdrawn",
  "exitQuota",
  "adBacking",
] as const;
export type PreviewFigure = (typeof PREVIEW_FIGURES)[number];
/** What the preview's `amount` is: an order's or an ad sale's settlement, or GP redeemed or withdrawn; none for parameters no figure shows. */
export type PreviewBasis = "order" | "redemption" | "withdrawal" | "adSale" | "none";

export interface ParameterPreview {
  block: number;
  contract: ParameterContract;
  name: ParameterName;
  basis: PreviewBasis;
  amount: string;
  value: string;
  proposed: string;
  min: string;
  max: string;
  /** Why the contract would refuse the proposed value, or null. */
  refusal: "OUT_OF_RANGE" | "SHARES_EXCEED_WHOLE" | null;
  /** Each figure now (the contract's own preview where it has one) and with the proposed value; empty when refused. */
  figures: { figure: PreviewFigure; unit: "settlement" | "points"; now: string; proposed: string }[];
  /** Set when a figure cannot be shown, e.g. ORDER_TOO_SMALL or NO_SUPPLY. */
  note: "ORDER_TOO_SMALL" | "NO_SUPPLY" | null;
}

const BASIS: Record<ParameterName, PreviewBasis> = {
  poolShare: "order",
  mintShare: "order",
  initialPrice: "order",
  referralShare1: "order",
  referralShare2: "order",
  exitFee: "redemption",
  withdrawalFee: "withdrawal",
  exitMultiple: "order",
  referralMode: "none",
  adShare: "adSale",
  noticePeriod: "none",
};

interface PoolParams {
  poolShare: bigint;
  mintShare: bigint;
  exitFee: bigint;
  initialPrice: bigint;
  referralShare1: bigint;
  referralShare2: bigint;
}

/** Pool.sol `_quoteOrder` with two referral levels: what one order of `amount` mints; null when too small. */
function quoteOrder(amount: bigint, p: PoolParams, assets: bigint, supply: bigint) {
  const c = contribution(amount, p.poolShare);
  const [priceAssets, priceSupply] = supply !== 0n ? [assets, supply] : [p.initialPrice, ONE_POINT];
  const buyerPoints = toPoints(mintValue(c, p.mintShare), priceAssets, priceSupply, Rounding.Floor);
  const locked = supply === 0n ? LOCKED_POINTS : 0n;
  if (buyerPoints <= locked) return null;
  return {
    contribution: c,
    buyer: buyerPoints - locked,
    referrer1: toPoints(mintValue(c, p.referralShare1), priceAssets, priceSupply, Rounding.Floor),
    referrer2: toPoints(mintValue(c, p.referralShare2), priceAssets, priceSupply, Rounding.Floor),
  };
}

/** What a change of `name` to `proposedText` would do to one order (or redemption, …) of `amountText`. */
export async function previewParameter(
  chain: ChainPort,
  name: ParameterName,
  proposedText: string,
  amountText: string,
): Promise<ParameterPreview> {
  const block = await chain.blockNumber();
  const at = { blockTag: block };
  const d = chain.deployments.settlementDecimals;
  const { raw } = await readRaw(chain, block);
  const r = raw.find((x) => x.name === name);
  if (!r) throw new AppError("NOT_FOUND", `this deployment has no parameter ${name}`, { name });
  const basis = BASIS[name];
  const proposed = parseAmount(proposedText, r.unit === "settlement" ? d : 0, "value");
  const amount = parseAmount(amountText, basis === "redemption" || basis === "withdrawal" ? 18 : d, "amount");
  const show = (v: bigint) => (r.unit === "settlement" ? formatAmount(v, d) : v.toString());
  const base = {
    block,
    contract: r.contract,
    name,
    basis,
    amount: amountText,
    value: show(r.value),
    proposed: show(proposed),
    min: show(r.min),
    max: show(r.max),
  };
  const inRange = (proposed >= r.min && proposed <= r.max) || (r.zeroAllowed && proposed === 0n);
  const pv = raw.filter((x) => x.contract === "pool");
  const current: PoolParams = {
    poolShare: pv[0].value,
    mintShare: pv[1].value,
    exitFee: pv[2].value,
    initialPrice: pv[3].value,
    referralShare1: pv[4].value,
    referralShare2: pv[5].value,
  };
  const next: PoolParams = r.contract === "pool" ? { ...current, [name]: proposed } : current;
  if (!inRange) return { ...base, refusal: "OUT_OF_RANGE", figures: [], note: null };
  if (next.mintShare + next.referralShare1 + next.referralShare2 > BPS)
    return { ...base, refusal: "SHARES_EXCEED_WHOLE", figures: [], note: null };

  const pool = chain.pool;
  const [assets, supply] = await Promise.all([pool.assets(at), chain.points.totalSupply(at)]);
  const S = (v: bigint) => formatAmount(v, d);
  const P = (v: bigint) => formatAmount(v, 18);
  const figures: ParameterPreview["figures"] = [];
  let note: ParameterPreview["note"] = null;

  if (basis === "order") {
    const now = quoteOrder(amount, current, assets, supply);
    const then = quoteOrder(amount, next, assets, supply);
    if (!now || !then) note = "ORDER_TOO_SMALL";
    else {
      // The contract's own figures for now; a disagreement with the mirror would be a bug worth an error.
      const [chainContribution, chainPoints] = await pool.previewOrder(amount, at);
      if (chainContribution !== now.contribution || chainPoints !== now.buyer)
        throw new Error(
          `points-math disagrees with Pool.previewOrder(${amount}): ${now.contribution}/${now.buyer} against ${chainContribution}/${chainPoints}`,
        );
      figures.push(
        { figure: "contribution", unit: "settlement", now: S(chainContribution), proposed: S(then.contribution) },
        { figure: "buyerPoints", unit: "points", now: P(chainPoints), proposed: P(then.buyer) },
      );
      if (name === "referralShare1" || name === "referralShare2") {
        const key = name === "referralShare1" ? "referrer1" : "referrer2";
        figures.push({ figure: `${key}Points`, unit: "points", now: P(now[key]), proposed: P(then[key]) });
      }
      if (name === "exitMultiple") {
        const quota = (m: bigint) => mulDiv(amount, m, BPS, Rounding.Floor);
        figures.push({ figure: "exitQuota", unit: "settlement", now: S(quota(r.value)), proposed: S(quota(proposed)) });
      }
    }
  } else if (basis === "redemption") {
    if (supply === 0n) note = "NO_SUPPLY";
    else {
      const [gross, fee, payout] = await pool.previewRedeem(amount, at);
      const grossThen = toAssets(amount, assets, supply, Rounding.Floor);
      const feeThen = exitFee(grossThen, proposed);
      figures.push(
        { figure: "gross", unit: "settlement", now: S(gross), proposed: S(grossThen) },
        { figure: "exitFee", unit: "settlement", now: S(fee), proposed: S(feeThen) },
        { figure: "payout", unit: "settlement", now: S(payout), proposed: S(grossThen - feeThen) },
      );
    }
  } else if (basis === "withdrawal") {
    // Custody.sol: the fee is `points * withdrawalFee / BPS`, rounded up, kept out of the GP withdrawn.
    const fee = (bps: bigint) => mulDiv(amount, bps, BPS, Rounding.Ceil);
    figures.push(
      { figure: "withdrawalFee", unit: "points", now: P(fee(r.value)), proposed: P(fee(proposed)) },
      { figure: "withdrawn", unit: "points", now: P(amount - fee(r.value)), proposed: P(amount - fee(proposed)) },
    );
  } else if (basis === "adSale") {
    figures.push({ figure: "adBacking", unit: "settlement", now: S(adBacking(amount, r.value)), proposed: S(adBacking(amount, proposed)) });
  }
  return { ...base, refusal: null, figures, note };
}

export const isParameterName = (name: string): name is ParameterName => (PARAMETER_NAMES as readonly string[]).includes(name);
export { contractOf };
