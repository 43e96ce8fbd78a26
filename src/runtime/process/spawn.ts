// Starting processes the way a container runtime would: a fresh process group per container (so
// one signal reaches everything it forked), the container's env, and upstream's wording when the
// executable cannot be started.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { constants } from "node:os";
import type { ContainerConfig, ExecResult } from "../types.js";
import { killGroup } from "./proc.js";

export const EXEC_OUTPUT_LIMIT = 64 * 1024;

export function containerEnv(
  config: ContainerConfig,
  podName: string,
  rootDir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.PATH) env.PATH = process.env.PATH;
  env.HOSTNAME = podName;
  for (const [k, v] of Object.entries(config.env ?? {})) if (typeof v === "string") env[k] = v;
  env.KITE_ROOT = rootDir;
  return env;
}

export function containerCwd(config: ContainerConfig, rootDir: string): string {
  const wd = config.workingDir;
  if (wd) {
    try {
      if (statSync(wd).isDirectory()) return wd;
    } catch {
      // not on this host: fall back to the container's root
    }
  }
  return rootDir;
}

/** Upstream (runc) wording, so `kubectl describe` reads the same as on a real node. */
export function startErrorMessage(argv0: string, err: NodeJS.ErrnoException): string {
  if (err.code === "ENOENT") {
    return argv0.includes("/")
      ? `exec: "${argv0}": stat ${argv0}: no such file or directory`
      : `exec: "${argv0}": executable file not found in $PATH`;
  }
  if (err.code === "EACCES") return `exec: "${argv0}": permission denied`;
  return `exec: "${argv0}": ${err.message}`;
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signo = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (signo ?? 9);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: Date;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Settles when the kernel reports the leader's exit (registered before anything else can miss it). */
  exit: Promise<Exit>;
}

/** Spawns detached (setsid), so pid == pgid. Resolves once the kernel started it, rejects with the spawn error. */
export function spawnGroup(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
  stdio: "pipe" | "ignore",
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        env,
        cwd: existsSync(cwd) ? cwd : "/",
        detached: true,
        stdio: ["ignore", stdio, stdio],
      });
    } catch (e) {
      reject(e);
      return;
    }
    let started = false;
    const exit = new Promise<Exit>((res) =>
      child.once("exit", (code, signal) => res({ code, signal, at: new Date() })),
    );
    child.once("spawn", () => {
      started = true;
      resolve({ child, pid: child.pid!, exit });
    });
    // After the start, errors (a failed kill) must not become uncaught exceptions.
    child.on("error", (e) => {
      if (!started) reject(e);
    });
  });
}

/** Runs argv in its own process group, capturing bounded output; the whole group dies on timeout. */
export async function execInContext(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
  track?: (pid: number, done: Promise<void>) => void,
): Promise<ExecResult> {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
    throw new Error("process runtime: exec needs a non-empty argv of strings");
  }
  let spawned: Spawned;
  try {
    spawned = await spawnGroup(argv, env, cwd, "pipe");
  } catch (e) {
    return {
      exitCode: 127,
      stdout: "",
      stderr: startErrorMessage(argv[0]!, e as NodeJS.ErrnoException),
      timedOut: false,
    };
  }
  const { child, pid } = spawned;
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], n: { stdout: 0, stderr: 0 } };
  const capture = (name: "stdout" | "stderr") => (chunk: Buffer) => {
    const room = EXEC_OUTPUT_LIMIT - out.n[name];
    if (room <= 0) return;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    out[name].push(piece);
    out.n[name] += piece.length;
  };
  child.stdout!.on("data", capture("stdout"));
  child.stderr!.on("data", capture("stderr"));
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      killGroup(pid, "SIGKILL");
    },
    Math.max(1, timeoutMs),
  );
  const exited = spawned.exit.then(({ code, signal }) => {
    // Like a container's PID 1 exiting: whatever the command left running in its group goes too.
    killGroup(pid, "SIGKILL");
    return exitCodeOf(code, signal);
  });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  track?.(
    pid,
    spawned.exit.then(() => undefined),
  );
  const exitCode = await exited;
  clearTimeout(timer);
  await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
  child.stdout!.destroy();
  child.stderr!.destroy();
  return {
    exitCode,
    stdout: Buffer.concat(out.stdout).toString("utf8"),
    stderr: Buffer.concat(out.stderr).toString("utf8"),
    timedOut,
  };
}
