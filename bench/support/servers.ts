// Starting and stopping the servers a benchmark compares: real etcd (Debian etcd-server) and
// `kite store`, each on free loopback ports with a fresh data directory, stopped by pid.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../test/support/ports.js";

export { freePort };

export interface RunningServer {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

/** One member process of a cluster; kill() sends SIGKILL and resolves once it has exited. */
export interface ClusterMember extends RunningServer {
  kill(): Promise<void>;
}

export interface RunningCluster {
  name: string;
  members: ClusterMember[];
  /** Stops every member still running and removes all data directories. */
  stop(): Promise<void>;
}

function startProcess(name: string, command: string, args: string[], dataDir: string, endpoint: string) {
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server: ClusterMember & { stderr: () => string; child: ChildProcess } = {
    name,
    endpoint,
    child,
    stderr: () => stderr,
    async kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, "SIGKILL");
        await exited;
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, "SIGTERM");
        const timer = setTimeout(
          () => child.pid && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
          5000,
        );
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

export async function startEtcd(etcdBinary = "/usr/bin/etcd") {
  const [client, peer] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "kite-bench-etcd-"));
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  return startProcess(
    "etcd",
    etcdBinary,
    [
      "--name=bench",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=bench=${peerUrl}`,
      "--log-level=error",
    ],
    dataDir,
    `127.0.0.1:${client}`,
  );
}

export async function startKiteStore(cliPath: string) {
  const client = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "kite-bench-store-"));
  return startProcess(
    "kite",
    process.execPath,
    [
      cliPath,
      "store",
      "--name=bench",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
    ],
    dataDir,
    `127.0.0.1:${client}`,
  );
}

interface MemberPorts {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

/**
 * Picks ports and data directories for `size` members of a new cluster (peer URLs must be known
 * before any member starts) and starts one process per member from memberArgs.
 */
async function startCluster(
  name: string,
  size: number,
  prefix: string,
  command: string,
  memberArgs: (m: MemberPorts, initialCluster: string) => string[],
): Promise<RunningCluster> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const specs: MemberPorts[] = [];
  for (let i = 1; i <= size; i++) {
    specs.push({
      name: `n${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `n${i}`),
    });
  }
  const initialCluster = specs.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  const members = specs.map((m) =>
    startProcess(
      `${name}/${m.name}`,
      command,
      memberArgs(m, initialCluster),
      m.dataDir,
      new URL(m.clientUrl).host,
    ),
  );
  return {
    name,
    members,
    async stop() {
      await Promise.allSettled(members.map((m) => m.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The etcd flags both kinds of member take, with etcd's default timings spelled out for both. */
function memberFlags(m: MemberPorts, initialCluster: string): string[] {
  return [
    `--name=${m.name}`,
    `--data-dir=${m.dataDir}`,
    `--listen-client-urls=${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--initial-cluster=${initialCluster}`,
    "--initial-cluster-state=new",
    "--heartbeat-interval=100",
    "--election-timeout=1000",
    "--log-level=error",
  ];
}

export function startEtcdCluster(size = 3, etcdBinary = "/usr/bin/etcd"): Promise<RunningCluster> {
  return startCluster("etcd", size, "kite-bench-etcd-cluster-", etcdBinary, memberFlags);
}

export function startKiteCluster(cliPath: string, size = 3): Promise<RunningCluster> {
  return startCluster("kite", size, "kite-bench-store-cluster-", process.execPath, (m, ic) => [
    cliPath,
    "store",
    ...memberFlags(m, ic),
  ]);
}
