// Runs `kite up` (the compiled CLI, as `npm start` does) as a child process and the real kubectl
// against it with a fresh discovery cache; finds the cluster's pod processes through /proc (their
// working directory or $KITE_ROOT lies in the data dir) so a test can prove none outlive it.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KUBECTL } from "../apiserver/kubectl-support.js";
import { waitFor } from "../support/require.js";

export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
/** The repository's examples/: the nearest ancestor of this file that has one (dist/ or another outDir). */
export const EXAMPLES = findExamples();

function findExamples(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "examples", "hello.yaml"))) return join(dir, "examples");
    dir = dirname(dir);
  }
  throw new Error("examples/ not found above the test files");
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) {
  return new Promise<RunResult>((resolve) => {
    const proc = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    proc.stdin?.end(opts.stdin);
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // An exited child of an exited parent may linger briefly as a zombie; it runs no code.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Pids of processes whose cwd or $KITE_ROOT is inside dir (the pods' processes), except `except`. */
export function processesUnder(dir: string, except: number[] = []): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || except.includes(pid)) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      const root = env.find((e) => e.startsWith("KITE_ROOT="))?.slice("KITE_ROOT=".length);
      if (cwd.startsWith(`${dir}/`) || root?.startsWith(`${dir}/`)) found.push(pid);
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return found;
}

export interface KiteUp {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kubectl(args: string[], stdin?: string): Promise<RunResult>;
  /** kubectl that must succeed; returns stdout. */
  ok(args: string[], stdin?: string): Promise<string>;
  /** SIGINT (like Ctrl-C); SIGKILL after graceMs. Resolves with the exit code. */
  interrupt(graceMs?: number): Promise<number | null>;
}

/** `nodeArgs` go to node itself (e.g. --cpu-prof for a benchmark). */
export async function startKiteUp(
  dataDir: string,
  cacheDir: string,
  args: string[],
  nodeArgs: string[] = [],
): Promise<KiteUp> {
  const argv = [...nodeArgs, "--enable-source-maps", CLI, "up", "--data-dir", dataDir, ...args];
  const child = spawn(process.execPath, argv, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const base = [
    "--kubeconfig",
    join(dataDir, "kubeconfig"),
    "--cache-dir",
    cacheDir,
    "--request-timeout",
    "30s",
  ];
  const kubectl = (a: string[], stdin?: string) =>
    run(KUBECTL, [...base, ...a], stdin === undefined ? {} : { stdin });
  const up: KiteUp = {
    child,
    output: () => output,
    exited,
    kubectl,
    async ok(a, stdin) {
      const r = await kubectl(a, stdin);
      if (r.code !== 0)
        throw new Error(`kubectl ${a.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    },
    async interrupt(graceMs = 60_000) {
      if (!done && child.pid !== undefined) {
        process.kill(child.pid, "SIGINT");
        const timer = setTimeout(() => {
          if (!done && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
        }, graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
  try {
    await waitFor(() => /Press Ctrl-C to stop/.test(output) || done, 120_000, "kite up to be ready");
    if (done) throw new Error(`kite up exited early:\n${output}`);
  } catch (err) {
    await up.interrupt(10_000);
    throw err;
  }
  return up;
}
