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
    reason: z.string().optional().meta({ description: "Why the order was rejected." }),
  })
  .meta({ id: "Order" });

export const Id = (description: string, example: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, "must be 1 to 128 letters, digits or _.:@-")
    .meta({ description, example });
