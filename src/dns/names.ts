// Record type numbers (RFC 1035 and successors) for the types cluster DNS answers or names in its
// metrics, and the reverse-zone names of RFC 1035 (in-addr.arpa) and RFC 3596 (ip6.arpa).
import { isIPv4, isIPv6 } from "node:net";

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  HTTPS: 65,
  SVCB: 64,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([n, v]) => [v, n]));

/** The type label CoreDNS's metrics use: the type's name for common types, "other" for the rest. */
export function typeLabel(qtype: number): string {
  return TYPE_NAMES[qtype] ?? "other";
}

/** The IP a reverse name (labels below the zone, lowercase) stands for, or undefined. */
export function reverseToIP(rel: string[], zone: string): string | undefined {
  if (zone === "in-addr.arpa") {
    if (rel.length !== 4) return undefined;
    const ip = [...rel].reverse().join(".");
    return isIPv4(ip) ? ip : undefined;
  }
  if (zone === "ip6.arpa") {
    if (rel.length !== 32 || !rel.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const hex = [...rel].reverse().join("");
    const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ""));
    const ip = groups.join(":");
    return isIPv6(ip) ? canonicalIPv6(ip) : undefined;
  }
  return undefined;
}

/** RFC 5952 form (longest zero run as "::"), which is how the apiserver stores IPv6 addresses. */
export function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** The reverse name of an IP, without trailing dot. */
export function ipToReverse(ip: string): string {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  const full = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const parts = full.split("::");
  const head = parts[0] ? parts[0].split(":") : [];
  const tail = parts.length > 1 && parts[1] ? parts[1].split(":") : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
  const nibbles = groups.map((g: string) => g.padStart(4, "0")).join("");
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}
