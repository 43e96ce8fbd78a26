// Starting and stopping the servers a benchmark compares: real etcd (Debian etcd-server) and
// `kite store`, each on free loopback ports with a fresh data directory, stopped by pid.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningServer {
  name: string;
  endpoint: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function startProcess(name: string, command: string, args: string[], dataDir: string, endpoint: string) {
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server: RunningServer & { stderr: () => string; child: ChildProcess } = {
    name,
    endpoint,
    child,
    stderr: () => stderr,
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
