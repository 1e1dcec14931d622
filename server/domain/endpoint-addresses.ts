/**
 * Which network addresses a notification may be sent to. Loopback, private, link-local and other
 * non-public ranges (IPv4 and IPv6, and IPv4 inside IPv6: mapped, NAT64) reach the relayer's own
 * machine or network, not a shop's server: refused unless the operator allows them
 * (GP_WEBHOOK_ALLOW_PRIVATE=loopback lets 127.0.0.0/8 and ::1 through, `all` every range).
 */
import { BlockList, isIP } from "node:net";

export type PrivateAllowance = "none" | "loopback" | "all";
export type AddressClass = "public" | "loopback" | "private";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

const nonPublic = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  nonPublic.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["fe80::", 10],
  ["fc00::", 7],
  ["ff00::", 8],
  ["2001:db8::", 32],
  ["100::", 64],
] as const)
  nonPublic.addSubnet(net, bits, "ipv6");

/** The IPv4 address inside an IPv6 one that carries one (`::ffff:a.b.c.d`, `64:ff9b::/96`, `::a.b.c.d`), else null. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const hi = parseInt(hex[1], 16);
  const lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** What kind of address `address` (an IP literal) is. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 0) return "private";
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4) return classifyAddress(v4);
    if (loopback.check(bare, "ipv6")) return "loopback";
    return nonPublic.check(bare, "ipv6") ? "private" : "public";
  }
  if (loopback.check(bare, "ipv4")) return "loopback";
  return nonPublic.check(bare, "ipv4") ? "private" : "public";
}

/** Whether a notification may go to `address` under the operator's allowance. */
export function addressAllowed(address: string, allowance: PrivateAllowance): boolean {
  const kind = classifyAddress(address);
  if (kind === "public" || allowance === "all") return true;
  return kind === "loopback" && allowance === "loopback";
}
