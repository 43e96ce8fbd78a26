// The server stack `kite server` and `kite up` share: the embedded kite store (etcd v3 API on
// loopback), the apiserver, and the control loops (controller-manager and scheduler). Each step
// goes through `step` so `kite up` can show progress with timings; stop() undoes them in reverse.
import { join } from "node:path";
import { type ApiServer, EtcdObjectStore, startApiServer } from "../../apiserver/index.js";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../etcdapi/index.js";
import { StoreServer } from "../../store/index.js";
import { type ControlPlane, startControlPlane } from "./controlplane.js";

export interface EmbeddedStore {
  store: StoreServer;
  api: EtcdGrpcServer;
}

/** Opens the store in <dataDir>/store and serves its etcd API on 127.0.0.1 (2379, else free). */
export async function startEmbeddedStore(
  dataDir: string,
  port: number | undefined,
  log: (message: string) => void,
): Promise<EmbeddedStore> {
  const store = await StoreServer.open({
    dataDir: join(dataDir, "store"),
    name: "kite",
    log: (m) => log(`store: ${m}`),
  });
  const listen = (p: number) =>
    startEtcdGrpcServer(store, { listenUrls: [`http://127.0.0.1:${p}`], registry: store.registry });
  try {
    try {
      return { store, api: await listen(port ?? 2379) };
    } catch (err) {
      // The default port may belong to a real etcd on this host; only an explicit one is binding.
      if (port !== undefined || !/EADDRINUSE|address already in use/i.test(String((err as Error).message)))
        throw err;
      log("127.0.0.1:2379 is taken; the embedded store listens on a free port");
      return { store, api: await listen(0) };
    }
  } catch (err) {
    await store.close();
    throw err;
  }
}

export interface ServerStackOptions {
  dataDir: string;
  port: number;
  bindAddress: string;
  /** Empty: run the embedded store. */
  etcdServers: string[];
  storePort?: number;
  serviceClusterIpRange: string;
  serviceNodePortRange?: string;
  controllers: boolean;
  scheduler: boolean;
  /** The controller-manager's --cluster-cidr (node IPAM). */
  clusterCIDR?: string;
  /** The controller-manager's --node-monitor-grace-period and --node-monitor-period. */
  nodeMonitorGracePeriodMs?: number;
  nodeMonitorPeriodMs?: number;
  log: (message: string) => void;
  /** Wraps each start step (name, work); the default just runs it. */
  step?: <T>(name: string, work: () => Promise<T>) => Promise<T>;
}

export interface ServerStack {
  server: ApiServer;
  /** The etcd URLs the apiserver uses. */
  etcdServers: string[];
  embedded?: EmbeddedStore;
  /** Stops the control plane, the apiserver and the store, in that order. */
  stop(): Promise<void>;
}

export async function startServerStack(opts: ServerStackOptions): Promise<ServerStack> {
  const step = opts.step ?? (<T>(_: string, work: () => Promise<T>) => work());
  const undo: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const u of undo.splice(0).reverse()) await u();
  };
  try {
    let etcdServers = opts.etcdServers;
    let embedded: EmbeddedStore | undefined;
    let objects: EtcdObjectStore | undefined;
    if (etcdServers.length === 0) {
      const e = await step("store", () => startEmbeddedStore(opts.dataDir, opts.storePort, opts.log));
      embedded = e;
      undo.push(async () => {
        await e.api.close();
        await e.store.close();
      });
      etcdServers = e.api.urls;
      opts.log(`embedded store serving the etcd API at ${etcdServers.join(",")}`);
      // The apiserver calls the embedded store directly, not through its gRPC port (perf helper).
      const direct = EtcdObjectStore.inProcess(e.store);
      objects = direct;
      undo.push(() => direct.close());
    }
    const server = await step("apiserver", () =>
      startApiServer({
        dataDir: opts.dataDir,
        port: opts.port,
        bindAddress: opts.bindAddress,
        etcdServers,
        ...(objects ? { store: objects } : {}),
        serviceClusterIpRange: opts.serviceClusterIpRange,
        serviceNodePortRange: opts.serviceNodePortRange,
        log: opts.log,
      }),
    );
    undo.push(() => server.close());
    if (opts.controllers || opts.scheduler) {
      const controlPlane: ControlPlane = await step("controller-manager and scheduler", () =>
        startControlPlane({
          kubeconfigPath: server.kubeconfigPath,
          registry: server.metrics.registry,
          controllers: opts.controllers,
          scheduler: opts.scheduler,
          ...(opts.clusterCIDR !== undefined ? { clusterCIDR: opts.clusterCIDR } : {}),
          ...(opts.nodeMonitorGracePeriodMs !== undefined
            ? { nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs }
            : {}),
          ...(opts.nodeMonitorPeriodMs !== undefined
            ? { nodeMonitorPeriodMs: opts.nodeMonitorPeriodMs }
            : {}),
          log: opts.log,
        }),
      );
      undo.push(() => controlPlane.stop());
    }
    return { server, etcdServers, ...(embedded ? { embedded } : {}), stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/**
 * Resolves with the exit code once SIGINT/SIGTERM (0) or fail() (1) asked to stop and `stop` has
 * finished. With exitOnSecondSignal a second signal while stopping exits at once with 130.
 */
export function runUntilSignal(
  stop: () => Promise<void>,
  log: (message: string) => void,
  opts: { exitOnSecondSignal?: boolean } = {},
): { done: Promise<number>; fail(why: string): void } {
  let fail: (why: string) => void = () => {};
  const done = new Promise<number>((resolve) => {
    let stopping = false;
    const begin = (code: number, why: string) => {
      if (stopping) return;
      stopping = true;
      log(`stopping: ${why}`);
      stop().then(
        () => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          resolve(code);
        },
        (err: unknown) => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          log(`error while stopping: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        if (opts.exitOnSecondSignal !== true) return;
        log(`received ${signal} again while stopping; exiting now`);
        process.exit(130);
      }
      begin(0, `received ${signal}`);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    fail = (why) => begin(1, why);
  });
  return { done, fail };
}
