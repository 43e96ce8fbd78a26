// The resource records cluster DNS answers with: the zone's SOA (CoreDNS's values: ns.dns and
// hostmaster names, refresh 7200, retry 1800, expire 86400, minimum = TTL), address records
// deduplicated, and SRV records with priority 0 and CoreDNS's weight of 100 split evenly.
import type * as dnsPacket from "dns-packet";

type RR = dnsPacket.Answer;

export function ipFamily(ip: string): "A" | "AAAA" {
  return ip.includes(":") ? "AAAA" : "A";
}

export class RecordBuilder {
  constructor(
    private readonly zone: string,
    private readonly ttl: number,
    private readonly serial: () => number,
  ) {}

  soa(zone: string): RR {
    return {
      type: "SOA",
      name: zone,
      ttl: Math.min(this.ttl, 300),
      class: "IN",
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.serial(),
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  rr(type: "A" | "AAAA" | "CNAME" | "PTR" | "NS", name: string, data: string): RR {
    return { type, name, ttl: this.ttl, class: "IN", data };
  }

  addresses(name: string, ips: Iterable<string>): RR[] {
    const seen = new Set<string>();
    const out: RR[] = [];
    for (const ip of ips) {
      if (seen.has(ip)) continue;
      seen.add(ip);
      out.push(this.rr(ipFamily(ip), name, ip));
    }
    return out;
  }

  srv(name: string, targets: Array<{ target: string; port: number }>): RR[] {
    const seen = new Set<string>();
    const unique = targets.filter((t) => {
      const key = `${t.target}:${t.port}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const weight = Math.max(1, Math.floor(100 / Math.max(1, unique.length)));
    return unique.map((t) => ({
      type: "SRV",
      name,
      ttl: this.ttl,
      class: "IN",
      data: { priority: 0, weight, port: t.port, target: t.target },
    }));
  }
}
