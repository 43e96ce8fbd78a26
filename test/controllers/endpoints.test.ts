import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStatusError, type KubeObject } from "../../src/api/index.js";
import {
  CONTROLLER_NAME,
  endpointSliceController,
  endpointsController,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
} from "../../src/controllers/endpoints/index.js";
import { waitFor } from "../support/require.js";
import { type ControllerTestEnv, markPodRunning, runControllers, startControllerEnv } from "./harness.js";
import { ConflictingClient, ENDPOINTS, ENDPOINTSLICES, PODS, pod, SERVICES } from "./lifecycle-fixtures.js";

function service(name: string, selector: Record<string, string> | undefined): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: {
      ...(selector ? { selector } : {}),
      ports: [{ name: "http", port: 80, targetPort: "web", protocol: "TCP" }],
    },
  };
}

describe("endpoints and endpointslice controllers", () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerEnv();
  });
  after(async () => {
    await env.close();
  });

  const getEndpoints = async (name: string): Promise<KubeObject | undefined> => {
    try {
      return await env.client.resource(ENDPOINTS, "default").get(name);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
  };
  const ips = (ep: KubeObject | undefined, field: "addresses" | "notReadyAddresses") =>
    (ep?.subsets ?? [])
      .flatMap((s: Record<string, Array<{ ip: string }>>) => (s[field] ?? []).map((a) => a.ip))
      .sort();
  const slicesOf = async (svc: string) =>
    (
      await env.client
        .resource(ENDPOINTSLICES, "default")
        .list({ labelSelector: `${SERVICE_NAME_LABEL}=${svc}` })
    ).items;

  test("ready and not-ready addresses follow pod readiness, ports resolved by name", async () => {
    const running = await env.run([endpointsController, endpointSliceController]);
    const svc = await env.client.resource(SERVICES, "default").create(service("web", { app: "web" }));
    const pods = env.client.resource(PODS, "default");
    const p1 = await pods.create({
      ...pod("web-1", { app: "web" }),
      spec: { ...pod("x", {}).spec, nodeName: "node-a" },
    });
    await pods.create(pod("web-2", { app: "web" }));
    await pods.create(pod("other", { app: "other" }));
    await markPodRunning(env.client, p1, { ip: "10.244.0.11", ready: false });

    await waitFor(
      async () => ips(await getEndpoints("web"), "notReadyAddresses").join() === "10.244.0.11",
      10_000,
      "not ready address",
    );
    let ep = await getEndpoints("web");
    assert.deepEqual(ips(ep, "addresses"), []);
    assert.deepEqual(ep?.subsets[0].ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
    const addr = ep?.subsets[0].notReadyAddresses[0];
    assert.equal(addr.nodeName, "node-a");
    assert.deepEqual(addr.targetRef, {
      kind: "Pod",
      namespace: "default",
      name: "web-1",
      uid: p1.metadata?.uid,
    });

    await markPodRunning(env.client, p1, { ip: "10.244.0.11", ready: true });
    await markPodRunning(
      env.client,
      { metadata: { name: "web-2", namespace: "default" } },
      { ip: "10.244.0.12", ready: true },
    );
    await markPodRunning(
      env.client,
      { metadata: { name: "other", namespace: "default" } },
      { ip: "10.244.0.13", ready: true },
    );
    await waitFor(
      async () => ips(await getEndpoints("web"), "addresses").join() === "10.244.0.11,10.244.0.12",
      10_000,
      "ready addresses",
    );
    ep = await getEndpoints("web");
    assert.deepEqual(ips(ep, "notReadyAddresses"), []);

    // The slice mirrors the same pods.
    await waitFor(
      async () => {
        const slices = await slicesOf("web");
        return (
          slices.length === 1 &&
          (slices[0]?.endpoints ?? []).length === 2 &&
          slices[0]?.endpoints.every((e: KubeObject) => e.conditions.ready)
        );
      },
      10_000,
      "endpointslice with two ready endpoints",
    );
    const [slice] = await slicesOf("web");
    assert.equal(slice?.addressType, "IPv4");
    assert.equal(slice?.metadata?.labels?.[MANAGED_BY_LABEL], CONTROLLER_NAME);
    assert.deepEqual(slice?.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
    assert.equal(slice?.metadata?.ownerReferences?.[0]?.uid, svc.metadata?.uid);
    const e1 = slice?.endpoints.find((e: KubeObject) => e.targetRef.name === "web-1");
    assert.deepEqual(e1.addresses, ["10.244.0.11"]);
    assert.deepEqual(e1.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(e1.nodeName, "node-a");

    // Going unready moves the address back.
    await markPodRunning(
      env.client,
      { metadata: { name: "web-2", namespace: "default" } },
      { ip: "10.244.0.12", ready: false },
    );
    await waitFor(
      async () => ips(await getEndpoints("web"), "notReadyAddresses").join() === "10.244.0.12",
      10_000,
      "web-2 not ready",
    );
    await waitFor(
      async () =>
        (await slicesOf("web"))[0]?.endpoints.find((e: KubeObject) => e.targetRef.name === "web-2")
          ?.conditions.ready === false,
      10_000,
      "slice shows web-2 not ready",
    );

    // Deleting the pod removes it.
    await pods.delete("web-2");
    await waitFor(
      async () => ips(await getEndpoints("web"), "notReadyAddresses").length === 0,
      10_000,
      "web-2 removed",
    );
    await running.stop();
  });

  test("unrelated pod updates do not rewrite Endpoints or slices (no flapping)", async () => {
    const running = await env.run([endpointsController, endpointSliceController]);
    await waitFor(
      async () => ips(await getEndpoints("web"), "addresses").join() === "10.244.0.11",
      10_000,
      "steady state",
    );
    await waitFor(
      async () => (await slicesOf("web"))[0]?.endpoints.length === 1,
      10_000,
      "slice steady state",
    );
    const before = await getEndpoints("web");
    const sliceBefore = (await slicesOf("web"))[0];
    const pods = env.client.resource(PODS, "default");
    for (let i = 0; i < 5; i++) {
      const live = await pods.get("web-1");
      await pods.update({ ...live, metadata: { ...live.metadata, annotations: { touch: String(i) } } });
      // A status report that repeats readiness with a new heartbeat time.
      await markPodRunning(env.client, live, { ip: "10.244.0.11", ready: true });
    }
    // A readiness change afterwards is the marker: exactly one write must follow it.
    const watchEp = await env.client
      .resource(ENDPOINTS, "default")
      .watch({ resourceVersion: before?.metadata?.resourceVersion });
    const events: string[] = [];
    const reading = (async () => {
      for await (const ev of watchEp)
        if ((ev.object as KubeObject).metadata?.name === "web") events.push(ev.type);
    })();
    await markPodRunning(
      env.client,
      { metadata: { name: "web-1", namespace: "default" } },
      { ip: "10.244.0.11", ready: false },
    );
    await waitFor(
      async () => ips(await getEndpoints("web"), "notReadyAddresses").join() === "10.244.0.11",
      10_000,
      "marker change",
    );
    watchEp.stop();
    await reading.catch(() => undefined);
    assert.deepEqual(events, ["MODIFIED"], "one write, caused by the readiness change");
    await waitFor(
      async () => (await slicesOf("web"))[0]?.endpoints[0]?.conditions.ready === false,
      10_000,
      "slice marker",
    );
    const sliceAfter = (await slicesOf("web"))[0];
    assert.equal(
      Number(sliceAfter?.metadata?.resourceVersion) > Number(sliceBefore?.metadata?.resourceVersion),
      true,
    );
    assert.equal(sliceAfter?.metadata?.name, sliceBefore?.metadata?.name);
    await running.stop();
  });

  test("tampered Endpoints are restored; a restart converges on changes made while down", async () => {
    let running = await env.run([endpointsController, endpointSliceController]);
    const eps = env.client.resource(ENDPOINTS, "default");
    const ep = await eps.get("web");
    await eps.update({
      ...ep,
      subsets: [{ addresses: [{ ip: "192.0.2.1" }], ports: [{ port: 1, protocol: "TCP" }] }],
    });
    await waitFor(
      async () => ips(await getEndpoints("web"), "notReadyAddresses").join() === "10.244.0.11",
      10_000,
      "restored",
    );
    await running.stop();

    await markPodRunning(
      env.client,
      { metadata: { name: "web-1", namespace: "default" } },
      { ip: "10.244.0.11", ready: true },
    );
    running = await env.run([endpointsController, endpointSliceController]);
    await waitFor(
      async () => ips(await getEndpoints("web"), "addresses").join() === "10.244.0.11",
      10_000,
      "converged after restart",
    );
    await waitFor(
      async () => (await slicesOf("web"))[0]?.endpoints[0]?.conditions.ready === true,
      10_000,
      "slice converged",
    );
    assert.equal((await slicesOf("web")).length, 1, "no duplicate slices after restart");
    await running.stop();
  });

  test("services without a selector keep hand-written Endpoints; deleting a service removes its endpoints", async () => {
    const running = await env.run([endpointsController, endpointSliceController]);
    await env.client.resource(SERVICES, "default").create(service("external", undefined));
    const manual = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "external" },
      subsets: [{ addresses: [{ ip: "192.0.2.7" }], ports: [{ name: "http", port: 80, protocol: "TCP" }] }],
    };
    await env.client.resource(ENDPOINTS, "default").create(manual);
    await env.client.resource(SERVICES, "default").delete("web");
    await waitFor(
      async () => (await getEndpoints("web")) === undefined && (await slicesOf("web")).length === 0,
      10_000,
      "web endpoints and slices removed",
    );
    assert.deepEqual(ips(await getEndpoints("external"), "addresses"), ["192.0.2.7"]);
    assert.equal((await slicesOf("external")).length, 0);
    await running.stop();
  });

  test("conflicting writes are retried until they land", async () => {
    const flaky = new ConflictingClient(
      env.client.config,
      (req) => req.method !== "GET" && /\/(endpoints|endpointslices)(\/|$)/.test(req.path),
      4,
    );
    const running = await runControllers(flaky, [endpointsController, endpointSliceController]);
    try {
      await env.client.resource(SERVICES, "default").create(service("retry", { app: "retry" }));
      const p = await env.client.resource(PODS, "default").create(pod("retry-1", { app: "retry" }));
      await markPodRunning(env.client, p, { ip: "10.244.0.21", ready: true });
      await waitFor(
        async () => ips(await getEndpoints("retry"), "addresses").join() === "10.244.0.21",
        15_000,
        "endpoints after conflicts",
      );
      await waitFor(
        async () => (await slicesOf("retry"))[0]?.endpoints?.length === 1,
        15_000,
        "slice after conflicts",
      );
      assert.equal(flaky.conflicts, 4);
      assert.equal((await slicesOf("retry")).length, 1);
    } finally {
      await running.stop();
      flaky.close();
    }
  });
});
