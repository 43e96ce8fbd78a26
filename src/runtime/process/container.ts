// One container of the process runtime: its persisted record, its process group while it runs,
// and how its exit becomes a ContainerStatus (reasons and exit codes as upstream reports them).
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { CriLogWriter } from "../logfile.js";
import type { JsonFile } from "../state.js";
import type { ContainerConfig, ContainerState, ContainerStatus, ExecResult } from "../types.js";
import { killGroup, readProcStat, setOomScoreAdj } from "./proc.js";
import {
  containerCwd,
  containerEnv,
  type Exit,
  execInContext,
  exitCodeOf,
  spawnGroup,
  startErrorMessage,
} from "./spawn.js";

/** What container.json holds. Dates are ISO strings. */
export interface ContainerRecord {
  id: string;
  sandboxId: string;
  podName: string;
  config: ContainerConfig;
  rootDir: string;
  state: ContainerState;
  pid?: number;
  /** /proc/<pid>/stat field 22: tells our process from an unrelated one that reused the pid. */
  pidStartTime?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  message?: string;
}

export interface ContainerHooks {
  logMaxBytes: number;
  logMaxFiles: number;
  log: (m: string) => void;
  /** False once the runtime closed: a later exit is neither persisted nor announced (a successor owns the state). */
  live: () => boolean;
  exited: (status: ContainerStatus) => void;
}

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

const STREAM_DRAIN_MS = 2000;

export class Container {
  private child: ChildProcess | undefined;
  /** True from the leader's exit on: its pid (and soon its group id) may be reused, so no more signals. */
  private reaped = true;
  private oomKilled = false;
  private starting = false;
  private done: Promise<void> = Promise.resolve();
  private readonly execs = new Map<number, Promise<void>>();

  constructor(
    readonly rec: ContainerRecord,
    private readonly file: JsonFile,
    private readonly hooks: ContainerHooks,
  ) {}

  get id(): string {
    return this.rec.id;
  }

  get running(): boolean {
    return this.rec.state === "running" && !this.reaped;
  }

  status(): ContainerStatus {
    const r = this.rec;
    const date = (s: string | undefined) => (s ? new Date(s) : undefined);
    const st: ContainerStatus = {
      id: r.id,
      name: r.config.name,
      attempt: r.config.attempt,
      state: r.state,
      createdAt: new Date(r.createdAt),
      logPath: r.config.logPath,
    };
    if (r.pid !== undefined && r.state === "running") st.pid = r.pid;
    if (r.startedAt) st.startedAt = date(r.startedAt);
    if (r.finishedAt) st.finishedAt = date(r.finishedAt);
    if (r.exitCode !== undefined) st.exitCode = r.exitCode;
    if (r.reason) st.reason = r.reason;
    if (r.message) st.message = r.message;
    return st;
  }

  persist(): Promise<void> {
    return this.file.write(this.rec);
  }

  private async failStart(reason: string, message: string): Promise<never> {
    Object.assign(this.rec, {
      state: "exited",
      exitCode: 128,
      reason,
      message,
      finishedAt: new Date().toISOString(),
    });
    await this.persist().catch((e) =>
      this.hooks.log(`process runtime: persisting ${this.id}: ${(e as Error).message}`),
    );
    throw new RuntimeError(message, reason);
  }

  async start(): Promise<void> {
    const r = this.rec;
    if (r.state !== "created" || this.starting)
      throw new Error(`process runtime: container ${r.id} is ${r.state}; only a created container can start`);
    this.starting = true;
    const argv = r.config.argv;
    if (argv.length === 0) {
      await this.failStart(
        "ContainerCannotRun",
        `process runtime: image "${r.config.image}" has no entrypoint here; give the container a command`,
      );
    }
    const logs = new CriLogWriter(
      r.config.logPath,
      this.hooks.logMaxBytes,
      this.hooks.logMaxFiles,
      this.hooks.log,
    );
    try {
      await logs.open();
    } catch (e) {
      await this.failStart("StartError", `open log file ${r.config.logPath}: ${(e as Error).message}`);
    }
    const env = containerEnv(r.config, r.podName, r.rootDir);
    let spawned: Awaited<ReturnType<typeof spawnGroup>>;
    try {
      spawned = await spawnGroup(argv, env, containerCwd(r.config, r.rootDir), "pipe");
    } catch (e) {
      await logs.close();
      return this.failStart("StartError", startErrorMessage(argv[0]!, e as NodeJS.ErrnoException));
    }
    const { child, pid } = spawned;
    this.child = child;
    this.reaped = false;
    Object.assign(r, { state: "running", pid, startedAt: new Date().toISOString() });
    const streams = [logs.attach(child.stdout!, "stdout"), logs.attach(child.stderr!, "stderr")];
    this.done = spawned.exit
      .then((exit) => this.finish(exit, logs, streams))
      .catch((e) => this.hooks.log(`process runtime: finishing container ${r.id}: ${(e as Error).message}`));
    const stat = await readProcStat(pid);
    if (stat && !this.reaped) r.pidStartTime = stat.startTime;
    if (r.config.oomScoreAdj !== undefined && !this.reaped) {
      await setOomScoreAdj(pid, r.config.oomScoreAdj).catch((e) =>
        this.hooks.log(`oom_score_adj ${pid}: ${e.message}`),
      );
    }
    // It runs: a failed state write must not make the kubelet start a second copy.
    await this.persist().catch((e) =>
      this.hooks.log(`process runtime: persisting ${r.id}: ${(e as Error).message}`),
    );
  }

  private async finish(exit: Exit, logs: CriLogWriter, streams: Promise<void>[]): Promise<void> {
    const pid = this.rec.pid!;
    // PID 1 of a container taking everything with it: the rest of its group dies too.
    killGroup(pid, "SIGKILL");
    this.reaped = true;
    for (const execPid of this.execs.keys()) killGroup(execPid, "SIGKILL");
    const code = this.oomKilled ? 137 : exitCodeOf(exit.code, exit.signal);
    const reason = this.oomKilled ? "OOMKilled" : code === 0 ? "Completed" : "Error";
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(streams), new Promise((r) => (timer = setTimeout(r, STREAM_DRAIN_MS)))]);
    clearTimeout(timer);
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    await logs.close();
    this.child = undefined;
    Object.assign(this.rec, { state: "exited", exitCode: code, reason, finishedAt: exit.at.toISOString() });
    if (!this.hooks.live()) return;
    await this.persist().catch((e) =>
      this.hooks.log(`process runtime: persisting ${this.id}: ${(e as Error).message}`),
    );
    this.hooks.exited(this.status());
  }

  /** Resolves once the container is no longer running (at once if it is not). */
  wait(): Promise<void> {
    return this.done;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.reaped && this.rec.pid) killGroup(this.rec.pid, sig);
  }

  async stop(graceSeconds: number): Promise<void> {
    if (!this.running) return this.done;
    const grace = Number.isFinite(graceSeconds) ? Math.max(0, graceSeconds) : 0;
    let timer: NodeJS.Timeout | undefined;
    if (grace > 0) {
      this.signal("SIGTERM");
      timer = setTimeout(() => this.signal("SIGKILL"), grace * 1000);
    } else {
      this.signal("SIGKILL");
    }
    try {
      await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  oomKill(): void {
    if (!this.running) return;
    this.oomKilled = true;
    this.signal("SIGKILL");
  }

  async exec(argv: string[], timeoutMs: number): Promise<ExecResult> {
    const r = this.rec;
    if (!this.running) throw new Error(`process runtime: container ${r.id} is not running`);
    const track = (pid: number, done: Promise<void>) => {
      this.execs.set(pid, done);
      done.then(() => this.execs.delete(pid));
    };
    return execInContext(
      argv,
      containerEnv(r.config, r.podName, r.rootDir),
      containerCwd(r.config, r.rootDir),
      timeoutMs,
      track,
    );
  }

  /** Lets kite exit while the container keeps running (and logging) until it does. */
  detach(): void {
    this.child?.unref();
    (this.child?.stdout as Socket | null | undefined)?.unref?.();
    (this.child?.stderr as Socket | null | undefined)?.unref?.();
  }
}
