/**
 * Signed requests from original accounts, relayed so their owners need no gas: an EIP-2612
 * permit and the EIP-712 transfer of GP, a redemption at the pool, and a deposit into the
 * caller's custodial account. The signature is the authority; a session is asked for so that
 * only the platform's users spend the relayer's gas. Each is run on the chain first: a bad or
 * expired signature is refused at once and nothing is queued.
 */
import { Signature as EthSignature, type Interface, getAddress } from "ethers";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { Queryable } from "../adapters/db/db";
import type { OperationTarget } from "../adapters/db/operations";
import { parseAmount } from "../domain/amounts";
import { AppError } from "../errors";
import { newOperationId, queueOperation } from "../services/operations";
import type { Principal } from "./auth";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, OperationView, Signature } from "./schemas";
import { accepted, positive } from "./users";

const Deadline = z
  .string()
  .regex(/^\d{1,20}$/, "must be unix seconds")
  .meta({ example: "1767225600" });

export function relayRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const actorOf = (p: Principal) => {
    if (p.kind !== "user") throw new AppError("FORBIDDEN", "this endpoint is for users");
    return { actor: `user:${p.userId}`, account: custodialUserId(deps.userSalt, p.userId) };
  };
  const queue = (
    db: Queryable,
    p: Principal,
    kind: string,
    target: OperationTarget,
    iface: Interface,
    fn: string,
    args: unknown[],
    details: Record<string, string>,
  ) => {
    const who = actorOf(p);
    return queueOperation(db, chain, {
      id: newOperationId(),
      kind,
      actor: who.actor,
      account: kind === "deposit-by-sig" ? who.account : null,
      counterparty: null,
      requestId: null,
      target,
      calldata: iface.encodeFunctionData(fn, args),
      details,
    });
  };
  const relay = (
    path: string,
    summary: string,
    description: string,
    body: z.ZodObject,
    run: (b: Record<string, string>, p: Principal, db: Queryable) => Promise<import("../adapters/db/operations").OperationRecord>,
  ) =>
    defineRoute(host, {
      method: "post",
      path,
      tag: "relay",
      summary,
      description,
      auth: ["user"],
      idempotent: true,
      body: body.strict(),
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["CHAIN_REFUSED", "INSUFFICIENT_BALANCE", "FORBIDDEN"],
      handle: async ({ body, principal, db }) => accepted(await run(body as Record<string, string>, principal, db)),
    });
  const points = chain.points.interface as unknown as Interface;

  relay(
    "/v1/relay/deposits",
    "Deposit GP from an original account into my custodial account",
    "The owner signs an EIP-712 `Deposit` (Green Points Custody domain) naming my custodial account; original → custodial is free.",
    z.object({ owner: Address, points: Amount("GP.", "5"), deadline: Deadline, signature: Signature }),
    async (b, p, db) => {
      const { account } = actorOf(p);
      const owner = getAddress(b.owner);
      const nonce = await chain.custody.nonces(owner);
      const args = [owner, account, positive(b.points, 18, "points"), BigInt(b.deadline), b.signature];
      return queue(db, p, "deposit-by-sig", "custody", chain.custody.interface as unknown as Interface, "depositBySig", args, {
        ...b,
        owner,
        nonce: nonce.toString(),
      });
    },
  );
  relay(
    "/v1/relay/redemptions",
    "Redeem GP held by an original account",
    "The owner signs an EIP-712 `Redeem` (Green Points Pool domain); the payout goes to `receiver`.",
    z.object({
      owner: Address,
      points: Amount("GP.", "5"),
      receiver: Address,
      minPayout: Amount("Settlement units.", "0"),
      deadline: Deadline,
      signature: Signature,
    }),
    async (b, p, db) => {
      const owner = getAddress(b.owner);
      const nonce = await chain.pool.nonces(owner);
      const args = [
        owner,
        positive(b.points, 18, "points"),
        getAddress(b.receiver),
        parseAmount(b.minPayout, d, "minPayout"),
        BigInt(b.deadline),
        b.signature,
      ];
      return queue(db, p, "redeem-by-sig", "pool", chain.pool.interface as unknown as Interface, "redeemBySig", args, {
        ...b,
        owner,
        nonce: nonce.toString(),
      });
    },
  );
  relay(
    "/v1/relay/transfers",
    "Transfer GP between addresses",
    "The owner signs an EIP-712 `Transfer` (Green Points domain).",
    z.object({ owner: Address, to: Address, value: Amount("GP.", "5"), deadline: Deadline, signature: Signature }),
    async (b, p, db) => {
      const owner = getAddress(b.owner);
      const nonce = await chain.points.nonces(owner);
      const args = [owner, getAddress(b.to), positive(b.value, 18, "value"), BigInt(b.deadline), b.signature];
      return queue(db, p, "transfer-by-sig", "points", points, "transferBySig", args, { ...b, owner, nonce: nonce.toString() });
    },
  );
  relay(
    "/v1/relay/permits",
    "Submit an EIP-2612 permit",
    "Sets `spender`'s allowance over the owner's GP, as the owner signed it.",
    z.object({ owner: Address, spender: Address, value: Amount("GP.", "5"), deadline: Deadline, signature: Signature }),
    async (b, p, db) => {
      const owner = getAddress(b.owner);
      const nonce = await chain.points.nonces(owner);
      const sig = EthSignature.from(b.signature);
      const args = [owner, getAddress(b.spender), parseAmount(b.value, 18, "value"), BigInt(b.deadline), sig.v, sig.r, sig.s];
      return queue(db, p, "permit", "points", points, "permit", args, { ...b, owner, nonce: nonce.toString() });
    },
  );
}
