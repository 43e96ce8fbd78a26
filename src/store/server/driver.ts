// The Raft driver: owns the RawNode, the WAL, the snapshotter and the state machine, and runs
// the Ready loop, one Ready at a time. Each Ready is persisted (snapshot file and WAL records,
// fdatasync when Raft says so) before anything that depends on it: messages that promise
// durable state, applying entries that arrive in it, releasing linearizable reads, advance.
// What depends on nothing in it goes first (earlywork.ts): the leader's MsgApp overlap its own
// fdatasync (Raft thesis §10.2.1), and committed entries already on disk are applied and
// answered at once. Proposals that arrive while an fdatasync runs pile up in Raft's unstable
// log and go out in the next Ready: one fdatasync per batch (group commit). A MsgSnap carries
// the state as applied now.

import { type MemoryStorage, RawNode } from "../../raft/index.js";
import {
  type ConfChangeType,
  type Entry,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  type Ready,
  SnapshotStatus,
  type Status,
} from "../../raft/types.js";
import { Lessor } from "../mvcc/index.js";
import type { Wal } from "../wal/index.js";
import { type ApplyHost, applyEntry } from "./applier.js";
import { StateMachine } from "./apply.js";
import { type ResolvedOptions, raftConfig, type Transport } from "./config.js";
import type { OpenedDataDir } from "./disk.js";
import { planEarlyWork } from "./earlywork.js";
import { StoreError } from "./errors.js";
import { Leadership } from "./leadership.js";
import type { MemberChangeContext } from "./membership.js";
import type { ServerMetrics } from "./metrics.js";
import { type Applied, Proposer } from "./proposals.js";
import { ReadIndexBatcher } from "./readindex.js";
import type { InternalRequest } from "./requestcodec.js";
import { AppliedSignal } from "./signals.js";
import { SnapshotKeeper } from "./snapkeeper.js";
import type { MemberRecord } from "./snapshotdata.js";
import { ProposalWaiters } from "./waiters.js";

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
  private readonly proposer: Proposer;
  private readonly applyHost: ApplyHost;
  private readonly leadership: Leadership;

  private term: number;
  /** The hard state on disk (the last one the WAL saved). */
  private persistedHardState: HardState;
  private commitIndex: number;
  private applied: number;
  private confState;

  private loopScheduled = false;
  private loop: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticks = 0;
  private stopped = false;
  private failure: unknown;
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
    this.persistedHardState = hs;
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
    this.proposer = new Proposer({
      memberId: this.memberId,
      node: this.node,
      waiters: this.waiters,
      metrics,
      maxRequestBytes: opts.maxRequestBytes,
      awaitLeader: () => this.awaitLeader(),
      checkRunning: () => this.checkRunning(),
      schedule: () => this.schedule(),
    });
    this.leadership = new Leadership({
      memberId: this.memberId,
      node: this.node,
      lessor: this.lessor,
      metrics,
      electionMs: opts.electionMs,
      random: opts.random,
      voters: () => this.confState.voters,
      poke: (f) => this.poke(f),
    });
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
    return this.leadership.leader;
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
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
    return this.leadership.known(2 * this.opts.electionMs);
  }

  /** Proposes a request and resolves with its result once applied here. */
  propose<T>(request: InternalRequest): Promise<Applied<T>> {
    return this.proposer.propose<T>(request);
  }

  /** Proposes a membership change; resolves with the member list once applied here. */
  proposeConfChange(
    type: ConfChangeType,
    member: Omit<MemberChangeContext, "proposer" | "requestId">,
  ): Promise<Applied<readonly MemberRecord[]>> {
    return this.proposer.proposeConfChange(type, member);
  }

  /** The transport's callbacks: a message from a peer, an unreachable peer, a snapshot's fate. */
  readonly peerEvents = {
    message: (m: Message) => this.poke(() => this.node.step(m)),
    unreachable: (id: NodeId) => this.poke(() => this.node.reportUnreachable(id)),
    lost: (id: NodeId) => {
      if (!this.stopped) this.leadership.peerLost(id);
    },
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
      this.leadership.stop();
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
    this.leadership.stop();
    const stopped = new StoreError("Stopped", String(err));
    this.waiters.rejectAll(stopped);
    this.reads.failAll(stopped);
    this.appliedSignal.release(Number.POSITIVE_INFINITY);
    this.onFatal(err);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.leadership.update(rd.softState.lead, rd.softState.raftState);
    if (rd.hardState) this.term = rd.hardState.term;
    // See earlywork.ts for what may go ahead of this Ready's WAL write, and why.
    const plan = planEarlyWork(rd, this.storage.lastIndex(), this.persistedHardState);
    if (plan.early.length > 0) this.send(plan.early);
    if (rd.snapshot) await this.snapshots.saveReceived(rd.snapshot);
    const saved = this.persist(rd);
    if (plan.applyEarly > 0) {
      // One microtask turn lets the WAL issue its write first, so applying overlaps the I/O.
      await Promise.resolve();
      this.applyEntries(rd.committedEntries.slice(0, plan.applyEarly));
    }
    await saved;
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
      this.persistedHardState = rd.hardState;
      this.commitIndex = rd.hardState.commit;
      this.metrics.proposalsCommitted.set(this.commitIndex);
    }
    if (plan.late.length > 0) this.send(plan.late);
    if (plan.applyEarly < rd.committedEntries.length)
      this.applyEntries(rd.committedEntries.slice(plan.applyEarly));
    this.notifyMembers();
    for (const rs of rd.readStates) this.reads.onReadState(rs);
  }

  /**
   * Writes rd's entries and hard state; the promise settles once they are fdatasynced. A Ready
   * that only moves the commit index is written without fdatasync, so nothing waits for it:
   * the WAL keeps call order, the next synced save covers it, and a failed write fails the
   * driver here as well as every later save.
   */
  private persist(rd: Ready): Promise<void> | undefined {
    if (rd.mustSync) {
      const started = performance.now();
      return this.wal
        .save(rd.hardState, rd.entries, true)
        .then(() => this.metrics.walFsyncDuration.observe((performance.now() - started) / 1000));
    }
    if (rd.hardState || rd.entries.length > 0) {
      this.wal.save(rd.hardState, rd.entries, false).catch((err) => this.fail(err));
    }
    return undefined;
  }

  private send(messages: Message[]): void {
    this.transport?.send(messages.map((m) => this.outgoing(m)));
  }

  private outgoing(m: Message): Message {
    if (m.type !== MessageType.Snap) return m;
    return this.snapshots.merged(m, this.applied, this.confState, () => this.sm.snapshotData());
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
