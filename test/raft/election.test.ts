import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStorage, MessageType, NONE, RawNode, StateType } from "../../src/raft/index.js";
import { Network, seeded, storageWithLog } from "./network.js";

describe("elections", () => {
  test("election timeout is drawn from [electionTick, 2*electionTick) with the seeded random", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const node = new RawNode({
        id: 1,
        electionTick: 10,
        heartbeatTick: 1,
        storage: new MemoryStorage({ voters: [1, 2, 3], learners: [] }),
        random: seeded(seed),
      });
      let ticks = 0;
      while (node.status().softState.raftState === StateType.Follower) {
        node.tick();
        ticks++;
        assert.ok(ticks < 20, "campaigned within 2*electionTick");
      }
      assert.ok(ticks >= 10, `timeout ${ticks} >= electionTick`);
      assert.equal(node.status().softState.raftState, StateType.Candidate);
      seen.add(ticks);
    }
    assert.ok(seen.size >= 5, `timeouts are spread out: ${[...seen]}`);
  });

  test("the same seed gives the same timeout (deterministic)", () => {
    const timeout = () => {
      const node = new RawNode({
        id: 1,
        electionTick: 10,
        heartbeatTick: 1,
        storage: new MemoryStorage({ voters: [1, 2, 3], learners: [] }),
        random: seeded(7),
      });
      let ticks = 0;
      while (node.status().softState.raftState === StateType.Follower) {
        node.tick();
        ticks++;
      }
      return ticks;
    };
    assert.equal(timeout(), timeout());
  });

  test("a candidate with a quorum of votes becomes leader and commits an empty entry of its term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    assert.deepEqual(net.leaders(), [1]);
    for (const id of [1, 2, 3]) {
      assert.equal(net.term(id), 1);
      assert.equal(net.commit(id), 1);
      assert.deepEqual(net.logTerms(id), [1]);
      assert.equal(net.node(id).status().softState.lead, 1);
    }
    assert.equal(net.get(2).storage.initialState().hardState.vote, 1);
    // Vote requests went to the voters in id order.
    const votes = net.delivered.filter((m) => m.type === MessageType.Vote);
    assert.deepEqual(
      votes.map((m) => m.to),
      [2, 3],
    );
  });

  test("a single-voter cluster elects itself at once", () => {
    const net = new Network([1]);
    net.elect(1);
    assert.equal(net.state(1), StateType.Leader);
    assert.equal(net.commit(1), 1);
  });

  test("a node grants one vote per term (a repeat request from the same candidate is granted again)", () => {
    const net = new Network([1, 2, 3]);
    net.node(1).campaign();
    net.node(2).campaign();
    net.processReady(1);
    net.processReady(2);
    const reqs = net.queue;
    net.queue = [];
    const from1 = reqs.find((m) => m.from === 1 && m.to === 3)!;
    const from2 = reqs.find((m) => m.from === 2 && m.to === 3)!;
    assert.equal(from1.term, 1);
    assert.equal(from2.term, 1);
    net.node(3).step(from1);
    net.node(3).step(from2);
    net.node(3).step(from1);
    net.processReady(3);
    const resps = net.queue.filter((m) => m.type === MessageType.VoteResp);
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        [1, false],
        [2, true],
        [1, false],
      ],
    );
    assert.equal(net.get(3).storage.initialState().hardState.vote, 1);
  });

  test("votes go only to candidates whose log is at least as up to date", () => {
    // 1 has a shorter log; 3 has a longer log but of an older last term than 2.
    const net = new Network([]);
    net.add(1, storageWithLog([1, 2, 3], [1], 1));
    net.add(2, storageWithLog([1, 2, 3], [1, 2], 2));
    net.add(3, storageWithLog([1, 2, 3], [1, 1, 1], 2));
    net.elect(1);
    assert.notEqual(net.state(1), StateType.Leader);
    const rejected = net.delivered.filter((m) => m.type === MessageType.VoteResp && m.to === 1);
    assert.deepEqual(
      rejected.map((m) => m.reject),
      [true, true],
    );
    // 3's longer log of the same last term beats 1's, but not 2's newer last term.
    net.delivered = [];
    net.elect(3);
    const answers = net.delivered.filter((m) => m.type === MessageType.VoteResp && m.to === 3);
    assert.deepEqual(
      answers.map((m) => [m.from, m.reject]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.equal(net.state(3), StateType.Leader, "1's vote and its own make a quorum");
    net.stabilize();
    // 2's uncommitted term-2 entry at index 2 is replaced by the leader's log.
    for (const id of [1, 2, 3]) assert.deepEqual(net.logTerms(id), [1, 1, 1, net.term(3)]);
  });

  test("a message with a higher term turns a leader into a follower of that term", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.node(1).step({
      type: MessageType.AppResp,
      from: 2,
      to: 1,
      term: 5,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
    });
    const st = net.node(1).status();
    assert.equal(st.softState.raftState, StateType.Follower);
    assert.equal(st.hardState.term, 5);
    assert.equal(st.softState.lead, NONE);
    assert.equal(st.hardState.vote, NONE);
  });

  test("heartbeats keep followers from campaigning", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.tickAll(200);
    assert.deepEqual(net.leaders(), [1]);
    for (const id of [1, 2, 3]) assert.equal(net.term(id), 1);
    assert.ok(net.countDelivered((m) => m.type === MessageType.Heartbeat) >= 2 * 200);
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.Vote),
      2,
      "only the first election",
    );
  });

  test("without a leader, followers time out and elect one", () => {
    const net = new Network([1, 2, 3]);
    net.tickAll(25);
    assert.equal(net.leaders().length, 1);
    const leader = net.leaders()[0];
    for (const id of [1, 2, 3]) assert.equal(net.node(id).status().softState.lead, leader);
  });
});

describe("PreVote and CheckQuorum", () => {
  test("without PreVote a partitioned node that rejoins bumps the term and disrupts the leader", () => {
    const net = new Network([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.tickAll(50);
    assert.ok(net.term(3) > 3, "3 kept campaigning and raising its term");
    net.heal();
    net.tickAll(50);
    assert.ok(net.term(1) > 1, "the cluster was forced into a higher term");
  });

  test("with PreVote a partitioned node neither bumps its term nor disrupts the leader on rejoin", () => {
    const net = new Network([1, 2, 3], { preVote: true });
    net.elect(1);
    assert.equal(net.term(1), 1);
    net.isolate(3);
    net.delivered = [];
    net.tickAll(50);
    assert.equal(net.term(3), 1, "pre-elections do not raise the term");
    assert.equal(net.state(3), StateType.PreCandidate);
    assert.equal(
      net.countDelivered((m) => m.type === MessageType.PreVote),
      0,
      "all pre-votes were cut off",
    );
    net.heal();
    net.tickAll(50);
    assert.deepEqual(net.leaders(), [1]);
    for (const id of [1, 2, 3]) {
      assert.equal(net.term(id), 1);
      assert.equal(net.node(id).status().softState.lead, 1);
    }
  });

  test("pre-vote requests carry term+1 and are ignored while the voter hears from its leader", () => {
    const net = new Network([1, 2, 3], { preVote: true });
    net.elect(1);
    net.node(3).campaign();
    net.processReady(3);
    const prevotes = net.queue.filter((m) => m.type === MessageType.PreVote);
    assert.deepEqual(
      prevotes.map((m) => [m.to, m.term]),
      [
        [1, 2],
        [2, 2],
      ],
    );
    net.stabilize();
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.term(3), 1);
  });

  test("CheckQuorum: a leader cut off from the quorum steps down within an election timeout", () => {
    const net = new Network([1, 2, 3], { checkQuorum: true, preVote: true });
    net.elect(1);
    net.isolate(1);
    for (let i = 0; i < 2 * 10 && net.state(1) === StateType.Leader; i++) net.tick(1, 1);
    assert.equal(net.state(1), StateType.Follower);
    assert.equal(net.term(1), 1);
    net.tickAll(40);
    const [leader] = net.leaders().filter((id) => id !== 1);
    assert.ok(leader === 2 || leader === 3, "the majority elected a new leader");
  });

  test("CheckQuorum: a leader that hears from its quorum stays leader", () => {
    const net = new Network([1, 2, 3], { checkQuorum: true });
    net.elect(1);
    net.isolate(3);
    net.tickAll(100);
    assert.equal(net.state(1), StateType.Leader);
    assert.equal(net.term(1), 1);
  });

  test("CheckQuorum lease: a vote request from a rejoined node is ignored while followers hear the leader", () => {
    const net = new Network([1, 2, 3], { checkQuorum: true });
    net.elect(1);
    net.isolate(3);
    net.tickAll(60);
    const t3 = net.term(3);
    assert.ok(t3 > 1);
    net.heal();
    // 3's vote requests arrive at 1 and 2 within their lease: they are ignored.
    net.node(3).campaign();
    net.stabilize();
    assert.equal(net.node(2).status().softState.lead, 1);
    assert.equal(net.term(2), 1);
    // 3 answers the leader's heartbeats with its higher term, which makes 1 step down: the
    // way out for a node stuck at a higher term. The cluster then settles on one leader again.
    net.tickAll(60);
    assert.equal(net.leaders().length, 1);
    const leader = net.leaders()[0];
    for (const id of [1, 2, 3]) assert.equal(net.node(id).status().softState.lead, leader);
  });
});
