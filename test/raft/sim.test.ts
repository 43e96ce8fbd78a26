import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Entry, EntryType, type Message, MessageType, StateType } from "../../src/raft/index.js";
import { defaultNodes, replayCommand, runSimulation, SimFailure } from "../sim/chaos.js";
import { type LogView, SafetyChecker, SafetyViolation } from "../sim/invariants.js";
import { Rng } from "../sim/rng.js";
import { calmCluster, converged, elect, winElection } from "../sim/scripted.js";

const SEEDS_PER_SIZE = 100;

describe("seeded chaos runs keep every safety invariant and recover once healed", () => {
  for (const nodes of [3, 5, 7]) {
    test(`${SEEDS_PER_SIZE} seeds with ${nodes} nodes`, () => {
      for (let seed = 1; seed <= SEEDS_PER_SIZE; seed++) {
        const result = runSimulation({ seed, nodes });
        assert.ok(result.proposalsCommitted > 0, `seed ${seed} committed nothing`);
      }
    });
  }
});

describe("determinism", () => {
  test("replaying a seed gives the identical message-level trace", () => {
    const seed = 4242;
    const a = runSimulation({ seed, traceMessages: true });
    const b = runSimulation({ seed, traceMessages: true });
    assert.ok(a.trace.length > 1000, "the trace records every delivery");
    assert.deepEqual(a.trace, b.trace);
    assert.deepEqual(a.stats, b.stats);
    const other = runSimulation({ seed: seed + 1, traceMessages: true });
    assert.notDeepEqual(other.trace, a.trace);
  });

  test("the rng is a pure function of its seed", () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return [r.uint32(), r.int(10), r.float(), r.pick(["a", "b", "c"]), r.shuffle([1, 2, 3, 4])];
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
    assert.throws(() => new Rng(1.5), /integer/);
  });

  test("cluster sizes cycle with the seed and a failure names its replay command", () => {
    assert.deepEqual([1, 2, 3].map(defaultNodes), [5, 7, 3]);
    assert.equal(replayCommand({ seed: 12 }), "npm run sim -- --seed 12");
    assert.equal(
      replayCommand({ seed: 12, nodes: 5, steps: 300 }),
      "npm run sim -- --seed 12 --nodes 5 --steps 300",
    );
    const failure = new SimFailure({ seed: 12, nodes: 5 }, 40, new Error("boom"), []);
    assert.match(failure.message, /seed 12 failed at tick 40: .*boom/s);
    assert.match(failure.message, /replay: npm run sim -- --seed 12 --nodes 5/);
  });
});

let fakeLogs = 0;

/** An in-memory log for feeding the checker histories no correct Raft would produce. */
function fakeLog(id: number, terms: number[], snapshotIndex = 0): LogView {
  // terms[i] is the term at index snapshotIndex + i (terms[0] is the snapshot's term).
  return {
    id,
    logVersion: fakeLogs++,
    snapshotIndex: () => snapshotIndex,
    lastIndex: () => snapshotIndex + terms.length - 1,
    termAt: (i) => terms[i - snapshotIndex],
  };
}

function entry(index: number, term: number, data: string): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

function violates(rule: string, fn: () => void): void {
  assert.throws(fn, (err: unknown) => err instanceof SafetyViolation && err.rule === rule);
}

describe("the invariant checkers fire on corrupted histories", () => {
  const conf = { voters: [1, 2, 3], learners: [] };

  test("two leaders in one term", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeLeader(1, 5);
    c.observeLeader(1, 5);
    c.observeLeader(2, 6);
    violates("election-safety", () => c.observeLeader(3, 5));
  });

  test("same index and term holding different entries, or following different terms", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeAppend(fakeLog(1, [0, 1, 1]), [entry(2, 1, "a")]);
    violates("log-matching", () => c.observeAppend(fakeLog(2, [0, 1, 1]), [entry(2, 1, "b")]));
    violates("log-matching", () => c.observeAppend(fakeLog(3, [0, 2, 1]), [entry(2, 1, "a")]));
  });

  test("logs that agree at an index but differ before it", () => {
    const c = new SafetyChecker(conf, 0);
    c.checkLogMatching([fakeLog(1, [0, 1, 1, 2]), fakeLog(2, [0, 1, 1, 3])]);
    violates("log-matching", () => c.checkLogMatching([fakeLog(1, [0, 1, 1, 2]), fakeLog(2, [0, 1, 2, 2])]));
  });

  test("two different entries committed at one index", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeCommit(fakeLog(1, [0, 1, 2]), 0, 2, 2);
    violates("commit-agreement", () => c.observeCommit(fakeLog(2, [0, 1, 3]), 0, 2, 3));
    violates("commit-agreement", () => c.observeCommit(fakeLog(3, [0, 1]), 0, 2, 3));
  });

  test("a leader committing an entry of an older term by counting replicas", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeCommit(fakeLog(1, [0, 1, 2, 3]), 0, 3, 3, true);
    violates("leader-commit-term", () => c.observeCommit(fakeLog(2, [0, 1, 2, 3]), 0, 2, 3, true));
  });

  test("a later-term leader missing a committed entry", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeCommit(fakeLog(1, [0, 1, 2]), 0, 2, 2);
    c.checkLeaderCompleteness(fakeLog(2, [0, 1, 2, 3]), 3);
    // A leader of the commit's own term (or older) may legitimately lack it.
    c.checkLeaderCompleteness(fakeLog(3, [0, 1]), 2);
    violates("leader-completeness", () => c.checkLeaderCompleteness(fakeLog(3, [0, 1, 3]), 3));
  });

  test("state machines applying different entries, out of order, or uncommitted", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeApply(1, entry(1, 1, "x"), 0, 1, 111);
    violates("state-machine-safety", () => c.observeApply(2, entry(1, 1, "y"), 0, 1, 111));
    violates("state-machine-safety", () => c.observeApply(2, entry(1, 1, "x"), 0, 1, 222));
    violates("apply-order", () => c.observeApply(3, entry(3, 1, "z"), 1, 3, 1));
    violates("apply-order", () => c.observeApply(3, entry(2, 1, "z"), 1, 1, 1));
    violates("state-machine-safety", () => c.observeSnapshot(3, 1, 1, 999));
  });

  test("a committed entry held by too few durable logs", () => {
    const c = new SafetyChecker(conf, 0);
    c.observeCommit(fakeLog(1, [0, 1, 1]), 0, 2, 1);
    c.checkDurability([fakeLog(1, [0, 1, 1]), fakeLog(2, [0, 1, 1]), fakeLog(3, [0])]);
    // A snapshot covers what it compacted.
    c.checkDurability([fakeLog(1, [0, 1, 1]), fakeLog(2, [1], 2), fakeLog(3, [0])]);
    violates("committed-entry-durability", () =>
      c.checkDurability([fakeLog(1, [0, 1, 1]), fakeLog(2, [0, 1]), fakeLog(3, [0])]),
    );
  });

  test("a read index below what was already committed when the read was issued", () => {
    const c = new SafetyChecker(conf, 0);
    c.checkRead(1, 5, 5);
    violates("read-linearizability", () => c.checkRead(1, 4, 5));
  });

  test("a corrupted durable log is caught when the node replays it after a restart", () => {
    const c = calmCluster(3);
    elect(c, 1);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    converged(c);
    const n3 = c.node(3);
    const at = n3.commit - 1;
    // A torn write: same index and term, different payload.
    n3.durable.append([
      entry(at, n3.termAt(at)!, "garbage"),
      ...n3.durable.entries(at + 1, n3.lastIndex() + 1, 1e9),
    ]);
    c.crash(3);
    violates("state-machine-safety", () => {
      c.restart(3);
      c.settle();
    });
  });

  test("committed entries lost from a quorum's disks are caught", () => {
    const c = calmCluster(3);
    elect(c, 1);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    converged(c);
    const last = c.node(1).lastIndex();
    // A driver that acknowledged before persisting: two followers' last entries never hit disk.
    for (const id of [2, 3]) {
      const n = c.node(id);
      c.crash(id);
      n.durable.append([entry(last, 999, "overwritten")]);
    }
    violates("committed-entry-durability", () => c.checkInvariants());
  });
});

describe("scripted scenarios", () => {
  test("the seed's partition story: minority leader cannot commit, majority moves on, stale leader rolls back", () => {
    // CheckQuorum off, as in the story: the old leader keeps believing it leads during the partition.
    const c = calmCluster(5, 7, { checkQuorum: false, preVote: false });
    const applied = new Map<number, string[]>();
    c.onApplied = (node, e) => {
      if (e.type !== EntryType.Normal || e.data.length === 0) return;
      const list = applied.get(node.id) ?? [];
      list.push(new TextDecoder().decode(e.data));
      applied.set(node.id, list);
    };
    const old = elect(c, 1);
    c.propose(1, "before");
    converged(c);
    const oldTerm = old.term;
    const commitBefore = old.commit;

    c.partition([1, 2], [3, 4, 5]);
    assert.ok(c.propose(1, "stale-1") && c.propose(1, "stale-2"), "the old leader still accepts proposals");
    for (let i = 0; i < 5; i++) c.tick();
    assert.equal(old.lastIndex(), commitBefore + 2, "the stale entries are in the old leader's log");
    assert.equal(c.node(2).lastIndex(), commitBefore + 2, "and replicated to its one follower");
    assert.equal(old.commit, commitBefore, "but two of five is no majority: nothing commits");

    // The majority side times out, elects a leader of a higher term and commits.
    c.runUntil(
      () => [3, 4, 5].some((id) => c.node(id).role === StateType.Leader),
      100,
      "a majority-side leader",
    );
    const fresh = [3, 4, 5].map((id) => c.node(id)).find((n) => n.role === StateType.Leader)!;
    assert.ok(fresh.term > oldTerm);
    assert.equal(old.role, StateType.Leader, "two leaders, in different terms");
    c.propose(fresh.id, "fresh");
    c.runUntil(
      () => [3, 4, 5].every((id) => applied.get(id)?.includes("fresh")),
      50,
      "the majority committing",
    );
    assert.equal(old.commit, commitBefore);

    c.heal();
    c.runUntil(() => old.role === StateType.Follower, 50, "the stale leader stepping down");
    assert.equal(old.term, fresh.term, "it adopts the newer term it heard");
    converged(c);
    for (const id of [1, 2, 3, 4, 5]) {
      assert.deepEqual(applied.get(id), ["before", "fresh"], `n${id} applied exactly the committed entries`);
      const data = c.node(id).durable.entries(commitBefore + 1, c.node(id).lastIndex() + 1, 1e9);
      const texts = data.map((e) => new TextDecoder().decode(e.data));
      assert.ok(!texts.some((t) => t.startsWith("stale")), `n${id}'s log no longer holds the stale entries`);
    }
  });

  test("Figure 8: a leader never commits an older term's entry by counting replicas", () => {
    // Elections happen only when the test says so.
    const c = calmCluster(5, 3, { electionTick: 100, checkQuorum: false, preVote: false, maxSizePerMsg: 16 });
    const appliedX = new Set<number>();
    c.onApplied = (node, e) => {
      if (new TextDecoder().decode(e.data).startsWith("X")) appliedX.add(node.id);
    };
    elect(c, 1);
    converged(c);
    // (a) S1 gets X (term 2) only onto S2.
    c.partition([1, 2], [3, 4, 5]);
    assert.ok(c.propose(1, `X${"x".repeat(99)}`));
    for (let i = 0; i < 3; i++) c.tick();
    const k = c.node(1).lastIndex();
    const xTerm = c.node(1).term;
    assert.equal(c.node(2).termAt(k), xTerm);
    // (b) S1 crashes; S5 wins term 3 with S3 and S4, but its own entry at k never leaves it.
    c.crash(1);
    c.heal();
    const fromS5 = (m: Message) => m.type === MessageType.App && m.from === 5;
    c.network.dropIf = fromS5;
    const s5 = winElection(c, 5);
    assert.equal(s5.termAt(k), s5.term);
    c.crash(5);
    // (c) S1 returns and leads a newer term; X reaches S3 and S4, S1's own no-op at k+1 does
    // not (nor do S5's appends still in flight).
    c.restart(1);
    c.network.dropIf = (m) =>
      fromS5(m) ||
      (m.type === MessageType.App &&
        m.from === 1 &&
        (m.to === 3 || m.to === 4) &&
        c.node(m.to).lastIndex() >= k &&
        m.entries.some((e) => e.term === c.node(1).term));
    const s1 = winElection(c, 1);
    c.runUntil(
      () => c.node(3).termAt(k) === xTerm && c.node(4).termAt(k) === xTerm,
      30,
      "X on S1, S2, S3, S4",
    );
    for (let i = 0; i < 5; i++) c.tick();
    assert.ok(
      s1.commit < k,
      `X (term ${xTerm}) sits on four of five logs but must stay uncommitted (commit ${s1.commit})`,
    );
    // (d) S1 crashes; S5, whose last entry has a newer term than X, beats S3 and S4 and
    // overwrites X everywhere.
    c.crash(1);
    c.network.dropIf = (m) => m.type === MessageType.App && m.from === 1;
    c.restart(5);
    winElection(c, 5);
    c.network.dropIf = undefined;
    c.restart(1);
    converged(c);
    for (const n of c.members()) assert.notEqual(n.termAt(k), xTerm, `n${n.id} still holds X`);
    assert.equal(appliedX.size, 0, "X was never applied");
  });

  test("a follower catches up after every MsgApp to it was lost, the commit update included", () => {
    const c = calmCluster(3);
    elect(c, 1);
    converged(c);
    let lose = true;
    c.network.dropIf = (m) => lose && m.type === MessageType.App && m.to === 3;
    assert.ok(c.propose(1, "lost-once"));
    for (let i = 0; i < 4; i++) c.tick();
    lose = false;
    assert.ok(c.node(3).lastIndex() < c.node(1).lastIndex(), "the append to n3 was lost");
    // Heartbeat responses show n3 behind; the leader must send it an append again.
    converged(c, 50);
  });
});
