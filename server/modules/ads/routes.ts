/**
 * Rewarded ads over HTTP: the ad networks' signed callbacks (raw body, verified before anything
 * is read), the operator's networks and merchants' credit top-ups, and the user's vouchers and
 * tasks; the merchant's own credit is in merchant-routes.ts.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { z } from "zod";
import type { ChainPort } from "../../adapters/chain/chain";
import { insertAdNetwork, listAdNetworks } from "./db";
import { findMerchant } from "../../adapters/db/merchants";
import { AD_SCHEMES, isEd25519PublicKey } from "./ad-callback-signature";
import { parsePositiveAmount } from "../../domain/amounts";
import { AppError } from "../../errors";
import { adsUnavailable } from "./contract";
import { MerchantAdCredit, adMerchantRoutes } from "./merchant-routes";
import { type Ads, AdCallbackBody } from "./service";
import { type SettlementFloat, planCall, queueSettlementRefill, recordPlanned, settlementShort } from "../../services/operations";
import { actorOf, userIdOf } from "../../http/callers";
import { recordAction } from "../../services/audit";
import { accepted } from "../../http/operations";
import { type RouteHost, defineRoute } from "../../http/route";
import { Amount, Id, OperationView } from "../../http/schemas";

const CallbackAnswer = z
  .object({
    counted: z.literal(true),
    tasksToday: z.number().int(),
    released: z.string().meta({ description: "Vouchers this completion released for conversion (0 for most)." }),
    conversions: z.array(z.string()).meta({ description: "The conversions it queued, one per merchant the vouchers came from." }),
  })
  .meta({ id: "AdCallbackCounted" });

/** The callback: signed over its raw body, so the signature is checked over the exact bytes sent. */
export function adCallbackRoutes(host: RouteHost, deps: { ads: Ads }): void {
  defineRoute(host, {
    method: "post",
    path: "/v1/ads/callbacks/{networkId}",
    tag: "ads",
    summary: "An ad network reports a completed task",
    description:
      'Server to server, signed over `timestamp + "." + raw body` with the network\'s scheme: `X-GP-Signature: v1=<hex HMAC-SHA256(secret, …)>` ' +
      "for `hmac-sha256` networks, `ed25519=<base64 signature>` for `ed25519` networks (checked with the public key registered). " +
      "Refused when the timestamp is more than 300 s from the server's clock (late), when the transaction id was counted before " +
      "(replayed), for an unknown user, and past the user's daily task cap. A counted task may release vouchers, which are then " +
      "converted to GP on the chain in the next batch.",
    auth: [],
    params: z.object({ networkId: Id("The ad network.", "adn_0a1b2c3d4e5f") }),
    signed: {
      headers: z.object({
        "x-gp-timestamp": z.string().meta({ description: "Unix seconds.", example: "1764000000" }),
        "x-gp-signature": z.string().meta({ example: "v1=5f2b…" }),
      }),
      errors: ["UNKNOWN_NETWORK", "BAD_SIGNATURE", "STALE_TIMESTAMP", "ADS_UNAVAILABLE"],
      verify: ({ params, header, rawBody }) =>
        deps.ads.verifyCallback(String(params.networkId), {
          rawBody,
          timestamp: header("x-gp-timestamp"),
          signature: header("x-gp-signature"),
        }),
    },
    body: AdCallbackBody,
    responses: { 200: { description: "Counted, once.", schema: CallbackAnswer } },
    errors: ["UNKNOWN_USER", "CALLBACK_REPLAYED", "DAILY_TASK_CAP", "UNAVAILABLE"],
    handle: async ({ signer, body }) => ({ status: 200, body: await deps.ads.countCallback(signer, body) }),
  });
}

const UserAds = z
  .object({
    vouchers: z.string().meta({ description: "Vouchers held and not yet released, in settlement units." }),
    byMerchant: z.array(z.object({ merchantId: z.string(), vouchers: z.string() })),
    converting: z.string().meta({ description: "Vouchers released and on their way to the chain." }),
    day: z.string().meta({ description: "The UTC day tasks are counted in." }),
    tasksToday: z.number().int(),
    dailyTaskCap: z.number().int(),
    policy: z.string(),
    nextCompletion: z.object({
      converts: z.string().meta({ description: "Vouchers the next completed task releases." }),
      tasksUntilRelease: z.number().int().nullable().meta({ description: "Tasks until one releases anything; null: none will today." }),
    }),
    nextRelease: z
      .object({
        inTasks: z.number().int().meta({ description: "The completed tasks it comes with (1: the next one)." }),
        vouchers: z.string().meta({ description: "Vouchers it releases." }),
        backing: z.string().meta({ description: "Settlement their buckets' backing pays into the pool, at the chain's state now." }),
        points: z.string().meta({ description: "GP that mints to the custodial account at the pool's price now (it may move by then)." }),
        value: z.string().meta({ description: "Those GP at the pool's price now, in settlement units." }),
      })
      .nullable()
      .meta({
        description:
          "The next completion that releases vouchers (`nextCompletion.tasksUntilRelease` from now), estimated; null when that is null.",
      }),
    conversions: z.array(
      z.object({
        conversionId: z.string(),
        merchantId: z.string(),
        vouchers: z.string(),
        state: z.enum(["pending", "submitted", "confirmed", "rejected"]),
        backing: z.string().optional().meta({ description: "Settlement paid into the pool." }),
        points: z.string().optional().meta({ description: "GP credited to the custodial account." }),
        reason: z.string().optional(),
        networkId: z.string(),
        transactionId: z.string(),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({ id: "UserAds" });

export function adRoutes(host: RouteHost, deps: { chain: ChainPort; ads: Ads; settlement: SettlementFloat | null }): void {
  const { chain, ads } = deps;
  const d = chain.deployments.settlementDecimals;
  defineRoute(host, {
    method: "post",
    path: "/v1/admin/ad-networks",
    tag: "admin",
    summary: "Register an ad network",
    description:
      "`hmac-sha256`: the answer carries the shared secret, shown once, for the network to sign with. " +
      "`ed25519`: give the network's public key (PEM); the relayer holds nothing that could sign a callback. " +
      "Without a public key an `ed25519` network gets a key pair made here and its private key shown once (for trials).",
    auth: ["admin"],
    idempotency: "optional",
    body: z
      .object({
        name: z.string().trim().min(1).max(200).meta({ example: "Rewarded Video Co" }),
        scheme: z.enum(AD_SCHEMES),
        publicKey: z.string().max(4096).optional().meta({ description: "PEM (SPKI) Ed25519 public key." }),
      })
      .strict(),
    responses: {
      201: {
        description: "Registered.",
        schema: z.object({
          networkId: z.string(),
          scheme: z.enum(AD_SCHEMES),
          secret: z.string().optional(),
          privateKey: z.string().optional(),
          callbackPath: z.string(),
        }),
      },
    },
    errors: ["NAME_TAKEN", "VALIDATION_FAILED"],
    handle: async ({ body, db, principal }) => {
      const id = `adn_${randomBytes(6).toString("hex")}`;
      let secret: string | null = null;
      let publicKey: string | null = null;
      let privateKey: string | undefined;
      if (body.scheme === "hmac-sha256") secret = `whsec_${randomBytes(24).toString("hex")}`;
      else if (body.publicKey) {
        if (!isEd25519PublicKey(body.publicKey))
          throw new AppError("VALIDATION_FAILED", "body.publicKey is not an Ed25519 public key in PEM");
        publicKey = body.publicKey;
      } else {
        const pair = generateKeyPairSync("ed25519");
        publicKey = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
        privateKey = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      }
      if (!(await insertAdNetwork(db, { id, name: body.name, scheme: body.scheme, secret, publicKey }))) {
        throw new AppError("NAME_TAKEN", `an ad network is named ${body.name} already`);
      }
      await recordAction(db, actorOf(principal), "ad-network-registered", `ad-network:${id}`, {
        name: body.name,
        scheme: body.scheme,
        keyMadeHere: privateKey !== undefined,
      });
      return {
        status: 201,
        body: {
          networkId: id,
          scheme: body.scheme,
          ...(secret ? { secret } : {}),
          ...(privateKey ? { privateKey } : {}),
          callbackPath: `/v1/ads/callbacks/${id}`,
        },
      };
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/ad-networks",
    tag: "admin",
    summary: "List ad networks",
    auth: ["admin"],
    responses: {
      200: {
        description: "Oldest first; an HMAC network's secret is never shown again, an Ed25519 network's public key is.",
        schema: z.object({
          networks: z.array(
            z.object({
              networkId: z.string(),
              name: z.string(),
              scheme: z.enum(AD_SCHEMES),
              publicKey: z.string().nullable(),
              callbackPath: z.string(),
              createdAt: z.string(),
            }),
          ),
        }),
      },
    },
    handle: async ({ db }) => ({
      status: 200,
      body: {
        networks: (await listAdNetworks(db)).map((n) => ({
          networkId: n.id,
          name: n.name,
          scheme: n.scheme,
          publicKey: n.publicKey,
          callbackPath: `/v1/ads/callbacks/${n.id}`,
          createdAt: n.createdAt.toISOString(),
        })),
      },
    }),
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/admin/merchants/{merchantId}/ad-credit",
    tag: "admin",
    summary: "A merchant's ad credit, the vouchers issued against it and what was converted",
    auth: ["admin"],
    params: z.object({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") }),
    responses: { 200: { description: "From the chain; sales from the relayer's records.", schema: MerchantAdCredit } },
    errors: ["NOT_FOUND", "ADS_UNAVAILABLE"],
    handle: async ({ params, db }) => {
      const m = await findMerchant(db, params.merchantId);
      if (!m) throw new AppError("NOT_FOUND", `no merchant ${params.merchantId}`);
      if (!chain.adCredit) throw adsUnavailable();
      return { status: 200, body: await ads.merchantView(m) };
    },
  });

  defineRoute(host, {
    method: "post",
    path: "/v1/admin/merchants/{merchantId}/ad-credit",
    tag: "admin",
    summary: "Top up a merchant's ad credit from the operator's wallet",
    description:
      "For merchants that pay the operator off-chain: the relayer's key pays the settlement in from its float (refilled from the " +
      "treasury first when short; at most the float, larger amounts are paid from the treasury). A merchant with its own wallet calls " +
      "`topUp` on the contract directly.",
    auth: ["admin"],
    idempotency: "required",
    params: z.object({ merchantId: Id("The merchant.", "mer_8a7b6c5d4e3f") }),
    body: z.object({ amount: Amount("Settlement units.", "500.00") }).strict(),
    responses: { 202: { description: "Queued; poll the operation.", schema: OperationView } },
    errors: ["NOT_FOUND", "CHAIN_REFUSED", "ADS_UNAVAILABLE", "AMOUNT_OUT_OF_RANGE"],
    prepare: async ({ params, body, db }) => {
      const m = await findMerchant(db, params.merchantId);
      if (!m) throw new AppError("NOT_FOUND", `no merchant ${params.merchantId}`);
      if (!chain.adCredit) throw adsUnavailable();
      const amount = parsePositiveAmount(body.amount, d, "amount");
      // With the float or its allowance short, a refill goes first and the top-up cannot be run on the chain yet.
      const refilling = await settlementShort(chain, deps.settlement ?? null, chain.deployments.adCredit!, amount);
      const planned = await planCall(chain, {
        simulate: !refilling,
        kind: "ad-credit-top-up",
        actor: "admin",
        account: m.account,
        target: "ads",
        fn: "topUp",
        args: [m.account, amount],
        details: { merchantId: m.id, amount: body.amount },
      });
      return { planned, refilling };
    },
    handle: async ({ params, body, db, principal, prepared: { planned, refilling } }) => {
      if (refilling) await queueSettlementRefill(db, chain, deps.settlement!, [chain.deployments.adCredit!]);
      const op = await recordPlanned(db, planned);
      await recordAction(
        db,
        actorOf(principal),
        "ad-credit-top-up",
        `merchant:${params.merchantId}`,
        { amount: body.amount },
        { operationId: op.id },
      );
      return accepted(op);
    },
  });

  defineRoute(host, {
    method: "get",
    path: "/v1/me/ads",
    tag: "users",
    summary: "My ad vouchers, today's tasks, what the next completion converts, and my conversions",
    auth: ["user"],
    responses: { 200: { description: "Newest conversions first (at most 100).", schema: UserAds } },
    errors: ["ADS_UNAVAILABLE"],
    handle: async ({ principal }) => {
      const userId = userIdOf(principal);
      if (!chain.adCredit) throw adsUnavailable();
      return { status: 200, body: await ads.userView(userId) };
    },
  });

  adMerchantRoutes(host, { chain, ads });
}
