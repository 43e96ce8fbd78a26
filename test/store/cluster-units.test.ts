// Pure parts of cluster membership: etcd's ConfChange validation rules, the member context
// codec, peer URL checks, bootstrap ids and the flags that turn on the peer listener.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfChangeType } from "../../src/raft/types.js";
import { isStoreError } from "../../src/store/index.js";
import { joiningState, newClusterState } from "../../src/store/server/bootstrap.js";
import { normalizePeerUrls } from "../../src/store/server/cluster.js";
import { resolveOptions } from "../../src/store/server/config.js";
import { parseStoreFlags } from "../../src/store/server/flags.js";
import { clusterIdFor, memberIdFor } from "../../src/store/server/ids.js";
import {
  applyMemberAttributes,
  applyMemberConfChange,
  applyMemberUpdate,
  decodeMemberContext,
  encodeMemberContext,
  validateConfChange,
} from "../../src/store/server/membership.js";
import { decodeSnapshotData, type ServerState } from "../../src/store/server/snapshotdata.js";

const base: ServerState = {
  clusterId: 7n,
  alarms: [],
  members: [
    { id: 1, name: "a", peerURLs: ["http://h:1"], isLearner: false },
    { id: 2, name: "b", peerURLs: ["http://h:2"], isLearner: false },
  ],
};

function ctx(id: number, peerURLs: string[], extra: object = {}) {
  return { id, name: "", peerURLs, clientURLs: [], isLearner: false, ...extra };
}

test("ConfChange validation follows etcd's ValidateConfigurationChange", () => {
  const add = (id: number, urls: string[], type = ConfChangeType.AddNode) =>
    validateConfChange(base, { type, nodeId: id }, ctx(id, urls));
  assert.equal(add(3, ["http://h:3"]), undefined);
  assert.equal(add(2, ["http://h:9"]), "MemberExist");
  assert.equal(add(3, ["http://h:2"]), "PeerURLExist");
  const withLearner = applyMemberConfChange(
    base,
    { type: ConfChangeType.AddLearnerNode, nodeId: 3 },
    ctx(3, ["http://h:3"], { isLearner: true }),
  );
  assert.equal(
    validateConfChange(
      withLearner,
      { type: ConfChangeType.AddLearnerNode, nodeId: 4 },
      ctx(4, ["http://h:4"]),
    ),
    "TooManyLearners",
  );
  const promote = (s: ServerState, id: number) =>
    validateConfChange(s, { type: ConfChangeType.AddNode, nodeId: id }, ctx(id, [], { isPromote: true }));
  assert.equal(promote(withLearner, 3), undefined);
  assert.equal(promote(withLearner, 1), "MemberNotLearner");
  assert.equal(promote(withLearner, 9), "MemberNotFound");
  const promoted = applyMemberConfChange(
    withLearner,
    { type: ConfChangeType.AddNode, nodeId: 3 },
    ctx(3, [], { isPromote: true }),
  );
  assert.equal(promoted.members.find((m) => m.id === 3)?.isLearner, false);
  assert.deepEqual(promoted.members.find((m) => m.id === 3)?.peerURLs, ["http://h:3"]);

  const remove = { type: ConfChangeType.RemoveNode, nodeId: 2 };
  assert.equal(validateConfChange(base, remove, ctx(2, [])), undefined);
  const removed = applyMemberConfChange(base, remove, ctx(2, []));
  assert.deepEqual(
    removed.members.map((m) => m.id),
    [1],
  );
  // A removed id never comes back, whatever the change.
  assert.equal(validateConfChange(removed, remove, ctx(2, [])), "MemberNotFound");
  assert.equal(
    validateConfChange(removed, { type: ConfChangeType.AddNode, nodeId: 2 }, ctx(2, ["http://h:2"])),
    "MemberNotFound",
  );
});

test("member updates and published attributes", () => {
  assert.throws(
    () => applyMemberUpdate(base, { id: 9, peerURLs: ["http://h:9"] }),
    (e) => isStoreError(e, "MemberNotFound"),
  );
  assert.throws(
    () => applyMemberUpdate(base, { id: 1, peerURLs: ["http://h:2"] }),
    (e) => isStoreError(e, "PeerURLExist"),
  );
  const moved = applyMemberUpdate(base, { id: 1, peerURLs: ["http://h:5"] });
  assert.deepEqual(moved.members[0]!.peerURLs, ["http://h:5"]);
  const published = applyMemberAttributes(base, { id: 2, name: "bee", clientURLs: ["http://c:2"] });
  assert.deepEqual(published.members[1], {
    id: 2,
    name: "bee",
    peerURLs: ["http://h:2"],
    clientURLs: ["http://c:2"],
    isLearner: false,
  });
});

test("the member context round-trips and old contexts decode leniently", () => {
  const full = { ...ctx(5, ["http://h:5"]), isLearner: true, proposer: 1, requestId: 42 };
  assert.deepEqual(
    decodeMemberContext({
      type: ConfChangeType.AddLearnerNode,
      nodeId: 5,
      context: encodeMemberContext(full),
    }),
    full,
  );
  const old = Buffer.from(JSON.stringify({ name: "x", peerURLs: ["http://h:6"] }));
  assert.deepEqual(decodeMemberContext({ type: ConfChangeType.AddNode, nodeId: 6, context: old }), {
    id: 6,
    name: "x",
    peerURLs: ["http://h:6"],
    clientURLs: [],
    isLearner: false,
  });
});

test("peer URLs must be http(s)://host:port without a path", () => {
  assert.deepEqual(normalizePeerUrls(["http://127.0.0.1:2380/", "https://h:1"]), [
    "http://127.0.0.1:2380",
    "https://h:1",
  ]);
  for (const bad of [[], ["ftp://h:1"], ["http://h"], ["http://h:1/x"], ["nope"]]) {
    assert.throws(
      () => normalizePeerUrls(bad),
      (e) => isStoreError(e, "MemberBadURLs"),
    );
  }
});

test("a new cluster's ids are derived from the peer URLs and token; a joiner starts from term 0", () => {
  const opts = resolveOptions({
    name: "n2",
    dataDir: "/nonexistent",
    initialClusterToken: "tok",
    initialCluster: [
      { name: "n1", peerURLs: ["http://127.0.0.1:1"] },
      { name: "n2", peerURLs: ["http://127.0.0.1:2"] },
    ],
  });
  const s = newClusterState(opts);
  const ids = [memberIdFor(["http://127.0.0.1:1"], "tok"), memberIdFor(["http://127.0.0.1:2"], "tok")];
  assert.equal(s.metadata.memberId, ids[1]);
  assert.equal(s.metadata.clusterId, clusterIdFor(ids));
  assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0));
  assert.deepEqual(s.snapshot.metadata, {
    index: 1,
    term: 1,
    confState: { voters: [...ids].sort((a, b) => a - b), learners: [] },
  });
  const j = joiningState({ clusterId: 9n, members: base.members }, 2);
  assert.deepEqual(j.snapshot.metadata, { index: 1, term: 0, confState: { voters: [], learners: [] } });
  assert.deepEqual(decodeSnapshotData(j.snapshot.data).state.members, base.members);
});

test("the peer listener is on for clusters and when asked for, off for a lone member by default", () => {
  const lone = parseStoreFlags(["--name=a"]);
  assert.equal(lone.server.listenPeerUrls, undefined);
  const asked = parseStoreFlags(["--name=a", "--listen-peer-urls=http://127.0.0.1:7001"]);
  assert.deepEqual(asked.server.listenPeerUrls, ["http://127.0.0.1:7001"]);
  const cluster = parseStoreFlags([
    "--name=a",
    "--initial-cluster=a=http://127.0.0.1:7001,b=http://127.0.0.1:7002",
    "--initial-cluster-state=existing",
  ]);
  assert.deepEqual(cluster.server.listenPeerUrls, ["http://localhost:2380"]);
  assert.equal(cluster.server.initialClusterState, "existing");
});
