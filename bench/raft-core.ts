// Throughput of the pure Raft core: three RawNodes in one process, an instant network (every
// message is delivered between Ready rounds) and MemoryStorage as the "disk". Proposes
// fixed-size entries to the leader in batches and counts entries committed and applied on
// all three nodes per second. Logs are compacted periodically so memory stays bounded.
//
//   npm run bench -- raft-core [--seconds 5] [--batch 256] [--entry-bytes 1024]
//
// The last line printed is one JSON object with the figures.
import { MemoryStorage, type Message, RawNode, StateType } from "../src/raft/index.js";

interface Args {
  seconds: number;
  batch: number;
  entryBytes: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 5, batch: 256, entryBytes: 1024 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[++i]);
    if (!(value > 0)) throw new Error(`${flag} needs a positive number`);
    if (flag === "--seconds") args.seconds = value;
    else if (flag === "--batch") args.batch = Math.floor(value);
    else if (flag === "--entry-bytes") args.entryBytes = Math.floor(value);
    else
      throw new Error(`unknown flag ${flag}; usage: raft-core [--seconds S] [--batch N] [--entry-bytes B]`);
  }
  return args;
}

/** Entries applied beyond the last compaction before a node snapshots and compacts again. */
const COMPACT_EVERY = 20_000;
/** Entries kept behind the compaction point so a briefly lagging follower needs no snapshot. */
const KEEP_ENTRIES = 1_000;

class BenchNode {
  readonly storage = new MemoryStorage();
  readonly raw: RawNode;
  applied = 1;
  commit = 1;
  lastCompaction = 1;
  /** A checksum over applied payloads, so applying cannot be optimised away. */
  digest = 0;

  constructor(
    readonly id: number,
    voters: number[],
  ) {
    this.storage.applySnapshot({
      metadata: { index: 1, term: 1, confState: { voters, learners: [] } },
      data: new Uint8Array(0),
    });
    this.storage.setHardState({ term: 1, vote: 0, commit: 1 });
    this.raw = new RawNode({ id, storage: this.storage, applied: 1, electionTick: 10, heartbeatTick: 1 });
  }

  /** Runs one Ready: persist, collect messages, apply, advance. Returns false if there was none. */
  handleReady(outbox: Message[]): boolean {
    if (!this.raw.hasReady()) return false;
    const rd = this.raw.ready();
    if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState !== undefined) {
      this.storage.setHardState(rd.hardState);
      this.commit = rd.hardState.commit;
    }
    for (const m of rd.messages) outbox.push(m);
    if (rd.snapshot !== undefined) this.applied = rd.snapshot.metadata.index;
    for (const e of rd.committedEntries) {
      if (e.data.length > 0) this.digest = (this.digest + e.data[0]! + e.data[e.data.length - 1]!) | 0;
      this.applied = e.index;
    }
    this.raw.advance(rd);
    return true;
  }

  compact(upTo: number): void {
    if (this.applied - this.lastCompaction < COMPACT_EVERY) return;
    this.storage.createSnapshot(this.applied, undefined, new Uint8Array(8));
    const target = Math.min(upTo, this.applied) - KEEP_ENTRIES;
    if (target > this.storage.firstIndex()) this.storage.compact(target);
    this.lastCompaction = this.applied;
  }
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const voters = [1, 2, 3];
  const nodes = voters.map((id) => new BenchNode(id, voters));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let messages = 0;
  let readyRounds = 0;
  const outbox: Message[] = [];
  const round = (): boolean => {
    let busy = false;
    for (const n of nodes) while (n.handleReady(outbox)) busy = true;
    readyRounds++;
    const batch = outbox.splice(0, outbox.length);
    messages += batch.length;
    for (const m of batch) byId.get(m.to)!.raw.step(m);
    return busy || batch.length > 0;
  };

  const leader = nodes[0]!;
  leader.raw.campaign();
  for (let i = 0; i < 100 && leader.raw.status().softState.raftState !== StateType.Leader; i++) round();
  if (leader.raw.status().softState.raftState !== StateType.Leader)
    throw new Error("node 1 did not become leader");
  while (round()) {}

  // Distinct payloads, built once: proposing must not measure allocation.
  const payloads = Array.from({ length: 1024 }, (_, i) => {
    const p = new Uint8Array(args.entryBytes);
    p.fill(i & 0xff);
    return p;
  });
  const startApplied = Math.min(...nodes.map((n) => n.applied));
  const began = performance.now();
  const deadline = began + args.seconds * 1000;
  let nextReport = began + 1000;
  let proposed = 0;
  let lastReportApplied = startApplied;
  let now = began;
  while (now < deadline) {
    // Keep a bounded backlog in flight: propose only while the followers keep up.
    const minApplied = Math.min(...nodes.map((n) => n.applied));
    if (leader.commit - minApplied < 4 * args.batch) {
      for (let i = 0; i < args.batch; i++) leader.raw.propose(payloads[proposed++ % payloads.length]!);
    }
    round();
    for (const n of nodes) n.compact(minApplied);
    now = performance.now();
    if (now >= nextReport) {
      const applied = Math.min(...nodes.map((n) => n.applied));
      console.log(
        `${((now - began) / 1000).toFixed(1)} s: ${applied - startApplied} entries applied on all nodes, ${Math.round(applied - lastReportApplied)} in the last second`,
      );
      lastReportApplied = applied;
      nextReport += 1000;
    }
  }
  const elapsed = (performance.now() - began) / 1000;
  const entries = Math.min(...nodes.map((n) => n.applied)) - startApplied;
  const result = {
    bench: "raft-core",
    entries_per_sec: Math.round(entries / elapsed),
    nodes: 3,
    entry_bytes: args.entryBytes,
    batch: args.batch,
    seconds: Number(elapsed.toFixed(2)),
    entries,
    mib_per_sec: Number(((entries * args.entryBytes) / elapsed / 2 ** 20).toFixed(1)),
    ready_rounds: readyRounds,
    messages,
    heap_mib: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    log_entries_kept: nodes.map((n) => n.storage.lastIndex() - n.storage.firstIndex() + 1),
  };
  console.log(JSON.stringify(result));
}

main();
