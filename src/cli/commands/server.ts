// `kite server`: runs the Kubernetes API server over HTTPS. Without --etcd-servers it first
// starts an embedded single-member kite store (data in <data-dir>/store) serving the etcd v3
// API on loopback, and points the apiserver at it. Once the apiserver is ready the
// controller-manager and the scheduler start in-process (unless disabled). SIGINT/SIGTERM stop
// them, then the apiserver, then the store.
import { join } from "node:path";
import { type ApiServer, startApiServer } from "../../apiserver/index.js";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../etcdapi/index.js";
import { StoreServer } from "../../store/index.js";
import { type Command, parseCommandFlags } from "../index.js";
import { type ControlPlane, startControlPlane } from "./controlplane.js";

export const SERVER_USAGE = `Run the Kubernetes API server (and, without --etcd-servers, an embedded kite store)

Usage:
  kite server --data-dir DIR [flags]

Flags:
      --data-dir string                   Directory for certificates, tokens, the admin kubeconfig and the embedded store (required)
      --port int                          HTTPS port (default 6443; 0 picks a free one)
      --bind-address string               Address to listen on (default 127.0.0.1)
      --etcd-servers strings              etcd client URLs (comma separated); default: the embedded kite store
      --store-port int                    Port of the embedded store's etcd API on 127.0.0.1 (default 2379, or a free one if taken)
      --service-cluster-ip-range string   CIDR of service cluster IPs (default 10.96.0.0/12)
      --service-node-port-range string    Range of NodePorts (default 30000-32767)
      --disable-controllers               Do not run the controller-manager
      --disable-scheduler                 Do not run the scheduler
  -h, --help                              Help for server`;

export interface ServerFlags {
  dataDir: string;
  port: number;
  bindAddress: string;
  etcdServers: string[];
  storePort?: number;
  serviceClusterIpRange: string;
  serviceNodePortRange?: string;
  /** Set only when the flag is given. */
  disableControllers?: boolean;
  disableScheduler?: boolean;
  help: boolean;
}

export class ServerFlagError extends Error {}

function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new ServerFlagError(`invalid argument "${value}" for "${flag}": want a port 0-65535`);
  return n;
}

export function parseServerFlags(args: string[]): ServerFlags {
  const flags: ServerFlags = {
    dataDir: "",
    port: 6443,
    bindAddress: "127.0.0.1",
    etcdServers: [],
    serviceClusterIpRange: "10.96.0.0/12",
    help: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      flags.help = true;
      continue;
    }
    if (arg === "--disable-controllers" || arg === "--disable-scheduler") {
      if (arg === "--disable-controllers") flags.disableControllers = true;
      else flags.disableScheduler = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined || next.startsWith("--"))
        throw new ServerFlagError(`flag needs an argument: ${name}`);
      return next;
    };
    switch (name) {
      case "--data-dir":
        flags.dataDir = value();
        break;
      case "--port":
      case "--secure-port":
        flags.port = parsePort(name, value());
        break;
      case "--bind-address":
        flags.bindAddress = value();
        break;
      case "--etcd-servers":
        flags.etcdServers = value()
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
        break;
      case "--store-port":
        flags.storePort = parsePort(name, value());
        break;
      case "--service-cluster-ip-range":
        flags.serviceClusterIpRange = value();
        break;
      case "--service-node-port-range":
        flags.serviceNodePortRange = value();
        break;
      default:
        throw new ServerFlagError(`unknown flag: ${name}`);
    }
  }
  if (!flags.help && flags.dataDir === "") throw new ServerFlagError("--data-dir is required");
  return flags;
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} ${message}`);
}

interface EmbeddedStore {
  store: StoreServer;
  api: EtcdGrpcServer;
}

async function startEmbeddedStore(dataDir: string, port: number | undefined): Promise<EmbeddedStore> {
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

async function run(args: string[]): Promise<number> {
  const flags = parseCommandFlags(
    "server",
    args,
    parseServerFlags,
    (err) => err instanceof ServerFlagError,
    SERVER_USAGE,
  );
  if (typeof flags === "number") return flags;
  let embedded: EmbeddedStore | undefined;
  let etcdServers = flags.etcdServers;
  if (etcdServers.length === 0) {
    embedded = await startEmbeddedStore(flags.dataDir, flags.storePort);
    etcdServers = embedded.api.urls;
    log(`embedded store serving the etcd API at ${etcdServers.join(",")}`);
  }
  let server: ApiServer;
  try {
    server = await startApiServer({
      dataDir: flags.dataDir,
      port: flags.port,
      bindAddress: flags.bindAddress,
      etcdServers,
      serviceClusterIpRange: flags.serviceClusterIpRange,
      serviceNodePortRange: flags.serviceNodePortRange,
      log,
    });
  } catch (err) {
    await embedded?.api.close();
    await embedded?.store.close();
    throw err;
  }
  console.log(`kite apiserver ready at ${server.url} (kubeconfig: ${server.kubeconfigPath})`);
  let controlPlane: ControlPlane | undefined;
  try {
    controlPlane = await startControlPlane({
      kubeconfigPath: server.kubeconfigPath,
      registry: server.metrics.registry,
      controllers: flags.disableControllers !== true,
      scheduler: flags.disableScheduler !== true,
      log,
    });
  } catch (err) {
    await server.close();
    await embedded?.api.close();
    await embedded?.store.close();
    throw err;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number, why: string) => {
      if (stopping) return;
      stopping = true;
      log(`stopping: ${why}`);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      (controlPlane?.stop() ?? Promise.resolve())
        .then(() => server.close())
        .then(() => embedded?.api.close())
        .then(() => embedded?.store.close())
        .then(
          () => resolve(code),
          (err: unknown) => {
            log(`error while stopping: ${(err as Error).message}`);
            resolve(1);
          },
        );
    };
    const onSignal = (signal: NodeJS.Signals) => stop(0, `received ${signal}`);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    if (embedded)
      embedded.store.onFatal = (err) => stop(1, `store failed: ${(err as Error).message ?? String(err)}`);
  });
}

export const serverCommand: Command = {
  name: "server",
  summary: "Run the Kubernetes API server (with an embedded kite store unless --etcd-servers is given)",
  run,
};
