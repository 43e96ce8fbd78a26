// Host-local pod IPAM, like the CNI host-local plugin: addresses come from the node's pod CIDR,
// skipping the network address, the .1 gateway and the broadcast address; assignments survive a
// restart because they are persisted (ipam.json) before an address is handed out.
import { join } from "node:path";
import { JsonFile, readJson } from "./state.js";

interface IpamFile {
  cidr?: string;
  last?: string;
  allocations: Record<string, string>; // ip → owner (sandbox id)
}

export interface Ipv4Range {
  cidr: string;
  first: number; // first assignable address (network + 2)
  last: number; // last assignable address (broadcast - 1)
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses an IPv4 CIDR such as 127.244.1.0/24; throws a clear error on anything else. */
export function parseIpv4Cidr(cidr: string): Ipv4Range {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(typeof cidr === "string" ? cidr.trim() : "");
  const base = m ? ipToInt(m[1]!) : undefined;
  const bits = m ? Number(m[2]) : Number.NaN;
  if (base === undefined || !(bits >= 0 && bits <= 30)) {
    throw new Error(
      `process runtime: invalid pod CIDR ${JSON.stringify(cidr)} (want an IPv4 CIDR of /30 or larger)`,
    );
  }
  const size = 2 ** (32 - bits);
  const network = base - (base % size);
  return { cidr: `${intToIp(network)}/${bits}`, first: network + 2, last: network + size - 2 };
}

export class Ipam {
  private range: Ipv4Range | undefined;
  private last: number | undefined;
  private readonly byIp = new Map<string, string>();
  private readonly file: JsonFile;

  private constructor(path: string) {
    this.file = new JsonFile(path);
  }

  static async load(stateDir: string): Promise<Ipam> {
    const ipam = new Ipam(join(stateDir, "ipam.json"));
    const saved = (await readJson(ipam.file.path)) as IpamFile | undefined;
    if (saved && typeof saved === "object") {
      if (typeof saved.cidr === "string") {
        try {
          ipam.range = parseIpv4Cidr(saved.cidr);
        } catch {
          // a corrupt CIDR is replaced by the next updatePodCIDR
        }
      }
      if (typeof saved.last === "string") ipam.last = ipToInt(saved.last);
      for (const [ip, owner] of Object.entries(saved.allocations ?? {})) {
        if (typeof owner === "string" && ipToInt(ip) !== undefined) ipam.byIp.set(ip, owner);
      }
    }
    return ipam;
  }

  get cidr(): string | undefined {
    return this.range?.cidr;
  }

  /** Sets the range new addresses come from; existing assignments stay (their pods keep their IPs). */
  async setCidr(cidr: string): Promise<void> {
    const range = parseIpv4Cidr(cidr);
    if (range.cidr === this.range?.cidr) return;
    this.range = range;
    this.last = undefined;
    await this.persist();
  }

  ipOf(owner: string): string | undefined {
    for (const [ip, o] of this.byIp) if (o === owner) return ip;
    return undefined;
  }

  /** The owner's address (the same one again if it already has one). */
  async allocate(owner: string): Promise<string> {
    const existing = this.ipOf(owner);
    if (existing) return existing;
    const r = this.range;
    if (!r)
      throw new Error(
        "process runtime: the node has no pod CIDR yet (spec.podCIDR unset); cannot assign a pod IP",
      );
    const count = r.last - r.first + 1;
    // Round-robin from the last handed-out address, as host-local does, so a freed IP is not reused at once.
    const start =
      this.last !== undefined && this.last >= r.first && this.last < r.last ? this.last + 1 : r.first;
    for (let i = 0; i < count; i++) {
      const n = r.first + ((start - r.first + i) % count);
      const ip = intToIp(n);
      if (this.byIp.has(ip)) continue;
      this.byIp.set(ip, owner);
      this.last = n;
      try {
        await this.persist();
      } catch (e) {
        this.byIp.delete(ip);
        throw e;
      }
      return ip;
    }
    throw new Error(`process runtime: no IP addresses available in range ${r.cidr}`);
  }

  async release(owner: string): Promise<void> {
    let changed = false;
    for (const [ip, o] of this.byIp) {
      if (o === owner) {
        this.byIp.delete(ip);
        changed = true;
      }
    }
    if (changed) await this.persist();
  }

  /** Frees every address whose owner is not in owners. */
  async retainOnly(owners: Set<string>): Promise<void> {
    let changed = false;
    for (const [ip, o] of this.byIp) {
      if (!owners.has(o)) {
        this.byIp.delete(ip);
        changed = true;
      }
    }
    if (changed) await this.persist();
  }

  allocations(): Map<string, string> {
    return new Map(this.byIp);
  }

  private persist(): Promise<void> {
    const body: IpamFile = {
      cidr: this.range?.cidr,
      last: this.last === undefined ? undefined : intToIp(this.last),
      allocations: Object.fromEntries(this.byIp),
    };
    return this.file.write(body);
  }
}
