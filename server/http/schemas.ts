/** Schemas shared by several routers. */
import { z } from "zod";

export const OrderStateName = z.enum(["received", "submitted", "confirmed", "rejected"]).meta({ id: "OrderState" });

export const OrderView = z
  .object({
    shopId: z.string(),
    orderId: z.string(),
    userId: z.string(),
    amount: z.string().meta({ description: "Settlement units, as sent." }),
    state: OrderStateName,
    gpMinted: z.string().optional().meta({ description: "GP credited to the buyer, once confirmed." }),
    txHash: z.string().optional(),
    reason: z
      .string()
      .optional()
      .meta({ description: 'Why the order was rejected; or, while received, why it waits ("parked: ..."; retried by itself).' }),
  })
  .meta({ id: "Order" });

export const Id = (description: string, example: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, "must be 1 to 128 letters, digits or _.:@-")
    .meta({ description, example });

/** An amount as a decimal string of whole units; its places are checked against its token. */
export const Amount = (description: string, example: string) =>
  z
    .string()
    .regex(/^\d{1,40}(\.\d{1,18})?$/, 'must be a decimal string like "12.5"')
    .meta({ description, example });

export const AssetName = z
  .enum(["GP", "CP"])
  .meta({ id: "Asset", description: "GP (appreciating, 18 decimals) or CP (1 settlement unit each)." });

export const Address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .meta({ example: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" });

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
