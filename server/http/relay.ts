/**
 * Signed requests from original accounts, relayed so their owners need no gas: an EIP-2612
 * permit and the EIP-712 transfer of GP, a redemption at the pool, and a deposit into the
 * caller's custodial account. The signature is the authority; a session is asked for so that
 * only the platform's users spend the relayer's gas, and that gas is guarded: relays per user and
 * per owner are rate-limited, a relay that would move nothing is refused, and each user's relays
 * are capped in gas per day (services/relay-guard.ts). What each calls is in services/relayed.ts.
 */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import {
  DEPOSIT_BY_SIG,
  PERMIT,
  REDEEM_BY_SIG,
  type Relayed,
  type SignedRequest,
  TRANSFER_BY_SIG,
  planRelay,
  recordRelay,
} from "../services/relayed";
import type { RelayLimiter } from "./limits";
import { userIdOf } from "./callers";
import { accepted } from "./operations";
import { type RouteHost, defineRoute } from "./route";
import { Address, Amount, OperationView, Signature } from "./schemas";

const Deadline = z
  .string()
  .regex(/^\d{1,20}$/, "must be unix seconds")
  .meta({ example: "1767225600" });

/** A signed request's body: the owner, the request's own fields, the deadline and the signature. */
const signed = <S extends z.ZodRawShape>(fields: S) =>
  z.object({ owner: Address, ...fields, deadline: Deadline, signature: Signature }).strict();

export function relayRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string; limiter: RelayLimiter; dailyGas: bigint }): void {
  const relay = <B extends SignedRequest & Record<string, string>>(r: {
    path: string;
    summary: string;
    description: string;
    body: z.ZodType<B>;
    request: Relayed<NoInfer<B>>;
  }) =>
    defineRoute(host, {
      method: "post",
      path: r.path,
      tag: "relay",
      summary: r.summary,
      description: r.description,
      auth: ["user"],
      idempotency: "optional",
      body: r.body,
      responses: { 202: { description: "Queued; poll GET /v1/operations/{operationId}.", schema: OperationView } },
      errors: ["CHAIN_REFUSED", "INSUFFICIENT_BALANCE", "FORBIDDEN", "NOTHING_TO_RELAY", "RATE_LIMITED", "RELAY_LIMIT", "SIGNATURE_IN_USE"],
      // The checks and the simulation run before the idempotency transaction opens; the day's gas
      // is read and the relay recorded inside it, under the user's lock.
      prepare: ({ body, principal }) => planRelay(deps, r.request, userIdOf(principal), body),
      handle: async ({ db, prepared }) => accepted(await recordRelay(db, prepared, deps.dailyGas)),
    });

  relay({
    path: "/v1/relay/deposits",
    summary: "Deposit GP from an original account into my custodial account",
    description:
      "The owner signs an EIP-712 `Deposit` (Green Points Custody domain) naming my custodial account; original → custodial is free.",
    body: signed({ points: Amount("GP.", "5") }),
    request: DEPOSIT_BY_SIG,
  });
  relay({
    path: "/v1/relay/redemptions",
    summary: "Redeem GP held by an original account",
    description: "The owner signs an EIP-712 `Redeem` (Green Points Pool domain); the payout goes to `receiver`.",
    body: signed({ points: Amount("GP.", "5"), receiver: Address, minPayout: Amount("Settlement units.", "0") }),
    request: REDEEM_BY_SIG,
  });
  relay({
    path: "/v1/relay/transfers",
    summary: "Transfer GP between addresses",
    description: "The owner signs an EIP-712 `Transfer` (Green Points domain).",
    body: signed({ to: Address, value: Amount("GP.", "5") }),
    request: TRANSFER_BY_SIG,
  });
  relay({
    path: "/v1/relay/permits",
    summary: "Submit an EIP-2612 permit",
    description: "Sets `spender`'s allowance over the owner's GP, as the owner signed it.",
    body: signed({ spender: Address, value: Amount("GP.", "5") }),
    request: PERMIT,
  });
}
