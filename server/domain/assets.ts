/**
 * The assets, named once for the API, the database and the chain. A custodial account holds GP
 * (appreciating, 18 decimals) and CP (constant points, one settlement base unit each); a sale
 * that earns vouchers is paid in one of them or, for an order, in settlement. The API's `Asset`
 * schema, the `voucher_sales.asset` column's CHECK and the custody's `ICustody.Asset` enum all
 * spell them from here.
 */
import { AppError } from "../errors";

/** What a custodial account holds, as the API and the database spell it. */
export const ASSETS = ["GP", "CP"] as const;
export type Asset = (typeof ASSETS)[number];

/** `ICustody.Asset`'s ordinal for each asset, as the custody's calls and events carry it. */
export const CHAIN_ASSET = { GP: 0, CP: 1 } as const satisfies Record<Asset, number>;

/** What a sale was paid in: settlement (an order), or GP or CP (a custodial payment); stored in `voucher_sales.asset`. */
export const SALE_ASSETS = ["settlement", ...ASSETS] as const;
export type SaleAsset = (typeof SALE_ASSETS)[number];

/** The decimals of an asset's amounts: GP has 18, CP and settlement the settlement token's. */
export const decimalsOf = (asset: SaleAsset, settlementDecimals: number) => (asset === "GP" ? 18 : settlementDecimals);

/** The asset an operation's details name (kept as the request sent it, so one of `ASSETS`). */
export function storedAsset(value: string): Asset {
  const asset = ASSETS.find((a) => a === value);
  if (!asset) throw new AppError("INTERNAL", `a stored operation names an unknown asset ${value}`);
  return asset;
}
