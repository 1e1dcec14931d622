/**
 * Signed requests from original accounts, relayed so their owners need no gas: an EIP-2612
 * permit and the EIP-712 transfer of GP, a redemption at the pool, and a deposit into the
 * caller's custodial account. The signature is the authority; a session is asked for so that
 * only the platform's users spend the relayer's gas, and that gas is guarded: relays per user and
 * per owner are rate-limited, a relay that would move nothing is refused, and each user's relays
 * are capped in gas per day (services/relay-guard.ts). Each is run on the chain first: a bad or
 * expired signature is refused at once and nothing is queued.
 */
import { Signature as EthSignature, getAddress } from "ethers";
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { custodialUserId } from "../adapters/chain/ids";
import type { OperationTarget } from "../adapters/db/operations";
import { parseAmount, parsePositiveAmount } from "../domain/amounts";
import { AppError } from "../errors";
import { checkGasBudget, nextNonce, planCall, recordPlanned } from "../services/operations";
import { assertSomethingToRelay, relayGasBudget } from "../services/relay-guard";
import type { RelayLimiter } from "./limits";
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
  /** The GP the request moves (or allows, for a permit). */
  value(b: Record<string, string>): bigint;
  /** The call's arguments, from the request (owner checksummed) and the caller's custodial account. */
  args(b: Record<string, string>, owner: string, account: string): readonly unknown[];
}

export function relayRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string; limiter: RelayLimiter; dailyGas: bigint }): void {
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
      idempotency: "optional",
      body: z.object({ owner: Address, ...r.fields, deadline: Deadline, signature: Signature }).strict(),
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["CHAIN_REFUSED", "INSUFFICIENT_BALANCE", "FORBIDDEN", "NOTHING_TO_RELAY", "RATE_LIMITED", "RELAY_LIMIT", "SIGNATURE_IN_USE"],
      // The checks and the simulation run before the idempotency transaction opens; the day's gas
      // is read and the relay recorded inside it, under the user's lock.
      prepare: async ({ body, principal }) => {
        if (principal.kind !== "user") throw new AppError("FORBIDDEN", "this endpoint is for users");
        const b = body as Record<string, string>;
        const account = custodialUserId(deps.userSalt, principal.userId);
        const owner = getAddress(b.owner);
        await deps.limiter.user(principal.userId);
        await assertSomethingToRelay(chain, { kind: r.kind, owner, value: r.value(b) });
        // The nonce the signature spends (it passes the check on the pending state): one request per nonce is queued.
        const nonce = (await nextNonce(chain, r.target, owner)).toString();
        const planned = await planCall(chain, {
          kind: r.kind,
          actor: `user:${principal.userId}`,
          account: r.kind === "deposit-by-sig" ? account : null,
          target: r.target,
          fn: r.fn,
          args: r.args(b, owner, account),
          details: { ...b, owner, nonce },
          estimateGas: true,
        });
        // The chain accepted the owner's signature: only now does it count against the owner.
        await deps.limiter.owner(owner);
        return planned;
      },
      handle: async ({ db, prepared }) => {
        checkGasBudget(await relayGasBudget(db, prepared.op.actor, deps.dailyGas), prepared.op.gasEstimate ?? 0n);
        return accepted(await recordPlanned(db, prepared));
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
    value: (b) => parsePositiveAmount(b.points, 18, "points"),
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
    value: (b) => parsePositiveAmount(b.points, 18, "points"),
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
    value: (b) => parsePositiveAmount(b.value, 18, "value"),
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
    value: (b) => parseAmount(b.value, 18, "value"),
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
