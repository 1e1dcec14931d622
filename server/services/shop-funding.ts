/**
 * Who pays a shop's orders (docs/rules.md, "Who pays, pending points and refunds"): the shop's
 * terms set by the operator, a prefunded shop's deposits seen on the chain, the release of pending
 * orders when their window ends, and the shop's statement.
 *
 * A prefunded shop pays by transferring settlement from its registered payer address to the
 * platform's deposit address (the treasury the relayer's float is refilled from, or the relayer's
 * own address when there is none). Each such Transfer, read from the chain, is a deposit; the
 * shop's balance is its deposits less the contributions of its orders sent or confirmed. Nothing
 * is credited that the chain does not show.
 */
import { getAddress, isAddress } from "ethers";
import type { Logger } from "pino";
import type { ChainPort } from "../adapters/chain/chain";
import type { Db, Queryable } from "../adapters/db/db";
import { insertDeposit, releaseDue, shopBalance, wakeShopOrders } from "../adapters/db/orders";
import { type Shop, type ShopTerms, findShop, setShopTerms } from "../adapters/db/shops";
import { formatAmount } from "../domain/display";
import { AppError } from "../errors";
import { csvCell } from "./statements";

/** The longest pending window: 90 days. */
export const MAX_PENDING_SECONDS = 90 * 86_400;

/** Where prefunded shops deposit: the treasury when the relayer has one, else the relayer's own address. */
export const depositAddressOf = (chain: ChainPort, treasury: string | null | undefined) => getAddress(treasury ?? chain.sender);

export interface TermsView {
  shopId: string;
  funding: Shop["funding"];
  payer: string | null;
  depositAddress: string;
  pendingDays: number;
  pendingSeconds: number;
  refundPolicy: Shop["refundPolicy"];
  /** Prefunded: deposits seen on the chain, what orders took of them, what is left; settlement units. */
  balance: { deposited: string; spent: string; available: string };
}

export function createShopFunding(deps: { chain: ChainPort; treasury: string | null; settlementDecimals: number }) {
  const d = deps.settlementDecimals;
  const depositAddress = depositAddressOf(deps.chain, deps.treasury);

  async function view(db: Queryable, shop: Shop): Promise<TermsView> {
    const b = await shopBalance(db, shop.id);
    return {
      shopId: shop.id,
      funding: shop.funding,
      payer: shop.payer,
      depositAddress,
      pendingDays: shop.pendingSeconds / 86_400,
      pendingSeconds: shop.pendingSeconds,
      refundPolicy: shop.refundPolicy,
      balance: {
        deposited: formatAmount(b.deposited, d),
        spent: formatAmount(b.spent, d),
        available: formatAmount(b.deposited - b.spent, d),
      },
    };
  }

  async function requireShop(db: Queryable, shopId: string): Promise<Shop> {
    const shop = await findShop(db, shopId);
    if (!shop) throw new AppError("NOT_FOUND", `no shop ${shopId}`, { shopId });
    return shop;
  }

  return {
    depositAddress,
    view,
    requireShop,
    async terms(db: Queryable, shopId: string): Promise<TermsView> {
      return view(db, await requireShop(db, shopId));
    },
    /**
     * Sets the shop's terms; a field left out keeps its value. A prefunded shop needs a payer
     * address, which no other shop has. Orders waiting for the balance are looked at again.
     */
    async setTerms(
      db: Queryable,
      shopId: string,
      body: { funding?: Shop["funding"]; payer?: string | null; pendingSeconds?: number; refundPolicy?: Shop["refundPolicy"] },
    ): Promise<TermsView> {
      const shop = await requireShop(db, shopId);
      if (body.payer && !isAddress(body.payer)) throw new AppError("VALIDATION_FAILED", "payer must be an address", { payer: body.payer });
      const next: ShopTerms = {
        funding: body.funding ?? shop.funding,
        payer: body.payer === undefined ? shop.payer : body.payer === null ? null : body.payer.toLowerCase(),
        pendingSeconds: body.pendingSeconds ?? shop.pendingSeconds,
        refundPolicy: body.refundPolicy ?? shop.refundPolicy,
      };
      if (next.funding === "prefunded" && !next.payer) {
        throw new AppError("PAYER_REQUIRED", "a prefunded shop needs the address it deposits from (payer)", { shopId });
      }
      if (next.payer) {
        const [taken] = await db.query<{ id: string }>("SELECT id FROM shops WHERE payer = $1 AND id <> $2", [next.payer, shopId]);
        if (taken) throw new AppError("PAYER_IN_USE", "another shop deposits from this address", { payer: next.payer });
      }
      await setShopTerms(db, shopId, next);
      await wakeShopOrders(db, shopId);
      return view(db, (await findShop(db, shopId))!);
    },
  };
}

export type ShopFunding = ReturnType<typeof createShopFunding>;

/**
 * The relayer's steps of this part: pending orders whose window ended (by the relayer's clock) go
 * to the queue, and prefunded shops' deposits are read from the chain (a new one wakes the shop's
 * waiting orders).
 */
export function createFundingSteps(deps: { db: Db; chain: ChainPort; treasury: string | null; nowSeconds: () => number; log: Logger }) {
  const depositAddress = depositAddressOf(deps.chain, deps.treasury);
  const settlement = deps.chain.settlement;
  return {
    async release(): Promise<void> {
      const released = await releaseDue(deps.db, deps.nowSeconds());
      if (released > 0) deps.log.info({ released }, "pending orders' windows ended; they are queued");
    },
    async deposits(): Promise<void> {
      const shops = await deps.db.query<{ id: string; payer: string }>(
        "SELECT id, payer FROM shops WHERE funding = 'prefunded' AND payer IS NOT NULL ORDER BY id",
      );
      for (const shop of shops) {
        const events = await deps.chain.findEvents(await settlement.getAddress(), settlement.interface, "Transfer", [
          shop.payer,
          depositAddress,
        ]);
        const ordinals = new Map<string, number>();
        let fresh = false;
        for (const e of events) {
          const ordinal = ordinals.get(e.txHash) ?? 0;
          ordinals.set(e.txHash, ordinal + 1);
          const inserted = await insertDeposit(deps.db, {
            txHash: e.txHash,
            ordinal,
            shopId: shop.id,
            payer: shop.payer,
            amount: BigInt(e.args.value),
            blockNumber: e.blockNumber,
          });
          fresh ||= inserted;
        }
        if (fresh) {
          await wakeShopOrders(deps.db, shop.id);
          deps.log.info({ shopId: shop.id }, "a prefunded shop's deposit arrived");
        }
      }
    },
  };
}

export interface StatementRow {
  time: string;
  type: "order" | "refund" | "deposit";
  orderId: string;
  refundId: string;
  state: string;
  amount: string;
  contribution: string;
  gpMinted: string;
  refunded: string;
  clawback: string;
  spent: string;
  paidBy: string;
  txHash: string;
}

/**
 * A shop's statement over [from, to): every order received in it (its amount, contribution, who
 * paid it, GP minted), every refund (what it cancelled, clawed back, or found already spent) and
 * every deposit; with totals, and what the shop owes the platform (invoiced: the contributions
 * the platform's wallet paid) or has prepaid (prefunded: deposits less what orders took).
 */
export async function shopStatement(db: Queryable, shop: Shop, range: { from: Date | null; to: Date | null }, d: number) {
  const args = [shop.id, range.from, range.to];
  const within = (col: string) => `($2::timestamptz IS NULL OR ${col} >= $2) AND ($3::timestamptz IS NULL OR ${col} < $3)`;
  const orders = await db.query<{
    order_id: string;
    state: string;
    amount: string;
    refunded: string;
    contribution: string | null;
    paid_by: string | null;
    gp_minted: string | null;
    tx_hash: string | null;
    created_at: Date | string;
  }>(
    `SELECT order_id, state, amount::text AS amount, refunded::text AS refunded, contribution::text AS contribution, paid_by,
       gp_minted::text AS gp_minted, tx_hash, created_at FROM orders WHERE shop_id = $1 AND ${within("created_at")}
     ORDER BY created_at, order_id`,
    args,
  );
  const refunds = await db.query<{
    refund_id: string;
    order_id: string;
    amount: string;
    outcome: string;
    clawback: string;
    spent: string;
    op_state: string | null;
    op_tx: string | null;
    created_at: Date | string;
  }>(
    `SELECT r.refund_id, r.order_id, r.amount::text AS amount, r.outcome, r.clawback::text AS clawback, r.spent::text AS spent,
       op.state AS op_state, op.tx_hash AS op_tx, r.created_at
     FROM refunds r LEFT JOIN operations op ON op.id = r.operation_id WHERE r.shop_id = $1 AND ${within("r.created_at")}
     ORDER BY r.created_at, r.refund_id`,
    args,
  );
  const deposits = await db.query<{ tx_hash: string; amount: string; created_at: Date | string }>(
    `SELECT tx_hash, amount::text AS amount, created_at FROM shop_deposits WHERE shop_id = $1 AND ${within("created_at")}
     ORDER BY created_at, tx_hash, ordinal`,
    args,
  );
  const f = (v: bigint) => formatAmount(v, d);
  const blank = {
    orderId: "",
    refundId: "",
    state: "",
    amount: "",
    contribution: "",
    gpMinted: "",
    refunded: "",
    clawback: "",
    spent: "",
    paidBy: "",
    txHash: "",
  };
  const rows: StatementRow[] = [];
  const totals = {
    orders: 0n,
    contributions: 0n,
    paidByPlatform: 0n,
    paidByShop: 0n,
    gpMinted: 0n,
    refunded: 0n,
    clawedBack: 0n,
    alreadySpent: 0n,
    deposited: 0n,
  };
  for (const o of orders) {
    const paid = o.state === "submitted" || o.state === "confirmed";
    const contribution = paid && o.contribution !== null ? BigInt(o.contribution) : 0n;
    if (o.state !== "rejected") totals.orders += BigInt(o.amount);
    totals.contributions += contribution;
    if (o.paid_by === "shop") totals.paidByShop += contribution;
    else totals.paidByPlatform += contribution;
    if (o.state === "confirmed" && o.gp_minted) totals.gpMinted += BigInt(o.gp_minted);
    rows.push({
      ...blank,
      time: new Date(o.created_at).toISOString(),
      type: "order",
      orderId: o.order_id,
      state: o.state,
      amount: f(BigInt(o.amount)),
      contribution: paid && o.contribution !== null ? f(contribution) : "",
      gpMinted: o.state === "confirmed" && o.gp_minted ? formatAmount(BigInt(o.gp_minted), 18) : "",
      refunded: BigInt(o.refunded) > 0n ? f(BigInt(o.refunded)) : "",
      paidBy: paid ? (o.paid_by ?? "platform") : "",
      txHash: o.tx_hash ?? "",
    });
  }
  for (const r of refunds) {
    totals.refunded += BigInt(r.amount);
    const clawed = r.op_state === "confirmed" ? BigInt(r.clawback) : 0n;
    totals.clawedBack += clawed;
    totals.alreadySpent += BigInt(r.spent);
    rows.push({
      ...blank,
      time: new Date(r.created_at).toISOString(),
      type: "refund",
      orderId: r.order_id,
      refundId: r.refund_id,
      state: r.outcome === "clawback" ? `clawback ${r.op_state ?? "none"}` : r.outcome,
      refunded: f(BigInt(r.amount)),
      clawback: BigInt(r.clawback) > 0n ? formatAmount(BigInt(r.clawback), 18) : "",
      spent: BigInt(r.spent) > 0n ? formatAmount(BigInt(r.spent), 18) : "",
      txHash: r.op_tx ?? "",
    });
  }
  for (const dep of deposits) {
    totals.deposited += BigInt(dep.amount);
    rows.push({
      ...blank,
      time: new Date(dep.created_at).toISOString(),
      type: "deposit",
      amount: f(BigInt(dep.amount)),
      txHash: dep.tx_hash,
    });
  }
  rows.sort((a, b) => a.time.localeCompare(b.time));
  // Over all time, not the period: what is owed or prepaid now.
  const balance = await shopBalance(db, shop.id);
  const [owed] = await db.query<{ owed: string }>(
    `SELECT COALESCE(sum(contribution), 0)::text AS owed FROM orders
     WHERE shop_id = $1 AND state IN ('submitted', 'confirmed') AND paid_by = 'platform'`,
    [shop.id],
  );
  const [settled] = await db.query<{ total: string }>(
    "SELECT COALESCE(sum(amount), 0)::text AS total FROM shop_settlements WHERE shop_id = $1",
    [shop.id],
  );
  return {
    shopId: shop.id,
    funding: shop.funding,
    from: range.from?.toISOString() ?? null,
    to: range.to?.toISOString() ?? null,
    rows,
    totals: {
      orders: f(totals.orders),
      contributions: f(totals.contributions),
      paidByPlatform: f(totals.paidByPlatform),
      paidByShop: f(totals.paidByShop),
      gpMinted: formatAmount(totals.gpMinted, 18),
      refunded: f(totals.refunded),
      clawedBack: formatAmount(totals.clawedBack, 18),
      alreadySpent: formatAmount(totals.alreadySpent, 18),
      deposited: f(totals.deposited),
    },
    owesPlatform: f(BigInt(owed.owed)),
    outstanding: f(shop.outstanding),
    settled: f(BigInt(settled.total)),
    prepaid: f(balance.deposited - balance.spent),
  };
}

const STATEMENT_COLUMNS: (keyof StatementRow)[] = [
  "time",
  "type",
  "orderId",
  "refundId",
  "state",
  "amount",
  "contribution",
  "gpMinted",
  "refunded",
  "clawback",
  "spent",
  "paidBy",
  "txHash",
];

export function shopStatementCsv(rows: readonly StatementRow[]): string {
  return [STATEMENT_COLUMNS.join(","), ...rows.map((r) => STATEMENT_COLUMNS.map((c) => csvCell(r[c])).join(","))].join("\r\n") + "\r\n";
}
