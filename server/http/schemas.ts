/** Schemas shared by several routers. */
import { isAddress } from "ethers";
import { z } from "zod";
import { ASSETS } from "../domain/assets";
import { idSchema } from "../domain/ids";

/** An order's state as the fixed interface names it (SPEC section 10): four states, whatever the shop's terms. */
export const OrderStateName = z
  .enum(["received", "submitted", "confirmed", "rejected"])
  .meta({
    id: "OrderState",
    description:
      "A pending order (held for the shop's window) is `received` with `pending: true`; one refunded whole while pending is " +
      "`rejected` with `cancelled: true`.",
  });

/** Every state an order takes inside the relayer, for the operator: `pending` and `cancelled` besides the four. */
export const OrderLifecycleState = z
  .enum(["pending", "received", "submitted", "confirmed", "rejected", "cancelled"])
  .meta({
    id: "OrderLifecycleState",
    description: "`pending`: held for the shop's pending window; `cancelled`: refunded whole while pending.",
  });

/** The fixed interface's name for an internal state. */
export function publicOrderState(state: z.infer<typeof OrderLifecycleState>): z.infer<typeof OrderStateName> {
  if (state === "pending") return "received";
  if (state === "cancelled") return "rejected";
  return state;
}

export const OrderView = z
  .object({
    shopId: z.string(),
    orderId: z.string(),
    userId: z.string(),
    amount: z.string().meta({ description: "Settlement units, as sent." }),
    state: OrderStateName,
    pending: z.literal(true).optional().meta({ description: "Held for the shop's pending window (state `received`): see `releaseAt`." }),
    cancelled: z
      .literal(true)
      .optional()
      .meta({ description: "Refunded whole while pending (state `rejected`): nothing was paid into the pool or minted." }),
    gpMinted: z.string().optional().meta({ description: "GP credited to the buyer, once confirmed." }),
    txHash: z.string().optional(),
    reason: z
      .string()
      .optional()
      .meta({
        description:
          'Why the order was rejected; or, while received, why it waits ("parked: ..."; retried by itself; "shop balance too low": ' +
          "a prefunded shop's deposits do not cover it, sent by itself after a top-up).",
      }),
    reasonCode: z
      .enum(["SHOP_BALANCE_TOO_LOW"])
      .optional()
      .meta({ description: "The stable code of why a received order waits, when there is one." }),
    releaseAt: z.string().optional().meta({ description: "While pending: when it is sent (ISO 8601)." }),
    estimate: z
      .string()
      .optional()
      .meta({ description: "While pending: GP it would credit the buyer at today's price (minted at the price of its release)." }),
    refunded: z.string().optional().meta({ description: "What the shop refunded of it, settlement units." }),
    contribution: z.string().optional().meta({ description: "What was paid into the pool for it, once sent." }),
  })
  .meta({ id: "Order" });

export const Id = (description: string, example: string) => idSchema().meta({ description, example });

/** An amount as a decimal string of whole units; its places are checked against its token. */
export const Amount = (description: string, example: string) =>
  z
    .string()
    .regex(/^\d{1,40}(\.\d{1,18})?$/, 'must be a decimal string like "12.5"')
    .meta({ description, example });

export const AssetName = z
  .enum(ASSETS)
  .meta({ id: "Asset", description: "GP (appreciating, 18 decimals) or CP (1 settlement unit each)." });

/**
 * An address: 0x and 40 hex digits, all in one case or with the mixed case of its EIP-55
 * checksum (ethers' `isAddress`), so a mistyped one is refused here and never reaches `getAddress`.
 */
export const Address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .refine(isAddress, "its mixed case is not a valid EIP-55 checksum (send it checksummed, or all in lower case)")
  .meta({
    description: "0x and 40 hex digits: all lower (or upper) case, or checksummed (EIP-55); a wrong checksum is refused.",
    example: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  });

export const Signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte 0x-hex signature")
  .meta({ description: "EIP-712 signature, 65 bytes." });

export const OperationStateName = z.enum(["queued", "submitted", "confirmed", "rejected"]).meta({ id: "OperationState" });

export const OperationView = z
  .object({
    operationId: z.string().meta({ example: "op_3f9a1c0d2b4e6f8a0c1d" }),
    kind: z.string().meta({ example: "pay-merchant" }),
    state: OperationStateName,
    details: z.record(z.string(), z.string()).meta({ description: "The request, amounts in whole units." }),
    txHash: z.string().optional(),
    reason: z.string().optional().meta({ description: "Why the chain refused it." }),
    events: z
      .array(z.object({ name: z.string(), args: z.record(z.string(), z.string()) }))
      .optional()
      .meta({ description: "What the confirmed transaction did, as the contracts' events (base units)." }),
    createdAt: z.string(),
  })
  .meta({ id: "Operation", description: "A chain operation the relayer queued: poll it until confirmed or rejected." });

/** A redemption request: which asset, how much of it, and the least settlement accepted. */
export const RedemptionBody = (amountExample: string) =>
  z.object({
    asset: AssetName,
    amount: Amount("In whole units of the asset.", amountExample),
    minPayout: Amount("Settlement units.", "0").optional(),
  });

/** A merchant's API key, by its id. */
export const KeyParams = z.object({ keyId: Id("The key's id (the part after gpk_).", "key_0a1b2c3d4e5f") });
export const Revoked = z.object({ keyId: z.string(), revoked: z.literal(true) });
/** A merchant's API key as issued: its secret shown this once. */
export const MerchantCredentials = z
  .object({
    merchantId: z.string().meta({ example: "mer_8a7b6c5d4e3f" }),
    keyId: z.string().meta({ example: "key_0a1b2c3d4e5f" }),
    apiKey: z.string().meta({ description: "Shown once; stored only as a hash.", example: "gpk_key_0a1b2c3d4e5f_…" }),
  })
  .meta({ id: "MerchantCredentials" });

/** A login password, and a payment password, as every route that sets one takes them. */
export const Password = z.string().min(8, "must be at least 8 characters").max(256);
export const PaymentPassword = z.string().min(6, "must be at least 6 characters").max(256);
/** A session as a log-in answers it. */
export const Session = z.object({
  token: z
    .string()
    .optional()
    .meta({
      description: "The session token (`gps_…`), a bearer token; absent when the request asked for cookies (`X-GP-Session: cookie`).",
    }),
  userId: z.string(),
  expiresAt: z.string(),
});
