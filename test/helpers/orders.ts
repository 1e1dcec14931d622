import type { PoolFixture } from "./fixtures";
import { orderId } from "./fixtures";

let counter = 0;

/** A fresh order for `buyer` of `amount` base units, with a unique id. */
export function newOrder(buyer: string, amount: bigint, label = `order-${++counter}`) {
  return { orderId: orderId(label), buyer, amount };
}

/** Records one order through the relayer and returns the GP minted (from the event). */
export async function placeOrder(f: PoolFixture, shopIndex: number, buyer: string, amount: bigint): Promise<bigint> {
  const order = newOrder(buyer, amount);
  const tx = await f.pool.connect(f.relayer).recordOrder(f.shops[shopIndex].address, order);
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = f.pool.interface.parseLog(log);
    if (parsed?.name === "OrderRecorded") return parsed.args.points as bigint;
  }
  throw new Error("no OrderRecorded event");
}
