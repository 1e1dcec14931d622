/**
 * Sales to a merchant, as the core records them: a user's custodial payment to one (a module reads
 * its own fields of a shop's order through `OrderExtension`, services/order-intake.ts). Modules hear
 * of each through their hook, in the transaction that records it (rewarded ads keeps it as an ad
 * sale, earning vouchers once confirmed); a hook that throws refuses the sale and rolls the
 * transaction back.
 */
import type { Queryable } from "../adapters/db/db";
import type { SaleAsset } from "../domain/assets";

export interface RecordedSale {
  userId: string;
  merchantId: string;
  /** The payment (its operation) the sale was recorded with. */
  source: { paymentId: string };
  /** What it paid (GP or CP), in that asset's base units. */
  asset: SaleAsset;
  paid: bigint;
}

/** A module's hook for a recorded sale, run in the recording transaction. */
export type SaleHook = (tx: Queryable, sale: RecordedSale) => Promise<void>;

/** Tells each hook of the sale, in the modules' order, in `tx`. */
export async function saleRecorded(hooks: readonly SaleHook[], tx: Queryable, sale: RecordedSale): Promise<void> {
  for (const hook of hooks) await hook(tx, sale);
}
