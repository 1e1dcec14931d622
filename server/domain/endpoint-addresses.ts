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
  // Ranges that carry or reach IPv4 inside a network: local-use NAT64, 6to4, Teredo; and the old site-local.
  ["64:ff9b:1::", 48],
  ["2002::", 16],
  ["2001::", 32],
  ["fec0::", 10],
] as const)
  nonPublic.addSubnet(net, bits, "ipv6");

/** An IPv6 literal as its eight 16-bit groups (a dotted IPv4 tail read as the last two). */
function groupsOf(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const part = (x: string) => (x === "" ? [] : x.split(":").map((g) => parseInt(g, 16)));
  const front = part(head);
  if (tail === null) return front;
  const back = part(tail);
  return [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The IPv4 address an IPv6 one carries in its last 32 bits, when it is one of the forms that reach
 * that IPv4 address: IPv4-compatible (`::a.b.c.d`, also written `::7f00:1`), mapped
 * (`::ffff:a.b.c.d`), translated (`::ffff:0:a.b.c.d`) and NAT64 (`64:ff9b::/96`); else null.
 */
function embeddedIpv4(address: string): string | null {
  const g = groupsOf(address);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const carries =
    (zero(0, 5) && (g[5] === 0 || g[5] === 0xffff)) ||
    (zero(0, 4) && g[4] === 0xffff && g[5] === 0) ||
    (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6));
  if (!carries || (zero(0, 6) && g[6] === 0 && g[7] <= 1)) return null;
  return `${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
}

const linkLocalRanges = new BlockList();
linkLocalRanges.addSubnet("169.254.0.0", 16, "ipv4");
linkLocalRanges.addSubnet("fe80::", 10, "ipv6");

function linkLocal(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = isIP(bare);
  if (family === 4) return linkLocalRanges.check(bare, "ipv4");
  if (family !== 6) return false;
  const v4 = embeddedIpv4(bare);
  return v4 ? linkLocalRanges.check(v4, "ipv4") : linkLocalRanges.check(bare, "ipv6");
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
  if (kind === "public") return true;
  // Link-local (169.254.0.0/16, where clouds answer their metadata service, and fe80::/10) never, even with `all`.
  if (linkLocal(address)) return false;
  if (allowance === "all") return true;
  return kind === "loopback" && allowance === "loopback";
}
