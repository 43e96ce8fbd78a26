// Member, cluster, request and lease ids. Member and cluster ids are derived as etcd does
// (sha1 over peer URLs plus the cluster token, and over the sorted member ids), except that
// member ids are cut to 53 bits because the Raft core keeps node ids as plain numbers.
import { createHash } from "node:crypto";

const ID_BITS_MASK = (1n << 53n) - 1n;

/** etcd membership.NewMember: sha1(sorted peer URLs joined + cluster token), first 8 bytes. */
export function memberIdFor(peerURLs: string[], clusterToken: string): number {
  const hash = createHash("sha1");
  for (const url of [...peerURLs].sort()) hash.update(url);
  hash.update(clusterToken);
  const id = Number(hash.digest().readBigUInt64BE(0) & ID_BITS_MASK);
  return id === 0 ? 1 : id;
}

/** etcd RaftCluster.genID: sha1 over the sorted member ids as 8-byte big-endian words. */
export function clusterIdFor(memberIds: number[]): bigint {
  const sorted = [...memberIds].sort((a, b) => a - b);
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => {
    buf.writeBigUInt64BE(BigInt(id), 8 * i);
  });
  return createHash("sha1").update(buf).digest().readBigUInt64BE(0);
}

/**
 * Request ids unique per member across restarts: the boot second in the high bits and a
 * counter below, so entries a previous run left uncommitted never match a new caller.
 */
export class RequestIdGenerator {
  private next: number;

  constructor(nowMs: number = Date.now()) {
    this.next = (Math.floor(nowMs / 1000) % 0x200000) * 2 ** 32;
  }

  nextId(): number {
    const id = this.next;
    this.next = this.next + 1 >= Number.MAX_SAFE_INTEGER ? 0 : this.next + 1;
    return id;
  }
}

/**
 * Lease ids the server picks when a grant names none (etcd uses its request id generator):
 * positive int64, the member id in the high bits so members never collide.
 */
export class LeaseIdGenerator {
  private counter = 0n;
  private readonly prefix: bigint;

  constructor(memberId: number, nowMs: number = Date.now()) {
    this.prefix = ((BigInt(memberId) & 0xffffn) << 47n) | ((BigInt(Math.floor(nowMs)) & 0xffffffffffn) << 7n);
  }

  nextId(): bigint {
    this.counter += 1n;
    return (this.prefix + this.counter) & 0x7fffffffffffffffn;
  }
}
