import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { MessageType } from "../../src/raft/types.js";
import { PeerTransport } from "../../src/store/transport/index.js";
import { Channel, encodeHello, PROTOCOL_VERSION } from "../../src/store/transport/wire.js";
import { waitFor } from "../support/require.js";
import { CLUSTER, freePort, Harness, msg, type Node } from "./transport-support.js";

const h = new Harness();
after(() => h.stopAll());

/** Sends from a to b until one gets through; returns how many were sent. */
async function sendUntilDelivered(a: Node, b: Node, first: number): Promise<number> {
  let i = first;
  const before = b.received.length;
  await waitFor(
    () => {
      a.transport.send([msg(a.id, b.id, i++)]);
      return b.received.length > before;
    },
    5000,
    `delivery from ${a.id} to ${b.id}`,
  );
  return i;
}

async function rawSocket(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return socket;
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once("close", () => resolve());
  });
}

describe("peer transport faults", () => {
  test("a peer that is down is reported unreachable; once up, the stream reconnects", async () => {
    const port = await freePort();
    const a = await h.node(1);
    a.transport.addPeer(2, `http://127.0.0.1:${port}`);
    a.transport.send([msg(1, 2, 1)]);
    await waitFor(() => a.unreachable.includes(2), 5000, "unreachable report");
    assert.ok(a.transport.stats().messagesDropped >= 1);
    assert.ok(a.warnings.some((w) => w.includes("cannot connect")));
    const b = await h.node(2, { port });
    b.transport.addPeer(1, a.url);
    const next = await sendUntilDelivered(a, b, 2);
    const got = b.received.map((m) => m.index);
    assert.deepEqual(
      got,
      [...got].sort((x, y) => x - y),
    );
    assert.ok((got[0] as number) < next);
  });

  test("cut drops traffic both ways until healed", async () => {
    const a = await h.node(11);
    const b = await h.node(12);
    await h.connect([a, b]);
    a.transport.faults.cut(12);
    a.transport.send([msg(11, 12, 1), msg(11, 12, 2)]);
    b.transport.send([msg(12, 11, 1)]);
    await waitFor(() => a.transport.stats().messagesCut === 3, 5000, "inbound message cut at a");
    a.transport.faults.heal(12);
    // Order per stream is kept, so once the markers arrive nothing cut can still be in flight.
    a.transport.send([msg(11, 12, 100)]);
    b.transport.send([msg(12, 11, 100)]);
    await waitFor(() => a.received.length === 1 && b.received.length === 1, 5000, "markers");
    assert.equal(a.received[0]?.index, 100);
    assert.equal(b.received[0]?.index, 100);
    a.transport.applyFaultSpec("cut:12");
    a.transport.send([
      {
        ...msg(11, 12, 5, MessageType.Snap),
        snapshot: {
          metadata: { index: 5, term: 1, confState: { voters: [11, 12], learners: [] } },
          data: new Uint8Array(4),
        },
      },
    ]);
    await waitFor(() => a.snapshotStatus.length === 1, 5000, "snapshot to a cut peer fails");
    assert.deepEqual(a.snapshotStatus, [{ id: 12, ok: false }]);
    a.transport.applyFaultSpec("heal");
    await sendUntilDelivered(a, b, 200);
  });

  test("delay holds messages to a peer", async () => {
    const a = await h.node(21);
    const b = await h.node(22);
    await h.connect([a, b]);
    a.transport.faults.delay(22, 80);
    const start = performance.now();
    a.transport.send([msg(21, 22, 1), msg(21, 22, 2)]);
    await waitFor(() => b.received.length === 2, 5000, "delayed messages");
    assert.ok(performance.now() - start >= 75, "delivered no sooner than the delay");
    assert.deepEqual(
      b.received.map((m) => m.index),
      [1, 2],
    );
  });

  test("a member of another cluster is refused with a clear error on both sides", async () => {
    const a = await h.node(31);
    const b = await h.node(32, { clusterId: CLUSTER + 1n });
    h.mesh([a, b]);
    a.transport.send([msg(31, 32, 1)]);
    await waitFor(() => a.unreachable.includes(32), 5000, "unreachable report");
    await waitFor(
      () => b.warnings.some((w) => w.includes("cluster id mismatch")),
      5000,
      "listener's warning",
    );
    assert.ok(
      a.warnings.some((w) => w.includes("refused by the peer: cluster id mismatch")),
      a.warnings.join("\n"),
    );
    assert.equal(b.received.length, 0);
    assert.ok(b.transport.stats().connectionsRejected >= 1);
  });

  test("a member that is not a known peer is refused", async () => {
    const a = await h.node(41);
    const b = await h.node(42);
    a.transport.addPeer(42, b.url);
    a.transport.send([msg(41, 42, 1)]);
    await waitFor(() => b.warnings.some((w) => w.includes("does not know this member")), 5000, "refusal");
    assert.equal(b.received.length, 0);
  });

  test("garbage on the peer port does not disturb the listener", async () => {
    const a = await h.node(51);
    const b = await h.node(52);
    await h.connect([a, b]);
    const junk = await rawSocket(b.port);
    junk.on("error", () => {});
    junk.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n".padEnd(64, "\n")));
    await closed(junk);
    // A valid hello followed by a malformed frame: the connection is dropped, the listener lives.
    const bad = await rawSocket(b.port);
    bad.on("error", () => {});
    bad.on("data", () => {});
    const frame = Buffer.alloc(12, 0xee);
    frame.writeUInt32LE(7, 0);
    frame[4] = 1;
    bad.write(
      Buffer.concat([
        encodeHello({
          version: PROTOCOL_VERSION,
          channel: Channel.Stream,
          clusterId: CLUSTER,
          from: 51,
          to: 52,
        }),
        frame,
      ]),
    );
    await closed(bad);
    // A frame claiming to be 1 GiB on a stream is refused before anything is buffered.
    const huge = await rawSocket(b.port);
    huge.on("error", () => {});
    huge.on("data", () => {});
    const header = Buffer.alloc(5);
    header.writeUInt32LE(1 << 30, 0);
    huge.write(
      Buffer.concat([
        encodeHello({
          version: PROTOCOL_VERSION,
          channel: Channel.Stream,
          clusterId: CLUSTER,
          from: 51,
          to: 52,
        }),
        header,
      ]),
    );
    await closed(huge);
    assert.ok(b.transport.stats().connectionsRejected >= 3, b.warnings.join("\n"));
    assert.ok(b.warnings.some((w) => w.includes("bad magic")));
    assert.ok(b.warnings.some((w) => w.includes("exceeds the limit")));
    await sendUntilDelivered(a, b, 1);
  });

  test("a full send queue drops and reports unreachable", async () => {
    // A listener that accepts but never answers the hello keeps the stream connecting.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s.on("error", () => {})));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const address = silent.address();
    assert.ok(typeof address === "object" && address);
    try {
      const a = await h.node(61, { sendQueueLimit: 10, handshakeTimeoutMs: 60_000 });
      a.transport.addPeer(62, `http://127.0.0.1:${address.port}`);
      a.transport.send(Array.from({ length: 15 }, (_, i) => msg(61, 62, i)));
      await waitFor(() => a.unreachable.includes(62), 5000, "unreachable report");
      assert.equal(a.transport.stats().messagesDropped, 5);
      assert.equal(a.transport.peerStatus()[0]?.queued, 10);
      await a.transport.stop();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test("bad options and fault specs are refused with clear errors", async () => {
    const options = {
      clusterId: CLUSTER,
      memberId: 1,
      listenUrl: "http://127.0.0.1:0",
      onMessage: () => {},
      onUnreachable: () => {},
      onSnapshotStatus: () => {},
    };
    assert.throws(() => new PeerTransport({ ...options, listenUrl: "https://x:1" }), /not supported/);
    assert.throws(() => new PeerTransport({ ...options, memberId: 0 }), /positive safe integer/);
    assert.throws(() => new PeerTransport({ ...options, clusterId: -1n }), /64 bits/);
    const a = await h.node(71);
    assert.throws(() => a.transport.addPeer(71, a.url), /its own peer/);
    assert.throws(() => a.transport.applyFaultSpec("cut:x"), /not a member id/);
  });

  test("stop() closes every socket, server and timer", async () => {
    const nodes = [await h.node(81), await h.node(82), await h.node(83)];
    await h.connect(nodes);
    nodes[0]?.transport.addPeer(99, "http://127.0.0.1:1");
    await h.stopAll();
    await waitFor(
      () => !process.getActiveResourcesInfo().some((r) => r.startsWith("TCP")),
      5000,
      "no TCP handles left",
    );
    const stopped = nodes[0] as Node;
    stopped.transport.send([msg(81, 82, 1)]);
    assert.equal(stopped.transport.stats().messagesSent, 0);
  });
});
