// Membership changes and leadership transfer as etcd's server does them (etcdserver/server.go
// AddMember, RemoveMember, UpdateMember, PromoteMember, MoveLeader, publish): voting changes go
// through the log as ConfChanges and answer once applied here; validation happens at apply
// time (membership.ts). Promotion is decided by the leader, which alone sees how far the
// learner's log has caught up; other members forward it over the peer transport.
import { ConfChangeType, type NodeId } from "../../raft/types.js";
import type { ResolvedOptions } from "./config.js";
import type { RaftDriver } from "./driver.js";
import { StoreError } from "./errors.js";
import { memberIdFor } from "./ids.js";
import type { ClusterPeers } from "./peers.js";
import type { MemberRecord } from "./snapshotdata.js";
import type { Member } from "./types.js";

/** etcd's readyPercent: a learner may be promoted once its match reaches 90% of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;
export const PROMOTE_METHOD = "memberPromote";

/** Peer URLs as etcd's types.NewURLs accepts them for kite: http(s)://host:port, no path. */
export function normalizePeerUrls(urls: string[]): string[] {
  if (urls.length === 0) throw new StoreError("MemberBadURLs");
  return urls.map((text) => {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw new StoreError("MemberBadURLs", `invalid peer URL "${text}"`);
    }
    const pathless = (u.pathname === "/" || u.pathname === "") && u.search === "" && u.hash === "";
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.port === "" || !pathless) {
      throw new StoreError("MemberBadURLs", `invalid peer URL "${text}"`);
    }
    return `${u.protocol}//${u.host}`;
  });
}

export class ClusterOps {
  constructor(
    private readonly opts: ResolvedOptions,
    private readonly driver: RaftDriver,
    private readonly peers: ClusterPeers | undefined,
  ) {}

  /** Members as the API shows them; this member's client URLs are known before it publishes. */
  members(): Member[] {
    return this.driver.sm.members.map((m) => this.toMember(m));
  }

  toMember(m: MemberRecord): Member {
    const own = m.id === this.driver.memberId ? this.opts.advertiseClientUrls : [];
    return {
      id: BigInt(m.id),
      name: m.name,
      peerURLs: [...m.peerURLs],
      clientURLs: [...(m.clientURLs ?? own)],
      isLearner: m.isLearner,
    };
  }

  private requirePeers(): void {
    if (this.peers === undefined) {
      throw new StoreError("BadRequest", "membership changes need a peer transport (--listen-peer-urls)");
    }
  }

  private find(id: bigint): MemberRecord | undefined {
    return this.driver.sm.members.find((m) => BigInt(m.id) === id);
  }

  /** A fresh id from the peer URLs and the time (etcd's NewMember), never one used before. */
  private newMemberId(peerURLs: string[]): number {
    let now = Date.now();
    for (;;) {
      const id = memberIdFor(peerURLs, String(now));
      if (!this.find(BigInt(id)) && !this.driver.sm.removedMembers.includes(id)) return id;
      now++;
    }
  }

  // ---- etcd's strict reconfiguration checks (on by default there): refuse changes that would
  // leave fewer started (published) or reachable voters than a quorum. etcd requires peers to
  // have been connected for 5 s; kite looks at whether they are connected now.

  private voters(): MemberRecord[] {
    return this.driver.sm.members.filter((m) => !m.isLearner);
  }

  private connected(id: number): boolean {
    return id === this.driver.memberId || this.peers!.isConnected(id);
  }

  private mayAddVoter(): void {
    const voters = this.voters();
    const started = voters.filter((m) => m.name !== "").length;
    const size = voters.length + 1;
    // A lone member may always take a second one (etcd's special case).
    if (!(started === 1 && size === 2) && started < Math.floor(size / 2) + 1) {
      throw new StoreError("MemberNotEnoughStarted");
    }
    if (!voters.every((m) => this.connected(m.id))) throw new StoreError("Unhealthy");
  }

  private mayRemove(m: MemberRecord): void {
    if (m.isLearner) return;
    const rest = this.voters().filter((x) => x.id !== m.id);
    const started = rest.filter((x) => x.name !== "").length;
    if (started < Math.floor(rest.length / 2) + 1) throw new StoreError("MemberNotEnoughStarted");
    // A member that is down is safe to remove: it is not part of the active quorum.
    if (m.id !== this.driver.memberId && !this.connected(m.id)) return;
    const voters = this.voters();
    const active = voters.filter((x) => this.connected(x.id)).length;
    if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) throw new StoreError("Unhealthy");
  }

  private mayPromote(): void {
    const voters = this.voters();
    const started = 1 + voters.filter((m) => m.name !== "").length;
    if (started < Math.floor((voters.length + 1) / 2) + 1) throw new StoreError("MemberNotEnoughStarted");
  }

  async add(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    this.requirePeers();
    const urls = normalizePeerUrls(peerURLs);
    if (!isLearner) this.mayAddVoter();
    const id = this.newMemberId(urls);
    const type = isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode;
    const applied = await this.driver.proposeConfChange(type, {
      id,
      name: "",
      peerURLs: urls,
      clientURLs: [],
      isLearner,
    });
    const member: Member = { id: BigInt(id), name: "", peerURLs: urls, clientURLs: [], isLearner };
    return { member, members: applied.value.map((m) => this.toMember(m)) };
  }

  async remove(id: bigint): Promise<Member[]> {
    this.requirePeers();
    const m = this.find(id);
    if (m === undefined) throw new StoreError("MemberNotFound");
    this.mayRemove(m);
    const applied = await this.driver.proposeConfChange(ConfChangeType.RemoveNode, {
      id: m.id,
      name: m.name,
      peerURLs: m.peerURLs,
      clientURLs: [],
      isLearner: m.isLearner,
    });
    return applied.value.map((x) => this.toMember(x));
  }

  async update(id: bigint, peerURLs: string[]): Promise<Member[]> {
    this.requirePeers();
    const urls = normalizePeerUrls(peerURLs);
    const m = this.find(id);
    if (m === undefined) throw new StoreError("MemberNotFound");
    const applied = await this.driver.propose<readonly MemberRecord[]>({
      kind: "memberUpdate",
      req: { id: m.id, peerURLs: urls },
    });
    return applied.value.map((x) => this.toMember(x));
  }

  /** On the leader: checks the learner caught up, then promotes; elsewhere forwards to the leader. */
  async promote(id: bigint): Promise<Member[]> {
    this.requirePeers();
    const until = this.opts.now() + this.opts.requestTimeoutMs;
    for (;;) {
      await this.driver.awaitLeader();
      if (this.driver.isLeader) return this.promoteHere(id);
      try {
        const members = await this.peers!.call<MemberRecord[]>(
          this.driver.leaderId,
          PROMOTE_METHOD,
          { id },
          Math.max(1, until - this.opts.now()),
        );
        return members.map((m) => this.toMember(m));
      } catch (err) {
        // Leadership moved while forwarding: ask the new leader, as etcd retries.
        const retry = err instanceof StoreError && (err.code === "NotLeader" || err.code === "Timeout");
        if (!retry || this.opts.now() >= until) throw err;
        await new Promise((r) => setTimeout(r, this.opts.tickMs * this.opts.heartbeatTick));
      }
    }
  }

  /** The leader's half of promote (also what a forwarded promote runs). */
  async promoteHere(id: bigint): Promise<Member[]> {
    if (!this.driver.isLeader) throw new StoreError("NotLeader");
    const m = this.find(id);
    if (m === undefined) throw new StoreError("MemberNotFound");
    if (!m.isLearner) throw new StoreError("MemberNotLearner");
    const status = this.driver.raftStatus();
    const learner = status.progress?.get(m.id);
    const leader = status.progress?.get(this.driver.memberId);
    if (learner === undefined || leader === undefined) throw new StoreError("MemberNotFound");
    if (learner.match < leader.match * LEARNER_READY_PERCENT) throw new StoreError("LearnerNotReady");
    this.mayPromote();
    const applied = await this.driver.proposeConfChange(ConfChangeType.AddNode, {
      id: m.id,
      name: m.name,
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs ?? [],
      isLearner: false,
      isPromote: true,
    });
    return applied.value.map((x) => this.toMember(x));
  }

  /** etcd's MoveLeader: the leader hands over to a voter and waits until it leads. */
  async moveLeader(transferee: bigint): Promise<void> {
    if (!this.driver.isLeader) throw new StoreError("NotLeader");
    const target = this.find(transferee);
    if (target === undefined || target.isLearner) throw new StoreError("BadLeaderTransferee");
    if (target.id === this.driver.memberId) return;
    this.driver.transferLeader(target.id);
    const until = this.opts.now() + this.opts.requestTimeoutMs;
    while (this.driver.leaderId !== target.id) {
      if (this.opts.now() >= until) throw new StoreError("TimeoutLeaderTransfer");
      await new Promise((r) => setTimeout(r, this.opts.tickMs));
    }
  }

  /**
   * etcd's publish: records this member's name and client URLs in the replicated member list,
   * retrying until it succeeds or `stopped()` says the server is closing.
   */
  async publish(stopped: () => boolean): Promise<void> {
    const self = () => this.driver.sm.members.find((m) => m.id === this.driver.memberId);
    const published = () => {
      const m = self();
      const urls = this.opts.advertiseClientUrls;
      return (
        m === undefined ||
        (m.name === this.opts.name &&
          m.clientURLs?.length === urls.length &&
          m.clientURLs.every((u, i) => u === urls[i]))
      );
    };
    while (!stopped() && !published()) {
      try {
        await this.driver.propose({
          kind: "memberAttributes",
          req: {
            id: this.driver.memberId,
            name: this.opts.name,
            clientURLs: [...this.opts.advertiseClientUrls],
          },
        });
      } catch (err) {
        if (err instanceof StoreError && (err.code === "Stopped" || err.code === "MemberRemoved")) return;
        await new Promise((r) => setTimeout(r, this.opts.electionMs));
      }
    }
  }

  /** Translates member names in a fault spec ("cut:n2,n3") into ids the transport understands. */
  faultSpecWithIds(spec: string): string {
    const byName = new Map<string, NodeId>();
    for (const m of this.driver.sm.members) if (m.name !== "") byName.set(m.name, m.id);
    return spec.replace(
      /([:,;])\s*([A-Za-z_][\w.-]*)(?=\s*(?:[,=;]|$))/g,
      (all, sep: string, name: string) => {
        const id = byName.get(name);
        return id === undefined ? all : `${sep}${id}`;
      },
    );
  }
}
