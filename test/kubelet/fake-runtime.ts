// A Runtime for kubelet tests that runs nothing: containers are records whose fate a test decides
// (keep running, exit with a code at once, reject the start), exits are triggered by the test, and
// every call is logged in order so tests can check init ordering and graceful stops. Timestamps
// come from the given clock; each start writes one CRI log line to the container's log path.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../../src/client/index.js";
import type {
  ContainerConfig,
  ContainerStats,
  ContainerStatus,
  ExecResult,
  Runtime,
  RuntimeVersion,
  Sandbox,
  SandboxConfig,
} from "../../src/runtime/index.js";

export type StartBehaviour =
  | { kind: "run" }
  | { kind: "exit"; code: number }
  | { kind: "reject"; reason: string; message: string };

interface FakeContainer {
  status: ContainerStatus;
  sandboxId: string;
  config: ContainerConfig;
}

export class FakeRuntime implements Runtime {
  readonly calls: string[] = [];
  readonly sandboxes = new Map<string, Sandbox & { config: SandboxConfig }>();
  readonly containers = new Map<string, FakeContainer>();
  podCIDR: string | undefined;
  /** What a start of the named container does; default: keeps running. */
  behaviour: (config: ContainerConfig) => StartBehaviour = () => ({ kind: "run" });
  execHandler: (c: ContainerConfig, argv: string[]) => ExecResult = () => ({
    exitCode: 0,
    stdout: "",
    stderr: "",
    timedOut: false,
  });
  memoryOf: (c: ContainerConfig) => number = () => 0;
  /** Grace seconds each stopContainer was given, by container name. */
  readonly stopGrace = new Map<string, number[]>();
  private readonly listeners = new Set<(s: ContainerStatus) => void>();
  private seq = 0;
  private ipSeq = 10;
  closed = false;

  constructor(private readonly clock: Clock) {}

  version(): RuntimeVersion {
    return { name: "fake", version: "0.0.1" };
  }

  updatePodCIDR(cidr: string): void {
    this.podCIDR = cidr;
    this.calls.push(`podCIDR ${cidr}`);
  }

  async runSandbox(config: SandboxConfig): Promise<Sandbox> {
    if (!config.hostNetwork && this.podCIDR === undefined) throw new Error("no pod CIDR yet");
    const id = `sb-${config.uid}`;
    const sb = {
      id,
      ip: config.hostNetwork ? "127.0.0.1" : `10.244.0.${this.ipSeq++}`,
      createdAt: new Date(this.clock.now()),
      config,
    };
    this.sandboxes.set(id, sb);
    this.calls.push(`runSandbox ${config.name}`);
    return { id: sb.id, ip: sb.ip, createdAt: sb.createdAt };
  }

  async stopSandbox(id: string): Promise<void> {
    this.calls.push(`stopSandbox ${id}`);
    for (const c of this.containers.values())
      if (c.sandboxId === id && c.status.state === "running") this.finish(c, 137, "Error");
  }

  async removeSandbox(id: string): Promise<void> {
    this.calls.push(`removeSandbox ${id}`);
    this.sandboxes.delete(id);
  }

  async listSandboxes(): Promise<Array<Sandbox & { config: SandboxConfig }>> {
    return [...this.sandboxes.values()];
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    if (!this.sandboxes.has(sandboxId)) throw new Error(`no sandbox ${sandboxId}`);
    const id = `c${++this.seq}`;
    this.containers.set(id, {
      sandboxId,
      config,
      status: {
        id,
        name: config.name,
        attempt: config.attempt,
        state: "created",
        createdAt: new Date(this.clock.now()),
        logPath: config.logPath,
      },
    });
    this.calls.push(`create ${config.name}`);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    this.calls.push(`start ${c.config.name}`);
    const b = this.behaviour(c.config);
    if (b.kind === "reject") {
      this.finish(c, 128, b.reason, b.message, false);
      throw Object.assign(new Error(b.message), { reason: b.reason });
    }
    c.status.state = "running";
    c.status.startedAt = new Date(this.clock.now());
    c.status.pid = 1000 + this.seq;
    mkdirSync(dirname(c.config.logPath), { recursive: true });
    writeFileSync(
      c.config.logPath,
      `${new Date(this.clock.now()).toISOString()} stdout F hello from ${c.config.name} attempt ${c.config.attempt}\n`,
    );
    if (b.kind === "exit") queueMicrotask(() => this.finish(c, b.code, b.code === 0 ? "Completed" : "Error"));
  }

  private finish(c: FakeContainer, code: number, reason: string, message?: string, notify = true): void {
    c.status.state = "exited";
    c.status.exitCode = code;
    c.status.reason = reason;
    if (message) c.status.message = message;
    c.status.finishedAt = new Date(this.clock.now());
    c.status.pid = undefined;
    if (notify) for (const l of this.listeners) l({ ...c.status });
  }

  /** The test's way to end a running container. */
  exit(name: string, code: number, podUid?: string): void {
    for (const c of this.containers.values()) {
      if (c.config.name !== name || c.status.state !== "running") continue;
      if (podUid !== undefined && c.sandboxId !== `sb-${podUid}`) continue;
      this.finish(c, code, code === 0 ? "Completed" : "Error");
    }
  }

  running(name?: string): FakeContainer[] {
    return [...this.containers.values()].filter(
      (c) => c.status.state === "running" && (name === undefined || c.config.name === name),
    );
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.calls.push(`stop ${c.config.name} ${graceSeconds}`);
    const list = this.stopGrace.get(c.config.name) ?? [];
    list.push(graceSeconds);
    this.stopGrace.set(c.config.name, list);
    if (c.status.state === "running") this.finish(c, 143, "Error");
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) this.calls.push(`remove ${c.config.name}`);
    this.containers.delete(id);
  }

  containerStatus(id: string): ContainerStatus | undefined {
    const c = this.containers.get(id);
    return c ? { ...c.status } : undefined;
  }

  listContainers(sandboxId?: string): ContainerStatus[] {
    return [...this.containers.values()]
      .filter((c) => sandboxId === undefined || c.sandboxId === sandboxId)
      .map((c) => ({ ...c.status }));
  }

  async exec(id: string, argv: string[], _timeoutMs: number): Promise<ExecResult> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    this.calls.push(`exec ${c.config.name} ${argv.join(" ")}`);
    return this.execHandler(c.config, argv);
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    const c = this.containers.get(id);
    if (c?.status.state !== "running") return undefined;
    return { memoryBytes: this.memoryOf(c.config), cpuNanos: 0 };
  }

  onContainerExit(listener: (status: ContainerStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
