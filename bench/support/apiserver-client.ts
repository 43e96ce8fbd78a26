// What the apiserver benchmark needs to talk to `kite server`: starting it as its own process on
// free ports with a fresh data directory, the admin credentials from the kubeconfig it writes,
// and a keep-alive HTTPS client that trusts the cluster CA.
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "./servers.js";

export interface AdminCredentials {
  url: string;
  ca: string;
  cert: string;
  key: string;
}

export interface RunningApiServer {
  url: string;
  dataDir: string;
  pid: number;
  /** CPU seconds (user + system) the server process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Reads <dataDir>/kubeconfig: the server URL, the CA and the admin client certificate. */
export function readAdminCredentials(dataDir: string): AdminCredentials {
  const config = parse(readFileSync(join(dataDir, "kubeconfig"), "utf8")) as {
    clusters: Array<{ cluster: { server: string; "certificate-authority-data": string } }>;
    users: Array<{ user: { "client-certificate-data": string; "client-key-data": string } }>;
  };
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error(`no cluster or user in ${dataDir}/kubeconfig`);
  const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
  return {
    url: cluster.server,
    ca: b64(cluster["certificate-authority-data"]),
    cert: b64(user["client-certificate-data"]),
    key: b64(user["client-key-data"]),
  };
}

export function adminAgent(creds: AdminCredentials, maxSockets = Number.POSITIVE_INFINITY): Agent {
  return new Agent({ keepAlive: true, maxSockets, ca: creds.ca, cert: creds.cert, key: creds.key });
}

export interface Reply {
  status: number;
  body: string;
}

/** One request with a JSON body (when given); resolves with the whole reply. */
export function send(
  agent: Agent,
  creds: AdminCredentials,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const url = new URL(path, creds.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method,
        headers: {
          Accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

export function cpuSecondsOf(pid: number): number {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Starts `kite server` (with its embedded store unless etcdServers is given) and waits for its
 * ready line. With profileDir, the server runs under `node --cpu-prof` and writes its profile there
 * when stopped; with logFile its output is appended there.
 */
export async function startKiteServer(
  cliPath: string,
  opts: { profileDir?: string; etcdServers?: string; logFile?: string; extraArgs?: string[] } = {},
) {
  const [port, storePort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "kite-bench-apiserver-"));
  const nodeFlags = opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [];
  // e.g. KITE_BENCH_SERVER_NODE_FLAGS=--trace-gc (with a logFile) to see the server's pauses.
  nodeFlags.push(...(process.env.KITE_BENCH_SERVER_NODE_FLAGS ?? "").split(" ").filter((f) => f !== ""));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...nodeFlags,
      cliPath,
      "server",
      `--data-dir=${dataDir}`,
      `--port=${port}`,
      opts.etcdServers ? `--etcd-servers=${opts.etcdServers}` : `--store-port=${storePort}`,
      ...(opts.extraArgs ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-8000);
    if (opts.logFile) appendFileSync(opts.logFile, d);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running() && child.pid) {
      process.kill(child.pid, "SIGTERM");
      // A profile is written on a clean exit only; give it time before forcing.
      const timer = setTimeout(() => running() && child.pid && process.kill(child.pid, "SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("kite server did not become ready in 60 s")), 60_000);
      const check = () => {
        if (output.includes("kite apiserver ready")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`kite server exited with ${code} before it was ready:\n${output}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const server: RunningApiServer = {
    url: `https://127.0.0.1:${port}`,
    dataDir,
    pid: child.pid ?? 0,
    cpuSeconds: () => cpuSecondsOf(child.pid ?? 0),
    stop,
  };
  return server;
}
