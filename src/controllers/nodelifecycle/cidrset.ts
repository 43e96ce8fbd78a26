// The node IPAM address book (upstream's cidrset for the range allocator): the cluster CIDR cut
// into equal per-node subnets (/24 by default), handed out round-robin and returned when a node
// goes away. IPv4 only.

function parseIPv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new Error(`invalid IPv4 address ${JSON.stringify(text)}`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function parseCIDR(text: string): { base: number; prefix: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (m === null) throw new Error(`invalid CIDR ${JSON.stringify(text)}: want a.b.c.d/n (IPv4)`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`invalid CIDR ${JSON.stringify(text)}: prefix over 32`);
  const ip = parseIPv4(m[1] ?? "");
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(ip / size) * size, prefix };
}

export class CidrSetFullError extends Error {
  constructor(cidr: string) {
    super(`no remaining CIDRs in ${cidr}`);
  }
}

export class CidrSet {
  readonly clusterCIDR: string;
  readonly nodeMaskSize: number;
  private readonly base: number;
  private readonly used: Uint8Array;
  private next = 0;

  constructor(clusterCIDR: string, nodeMaskSize = 24) {
    const { base, prefix } = parseCIDR(clusterCIDR);
    if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < prefix || nodeMaskSize > 32)
      throw new Error(`node CIDR mask /${nodeMaskSize} must be between the cluster's /${prefix} and /32`);
    // Upstream refuses more than 16 bits of subnets: the bitmap would be needlessly large.
    if (nodeMaskSize - prefix > 16)
      throw new Error(
        `node CIDR mask /${nodeMaskSize} is more than 16 bits longer than the cluster's /${prefix}`,
      );
    this.base = base;
    this.clusterCIDR = `${formatIPv4(base)}/${prefix}`;
    this.nodeMaskSize = nodeMaskSize;
    this.used = new Uint8Array(2 ** (nodeMaskSize - prefix));
  }

  get capacity(): number {
    return this.used.length;
  }

  private subnet(index: number): string {
    return `${formatIPv4(this.base + index * 2 ** (32 - this.nodeMaskSize))}/${this.nodeMaskSize}`;
  }

  /** The subnet index of a node CIDR, or undefined when it is not one of this set's subnets. */
  private indexOf(cidr: string): number | undefined {
    let parsed: { base: number; prefix: number };
    try {
      parsed = parseCIDR(cidr);
    } catch {
      return undefined;
    }
    if (parsed.prefix !== this.nodeMaskSize) return undefined;
    const offset = parsed.base - this.base;
    const index = offset / 2 ** (32 - this.nodeMaskSize);
    return offset < 0 || index >= this.used.length ? undefined : index;
  }

  allocateNext(): string {
    for (let i = 0; i < this.used.length; i++) {
      const index = (this.next + i) % this.used.length;
      if (this.used[index] === 0) {
        this.used[index] = 1;
        this.next = (index + 1) % this.used.length;
        return this.subnet(index);
      }
    }
    throw new CidrSetFullError(this.clusterCIDR);
  }

  /** Marks a CIDR some node already holds; false when it lies outside the cluster CIDR. */
  occupy(cidr: string): boolean {
    const index = this.indexOf(cidr);
    if (index === undefined) return false;
    this.used[index] = 1;
    return true;
  }

  release(cidr: string): void {
    const index = this.indexOf(cidr);
    if (index !== undefined) this.used[index] = 0;
  }

  inUse(): number {
    return this.used.reduce((n, b) => n + b, 0);
  }
}
