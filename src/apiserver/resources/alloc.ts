// Address allocation without I/O: parse a service CIDR, pick the next free ClusterIP given the ones
// in use, and the next free NodePort. The caller gathers what is in use (from its store) and passes it in.

export const defaultServiceCIDR = "10.96.0.0/12";
export const defaultNodePortRange: PortRange = { base: 30000, size: 2768 };

export interface CIDR {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** Addresses in the block, network and broadcast included. */
  size: number;
  text: string;
}

export interface PortRange {
  base: number;
  size: number;
}

/** An IPv4 dotted quad as an unsigned number, or undefined when it is not one. */
export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function numberToIP(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses "a.b.c.d/n"; throws an Error saying what is wrong. Only IPv4 ranges are supported. */
export function parseCIDR(text: string): CIDR {
  const slash = text.indexOf("/");
  if (slash < 0) throw new Error(`invalid CIDR address: ${text}`);
  const ip = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (ip.includes(":")) throw new Error(`only IPv4 service ranges are supported: ${text}`);
  const addr = ipToNumber(ip);
  if (addr === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText) || Number(prefixText) > 32)
    throw new Error(`invalid CIDR address: ${text}`);
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const base = addr - (addr % size);
  return { base, prefix, size, text: `${numberToIP(base)}/${prefix}` };
}

export function cidrContains(cidr: CIDR, ip: string): boolean {
  const n = ipToNumber(ip);
  return n !== undefined && n >= cidr.base && n < cidr.base + cidr.size;
}

/** The address at offset n within the block (0 is the network address). */
export function nthIP(cidr: CIDR, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= cidr.size)
    throw new RangeError(`offset ${n} is outside ${cidr.text}`);
  return numberToIP(cidr.base + n);
}

/** The first host address, which upstream gives the `kubernetes` service (10.96.0.1 by default). */
export function kubernetesServiceIP(cidr: CIDR): string {
  return nthIP(cidr, cidr.size > 1 ? 1 : 0);
}

/**
 * Offsets a dynamic allocation may use: not the network or broadcast address (blocks larger than
 * /31), and not the first host, which is kept for the `kubernetes` service.
 */
function dynamicOffsets(cidr: CIDR): { first: number; count: number } {
  if (cidr.size <= 2) return { first: 0, count: cidr.size };
  const first = cidr.size > 4 ? 2 : 1;
  return { first, count: cidr.size - 1 - first };
}

/** Whether an explicitly requested IP is one a service may hold (inside the block, not network/broadcast). */
export function isAllocatableIP(cidr: CIDR, ip: string): boolean {
  const n = ipToNumber(ip);
  if (n === undefined || !cidrContains(cidr, ip)) return false;
  if (cidr.size <= 2) return true;
  return n !== cidr.base && n !== cidr.base + cidr.size - 1;
}

/**
 * A free address from the block, scanning from a random start (so concurrent apiservers rarely
 * collide, as upstream's random allocator); undefined when the block is full.
 */
export function nextFreeIP(
  cidr: CIDR,
  used: ReadonlySet<string>,
  random: () => number = Math.random,
): string | undefined {
  const { first, count } = dynamicOffsets(cidr);
  if (count <= 0) return undefined;
  const start = Math.floor(random() * count) % count;
  for (let i = 0; i < count; i++) {
    const ip = numberToIP(cidr.base + first + ((start + i) % count));
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** Parses "30000-32767" (inclusive) or a single port. */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`unable to parse port range: ${text}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw new Error(`unable to parse port range: ${text}`);
  return { base: lo, size: hi - lo + 1 };
}

export function portRangeText(r: PortRange): string {
  return `${r.base}-${r.base + r.size - 1}`;
}

export function portInRange(r: PortRange, port: number): boolean {
  return Number.isInteger(port) && port >= r.base && port < r.base + r.size;
}

/** A free NodePort from the range, scanning from a random start; undefined when all are taken. */
export function nextFreeNodePort(
  used: ReadonlySet<number>,
  range: PortRange = defaultNodePortRange,
  random: () => number = Math.random,
): number | undefined {
  const start = Math.floor(random() * range.size) % range.size;
  for (let i = 0; i < range.size; i++) {
    const port = range.base + ((start + i) % range.size);
    if (!used.has(port)) return port;
  }
  return undefined;
}

/** A small seeded generator (mulberry32) for deterministic allocation in tests and simulations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
