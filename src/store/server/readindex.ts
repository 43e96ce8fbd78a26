// Linearizable reads, batched as etcd's linearizableReadLoop: every read that arrives while no
// ReadIndex round is in flight joins the next round; one round asks Raft for a read point
// (the leader's commit index, confirmed by a heartbeat quorum) and releases all its readers
// once the local applied index reaches it. Reads arriving during a round wait for the next
// one, because the earlier round's read point may predate their arrival.
import type { ReadState } from "../../raft/types.js";
import { StoreError } from "./errors.js";

interface Reader {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Round {
  ctx: Uint8Array;
  readers: Reader[];
  /** Set once Raft answered with a read point. */
  index?: number;
  startedAt: number;
  lastAskedAt: number;
}

export interface ReadIndexHooks {
  /** Hands the round's context to Raft (RaftNode.readIndex). May throw when Raft drops it. */
  requestReadIndex(ctx: Uint8Array): void;
  appliedIndex(): number;
  now(): number;
  /** Called once per round issued (metrics). */
  onRound(): void;
}

export class ReadIndexBatcher {
  private queued: Reader[] = [];
  private inFlight: Round | undefined;
  /** Rounds with a read point, waiting for the applied index to catch up, in index order. */
  private awaitingApply: Round[] = [];
  private nextRound = 1;
  private roundScheduled = false;
  /** Rounds issued so far (tests assert that concurrent reads share one). */
  rounds = 0;

  constructor(
    private readonly hooks: ReadIndexHooks,
    private readonly retryMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once a local read reflects every write acknowledged before this call. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ resolve, reject });
      this.scheduleRound();
    });
  }

  /** From the Ready loop: Raft answered a ReadIndex request. */
  onReadState(rs: ReadState): void {
    const round = this.inFlight;
    if (round === undefined || Buffer.compare(rs.requestCtx, round.ctx) !== 0) return;
    round.index = rs.index;
    this.inFlight = undefined;
    this.awaitingApply.push(round);
    this.onApplied(this.hooks.appliedIndex());
    this.scheduleRound();
  }

  /** From the apply path: releases rounds whose read point is now applied. */
  onApplied(applied: number): void {
    while (this.awaitingApply.length > 0 && (this.awaitingApply[0]!.index ?? Infinity) <= applied) {
      const round = this.awaitingApply.shift()!;
      for (const r of round.readers) r.resolve();
    }
  }

  /** Called periodically: re-asks Raft for a lost round, fails rounds that took too long. */
  onTick(): void {
    const now = this.hooks.now();
    const round = this.inFlight;
    if (round !== undefined) {
      if (now - round.startedAt >= this.timeoutMs) {
        this.inFlight = undefined;
        this.failRound(round, new StoreError("Timeout", "read index round timed out"));
        this.scheduleRound();
      } else if (now - round.lastAskedAt >= this.retryMs) {
        round.lastAskedAt = now;
        this.ask(round);
      }
    }
    while (this.awaitingApply.length > 0 && now - this.awaitingApply[0]!.startedAt >= this.timeoutMs) {
      this.failRound(this.awaitingApply.shift()!, new StoreError("Timeout", "waiting for the applied index"));
    }
  }

  /** Fails every pending read (leader lost or server stopping). */
  failAll(err: unknown): void {
    const rounds = [...this.awaitingApply, ...(this.inFlight ? [this.inFlight] : [])];
    this.awaitingApply = [];
    this.inFlight = undefined;
    for (const round of rounds) this.failRound(round, err);
    const queued = this.queued;
    this.queued = [];
    for (const r of queued) r.reject(err);
  }

  /**
   * Starts the next round after the current I/O phase, so every read that arrives in the
   * meantime joins it.
   */
  private scheduleRound(): void {
    if (this.roundScheduled || this.inFlight !== undefined || this.queued.length === 0) return;
    this.roundScheduled = true;
    setImmediate(() => {
      this.roundScheduled = false;
      if (this.inFlight === undefined && this.queued.length > 0) this.startRound();
    });
  }

  private startRound(): void {
    const ctx = Buffer.allocUnsafe(8);
    ctx.writeDoubleBE(this.nextRound++, 0);
    const now = this.hooks.now();
    const round: Round = { ctx, readers: this.queued, startedAt: now, lastAskedAt: now };
    this.queued = [];
    this.inFlight = round;
    this.rounds++;
    this.hooks.onRound();
    this.ask(round);
  }

  private ask(round: Round): void {
    try {
      this.hooks.requestReadIndex(round.ctx);
    } catch {
      // Dropped (e.g. no leader right now): the retry in onTick asks again.
    }
  }

  private failRound(round: Round, err: unknown): void {
    for (const r of round.readers) r.reject(err);
  }
}
