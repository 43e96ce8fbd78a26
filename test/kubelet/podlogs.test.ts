// The apiserver's pods/log passing through to the kubelet (FakeRuntime): container defaulting and
// its errors, the kubelet's errors as Status, follow streaming until the client goes away, an
// unbound pod, and a node whose kubelet cannot be reached.
import assert from "node:assert/strict";
import { appendFileSync } from "node:fs";
import { request } from "node:https";
import { after, before, test } from "node:test";
import type { KubeObject } from "../../src/api/index.js";
import { FakeClock } from "../../src/client/index.js";
import { freePort } from "../support/ports.js";
import { type Harness, NODES, PODS, startHarness } from "./kubelet-harness.js";

let h: Harness;
before(async () => {
  h = await startHarness({ clock: new FakeClock(Date.parse("2026-05-01T00:00:00Z")) });
});
after(async () => {
  await h?.close();
});

interface Answer {
  status: number;
  text: string;
  json?: KubeObject;
}

function open(path: string, onData?: (chunk: string, stop: () => void) => void): Promise<Answer> {
  const cfg = h.client.config;
  const url = new URL(path, cfg.server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: cfg.ca,
        cert: cfg.cert,
        key: cfg.key,
        headers: cfg.token ? { Authorization: `Bearer ${cfg.token}` } : {},
      },
      (res) => {
        let text = "";
        const stop = () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, text });
        };
        res.on("data", (c: Buffer) => {
          text += c.toString("utf8");
          onData?.(text, stop);
        });
        res.on("end", () => {
          let json: KubeObject | undefined;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
        res.on("error", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const logPath = (pod: string) => `/api/v1/namespaces/default/pods/${pod}/log`;

test("pods/log through the kubelet: defaulting, errors, follow, unreachable node", async () => {
  const c = (name: string) => ({ name, image: "x", command: ["sleep", "1"] });
  await h.createPod({ containers: [c("only")] }, { name: "one" });
  await h.createPod({ containers: [c("a"), c("b")] }, { name: "two" });
  await h.createPod(
    { containers: [c("a"), c("b")] },
    { name: "annotated", annotations: { "kubectl.kubernetes.io/default-container": "b" } },
  );
  for (const name of ["one", "two", "annotated"])
    await h.waitPod(name, (p) => p.status?.phase === "Running", `${name} Running`);

  assert.deepEqual(await open(logPath("one")), {
    status: 200,
    text: "hello from only attempt 0\n",
    json: undefined,
  });
  assert.equal((await open(`${logPath("two")}?container=b`)).text, "hello from b attempt 0\n");
  assert.equal((await open(logPath("annotated"))).text, "hello from b attempt 0\n");
  const noName = await open(logPath("two"));
  assert.equal(noName.status, 400);
  assert.equal(noName.json?.message, "a container name must be specified for pod two, choose one of: [a b]");
  const bad = await open(`${logPath("two")}?container=zz`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json?.message, "container zz is not valid for pod two");
  const prev = await open(`${logPath("one")}?previous=true`);
  assert.equal(prev.status, 400);
  assert.equal(prev.json?.reason, "BadRequest");
  assert.equal(prev.json?.message, 'previous terminated container "only" in pod "one" not found');

  // follow: new lines arrive as they are written; the client going away ends it.
  const file = h.fake.running("only")[0]!.config.logPath;
  let appended = false;
  const followed = await open(`${logPath("one")}?follow=true`, (text, stop) => {
    if (!appended) {
      appended = true;
      appendFileSync(file, "2026-05-01T00:00:01.000000000Z stdout F second line\n");
    }
    if (text.includes("second line")) stop();
  });
  assert.equal(followed.text, "hello from only attempt 0\nsecond line\n");

  // Not bound: upstream's 400.
  await h.client
    .resource(PODS, "default")
    .create({ apiVersion: "v1", kind: "Pod", metadata: { name: "unbound" }, spec: { containers: [c("x")] } });
  const unbound = await open(logPath("unbound"));
  assert.equal(unbound.status, 400);
  assert.equal(unbound.json?.message, "pod unbound does not have a host assigned");

  // A node whose kubelet does not answer.
  const port = await freePort();
  await h.client.resource(NODES).create({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "kite-ghost" },
    status: {
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      daemonEndpoints: { kubeletEndpoint: { Port: port } },
    },
  });
  await h.client.resource(NODES).patch(
    "kite-ghost",
    "merge",
    {
      status: {
        addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
      },
    },
    { subresource: "status" },
  );
  await h.client.resource(PODS, "default").create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "ghostly" },
    spec: { nodeName: "kite-ghost", containers: [c("x")] },
  });
  const ghost = await open(logPath("ghostly"));
  assert.equal(ghost.status, 500);
  assert.match(
    ghost.json?.message ?? "",
    new RegExp(`^Get "http://127\\.0\\.0\\.1:${port}/containerLogs/default/ghostly/x": .*ECONNREFUSED`),
  );
});
