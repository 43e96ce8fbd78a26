// The Raft driver: owns the RawNode, the WAL, the snapshotter and the state machine, and runs
// the Ready loop. Each Ready is handled strictly in order: persist (snapshot file and WAL
// records, fdatasync when Raft says so) before anything that depends on it, then send
// messages, apply committed entries, release linearizable reads, and advance. Proposals that
// arrive while an fdatasync runs pile up in Raft's unstable log and go out in the next Ready:
// one fdatasync per batch (group commit). Messages go out after the fdatasync, on the leader
// too (no §10.2.1 parallel send); a MsgSnap carries the state as applied now.

import { type MemoryStorage, NONE, ProposalDroppedError, RawNode } from "../../raft/index.js";
import {
  type ConfChangeType,
  type Entry,
  type Message,
  MessageType,
  type NodeId,
  type Ready,
  SnapshotStatus,
  StateType,
  type Status,
} from "../../raft/types.js";
import { Lessor } from "../mvcc/index.js";
import type { Wal } from "../wal/index.js";
import { type ApplyHost, applyEntry } from "./applier.js";
import { StateMachine } from "./apply.js";
import { type ResolvedOptions, raftConfig, type Transport } from "./config.js";
import type { OpenedDataDir } from "./disk.js";
import { StoreError } from "./errors.js";
import { RequestIdGenerator } from "./ids.js";
import { encodeMemberContext, type MemberChangeContext } from "./membership.js";
import type { ServerMetrics } from "./metrics.js";
import { ReadIndexBatcher } from "./readindex.js";
import { encodeRequest, type InternalRequest } from "./requestcodec.js";
import { AppliedSignal, LeaderSignal } from "./signals.js";
import { SnapshotKeeper } from "./snapkeeper.js";
import type { MemberRecord } from "./snapshotdata.js";
import { ProposalWaiters } from "./waiters.js";

/** What a proposer gets back: the state machine's result and the state right after it. */
export interface Applied<T> {
  value: T;
  /** Store revision right after the entry was applied. */
  revision: number;
  raftTerm: number;
}

/** How often (in ticks) the slow housekeeping runs: timeouts, read retries, lease expiry. */
const HOUSEKEEPING_TICKS = 10;

export class RaftDriver {
  readonly memberId: number;
  readonly lessor: Lessor;
  readonly sm: StateMachine;
  private readonly node: RawNode;
  private readonly storage: MemoryStorage;
  private readonly wal: Wal;
  /** Snapshot bookkeeping; logState() and settled() are for tests and tooling. */
  readonly snapshots: SnapshotKeeper;
  private readonly waiters: ProposalWaiters;
  readonly reads: ReadIndexBatcher;
  private readonly ids = new RequestIdGenerator();
  private readonly applyHost: ApplyHost;

  private leader = NONE;
  private raftState: StateType = StateType.Follower;
  private term: number;
  private commitIndex: number;
  private applied: number;
  private confState;

  private loopScheduled = false;
  private loop: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticks = 0;
  private stopped = false;
  private failure: unknown;
  private readonly leaderSignal = new LeaderSignal();
  private readonly appliedSignal = new AppliedSignal();
  private closing: Promise<void> | undefined;
  /** Called every housekeeping period (lease expiry, watch progress...). */
  onHousekeeping: () => void = () => {};
  /** Called once if the driver hits an error it cannot continue after (e.g. the disk failed). */
  onFatal: (err: unknown) => void = () => {};
  /** Called after the member list changed (applied change, snapshot restore) and once at start. */
  onMembersChanged: (members: readonly MemberRecord[]) => void = () => {};
  /** Carries Ready messages to peers; set before start() when the cluster has other members. */
  transport: Transport | undefined;
  private membersVersion = -1;

  constructor(
    private readonly opts: ResolvedOptions,
    disk: OpenedDataDir,
    private readonly metrics: ServerMetrics,
  ) {
    this.memberId = disk.metadata.memberId;
    this.storage = disk.storage;
    this.wal = disk.wal;
    this.lessor = new Lessor({ now: opts.now });
    this.sm = new StateMachine(
      disk.snapshot,
      { maxTxnOps: opts.maxTxnOps, minLeaseTtl: opts.minLeaseTtl },
      this.lessor,
    );
    const snapMeta = disk.snapshot.metadata;
    this.applied = snapMeta.index;
    this.snapshots = new SnapshotKeeper(disk, opts, metrics, (err) => this.fail(err), snapMeta.index);
    this.confState = snapMeta.confState;
    const hs = this.storage.initialState().hardState;
    this.term = hs.term;
    this.commitIndex = hs.commit;
    this.node = new RawNode(raftConfig(opts, this.memberId, this.storage, snapMeta.index));
    this.waiters = new ProposalWaiters(opts.requestTimeoutMs, opts.now);
    this.applyHost = {
      memberId: this.memberId,
      sm: this.sm,
      waiters: this.waiters,
      raftTerm: () => this.term,
      applyToRaft: (cc) => {
        this.confState = this.node.applyConfChange(cc);
      },
      onRemoved: () => {
        this.opts.log("store: this member was removed from the cluster; stopping");
        // As etcd: answer what is applied, then stop shortly after (10 ticks).
        setTimeout(() => this.fail(new StoreError("MemberRemoved")), 10 * opts.tickMs).unref();
      },
    };
    this.reads = new ReadIndexBatcher(
      {
        requestReadIndex: (ctx) => {
          this.node.readIndex(ctx);
          this.schedule();
        },
        appliedIndex: () => this.applied,
        now: opts.now,
        onRound: () => metrics.readIndexRounds.inc(),
      },
      Math.max(opts.tickMs * opts.heartbeatTick * 2, 100),
      opts.requestTimeoutMs,
    );
  }

  /** Starts ticking; a sole voter campaigns at once instead of waiting out an election timeout. */
  start(): void {
    this.transport ??= this.opts.transport;
    this.notifyMembers();
    this.ticker = setInterval(() => this.tick(), this.opts.tickMs);
    const voters = this.confState.voters;
    if (voters.length === 1 && voters[0] === this.memberId) this.node.campaign();
    this.schedule();
  }

  get leaderId(): number {
    return this.leader;
  }

  get isLeader(): boolean {
    return this.raftState === StateType.Leader;
  }

  get isLearner(): boolean {
    return this.confState.learners.includes(this.memberId);
  }

  /** Whether other members vote too (a sole voter needs no leadership checks with peers). */
  get hasOtherVoters(): boolean {
    return this.confState.voters.some((id) => id !== this.memberId);
  }

  get raftTerm(): number {
    return this.term;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get committedIndex(): number {
    return this.commitIndex;
  }

  /** Resolves once a leader is known; fails with NoLeader after two election timeouts without one. */
  awaitLeader(): Promise<void> {
    this.checkRunning();
    return this.leaderSignal.wait(this.leader !== NONE, 2 * this.opts.electionMs);
  }

  /** Proposes a request and resolves with its result once applied here. */
  async propose<T>(request: InternalRequest): Promise<Applied<T>> {
    const id = this.ids.nextId();
    const data = encodeRequest(this.memberId, id, request);
    if (data.byteLength > this.opts.maxRequestBytes) throw new StoreError("RequestTooLarge");
    return this.submit<T>(id, () => this.node.propose(data));
  }

  /**
   * Proposes a membership ConfChange and resolves with the member list once it is applied
   * here; rejects with the membership error when validation at apply time refuses it.
   */
  proposeConfChange(
    type: ConfChangeType,
    member: Omit<MemberChangeContext, "proposer" | "requestId">,
  ): Promise<Applied<readonly MemberRecord[]>> {
    const requestId = this.ids.nextId();
    const context = encodeMemberContext({ ...member, proposer: this.memberId, requestId });
    return this.submit(requestId, () => this.node.proposeConfChange({ type, nodeId: member.id, context }));
  }

  /** Hands a proposal to Raft once a leader is known and waits for it to apply here. */
  private async submit<T>(id: number, offer: () => void): Promise<Applied<T>> {
    await this.awaitLeader();
    this.checkRunning();
    const result = this.waiters.register<Applied<T>>(id);
    try {
      offer();
    } catch (err) {
      this.waiters.reject(
        id,
        err instanceof ProposalDroppedError ? new StoreError("NoLeader", err.message) : err,
      );
    }
    this.metrics.proposalsPending.inc();
    this.schedule();
    try {
      return await result;
    } catch (err) {
      this.metrics.proposalsFailed.inc();
      throw err;
    } finally {
      this.metrics.proposalsPending.dec();
    }
  }

  /** The transport's callbacks: a message from a peer, an unreachable peer, a snapshot's fate. */
  readonly peerEvents = {
    message: (m: Message) => this.poke(() => this.node.step(m)),
    unreachable: (id: NodeId) => this.poke(() => this.node.reportUnreachable(id)),
    snapshotStatus: (id: NodeId, ok: boolean) =>
      this.poke(() => this.node.reportSnapshot(id, ok ? SnapshotStatus.Finish : SnapshotStatus.Failure)),
  };

  private poke(f: () => void): void {
    if (this.stopped) return;
    f();
    this.schedule();
  }

  /** Asks Raft to hand leadership to transferee (takes effect only on the leader). */
  transferLeader(transferee: NodeId): void {
    this.checkRunning();
    this.node.transferLeader(transferee);
    this.schedule();
  }

  /** Raft's view, with follower progress when this member leads. */
  raftStatus(): Status {
    return this.node.status();
  }

  /** Resolves once local reads reflect every write acknowledged before the call (ReadIndex). */
  async linearizableRead(): Promise<void> {
    await this.awaitLeader();
    this.checkRunning();
    return this.reads.wait();
  }

  /** Resolves once the applied index reaches index. */
  whenApplied(index: number): Promise<void> {
    return this.appliedSignal.wait(this.applied, index);
  }

  /** Stops ticking, lets the Ready loop and any snapshot finish, fails waiters, closes the WAL. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      if (this.ticker) clearInterval(this.ticker);
      await this.loop;
      await this.snapshots.settled();
      const stopped = new StoreError("Stopped");
      this.waiters.rejectAll(stopped);
      this.reads.failAll(stopped);
      this.appliedSignal.release(Number.POSITIVE_INFINITY);
      await this.wal.close();
    })();
    return this.closing;
  }

  private checkRunning(): void {
    if (this.failure !== undefined) throw new StoreError("Stopped", String(this.failure));
    if (this.stopped) throw new StoreError("Stopped");
  }

  private tick(): void {
    this.node.tick();
    if (++this.ticks % HOUSEKEEPING_TICKS === 0) {
      this.waiters.expire(() => new StoreError("Timeout"));
      this.reads.onTick();
      try {
        this.onHousekeeping();
      } catch (err) {
        this.opts.log(`store: housekeeping failed: ${(err as Error).stack ?? err}`);
      }
    }
    this.schedule();
  }

  /** Runs the Ready loop soon; setImmediate lets proposals from pending I/O join the batch. */
  private schedule(): void {
    if (this.loopScheduled || this.loop !== undefined || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      if (this.loop !== undefined || this.stopped) return;
      this.loop = this.runLoop().finally(() => {
        this.loop = undefined;
      });
    });
  }

  private async runLoop(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) {
        const rd = this.node.ready();
        await this.handleReady(rd);
        this.node.advance(rd);
        this.snapshots.maybeSnapshot(this.applied, this.confState, () => this.sm.snapshotData());
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.opts.log(`store: fatal: ${(err as Error)?.stack ?? err}`);
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    const stopped = new StoreError("Stopped", String(err));
    this.waiters.rejectAll(stopped);
    this.reads.failAll(stopped);
    this.appliedSignal.release(Number.POSITIVE_INFINITY);
    this.onFatal(err);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.raftState);
    if (rd.snapshot) await this.snapshots.saveReceived(rd.snapshot);
    if (rd.hardState || rd.entries.length > 0) {
      const started = performance.now();
      await this.wal.save(rd.hardState, rd.entries, rd.mustSync);
      if (rd.mustSync) this.metrics.walFsyncDuration.observe((performance.now() - started) / 1000);
    }
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      this.sm.restore(rd.snapshot);
      this.applied = rd.snapshot.metadata.index;
      this.snapshots.installed(this.applied);
      this.confState = rd.snapshot.metadata.confState;
    }
    this.storage.append(rd.entries);
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.commitIndex = rd.hardState.commit;
      this.metrics.proposalsCommitted.set(this.commitIndex);
    }
    if (rd.messages.length > 0) this.transport?.send(rd.messages.map((m) => this.outgoing(m)));
    if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    this.notifyMembers();
    for (const rs of rd.readStates) this.reads.onReadState(rs);
  }

  private outgoing(m: Message): Message {
    if (m.type !== MessageType.Snap) return m;
    return this.snapshots.merged(m, this.applied, this.confState, () => this.sm.snapshotData());
  }

  private onSoftState(lead: number, state: StateType): void {
    const wasLeader = this.raftState === StateType.Leader;
    if (lead !== this.leader) {
      if (lead !== NONE) this.metrics.leaderChanges.inc();
      this.leader = lead;
    }
    this.raftState = state;
    const isLeader = state === StateType.Leader;
    this.metrics.hasLeader.set(lead === NONE ? 0 : 1);
    this.metrics.isLeader.set(isLeader ? 1 : 0);
    if (isLeader && !wasLeader) this.lessor.promote(this.opts.electionMs);
    if (!isLeader && wasLeader) this.lessor.demote();
    if (lead !== NONE) this.leaderSignal.known();
  }

  private applyEntries(entries: Entry[]): void {
    const started = performance.now();
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      applyEntry(this.applyHost, e);
      this.applied = e.index;
    }
    this.metrics.backendCommitDuration.observe((performance.now() - started) / 1000);
    this.metrics.proposalsApplied.set(this.applied);
    this.reads.onApplied(this.applied);
    this.appliedSignal.release(this.applied);
  }

  private notifyMembers(): void {
    if (this.sm.membersVersion === this.membersVersion) return;
    this.membersVersion = this.sm.membersVersion;
    this.onMembersChanged(this.sm.members);
  }
}
