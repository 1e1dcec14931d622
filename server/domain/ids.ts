/**
 * One rule for the ids the ecosystem sends (user, order, shop, merchant ids): in webhooks, bodies,
 * paths and queries alike, so an id that is accepted once can always be looked up and registered.
 */
import { z } from "zod";

export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;
export const ID_RULE = "must be 1 to 128 letters, digits or _.:@-";

export const idSchema = () => z.string().regex(ID_PATTERN, ID_RULE);
