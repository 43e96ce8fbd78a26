// `kite store`: runs one etcd-compatible store member and serves the etcd v3 gRPC API on the
// client URLs, taking etcd's flags. SIGINT/SIGTERM stop it cleanly (listeners closed, WAL
// synced and closed); an unrecoverable store error exits with status 1.
import { readFileSync } from "node:fs";
import { type EtcdGrpcServer, startEtcdGrpcServer } from "../../etcdapi/index.js";
import {
  parseStoreFlags,
  STORE_USAGE,
  StoreFlagError,
  type StoreFlags,
  StoreServer,
} from "../../store/index.js";
import { type Command, parseCommandFlags } from "../index.js";

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

/**
 * Fault injection for the Jepsen harness: on SIGUSR2 the spec in $KITE_FAULT_FILE (e.g.
 * "cut:n2,n3", "heal", "delay:n2=100", "clear"; names or member ids) is applied to this
 * member's peer links.
 */
function applyFaultFile(store: StoreServer): void {
  const file = process.env.KITE_FAULT_FILE;
  if (!file) {
    log("SIGUSR2: KITE_FAULT_FILE is not set; no faults applied");
    return;
  }
  try {
    const spec = readFileSync(file, "utf8").trim();
    store.applyFaultSpec(spec);
    log(`applied fault spec "${spec}"`);
  } catch (err) {
    log(`SIGUSR2: cannot apply the fault spec in ${file}: ${(err as Error).message}`);
  }
}

async function run(args: string[]): Promise<number> {
  const flags = parseCommandFlags(
    "store",
    args,
    parseStoreFlags,
    (err) => err instanceof StoreFlagError,
    STORE_USAGE,
  );
  if (typeof flags === "number") return flags;
  // SIGUSR2 terminates a process by default, so the fault hook is in place before the (slow) open;
  // a spec signalled meanwhile is applied as soon as the store exists.
  let opened: StoreServer | undefined;
  let faultPending = false;
  const onFaultSignal = () => {
    if (opened) applyFaultFile(opened);
    else faultPending = true;
  };
  process.on("SIGUSR2", onFaultSignal);
  log(`starting store member ${flags.server.name ?? ""} in ${flags.server.dataDir}`);
  const store = await StoreServer.open({ ...flags.server, log: (m) => log(m) });
  opened = store;
  if (faultPending) applyFaultFile(store);
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
