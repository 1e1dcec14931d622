/**
 * What the wallet's parts share: the signed-in account (GET /v1/me), the pool (for the price and
 * the exit fee), and operations followed until the chain confirms or refuses them. Each part of
 * the wallet (auth, balances, history, actions, original account, ads, referral) reads these and
 * calls `refresh()` after it changed something.
 */
import { signal } from "@preact/signals";
import { api, hasSession } from "../lib/api";
import { type Operation, followOperation } from "../lib/operations";

export type { Operation };

export interface Me {
  userId: string;
  account: string;
  points: string;
  constantPoints: string;
  settlement: string;
  redeemableNow: string;
  original: string | null;
  referrerId: string | null;
  registeredOnChain: boolean;
  paymentPasswordSet: boolean;
  phone: string | null;
  /** Orders held for their shop's pending window: GP minted at `releaseAt`, at the price then; `estimate` at today's. */
  pendingOrders: { shopId: string; orderId: string; amount: string; releaseAt: string; estimate: string }[];
}

export interface PoolSummary {
  price: string;
  assets: string;
  supply: string;
  paused: boolean;
  chainId: string;
  contracts: { pool: string; points: string; custody: string; settlement: string };
  settlement: { decimals: number; symbol: string };
  params: { exitFeeBps: number; poolShareBps: number; mintShareBps: number };
}

/** null: not signed in (or not known yet, while `ready` is false). */
export const me = signal<Me | null>(null);
export const pool = signal<PoolSummary | null>(null);
export const ready = signal(false);

/** Reads the account and the pool again; a lost session signs the page out. */
export async function refresh(): Promise<void> {
  const poolRead = api<PoolSummary>("GET", "/v1/pool").then((p) => (pool.value = p));
  // Without the CSRF cookie there is no session: no call that would only answer 401.
  if (!hasSession()) me.value = null;
  else {
    try {
      me.value = await api<Me>("GET", "/v1/me");
    } catch (error) {
      if ((error as { status?: number }).status === 401) me.value = null;
      else throw error;
    }
  }
  await poolRead;
  ready.value = true;
}

/** Follows an operation (lib/operations.ts); the balances are read again at the end. */
export async function follow(operationId: string, onChange: (op: Operation) => void): Promise<Operation> {
  const op = await followOperation(operationId, onChange);
  void refresh();
  return op;
}
