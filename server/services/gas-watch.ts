/**
 * Watches what the relayer's new chain work needs: gas in its wallet (a native balance of at least
 * the configured minimum) and fees at most the configured cap (the chain port refuses to sign above
 * it). While either is short, new work waits: the sender asks `waiting()` before it claims orders
 * or operations, and goes on reconciling what is in flight. Orders are still accepted meanwhile;
 * they stay received, and go on by themselves when the wallet is topped up or the fees fall.
 * Each change (a wait that starts or ends) is logged once, with its alert name.
 */
import { formatEther, formatUnits } from "ethers";
import type { Logger } from "pino";
import type { ChainPort, FeeCapError } from "../adapters/chain/chain";

export type WaitKind = "gas-balance" | "fee-cap" | "replacement-fee-cap";

/** Why new chain work waits, in people's words, with the alert name the log line carries. */
export interface WaitReason {
  kind: WaitKind;
  alert: string;
  message: string;
}

/** What the last check read from the chain. */
export interface GasReading {
  balance: bigint;
  maxFeePerGas: bigint;
}

const ALERTS: Record<WaitKind, string> = {
  "gas-balance": "relayer-gas-low",
  "fee-cap": "relayer-fee-above-cap",
  "replacement-fee-cap": "relayer-replacement-above-cap",
};

/** A held replacement counts as a wait while the sender reports it again within this (it does each round). */
const REPLACEMENT_HELD_MS = 30_000;

export const gwei = (wei: bigint) => formatUnits(wei, "gwei");

/** The least native balance (ether) of the relayer's wallet unless GP_MIN_GAS_BALANCE says otherwise. */
export const DEFAULT_MIN_GAS_BALANCE = "0.05";

export function createGasWatch(deps: { chain: ChainPort; log: Logger; /** wei; 0 turns the balance check off */ minBalance: bigint }) {
  const { chain, log, minBalance } = deps;
  let reading: GasReading | null = null;
  let reasons: WaitReason[] = [];
  let replacementHeld: { error: FeeCapError; at: number } | null = null;

  /** Logs the waits that start and end, once each, and keeps the new list. */
  function update(next: WaitReason[]) {
    for (const r of next)
      if (!reasons.some((k) => k.kind === r.kind)) log.error({ alert: r.alert, wait: r.kind }, `new chain work waits: ${r.message}`);
    for (const r of reasons)
      if (!next.some((k) => k.kind === r.kind)) log.info({ alert: r.alert, wait: r.kind, resolved: true }, "new chain work goes on again");
    reasons = next;
  }

  function reasonsNow(): WaitReason[] {
    const next: WaitReason[] = [];
    if (reading && minBalance > 0n && reading.balance < minBalance) {
      next.push({
        kind: "gas-balance",
        alert: ALERTS["gas-balance"],
        message:
          `the relayer wallet ${chain.sender} holds ${formatEther(reading.balance)} (native, in ether), below the minimum of ` +
          `${formatEther(minBalance)} (GP_MIN_GAS_BALANCE); new transactions wait for a top-up`,
      });
    }
    if (reading && chain.feeCap !== null && reading.maxFeePerGas > chain.feeCap) {
      next.push({
        kind: "fee-cap",
        alert: ALERTS["fee-cap"],
        message:
          `the chain's fee (a max fee of ${gwei(reading.maxFeePerGas)} gwei per gas) is above the cap of ${gwei(chain.feeCap)} gwei ` +
          "(GP_MAX_FEE_GWEI); new transactions wait for fees to fall",
      });
    }
    if (replacementHeld && Date.now() - replacementHeld.at < REPLACEMENT_HELD_MS) {
      next.push({
        kind: "replacement-fee-cap",
        alert: ALERTS["replacement-fee-cap"],
        message:
          `a transaction not mined in time is not replaced: its replacement's max fee of ${gwei(replacementHeld.error.maxFeePerGas)} ` +
          `gwei per gas would be above the cap of ${gwei(replacementHeld.error.cap)} gwei (GP_MAX_FEE_GWEI); it is broadcast again as it is`,
      });
    }
    return next;
  }

  return {
    /** Reads the wallet's balance and the fees; a relayer step (it throws when the node does not answer). */
    async check(): Promise<void> {
      const [balance, quote] = await Promise.all([chain.nativeBalance(), chain.feeQuote()]);
      reading = { balance, maxFeePerGas: quote.maxFeePerGas };
      update(reasonsNow());
    },
    /** The sender could not replace a stuck transaction under the fee cap (it broadcast the old one again). */
    replacementHeld(error: FeeCapError): void {
      replacementHeld = { error, at: Date.now() };
      update(reasonsNow());
    },
    /** Why new chain work waits now; empty when it goes on. */
    waiting(): readonly WaitReason[] {
      if (replacementHeld && Date.now() - replacementHeld.at >= REPLACEMENT_HELD_MS) {
        replacementHeld = null;
        update(reasonsNow());
      }
      return reasons;
    },
    /** What the last check read; null before the first one. */
    reading: (): GasReading | null => reading,
    minBalance,
  };
}

export type GasWatch = ReturnType<typeof createGasWatch>;
