// An in-test cluster of RawNodes over MemoryStorage with a message queue the test controls:
// links can be cut, messages filtered or held, and every delivered message is recorded.
// The driver loop follows the Ready contract: persist, send, apply, advance.

import {
  type ConfChange,
  ConfChangeType,
  type Config,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  type ReadState,
  StateType,
} from "../../src/raft/index.js";

/** mulberry32: a small seeded PRNG so election timeouts are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Member {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  /** Data of applied normal, non-empty entries, in order. */
  applied: string[];
  readStates: ReadState[];
  confState: ConfState;
  /** When set, committed conf changes are collected here instead of being applied. */
  holdConfChanges: boolean;
  heldConfChanges: ConfChange[];
}

export type NetConfig = Partial<Omit<Config, "id" | "storage">>;

export class Network {
  readonly members = new Map<NodeId, Member>();
  /** Messages sent but not yet delivered. */
  queue: Message[] = [];
  /** Every message that was delivered, in order. */
  delivered: Message[] = [];
  private readonly cut = new Set<string>();
  /** Extra filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;

  constructor(
    ids: NodeId[],
    readonly cfg: NetConfig = {},
    private readonly seed = 1,
  ) {
    for (const id of ids) this.add(id, new MemoryStorage({ voters: ids, learners: [] }));
  }

  add(id: NodeId, storage: MemoryStorage, extra: NetConfig = {}): Member {
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      random: seeded(this.seed * 1000 + id),
      ...this.cfg,
      ...extra,
    });
    const m: Member = {
      id,
      node,
      storage,
      applied: [],
      readStates: [],
      confState: storage.initialState().confState,
      holdConfChanges: false,
      heldConfChanges: [],
    };
    this.members.set(id, m);
    return m;
  }

  /** Simulates a crash and restart: a fresh RawNode over the same durable storage, replaying the log. */
  restart(id: NodeId): void {
    const old = this.get(id);
    this.queue = this.queue.filter((m) => m.from !== id);
    const m = this.add(id, old.storage);
    m.holdConfChanges = old.holdConfChanges;
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RawNode {
    return this.get(id).node;
  }

  /** Handles one Ready of a member as a driver would; returns false if there was none. */
  processReady(id: NodeId): boolean {
    const m = this.get(id);
    if (!m.node.hasReady()) return false;
    const rd = m.node.ready();
    if (rd.snapshot !== undefined) {
      m.storage.applySnapshot(rd.snapshot);
      m.confState = rd.snapshot.metadata.confState;
      m.applied = [`<snapshot ${rd.snapshot.metadata.index}:${dec(rd.snapshot.data)}>`];
    }
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    for (const msg of rd.messages) this.queue.push(msg);
    for (const e of rd.committedEntries) this.apply(m, e);
    m.readStates.push(...rd.readStates);
    m.node.advance(rd);
    return true;
  }

  private apply(m: Member, e: Entry): void {
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      if (m.holdConfChanges) m.heldConfChanges.push(cc);
      else m.confState = m.node.applyConfChange(cc);
    } else if (e.data.length > 0) {
      m.applied.push(dec(e.data));
    }
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}-${to}`) || !this.members.has(to);
  }

  /** Cuts both directions between a and b. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cutLink(id, other);
  }

  /** Only members within the same group can talk. */
  partition(...groups: NodeId[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]) for (const b of groups[j]) this.cutLink(a, b);
      }
    }
  }

  heal(): void {
    this.cut.clear();
    this.filter = undefined;
  }

  /** Delivers the queued messages (not those produced meanwhile); returns how many arrived. */
  deliver(): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const msg of batch) {
      if (this.isCut(msg.from, msg.to)) continue;
      if (this.filter !== undefined && !this.filter(msg)) continue;
      this.delivered.push(msg);
      this.get(msg.to).node.step(msg);
      n++;
    }
    return n;
  }

  /** Processes readies and delivers messages until nothing moves. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of [...this.members.keys()].sort((a, b) => a - b)) {
        while (this.processReady(id)) moved = true;
      }
      if (this.queue.length > 0) {
        this.deliver();
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Ticks every member once per round, stabilizing after each tick. */
  tickAll(rounds: number): void {
    for (let i = 0; i < rounds; i++) {
      for (const m of this.members.values()) m.node.tick();
      this.stabilize();
    }
  }

  tick(id: NodeId, times: number): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.stabilize();
    }
  }

  /** Campaigns on id and lets the election run to completion. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  state(id: NodeId): StateType {
    return this.node(id).status().softState.raftState;
  }

  term(id: NodeId): number {
    return this.node(id).status().hardState.term;
  }

  commit(id: NodeId): number {
    return this.node(id).status().hardState.commit;
  }

  leaders(): NodeId[] {
    return [...this.members.keys()].filter((id) => this.state(id) === StateType.Leader);
  }

  /** Terms of the stored log of a member, index 1 first ("s" marks compacted entries). */
  logTerms(id: NodeId): (number | "s")[] {
    const s = this.get(id).storage;
    const out: (number | "s")[] = [];
    for (let i = 1; i < s.firstIndex(); i++) out.push("s");
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
    return out;
  }

  /** The stored log data of a member from `from` on, decoded. */
  logData(id: NodeId, from = 1): string[] {
    const s = this.get(id).storage;
    if (s.lastIndex() < from) return [];
    return s
      .entries(Math.max(from, s.firstIndex()), s.lastIndex() + 1, Number.POSITIVE_INFINITY)
      .map((e) => dec(e.data));
  }

  countDelivered(pred: (m: Message) => boolean): number {
    return this.delivered.filter(pred).length;
  }
}

/** A MemoryStorage holding entries with the given terms at indexes 1.., plus a hard state term. */
export function storageWithLog(voters: NodeId[], terms: number[], term: number): MemoryStorage {
  const s = new MemoryStorage({ voters, learners: [] });
  s.append(
    terms.map((t, i) => ({ term: t, index: i + 1, type: EntryType.Normal, data: enc(`t${t}i${i + 1}`) })),
  );
  s.setHardState({ term, vote: 0, commit: 0 });
  return s;
}

export const isApp = (m: Message): boolean => m.type === MessageType.App;
export const addNode = (nodeId: NodeId): ConfChange => ({ type: ConfChangeType.AddNode, nodeId });
export const addLearner = (nodeId: NodeId): ConfChange => ({ type: ConfChangeType.AddLearnerNode, nodeId });
export const removeNode = (nodeId: NodeId): ConfChange => ({ type: ConfChangeType.RemoveNode, nodeId });
