/**
 * An operation as GET /v1/operations/{operationId} answers it, and following it until the chain
 * confirms or refuses it: what every page that moves value shares.
 */
import { api } from "./api";

export interface Operation {
  operationId: string;
  kind: string;
  state: "queued" | "submitted" | "confirmed" | "rejected";
  details: Record<string, string>;
  txHash?: string;
  reason?: string;
  events?: { name: string; args: Record<string, string> }[];
  createdAt: string;
}

const FINAL = new Set<Operation["state"]>(["confirmed", "rejected"]);
const POLL_MS = 700;

/** Polls the operation until it is confirmed or rejected, telling `onChange` each new state. */
export async function followOperation(operationId: string, onChange: (op: Operation) => void): Promise<Operation> {
  let last = "";
  for (;;) {
    const op = await api<Operation>("GET", `/v1/operations/${encodeURIComponent(operationId)}`);
    if (op.state !== last) {
      last = op.state;
      onChange(op);
    }
    if (FINAL.has(op.state)) return op;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
