import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Registry } from "prom-client";
import { EntryType, type Message, MessageType } from "../../src/raft/types.js";
import { waitFor } from "../support/require.js";
import { freePort, Harness, msg } from "./transport-support.js";

const h = new Harness();
after(() => h.stopAll());

function indexesFrom(received: Message[], from: number): number[] {
  return received.filter((m) => m.from === from && m.type === MessageType.App).map((m) => m.index);
}

describe("peer transport streams", () => {
  test("two members exchange thousands of messages in order, batched", async () => {
    const a = await h.node(1);
    const b = await h.node(2);
    await h.connect([a, b]);
    const total = 5000;
    let next = 1;
    // Mixed call sizes: single messages in a tight loop and whole Ready-sized batches.
    while (next <= total) {
      const size = next % 7 === 0 ? 50 : 1;
      const batch: Message[] = [];
      for (let i = 0; i < size && next <= total; i++) {
        const m = msg(1, 2, next++);
        m.entries = [{ term: 1, index: m.index, type: EntryType.Normal, data: new Uint8Array(100) }];
        batch.push(m);
      }
      a.transport.send(batch);
      b.transport.send([msg(2, 1, next)]);
      // A driver yields between Ready batches; without that the 4096-message queue would overflow.
      if (next % 1000 < 50) await new Promise((r) => setImmediate(r));
    }
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    await waitFor(() => b.received.length === total, 10_000, "all messages at b");
    assert.deepEqual(indexesFrom(b.received, 1), expected);
    await waitFor(() => a.received.length >= b.transport.stats().messagesSent, 10_000, "b's messages at a");
    const fromB = indexesFrom(a.received, 2);
    assert.deepEqual(
      fromB,
      [...fromB].sort((x, y) => x - y),
      "b's messages arrive in send order",
    );
    assert.equal(b.received[0]?.entries[0]?.data.length, 100);
    const stats = a.transport.stats();
    assert.equal(stats.messagesSent, total);
    assert.ok(
      stats.batchesSent * 10 < total,
      `batches ${stats.batchesSent} should be far fewer than ${total} messages`,
    );
    assert.equal(b.transport.stats().messagesReceived, total);
    assert.equal(b.transport.stats().bytesReceived, stats.bytesSent);
    assert.deepEqual(a.unreachable, []);
  });

  test("three members: each peer's messages arrive in order", async () => {
    const nodes = [await h.node(11), await h.node(12), await h.node(13)];
    await h.connect(nodes);
    const perPair = 2000;
    for (let i = 1; i <= perPair; i++) {
      for (const n of nodes) {
        n.transport.send(nodes.filter((p) => p !== n).map((p) => msg(n.id, p.id, i)));
      }
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    for (const n of nodes) {
      await waitFor(() => n.received.length === 2 * perPair, 10_000, `messages at ${n.id}`);
      for (const p of nodes) {
        if (p === n) continue;
        assert.deepEqual(
          indexesFrom(n.received, p.id),
          Array.from({ length: perPair }, (_, i) => i + 1),
        );
      }
    }
  });

  test("an 8 MiB snapshot travels on its own connection while small messages keep flowing", async () => {
    const a = await h.node(21);
    const b = await h.node(22);
    h.mesh([a, b]);
    // Establish the stream first so the comparison below is about the snapshot, not dialing.
    a.transport.send([msg(21, 22, 1)]);
    await waitFor(() => b.received.length === 1, 5000, "stream up");
    const data = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 997) data[i] = (i * 31) & 0xff;
    const snap: Message = {
      ...msg(21, 22, 500, MessageType.Snap),
      snapshot: { metadata: { index: 500, term: 2, confState: { voters: [21, 22], learners: [] } }, data },
    };
    a.transport.send([snap]);
    let sent = 2;
    while (a.snapshotStatus.length === 0) {
      a.transport.send([msg(21, 22, sent++)]);
      await new Promise((r) => setImmediate(r));
      if (sent > 1_000_000) assert.fail("snapshot never reported");
    }
    assert.deepEqual(a.snapshotStatus, [{ id: 22, ok: true }]);
    const snapAt = b.received.findIndex((m) => m.type === MessageType.Snap);
    assert.ok(
      snapAt > 1,
      `small messages were delivered before the snapshot finished (snapshot at ${snapAt})`,
    );
    const got = b.received[snapAt]?.snapshot;
    assert.deepEqual(got?.metadata, snap.snapshot?.metadata);
    assert.ok(Buffer.from(got?.data ?? []).equals(Buffer.from(data)), "snapshot data intact");
    assert.equal(b.transport.stats().snapshotsReceived, 1);
    assert.equal(a.transport.stats().snapshotsSent, 1);
    const small = indexesFrom(b.received, 21);
    assert.deepEqual(
      small,
      [...small].sort((x, y) => x - y),
    );
  });

  test("a snapshot to a peer that is down is reported as failed", async () => {
    const a = await h.node(31);
    a.transport.addPeer(32, "http://127.0.0.1:1");
    a.transport.send([
      {
        ...msg(31, 32, 5, MessageType.Snap),
        snapshot: {
          metadata: { index: 5, term: 1, confState: { voters: [31, 32], learners: [] } },
          data: new Uint8Array(10),
        },
      },
    ]);
    await waitFor(() => a.snapshotStatus.length === 1, 5000, "snapshot failure");
    assert.deepEqual(a.snapshotStatus, [{ id: 32, ok: false }]);
    assert.ok(a.unreachable.includes(32));
  });

  test("metrics use etcd's names and labels", async () => {
    const registryA = new Registry();
    const a = await h.node(0x41, { metrics: registryA, pingIntervalMs: 20 });
    const b = await h.node(0x42, { metrics: new Registry() });
    h.mesh([a, b]);
    a.transport.send([msg(0x41, 0x42, 1)]);
    await waitFor(() => b.received.length === 1, 5000, "delivery");
    await waitFor(() => a.transport.peerStatus()[0]?.rttMs !== undefined, 5000, "a round trip probe");
    const text = await registryA.metrics();
    assert.match(text, /etcd_network_peer_sent_bytes_total\{To="42"\} [1-9]/);
    assert.match(text, /etcd_network_active_peers\{Local="41",Remote="42"\} 1/);
    assert.match(text, /etcd_network_peer_round_trip_time_seconds_count\{To="42"\} [1-9]/);
    const textB = await b.transport.stats();
    assert.ok(textB.bytesReceived > 0);
  });

  test("onPeerLost reports a peer whose established stream broke, not one never reached", async () => {
    const lost: number[] = [];
    const a = await h.node(61, { onPeerLost: (id) => lost.push(id) });
    const b = await h.node(62);
    await h.connect([a, b]);
    a.transport.addPeer(63, `http://127.0.0.1:${await freePort()}`);
    await b.transport.stop();
    await waitFor(() => lost.length > 0, 5000, "the lost stream to be reported");
    await waitFor(
      () => a.warnings.some((w) => w.startsWith("peer 0x3f: cannot connect")),
      5000,
      "a failed dial to the peer that never answered",
    );
    assert.deepEqual(lost, [62]);
  });

  test("updatePeer redirects the stream to a member's new address", async () => {
    const a = await h.node(51);
    const b = await h.node(52);
    h.mesh([a, b]);
    a.transport.send([msg(51, 52, 1)]);
    await waitFor(() => b.received.length === 1, 5000, "first delivery");
    await b.transport.stop();
    const b2 = await h.node(52);
    b2.transport.addPeer(51, a.url);
    a.transport.updatePeer(52, b2.url);
    let i = 2;
    await waitFor(
      () => {
        a.transport.send([msg(51, 52, i++)]);
        return b2.received.length > 0;
      },
      5000,
      "delivery at the new address",
    );
    const got = indexesFrom(b2.received, 51);
    assert.deepEqual(
      got,
      [...got].sort((x, y) => x - y),
    );
  });
});
