/**
 * What the relayer's gas may be spent on. A relayed signature costs the relayer gas and the
 * owner nothing, so it is refused when it would move nothing (an owner holding no GP, or less
 * than the value named; a permit of zero), and each user's relays are capped in gas per UTC day.
 * The cap is money, so it is counted in the database (shared by every relayer process): the gas
 * the receipts of the user's relays show today, plus the estimate of those not mined yet, under
 * a per-user lock so that two requests cannot both take the last of it.
 */
import type { ChainPort } from "../adapters/chain/chain";
import type { Queryable } from "../adapters/db/db";
import { lockRelayActor, relayedGasSince } from "../adapters/db/operations";
import { AppError } from "../errors";

const DAY_MS = 86_400_000;

/**
 * Refuses (NOTHING_TO_RELAY) a relay whose owner holds no GP, a transfer, redemption or deposit
 * of more than the owner holds, and a permit of zero. A permit may name more than the balance
 * (an allowance is a ceiling), but not from an owner who holds nothing.
 */
export async function assertSomethingToRelay(chain: ChainPort, r: { kind: string; owner: string; value: bigint }): Promise<void> {
  const holds = await chain.points.balanceOf(r.owner);
  const details = { owner: r.owner, holds: holds.toString(), needs: r.value.toString() };
  if (r.value === 0n) throw new AppError("NOTHING_TO_RELAY", "a value of zero moves nothing", details);
  if (holds === 0n) throw new AppError("NOTHING_TO_RELAY", "the owner holds no GP: there is nothing to move", details);
  if (r.kind !== "permit" && holds < r.value) {
    throw new AppError("NOTHING_TO_RELAY", "the owner holds less GP than the value named", details);
  }
}

/**
 * Locks the actor's relays until the transaction ends and returns the gas they used today (UTC),
 * with the day's cap: the budget `queueCall` checks the new relay's estimate against.
 */
export async function relayGasBudget(tx: Queryable, actor: string, dailyGas: bigint, now = Date.now()) {
  await lockRelayActor(tx, actor);
  const dayStart = new Date(Math.floor(now / DAY_MS) * DAY_MS);
  return { usedToday: await relayedGasSince(tx, actor, dayStart), dailyGas };
}
