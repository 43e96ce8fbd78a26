// The answer to one question, after the Kubernetes DNS specification (kubernetes/dns
// docs/specification.md) as CoreDNS's kubernetes plugin serves it: services, headless endpoints,
// SRV with priority 0 and weight 100/n, verified pod records, PTR, ExternalName CNAMEs (followed
// inside the zone, never forwarded), NODATA/NXDOMAIN with the zone's SOA, REFUSED outside our zones.
import { isIPv4, isIPv6 } from "node:net";
import type * as dnsPacket from "dns-packet";
import type { ClusterView, DnsEndpoint, DnsService } from "./cluster.js";
import { reverseToIP, TYPE } from "./names.js";
import { ipFamily, RecordBuilder } from "./records.js";
import { type Answer, RCODE } from "./wire.js";

/** CoreDNS's kubernetes plugin answers dns-version.<zone> TXT with its schema version. */
export const DNS_SCHEMA_VERSION = "1.1.0";

export interface ResolverConfig {
  /** Cluster domain without trailing dot, lowercase: "cluster.local". */
  zone: string;
  ttl: number;
  /** The server's own address: ns.dns.<zone>. */
  serverAddress: string;
}

export interface Resolution {
  /** The zone the name fell in, for metrics ("." when refused). */
  zone: string;
  answer: Answer;
}

type RR = dnsPacket.Answer;

/** Records held at one name, and whether the name exists at all (empty non-terminals do). */
interface NameData {
  exists: boolean;
  records: RR[];
  additionals?: RR[];
}

const NONE: NameData = { exists: false, records: [] };
const EMPTY: NameData = { exists: true, records: [] };
const SAFE_LABEL = /^[a-z0-9_*-]+$/;
const REVERSE_ZONES = ["in-addr.arpa", "ip6.arpa"];

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** a-b-c-d (or an IPv6 address with ":" written "-") back to the IP it names. */
function parseDashedIP(label: string): string | undefined {
  if (isIPv4(label.replace(/-/g, "."))) return label.replace(/-/g, ".");
  if (isIPv6(label.replace(/-/g, ":"))) return label.replace(/-/g, ":");
  return undefined;
}

export class Resolver {
  private readonly zoneLabels: string[];
  private readonly rec: RecordBuilder;

  constructor(
    private readonly view: ClusterView,
    private readonly cfg: ResolverConfig,
  ) {
    this.zoneLabels = cfg.zone.split(".").filter((l) => l !== "");
    this.rec = new RecordBuilder(cfg.zone, cfg.ttl, () => view.serial());
  }

  resolve(labels: string[], qtype: number, qclass: number): Resolution {
    const lower = labels.map(asciiLower);
    const name = labels.join(".");
    const zone = this.zoneOf(lower);
    if (
      zone === undefined ||
      (qclass !== 1 && qclass !== 255) ||
      qtype === TYPE.AXFR ||
      qtype === TYPE.IXFR
    ) {
      return {
        zone: zone ?? ".",
        answer: { rcode: RCODE.REFUSED, answers: [], authorities: [], additionals: [] },
      };
    }
    const rel = lower.slice(0, lower.length - zone.split(".").length);
    const data = rel.every((l) => SAFE_LABEL.test(l)) ? this.lookup(zone, rel, name) : NONE;
    const answers: RR[] = [];
    const additionals: RR[] = [...(data.additionals ?? [])];
    const cname = data.records.find((r) => r.type === "CNAME");
    if (cname !== undefined && qtype !== TYPE.CNAME) {
      answers.push(cname);
      this.chase((cname as dnsPacket.StringAnswer).data, qtype, answers, 8);
    } else {
      answers.push(
        ...data.records.filter((r) => qtype === TYPE.ANY || TYPE[r.type as keyof typeof TYPE] === qtype),
      );
    }
    if (!data.exists) {
      return {
        zone,
        answer: { rcode: RCODE.NXDOMAIN, answers: [], authorities: [this.rec.soa(zone)], additionals: [] },
      };
    }
    const authorities = answers.length === 0 ? [this.rec.soa(zone)] : [];
    const srvAnswered = answers.some((r) => r.type === "SRV" || r.type === "NS");
    return {
      zone,
      answer: { rcode: RCODE.NOERROR, answers, authorities, additionals: srvAnswered ? additionals : [] },
    };
  }

  /** Follows a CNAME whose target lies in the cluster zone; outside targets are left to the client. */
  private chase(target: string, qtype: number, out: RR[], depth: number): void {
    const lower = asciiLower(target)
      .split(".")
      .filter((l) => l !== "");
    if (depth === 0 || this.zoneOf(lower) !== this.cfg.zone) return;
    const rel = lower.slice(0, lower.length - this.zoneLabels.length);
    if (!rel.every((l) => SAFE_LABEL.test(l))) return;
    const data = this.lookup(this.cfg.zone, rel, lower.join("."));
    const next = data.records.find((r) => r.type === "CNAME");
    if (next !== undefined && qtype !== TYPE.CNAME) {
      if (out.some((r) => r.type === "CNAME" && r.name === next.name)) return; // a loop
      out.push(next);
      this.chase((next as dnsPacket.StringAnswer).data, qtype, out, depth - 1);
      return;
    }
    out.push(
      ...data.records.filter((r) => qtype === TYPE.ANY || TYPE[r.type as keyof typeof TYPE] === qtype),
    );
  }

  private zoneOf(lower: string[]): string | undefined {
    for (const zone of [this.cfg.zone, ...REVERSE_ZONES]) {
      const zl = zone.split(".");
      if (lower.length >= zl.length && zl.every((l, i) => lower[lower.length - zl.length + i] === l))
        return zone;
    }
    return undefined;
  }

  private lookup(zone: string, rel: string[], name: string): NameData {
    if (zone !== this.cfg.zone) return this.reverse(zone, rel, name);
    if (rel.length === 0) {
      const nsName = `ns.dns.${zone}`;
      return {
        exists: true,
        records: [this.rec.soa(zone), this.rec.rr("NS", name, nsName)],
        additionals: this.rec.addresses(nsName, [this.cfg.serverAddress]),
      };
    }
    const top = rel[rel.length - 1]!;
    if (rel.length === 1 && top === "dns-version") {
      return {
        exists: true,
        records: [{ type: "TXT", name, ttl: this.cfg.ttl, class: "IN", data: DNS_SCHEMA_VERSION }],
      };
    }
    if (top === "dns") {
      if (rel.length === 1) return EMPTY;
      if (rel.length === 2 && rel[0] === "ns")
        return { exists: true, records: this.rec.addresses(name, [this.cfg.serverAddress]) };
      return NONE;
    }
    if (top === "svc") return this.serviceName(rel.slice(0, -1), name);
    if (top === "pod") return this.podName(rel.slice(0, -1), name);
    return NONE;
  }

  private serviceName(rel: string[], name: string): NameData {
    if (rel.length === 0) return EMPTY;
    const ns = rel[rel.length - 1]!;
    if (rel.length === 1) return this.view.namespaceExists(ns) ? EMPTY : NONE;
    const svc = this.view.service(ns, rel[rel.length - 2]!);
    if (svc === undefined) return NONE;
    const fqdn = `${svc.name}.${svc.namespace}.svc.${this.cfg.zone}`;
    if (rel.length === 2) return this.serviceRecords(svc, fqdn, name);
    if (svc.externalName !== undefined) return NONE;
    const first = rel[0]!;
    if (rel.length === 3 && !first.startsWith("_")) {
      const ips = this.view
        .endpoints(ns, svc.name)
        .filter((e) => e.hostname === first)
        .map((e) => e.ip);
      return ips.length === 0 ? NONE : { exists: true, records: this.rec.addresses(name, ips) };
    }
    const proto = rel[rel.length - 3]!;
    if (!proto.startsWith("_")) return NONE;
    if (rel.length === 3) {
      return svc.ports.some((p) => `_${p.protocol}` === proto) ? EMPTY : NONE;
    }
    const port = rel[0]!;
    if (rel.length !== 4 || !port.startsWith("_")) return NONE;
    const matches = (p: { name: string; protocol: string }) =>
      p.name !== "" && `_${p.name.toLowerCase()}` === port && `_${p.protocol}` === proto;
    return this.srvData(svc, fqdn, name, matches);
  }

  private serviceRecords(svc: DnsService, fqdn: string, name: string): NameData {
    if (svc.externalName !== undefined) {
      return { exists: true, records: [this.rec.rr("CNAME", name, svc.externalName.replace(/\.$/, ""))] };
    }
    if (svc.headless) {
      const eps = this.view.endpoints(svc.namespace, svc.name);
      if (eps.length === 0) return NONE; // the spec: a headless service with no ready endpoints is NXDOMAIN
      const srv = this.srvData(svc, fqdn, name, () => true);
      return {
        exists: true,
        records: [
          ...this.rec.addresses(
            name,
            eps.map((e) => e.ip),
          ),
          ...srv.records,
        ],
        additionals: srv.additionals ?? [],
      };
    }
    const srv = this.srvData(svc, fqdn, name, () => true);
    return {
      exists: true,
      records: [...this.rec.addresses(name, svc.clusterIPs), ...srv.records],
      additionals: srv.additionals ?? [],
    };
  }

  /** SRV records (and their targets' addresses) for the ports `matches` selects. */
  private srvData(
    svc: DnsService,
    fqdn: string,
    name: string,
    matches: (p: DnsService["ports"][number]) => boolean,
  ): NameData {
    if (!svc.headless) {
      const ports = svc.ports.filter(matches);
      if (ports.length === 0) return NONE;
      return {
        exists: true,
        records: this.rec.srv(
          name,
          ports.map((p) => ({ target: fqdn, port: p.port })),
        ),
        additionals: this.rec.addresses(fqdn, svc.clusterIPs),
      };
    }
    const targets: Array<{ target: string; port: number }> = [];
    const extra: Array<[string, DnsEndpoint]> = [];
    for (const ep of this.view.endpoints(svc.namespace, svc.name)) {
      const target = `${ep.hostname}.${fqdn}`;
      const ports = ep.ports.filter(matches);
      for (const p of ports) targets.push({ target, port: p.port });
      if (ports.length > 0) extra.push([target, ep]);
    }
    if (targets.length === 0) return NONE;
    const seen = new Set<string>();
    const additionals: RR[] = [];
    for (const [target, ep] of extra) {
      if (seen.has(`${target} ${ep.ip}`)) continue;
      seen.add(`${target} ${ep.ip}`);
      additionals.push(this.rec.rr(ipFamily(ep.ip), target, ep.ip));
    }
    return { exists: true, records: this.rec.srv(name, targets), additionals };
  }

  private podName(rel: string[], name: string): NameData {
    if (rel.length === 0) return EMPTY;
    const ns = rel[rel.length - 1]!;
    if (rel.length === 1) return this.view.namespaceExists(ns) ? EMPTY : NONE;
    if (rel.length !== 2) return NONE;
    const ip = parseDashedIP(rel[0]!);
    if (ip === undefined || !this.view.podHasIP(ns, ip)) return NONE;
    return { exists: true, records: this.rec.addresses(name, [ip]) };
  }

  private reverse(zone: string, rel: string[], name: string): NameData {
    if (rel.length === 0) return { exists: true, records: [this.rec.soa(zone)] };
    const ip = reverseToIP(rel, zone);
    if (ip === undefined) return NONE;
    const targets = this.view.namesForIP(ip);
    if (targets.length === 0) return NONE;
    return { exists: true, records: targets.map((t) => this.rec.rr("PTR", name, `${t}.${this.cfg.zone}`)) };
  }
}
