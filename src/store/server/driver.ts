// The Raft driver: owns the RawNode, the WAL, the snapshotter and the state machine, and runs
// the Ready loop. Each Ready is handled strictly in order: persist (snapshot file and WAL
// records, fdatasync when Raft says so) before anything that depends on it, then send
// messages, apply committed entries, release linearizable reads, and advance. Proposals that
// arrive while an fdatasync runs pile up in Raft's unstable log and go out in the next Ready:
// one fdatasync per batch (group commit).

import { type MemoryStorage, NONE, ProposalDroppedError, RawNode } from "../../raft/index.js";
import { ConfChangeType, type Entry, EntryType, type Ready, StateType } from "../../raft/types.js";
import { Lessor } from "../mvcc/index.js";
import type { Snapshotter, Wal } from "../wal/index.js";
import { StateMachine } from "./apply.js";
import type { ResolvedOptions } from "./config.js";
import type { OpenedDataDir } from "./disk.js";
import { StoreError } from "./errors.js";
import { RequestIdGenerator } from "./ids.js";
import type { ServerMetrics } from "./metrics.js";
import { ReadIndexBatcher } from "./readindex.js";
import { encodeRequest, type InternalRequest } from "./requestcodec.js";
import { persistSnapshot } from "./snapshots.js";
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
  private readonly snapshotter: Snapshotter;
  private readonly waiters: ProposalWaiters;
  readonly reads: ReadIndexBatcher;
  private readonly ids = new RequestIdGenerator();

  private leader = NONE;
  private raftState: StateType = StateType.Follower;
  private term: number;
  private commitIndex: number;
  private applied: number;
  private snapshotIndex: number;
  private confState;

  private loopScheduled = false;
  private loop: Promise<void> | undefined;
  private snapshotting: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticks = 0;
  private stopped = false;
  private failure: unknown;
  private leaderWaiters: Array<() => void> = [];
  private appliedWaiters: Array<{ index: number; resolve: () => void }> = [];
  private closing: Promise<void> | undefined;
  /** Called every housekeeping period (lease expiry, watch progress...). */
  onHousekeeping: () => void = () => {};
  /** Called when leadership changes: (leader id, whether it is this member). */
  onLeaderChange: (leader: number, isLeader: boolean) => void = () => {};
  /** Called once if the driver hits an error it cannot continue after (e.g. the disk failed). */
  onFatal: (err: unknown) => void = () => {};

  constructor(
    private readonly opts: ResolvedOptions,
    disk: OpenedDataDir,
    private readonly metrics: ServerMetrics,
  ) {
    this.memberId = disk.metadata.memberId;
    this.storage = disk.storage;
    this.wal = disk.wal;
    this.snapshotter = disk.snapshotter;
    this.lessor = new Lessor({ now: opts.now });
    this.sm = new StateMachine(
      disk.snapshot,
      { maxTxnOps: opts.maxTxnOps, minLeaseTtl: opts.minLeaseTtl },
      this.lessor,
    );
    const snapMeta = disk.snapshot.metadata;
    this.applied = snapMeta.index;
    this.snapshotIndex = snapMeta.index;
    this.confState = snapMeta.confState;
    const hs = this.storage.initialState().hardState;
    this.term = hs.term;
    this.commitIndex = hs.commit;
    this.node = new RawNode({
      id: this.memberId,
      electionTick: opts.electionTick,
      heartbeatTick: opts.heartbeatTick,
      storage: this.storage,
      applied: snapMeta.index,
      checkQuorum: true,
      preVote: true,
      random: opts.random,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 512,
    });
    this.waiters = new ProposalWaiters(opts.requestTimeoutMs, opts.now);
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
    if (this.leader !== NONE) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.leaderWaiters = this.leaderWaiters.filter((w) => w !== done);
        reject(new StoreError("NoLeader"));
      }, 2 * this.opts.electionMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.leaderWaiters.push(done);
    });
  }

  /** Proposes a request and resolves with its result once applied here. */
  async propose<T>(request: InternalRequest): Promise<Applied<T>> {
    const id = this.ids.nextId();
    const data = encodeRequest(this.memberId, id, request);
    if (data.byteLength > this.opts.maxRequestBytes) throw new StoreError("RequestTooLarge");
    await this.awaitLeader();
    this.checkRunning();
    const result = this.waiters.register<Applied<T>>(id);
    try {
      this.node.propose(data);
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

  /** Resolves once local reads reflect every write acknowledged before the call (ReadIndex). */
  async linearizableRead(): Promise<void> {
    await this.awaitLeader();
    this.checkRunning();
    return this.reads.wait();
  }

  /** Resolves once the applied index reaches index. */
  whenApplied(index: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  /** Stops ticking, lets the Ready loop and any snapshot finish, fails waiters, closes the WAL. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      if (this.ticker) clearInterval(this.ticker);
      await this.loop;
      await this.snapshotting;
      const stopped = new StoreError("Stopped");
      this.waiters.rejectAll(stopped);
      this.reads.failAll(stopped);
      this.releaseApplied(Number.POSITIVE_INFINITY);
      await this.wal.close();
    })();
    return this.closing;
  }

  private releaseApplied(index: number): void {
    if (this.appliedWaiters.length === 0) return;
    const due = this.appliedWaiters.filter((w) => w.index <= index);
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > index);
    for (const w of due) w.resolve();
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
        this.maybeSnapshot();
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
    this.releaseApplied(Number.POSITIVE_INFINITY);
    this.onFatal(err);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.raftState);
    if (rd.snapshot) {
      await this.snapshotter.save(rd.snapshot);
      await this.wal.saveSnapshot({ index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term });
    }
    if (rd.hardState || rd.entries.length > 0) {
      const started = performance.now();
      await this.wal.save(rd.hardState, rd.entries, rd.mustSync);
      if (rd.mustSync) this.metrics.walFsyncDuration.observe((performance.now() - started) / 1000);
    }
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      this.sm.restore(rd.snapshot);
      this.applied = rd.snapshot.metadata.index;
      this.snapshotIndex = this.applied;
      this.confState = rd.snapshot.metadata.confState;
    }
    this.storage.append(rd.entries);
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.term = rd.hardState.term;
      this.commitIndex = rd.hardState.commit;
      this.metrics.proposalsCommitted.set(this.commitIndex);
    }
    if (rd.messages.length > 0) this.opts.transport?.send(rd.messages);
    if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    for (const rs of rd.readStates) this.reads.onReadState(rs);
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
    if (lead !== NONE) {
      const waiting = this.leaderWaiters;
      this.leaderWaiters = [];
      for (const w of waiting) w();
    }
    this.onLeaderChange(lead, isLeader);
  }

  private applyEntries(entries: Entry[]): void {
    const started = performance.now();
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (e.type === EntryType.ConfChange) this.applyConfChange(e);
      else if (e.data.byteLength > 0) this.applyNormal(e);
      this.applied = e.index;
    }
    this.metrics.backendCommitDuration.observe((performance.now() - started) / 1000);
    this.metrics.proposalsApplied.set(this.applied);
    this.reads.onApplied(this.applied);
    this.releaseApplied(this.applied);
  }

  private applyNormal(e: Entry): void {
    const { member, id, outcome } = this.sm.applyEntry(e.data);
    if (member !== this.memberId || !this.waiters.has(id)) return;
    if (outcome.ok) {
      this.waiters.resolve(id, {
        value: outcome.value,
        revision: this.sm.store.revision,
        raftTerm: this.term,
      });
    } else {
      this.waiters.reject(id, outcome.error);
    }
  }

  private applyConfChange(e: Entry): void {
    const cc = this.sm.applyConfChange(e.data);
    this.confState = this.node.applyConfChange(cc);
    if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.memberId) {
      this.opts.log("store: this member was removed from the cluster");
    }
  }

  /** Every snapshotCount applied entries: snapshot the state machine, then trim log and WAL. */
  private maybeSnapshot(): void {
    if (this.snapshotting !== undefined || this.applied - this.snapshotIndex < this.opts.snapshotCount)
      return;
    const started = performance.now();
    const snap = this.storage.createSnapshot(this.applied, this.confState, this.sm.snapshotData());
    this.snapshotIndex = this.applied;
    this.snapshotting = persistSnapshot(snap, this.disk(), this.opts.snapshotCatchUpEntries)
      .then(() => this.metrics.snapshotSaveDuration.observe((performance.now() - started) / 1000))
      .catch((err) => this.fail(err))
      .finally(() => {
        this.snapshotting = undefined;
      });
  }

  private disk(): { snapshotter: Snapshotter; wal: Wal; storage: MemoryStorage } {
    return { snapshotter: this.snapshotter, wal: this.wal, storage: this.storage };
  }

  /** Test and tooling view of where the log stands. */
  logState(): { firstIndex: number; lastIndex: number; snapshotIndex: number; walSegments: string[] } {
    return {
      firstIndex: this.storage.firstIndex(),
      lastIndex: this.storage.lastIndex(),
      snapshotIndex: this.snapshotIndex,
      walSegments: this.wal.segmentNames(),
    };
  }

  /** Waits for an in-flight snapshot save to finish (tests, shutdown). */
  async snapshotSettled(): Promise<void> {
    await this.snapshotting;
  }
}
