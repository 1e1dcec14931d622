/**
 * Signed requests from original accounts, relayed so their owners need no gas: an EIP-2612
 * permit and the EIP-712 transfer of GP, a redemption at the pool, and a deposit into the
 * caller's custodial account. The signature is the authority; a session is asked for so that
 * only the platform's users spend the relayer's gas. Each is run on the chain first: a bad or
 * expired signature is refused at once and nothing is queued.
 */
import { Signature as EthSignature, getAddress } from "ethers";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { OperationTarget } from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { AppError } from "../errors";
import { nextNonce, queueCall } from "../services/operations";
import { accepted } from "./operations";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, OperationView, Signature } from "./schemas";

const Deadline = z
  .string()
  .regex(/^\d{1,20}$/, "must be unix seconds")
  .meta({ example: "1767225600" });

interface Relayed {
  path: string;
  summary: string;
  description: string;
  /** The request's fields besides `owner`, `deadline` and `signature`. */
  fields: z.ZodRawShape;
  kind: string;
  target: OperationTarget;
  fn: string;
  /** The call's arguments, from the request (owner checksummed) and the caller's custodial account. */
  args(b: Record<string, string>, owner: string, account: string): readonly unknown[];
}

export function relayRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  const { chain } = deps;
  const d = chain.deployments.settlementDecimals;
  const relay = (r: Relayed) =>
    defineRoute(host, {
      method: "post",
      path: r.path,
      tag: "relay",
      summary: r.summary,
      description: r.description,
      auth: ["user"],
      idempotent: true,
      body: z.object({ owner: Address, ...r.fields, deadline: Deadline, signature: Signature }).strict(),
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["CHAIN_REFUSED", "INSUFFICIENT_BALANCE", "FORBIDDEN", "SIGNATURE_IN_USE"],
      handle: async ({ body, principal, db }) => {
        if (principal.kind !== "user") throw new AppError("FORBIDDEN", "this endpoint is for users");
        const b = body as Record<string, string>;
        const account = custodialUserId(deps.userSalt, principal.userId);
        const owner = getAddress(b.owner);
        // The nonce the signature spends (it passed the check on the pending state): one request per nonce is queued.
        const nonce = (await nextNonce(chain, r.target, owner)).toString();
        const op = await queueCall(db, chain, {
          kind: r.kind,
          actor: `user:${principal.userId}`,
          account: r.kind === "deposit-by-sig" ? account : null,
          target: r.target,
          fn: r.fn,
          args: r.args(b, owner, account),
          details: { ...b, owner, nonce },
        });
        return accepted(op);
      },
    });

  relay({
    path: "/v1/relay/deposits",
    summary: "Deposit GP from an original account into my custodial account",
    description:
      "The owner signs an EIP-712 `Deposit` (Green Points Custody domain) naming my custodial account; original → custodial is free.",
    fields: { points: Amount("GP.", "5") },
    kind: "deposit-by-sig",
    target: "custody",
    fn: "depositBySig",
    args: (b, owner, account) => [owner, account, parsePositiveAmount(b.points, 18, "points"), BigInt(b.deadline), b.signature],
  });
  relay({
    path: "/v1/relay/redemptions",
    summary: "Redeem GP held by an original account",
    description: "The owner signs an EIP-712 `Redeem` (Green Points Pool domain); the payout goes to `receiver`.",
    fields: { points: Amount("GP.", "5"), receiver: Address, minPayout: Amount("Settlement units.", "0") },
    kind: "redeem-by-sig",
    target: "pool",
    fn: "redeemBySig",
    args: (b, owner) => [
      owner,
      parsePositiveAmount(b.points, 18, "points"),
      getAddress(b.receiver),
      parseAmount(b.minPayout, d, "minPayout"),
      BigInt(b.deadline),
      b.signature,
    ],
  });
  relay({
    path: "/v1/relay/transfers",
    summary: "Transfer GP between addresses",
    description: "The owner signs an EIP-712 `Transfer` (Green Points domain).",
    fields: { to: Address, value: Amount("GP.", "5") },
    kind: "transfer-by-sig",
    target: "points",
    fn: "transferBySig",
    args: (b, owner) => [owner, getAddress(b.to), parsePositiveAmount(b.value, 18, "value"), BigInt(b.deadline), b.signature],
  });
  relay({
    path: "/v1/relay/permits",
    summary: "Submit an EIP-2612 permit",
    description: "Sets `spender`'s allowance over the owner's GP, as the owner signed it.",
    fields: { spender: Address, value: Amount("GP.", "5") },
    kind: "permit",
    target: "points",
    fn: "permit",
    args: (b, owner) => {
      let sig: EthSignature;
      try {
        sig = EthSignature.from(b.signature);
      } catch (error) {
        throw new AppError("VALIDATION_FAILED", "signature is not a valid (r, s, v) signature", { field: "signature" }, { cause: error });
      }
      return [owner, getAddress(b.spender), parseAmount(b.value, 18, "value"), BigInt(b.deadline), sig.v, sig.r, sig.s];
    },
  });
}
