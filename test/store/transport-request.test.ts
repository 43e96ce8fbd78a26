// The transport's request/response channel: calls between members, calls from a member that
// knows neither the cluster nor the target's id yet (a joining member), failures sent back,
// cut links, and a foreign cluster refused.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { PeerRequestError, peerRequest } from "../../src/store/transport/index.js";
import { CLUSTER, Harness } from "./transport-support.js";

describe("peer requests", () => {
  const h = new Harness();
  after(() => h.stopAll());

  const echo = async (from: number, method: string, body: Uint8Array) => {
    if (method === "fail") throw new Error("no such thing");
    return Buffer.concat([Buffer.from(`${method}:${from}:`), body]);
  };

  test("a member calls another and gets the response body", async () => {
    const a = await h.node(1, { onRequest: echo });
    const b = await h.node(2, { onRequest: echo });
    h.mesh([a, b]);
    const reply = await a.transport.request(2, "hello", Buffer.from("x"), 2000);
    assert.equal(Buffer.from(reply).toString(), "hello:1:x");
  });

  test("a caller without cluster or member id learns both from the ack", async () => {
    const c = await h.node(3, { onRequest: echo });
    const reply = await peerRequest({
      url: c.url,
      clusterId: 0n,
      from: 0,
      to: 0,
      method: "members",
      body: new Uint8Array(0),
      timeoutMs: 2000,
    });
    assert.equal(reply.clusterId, CLUSTER);
    assert.equal(reply.memberId, 3);
    assert.equal(Buffer.from(reply.body).toString(), "members:0:");
  });

  test("a handler's failure, a foreign cluster and a cut link fail the call", async () => {
    const d = await h.node(4, { onRequest: echo });
    const e = await h.node(5, { onRequest: echo });
    h.mesh([d, e]);
    await assert.rejects(d.transport.request(5, "fail", new Uint8Array(0), 2000), /no such thing/);
    await assert.rejects(
      peerRequest({
        url: e.url,
        clusterId: 99n,
        from: 4,
        to: 5,
        method: "x",
        body: new Uint8Array(0),
        timeoutMs: 2000,
      }),
      (err) => err instanceof PeerRequestError && /cluster id mismatch/.test(err.message),
    );
    d.transport.applyFaultSpec("cut:5");
    await assert.rejects(d.transport.request(5, "x", new Uint8Array(0), 2000), /cut/);
    // The callee drops calls from a member it has cut off, as it drops its messages.
    d.transport.applyFaultSpec("heal");
    e.transport.applyFaultSpec("cut:4");
    await assert.rejects(d.transport.request(5, "x", new Uint8Array(0), 2000), PeerRequestError);
    await assert.rejects(d.transport.request(77, "x", new Uint8Array(0), 2000), /not a known peer/);
  });

  test("a member without a handler answers with a failure", async () => {
    const f = await h.node(6);
    const g = await h.node(7);
    h.mesh([f, g]);
    await assert.rejects(f.transport.request(7, "x", new Uint8Array(0), 2000), /serves no peer requests/);
  });
});
