/**
 * The merchant's notification endpoints: payments received, its redemptions paid (and its ad
 * credit running low), signed and sent to its servers. The owner registers, rotates and redelivers;
 * staff see the endpoints and logs only (the server refuses them any change).
 */
import { html } from "../lib/html";
import { NotificationEndpoints } from "../lib/notification-endpoints";
import type { StaffMe } from "../lib/staff";
import { errorText } from "./state";

const MERCHANT_EVENTS = ["payment.received", "redemption.paid", "ad_credit.low"] as const;

export function Notifications(props: { me: StaffMe }) {
  return html`<${NotificationEndpoints}
    base="/v1/merchant/notification-endpoints"
    canWrite=${props.me.role === "owner"}
    catalogue="merchant-notifications"
    eventTypes=${MERCHANT_EVENTS}
    errorText=${errorText}
  />`;
}
