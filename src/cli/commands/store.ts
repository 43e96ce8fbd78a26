// `kite store`: runs one etcd-compatible store member and serves the etcd v3 gRPC API on the
// client URLs, taking etcd's flags. SIGINT/SIGTERM stop it cleanly (listeners closed, WAL
// synced and closed); an unrecoverable store error exits with status 1.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../etcdapi/index.js";
import {
  parseStoreFlags,
  STORE_USAGE,
  StoreFlagError,
  type StoreFlags,
  StoreServer,
} from "../../store/index.js";
import type { Command } from "../index.js";

async function serveClients(store: StoreServer, flags: StoreFlags): Promise<EtcdGrpcServer> {
  return startEtcdGrpcServer(store, {
    listenUrls: flags.listenClientUrls,
    registry: store.registry,
    maxRequestBytes: flags.server.maxRequestBytes,
    maxTxnOps: flags.server.maxTxnOps,
    leaderCheckMs: flags.server.electionMs,
  });
}

function log(message: string): void {
  console.error(`${new Date().toISOString()} ${message}`);
}

async function run(args: string[]): Promise<number> {
  let flags: StoreFlags;
  try {
    flags = parseStoreFlags(args);
  } catch (err) {
    if (!(err instanceof StoreFlagError)) throw err;
    console.error(`Error: ${err.message}\nRun 'kite store --help' for usage.`);
    return 1;
  }
  if (flags.help) {
    console.log(STORE_USAGE);
    return 0;
  }
  if (flags.initialClusterState === "existing" && !existsSync(join(flags.server.dataDir, "member"))) {
    console.error(
      "Error: joining an existing cluster (--initial-cluster-state=existing) is not supported yet",
    );
    return 1;
  }
  const store = await StoreServer.open({ ...flags.server, log: (m) => log(m) });
  let clients: EtcdGrpcServer;
  try {
    clients = await serveClients(store, flags);
  } catch (err) {
    await store.close();
    throw err;
  }
  for (const url of clients.urls) log(`ready to serve client requests on ${new URL(url).host}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number, why: string) => {
      if (stopping) return;
      stopping = true;
      log(`stopping: ${why}`);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      clients
        .close()
        .then(() => store.close())
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
    store.onFatal = (err) => stop(1, `store failed: ${(err as Error).message ?? String(err)}`);
  });
}

export const storeCommand: Command = {
  name: "store",
  summary: "Run an etcd-compatible store member (etcd v3 API)",
  run,
};
