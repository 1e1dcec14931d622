/** Who signed up with my referral code, and what they earned me (docs/api.md, "Phone accounts"). */
import { z } from "zod";
import type { ChainPort } from "../adapters/chain/chain";
import { REFERRAL_MODES } from "../adapters/chain/deploy";
import { REFERRALS_LIMIT, referralsOf } from "../services/referrals";
import { userIdOf } from "./callers";
import { type RouteHost, defineRoute } from "./route";

const Referrals = z
  .object({
    mode: z
      .enum(REFERRAL_MODES)
      .meta({
        description: "Which of a referee's orders credit its referrer: `firstOrder` its first only, `perOrder` every one (docs/rules.md).",
      }),
    referrals: z.array(
      z.object({
        who: z
          .string()
          .meta({
            description: "The referee's phone with its middle hidden, or its user id so masked for an account a shop or the operator made.",
            example: "+86 138****8000",
          }),
        signedUpAt: z.string().meta({ description: "When its registration was queued." }),
        registration: z
          .enum(["queued", "submitted", "confirmed", "rejected"])
          .meta({ description: "Its registration on the chain, which sets the referrer." }),
        earned: z.string().meta({ description: "GP its orders credited me (the custody's ReferralCredited events)." }),
      }),
    ),
    earned: z.string().meta({ description: "GP all of them credited me." }),
  })
  .meta({ id: "MyReferrals" });

export function referralRoutes(host: RouteHost, deps: { chain: ChainPort; userSalt: string }): void {
  defineRoute(host, {
    method: "get",
    path: "/v1/me/referrals",
    tag: "phone accounts",
    summary: "The users I referred",
    description:
      `The users registered with me as referrer (a sign-up with my code or link, or a shop or the operator naming me), newest first, ` +
      `at most ${REFERRALS_LIMIT}. Only mine, and nothing of theirs but a masked phone number or user id, the date and what their ` +
      "orders credited me.",
    auth: ["user"],
    responses: { 200: { description: "Newest first.", schema: Referrals } },
    handle: async ({ principal, db }) => ({ status: 200, body: await referralsOf(deps.chain, db, deps.userSalt, userIdOf(principal)) }),
  });
}
