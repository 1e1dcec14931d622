/**
 * The ad-credit contract in the chain port's registry. A data folder made before rewarded ads
 * has no address for it: every call of it then answers ADS_UNAVAILABLE.
 */
import type { ContractEntry } from "../../adapters/chain/chain";
import { AppError } from "../../errors";
import { type AdCredit, AdCredit__factory } from "../../../typechain-types";

declare module "../../adapters/chain/chain" {
  interface Deployments {
    /** The ad-credit contract; absent in a data folder made before rewarded ads. */
    adCredit?: string;
  }
  interface ChainContracts {
    /** Null on a deployment made before rewarded ads. */
    adCredit: AdCredit | null;
  }
}

declare module "../../services/operations" {
  interface TargetContracts {
    /** The ad credit's calls, typed like the core's (operations name it `ads`). */
    ads: AdCredit;
  }
}

/** Rewarded ads need the ad-credit contract, which a deployment made before them lacks. */
export function adsUnavailable(): AppError {
  return new AppError("ADS_UNAVAILABLE", "this deployment has no ad-credit contract (its data folder predates rewarded ads)");
}

export const adCreditContract: ContractEntry<"adCredit"> = {
  name: "adCredit",
  // Operations recorded before the registry name it so.
  target: "ads",
  label: "ad credit",
  connect: AdCredit__factory.connect,
  // Issuances and conversions name their first sale's or conversion's id.
  requests: true,
  relayerRoles: ["RELAYER_ROLE", "PARAMETER_ROLE"],
  // The operator's top-ups (POST /v1/admin/merchants/{id}/ad-credit) are paid from the relayer's float.
  spender: true,
  unavailable: adsUnavailable,
};
