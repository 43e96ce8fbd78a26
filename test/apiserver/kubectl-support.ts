// Runs `kite server` (the compiled CLI) as a child process in a temp data dir and the real
// kubectl against it with a fresh discovery cache. Everything is removed afterwards, and the
// server is stopped by its pid.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/require.js";

export const KUBECTL = "/usr/bin/kubectl";
export const haveKubectl = existsSync(KUBECTL);

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KiteServerProcess {
  dataDir: string;
  url: string;
  kubeconfig: string;
  output(): string;
  kubectl(args: string[], stdin?: string): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  ok(args: string[], stdin?: string): Promise<string>;
  /** A long-running kubectl (get -w); stopped by stop(). */
  stream(args: string[]): { lines(): string[]; stop(): Promise<void> };
  /** Runs the compiled kite CLI with these arguments. */
  kite(args: string[]): Promise<KubectlResult>;
  /** SIGTERM to the server (SIGKILL after 5 s); resolves to its exit code, null if it was killed. */
  stop(): Promise<number | null>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  process.kill(child.pid, "SIGTERM");
  const done = exited(child);
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(child.pid, "SIGKILL");
  }, 5000);
  await done;
  clearTimeout(timer);
}

function run(file: string, args: string[], stdin?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const proc = execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    proc.stdin?.end(stdin);
  });
}

/** Starts `kite server` with its embedded store, or with `extraArgs` such as --etcd-servers. */
export async function startKiteServer(extraArgs: string[] = []): Promise<KiteServerProcess> {
  const root = mkdtempSync(join(tmpdir(), "kite-kubectl-"));
  const dataDir = join(root, "data");
  const cacheDir = join(root, "kube-cache");
  const kubeconfig = join(dataDir, "kubeconfig");
  const child = spawn(
    process.execPath,
    [
      "--enable-source-maps",
      CLI,
      "server",
      "--data-dir",
      dataDir,
      "--port",
      "0",
      ...(extraArgs.length > 0 ? extraArgs : ["--store-port", "0"]),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const streams: ChildProcess[] = [];
  const stop = async () => {
    for (const s of streams) await kill(s);
    await kill(child);
    rmSync(root, { recursive: true, force: true });
    return child.exitCode;
  };
  try {
    await waitFor(
      () => /kite apiserver ready at/.test(output) || child.exitCode !== null,
      30_000,
      "kite server",
    );
    const match = /kite apiserver ready at (\S+)/.exec(output);
    if (!match?.[1]) throw new Error(`kite server did not start:\n${output}`);
    const url = match[1];
    const base = ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "--request-timeout", "30s"];
    const kubectl = (args: string[], stdin?: string) => run(KUBECTL, [...base, ...args], stdin);
    return {
      dataDir,
      url,
      kubeconfig,
      output: () => output,
      kubectl,
      async ok(args, stdin) {
        const r = await kubectl(args, stdin);
        if (r.code !== 0) {
          throw new Error(
            `kubectl ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
          );
        }
        return r.stdout;
      },
      stream(args) {
        const proc = spawn(KUBECTL, [...base, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        streams.push(proc);
        let text = "";
        proc.stdout?.on("data", (c: Buffer) => {
          text += c.toString();
        });
        proc.stderr?.on("data", (c: Buffer) => {
          text += c.toString();
        });
        return { lines: () => text.split("\n").filter((l) => l !== ""), stop: () => kill(proc) };
      },
      kite: (args) => run(process.execPath, [CLI, ...args]),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
