// The simulated cluster: n RawNodes on one logical clock and one simulated network. A tick
// advances the clock, ticks every live node, then runs Ready loops and delivers due messages
// until nothing is left to do in this tick, then checks every safety invariant. Scripted
// tests drive it directly; chaos.ts drives it randomly.
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  MessageType,
  type NodeId,
  ProposalDroppedError,
  type ReadState,
  SnapshotStatus,
  StateType,
} from "../../src/raft/index.js";
import { SafetyChecker, SafetyViolation } from "./invariants.js";
import { type NetworkOptions, type Outcome, SimNetwork } from "./network.js";
import { type RaftTuning, type ReadyHooks, SimNode } from "./node.js";
import { Rng } from "./rng.js";

export interface ClusterOptions {
  seed: number;
  nodes: number;
  tuning: RaftTuning;
  network: NetworkOptions;
  /** Chance that a node crashes right after persisting a Ready, before sending or applying. */
  crashAfterPersistRate?: number;
  /** Record every message delivery in the trace (slower; used for replays and determinism checks). */
  traceMessages?: boolean;
  /** Print trace lines as they happen. */
  verbose?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BOOTSTRAP_INDEX = 1;
/** Ready rounds and deliveries within one tick before the rest waits for the next tick. */
const MAX_ROUNDS_PER_TICK = 200;

export class Cluster {
  readonly rng: Rng;
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly trace: string[] = [];
  now = 0;
  private nextId: NodeId;
  private readonly hooks: ReadyHooks;
  private readonly reads = new Map<string, { node: NodeId; minIndex: number }>();
  readonly stats = { crashes: 0, restarts: 0, readsServed: 0, snapshotsSent: 0, messages: 0 };
  /** Called for every applied entry (after the safety checks). */
  onApplied: (node: SimNode, e: Entry) => void = () => {};

  constructor(readonly options: ClusterOptions) {
    this.rng = new Rng(options.seed);
    this.network = new SimNetwork(this.rng.fork(), options.network);
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const conf: ConfState = { voters, learners: [] };
    this.checker = new SafetyChecker(conf, BOOTSTRAP_INDEX);
    this.nextId = options.nodes + 1;
    this.hooks = this.makeHooks();
    for (const id of voters) {
      const node = new SimNode(id, options.tuning);
      // Every founding member starts from the same bootstrap snapshot holding the initial
      // configuration, as a cluster created with a known member list would.
      node.durable.applySnapshot({
        metadata: { index: BOOTSTRAP_INDEX, term: 1, confState: conf },
        data: new Uint8Array(0),
      });
      node.durable.setHardState({ term: 1, vote: 0, commit: BOOTSTRAP_INDEX });
      this.nodes.set(id, node);
      node.start(this.rng.fork());
    }
  }

  log(line: string): void {
    const text = `${this.now}: ${line}`;
    this.trace.push(text);
    if (this.options.verbose) console.log(text);
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no simulated node ${id}`);
    return n;
  }

  /** Members that have not been removed, in id order. */
  members(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.retired);
  }

  live(): SimNode[] {
    return this.members().filter((n) => n.up);
  }

  /** The live leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.live()) {
      if (n.role === StateType.Leader && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  /** One logical tick for the whole cluster, then the safety sweep. */
  tick(skip: ReadonlySet<NodeId> = new Set(), extra: ReadonlySet<NodeId> = new Set()): void {
    this.now++;
    for (const n of this.live()) {
      if (!skip.has(n.id)) n.raw!.tick();
      if (extra.has(n.id)) n.raw!.tick();
    }
    this.settle();
    this.checkInvariants();
  }

  /** Runs Ready loops and delivers due messages until both are exhausted for this tick. */
  settle(): void {
    for (let round = 0; round < MAX_ROUNDS_PER_TICK; round++) {
      let busy = false;
      for (const n of this.live()) {
        while (n.handleReady(this.hooks)) busy = true;
      }
      for (const { msg, outcome } of this.network.takeDue(this.now)) {
        this.deliver(msg, outcome);
        busy = true;
      }
      if (!busy) return;
    }
  }

  checkInvariants(): void {
    const members = this.members();
    for (const n of members) {
      if (n.up && n.role === StateType.Leader) this.checker.checkLeaderCompleteness(n, n.term);
    }
    this.checker.checkLogMatching(members);
    this.checker.checkDurability(members);
  }

  private deliver(msg: Message, outcome: Outcome): void {
    const to = this.nodes.get(msg.to);
    const reached = outcome === "delivered" && to !== undefined && to.up && !to.retired;
    if (this.options.traceMessages) {
      this.log(
        `${msg.type} ${msg.from}->${msg.to} term ${msg.term} index ${msg.index} logTerm ${msg.logTerm} commit ${msg.commit} entries ${msg.entries.length}${msg.reject ? ` reject hint ${msg.rejectHint}` : ""}: ${reached ? "delivered" : outcome === "delivered" ? "receiver down" : outcome}`,
      );
    }
    if (reached) {
      this.stats.messages++;
      to.raw!.step(msg);
    }
    const from = this.nodes.get(msg.from);
    if (from === undefined || !from.up || from.retired) return;
    if (msg.type === MessageType.Snap) {
      from.raw!.reportSnapshot(msg.to, reached ? SnapshotStatus.Finish : SnapshotStatus.Failure);
    } else if (!reached && outcome !== "dropped" && this.rng.chance(0.5)) {
      // A real transport notices a dead connection, never a lost packet.
      from.raw!.reportUnreachable(msg.to);
    }
  }

  private makeHooks(): ReadyHooks {
    return {
      checker: this.checker,
      send: (msg) => {
        if (msg.type === MessageType.Snap) {
          this.stats.snapshotsSent++;
          this.network.send(this.freshSnapshot(msg), this.now);
        } else {
          this.network.send(msg, this.now);
        }
      },
      crashAfterPersist: (node) => {
        if (!this.rng.chance(this.options.crashAfterPersistRate ?? 0)) return false;
        this.log(`n${node.id} crashes after persisting a Ready, before sending or applying it`);
        this.stats.crashes++;
        node.crash();
        return true;
      },
      onApplied: (node, e) => this.onApplied(node, e),
      onConfChange: (node, cc, index, conf) => this.confApplied(node, cc, index, conf),
      onReadState: (node, rs) => this.readServed(node, rs),
      trace: (line) => this.log(line),
    };
  }

  /**
   * The core sends storage.snapshot(), which may predate the receiver joining (then the
   * receiver must ignore it). Like etcd's server, the driver sends a snapshot of the
   * leader's state machine as of now instead: always when the stored one lacks the receiver,
   * otherwise at random so both the stored and the newer-than-expected paths run.
   */
  private freshSnapshot(msg: Message): Message {
    const sender = this.node(msg.from);
    const cs = msg.snapshot!.metadata.confState;
    const knowsReceiver = cs.voters.includes(msg.to) || cs.learners.includes(msg.to);
    if (knowsReceiver && this.rng.chance(0.5)) return msg;
    const line = sender.compact(Number.POSITIVE_INFINITY);
    if (line !== undefined) this.log(`${line} to send a fresh snapshot`);
    return { ...msg, snapshot: sender.durable.snapshot() };
  }

  private confApplied(node: SimNode, cc: ConfChange, index: number, conf: ConfState): void {
    this.log(
      `n${node.id} applies conf change ${cc.type} of n${cc.nodeId} at ${index}: voters ${conf.voters} learners ${conf.learners}`,
    );
    const removed = !conf.voters.includes(cc.nodeId) && !conf.learners.includes(cc.nodeId);
    const target = this.nodes.get(cc.nodeId);
    if (removed && target !== undefined && !target.retired) {
      // As an etcd member does: a removed member shuts down, and peers stop talking to it.
      this.log(`n${cc.nodeId} is removed and shuts down`);
      target.retired = true;
      target.crash();
      this.network.retire(cc.nodeId);
    }
  }

  private readServed(node: SimNode, rs: ReadState): void {
    const key = decoder.decode(rs.requestCtx);
    const req = this.reads.get(key);
    if (req === undefined) throw new Error(`n${node.id} got a read state for unknown request "${key}"`);
    if (req.node !== node.id) {
      throw new SafetyViolation(
        "read-linearizability",
        `read "${key}" of n${req.node} answered on n${node.id}`,
      );
    }
    this.checker.checkRead(node.id, rs.index, req.minIndex);
    this.stats.readsServed++;
  }

  /** Proposes on node id; false if the proposal was dropped. */
  propose(id: NodeId, data: string | Uint8Array): boolean {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    return this.dropSafe(() => this.node(id).raw!.propose(bytes));
  }

  proposeConfChange(id: NodeId, cc: ConfChange): boolean {
    return this.dropSafe(() => this.node(id).raw!.proposeConfChange(cc));
  }

  /** Issues a ReadIndex on node id, remembering which index was already committed by then. */
  readIndex(id: NodeId, name: string): boolean {
    this.reads.set(name, { node: id, minIndex: this.checker.maxCommitted });
    return this.dropSafe(() => this.node(id).raw!.readIndex(encoder.encode(name)));
  }

  private dropSafe(call: () => void): boolean {
    try {
      call();
      return true;
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        this.log(`dropped: ${err.message}`);
        return false;
      }
      throw err;
    }
  }

  crash(id: NodeId): void {
    this.log(`n${id} crashes`);
    this.stats.crashes++;
    this.node(id).crash();
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    n.start(this.rng.fork());
    this.stats.restarts++;
    this.log(`n${id} restarts at term ${n.term} commit ${n.commit} applied ${n.sm!.applied}`);
  }

  /** A brand-new member process with empty storage, to be added by a conf change. */
  spawn(): SimNode {
    const node = new SimNode(this.nextId++, this.options.tuning);
    this.nodes.set(node.id, node);
    node.start(this.rng.fork());
    this.log(`n${node.id} starts empty, waiting to be added`);
    return node;
  }

  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.network.partition(a, b);
    this.log(`partition {${a}} | {${b}}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.network.cutOneWay(from, to);
    this.log(`cut ${from}->${to}`);
  }

  heal(): void {
    this.network.heal();
    this.log("network healed");
  }

  /** Ticks until check() holds; throws a liveness violation after maxTicks. */
  runUntil(check: () => boolean, maxTicks: number, what: string): number {
    for (let t = 0; t < maxTicks; t++) {
      if (check()) return t;
      this.tick();
    }
    if (check()) return maxTicks;
    throw new SafetyViolation(
      "liveness",
      `${what} did not happen within ${maxTicks} ticks\n${this.describe()}`,
    );
  }

  /** One line per member: role, term, commit, applied, log bounds, and a leader's view of progress. */
  describe(): string {
    const lines = this.members().map((n) => {
      const transfer =
        n.up && n.raw!.status().leadTransferee !== 0
          ? ` transferring to n${n.raw!.status().leadTransferee}`
          : "";
      const head = `n${n.id}: ${n.up ? n.role : "down"}${transfer} term ${n.term} commit ${n.commit} applied ${n.sm?.applied ?? "-"} log (${n.snapshotIndex()}, ${n.lastIndex()}]`;
      const progress = n.up ? n.raw!.status().progress : undefined;
      if (progress === undefined) return head;
      const prs = [...progress].map(([id, p]) => `${id}:${p.state} match ${p.match} next ${p.next}`);
      return `${head} progress ${prs.join("; ")}`;
    });
    return `${lines.join("\n")}\nlatest conf: ${JSON.stringify(this.checker.latestConf())}; cut links: ${this.network.cutLinks().join(" ") || "none"}`;
  }
}
