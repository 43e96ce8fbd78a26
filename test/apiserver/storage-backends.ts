// The two stores the object-store tests run against: a real etcd 3.4 (/usr/bin/etcd on free
// loopback ports, temp data dir, killed by pid) and kite's own store served over the etcd API.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext } from "node:test";
import { builtinFieldGetters, type KubeObject, type WatchEvent } from "../../src/api/index.js";
import { EtcdClient } from "../../src/apiserver/storage/index.js";
import type { ResourceDef, WatchStream } from "../../src/apiserver/types.js";
import { startHarness } from "../etcdapi/harness.js";
import { freePort } from "../support/ports.js";
import { need, waitFor } from "../support/require.js";

export interface Backend {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
  /** Kills the server and starts it again on the same data and ports (etcd only). */
  restart?(): Promise<void>;
}

export const ETCD_BINARY = "/usr/bin/etcd";
export const haveEtcd = existsSync(ETCD_BINARY);

export async function startEtcd(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "kite-apistorage-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${client}`;
  let child: ChildProcess | undefined;
  const kill = async () => {
    const running = child;
    if (running?.pid === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once("exit", r));
    process.kill(running.pid, "SIGKILL");
    await exited;
  };
  const launch = async () => {
    const proc = spawn(
      ETCD_BINARY,
      [
        "--name=t",
        `--data-dir=${join(dir, "data")}`,
        `--listen-client-urls=http://${endpoint}`,
        `--advertise-client-urls=http://${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=t=http://127.0.0.1:${peer}`,
      ],
      { stdio: "ignore" },
    );
    child = proc;
    const probe = EtcdClient.connect([endpoint], 1000);
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode}`);
          return probe.range({ key: Buffer.from("probe") }).then(
            () => true,
            () => false,
          );
        },
        20_000,
        "etcd to serve",
      );
    } finally {
      probe.close();
    }
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await launch();
    return {
      name: "etcd 3.4",
      endpoint,
      stop,
      async restart() {
        await kill();
        await launch();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startKite(): Promise<Backend> {
  const h = await startHarness();
  return { name: "kite store", endpoint: h.endpoint, stop: () => h.stop() };
}

/** A TCP proxy in front of a backend whose connections a test can cut and later let through again. */
export interface Proxy {
  endpoint: string;
  /** Drops every open connection and refuses new ones until resume(). */
  cut(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(":")),
    Number(target.slice(target.lastIndexOf(":") + 1)),
  ];
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const endpoint = `127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return {
    endpoint,
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    resume() {
      refusing = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

export const podsDef: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Pod",
  listKind: "PodList",
  resource: "pods",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  verbs: ["get", "list", "watch", "create", "update", "delete"],
  subresources: [],
  fields: builtinFieldGetters.Pod,
};

export const nodesDef: ResourceDef = {
  ...podsDef,
  kind: "Node",
  listKind: "NodeList",
  resource: "nodes",
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  fields: builtinFieldGetters.Node,
};

export const deploymentsDef: ResourceDef = {
  ...podsDef,
  group: "apps",
  kind: "Deployment",
  listKind: "DeploymentList",
  resource: "deployments",
  singular: "deployment",
  shortNames: ["deploy"],
  fields: undefined,
};

export function pod(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
  nodeName = "",
): KubeObject {
  const spec: Record<string, unknown> = { containers: [{ name: "c", image: "busybox" }] };
  if (nodeName) spec.nodeName = nodeName;
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels, uid: `uid-${name}` }, spec };
}

let prefixes = 0;
/** A fresh key prefix per store, so tests sharing one backend do not see each other's objects. */
export function freshPrefix(): string {
  return `/reg${process.pid}-${++prefixes}`;
}

/** Runs `body` once per backend; the backend starts before and stops after that block. */
export function forEachBackend(body: (backend: () => Backend | undefined) => void): void {
  for (const kind of ["etcd", "kite"] as const) {
    describe(kind === "etcd" ? "real etcd 3.4" : "kite store", () => {
      let backend: Backend | undefined;
      before(async () => {
        if (kind === "kite") backend = await startKite();
        else if (haveEtcd) backend = await startEtcd();
      });
      after(async () => {
        await backend?.stop();
      });
      body(() => backend);
    });
  }
}

/** Skips (or in CI fails) a test when its backend could not start. */
export function backendOr(t: TestContext, backend: Backend | undefined): backend is Backend {
  return need(t, backend !== undefined, `${ETCD_BINARY} is not installed`);
}

/** Collects a watch's events. */
export function collect(stream: WatchStream): Array<WatchEvent<KubeObject>> {
  const events: Array<WatchEvent<KubeObject>> = [];
  stream.onEvent((e) => {
    events.push(e);
  });
  return events;
}

export function names(events: Array<WatchEvent<KubeObject>>): string[] {
  return events.map((e) => `${e.type} ${(e.object as KubeObject).metadata?.name ?? ""}`);
}
