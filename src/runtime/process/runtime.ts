// The `process` runtime: pods are directories plus an IP from the node's pod CIDR, containers are
// host process groups. No root needed; no isolation beyond what a process group gives.
import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Ipam, parseIpv4Cidr } from "../ipam.js";
import { JsonFile, listDirs, readJson } from "../state.js";
import type {
  ContainerConfig,
  ContainerStats,
  ContainerStatus,
  ExecResult,
  Runtime,
  RuntimeVersion,
  Sandbox,
  SandboxConfig,
} from "../types.js";
import { linkMounts, sandboxIdFor, validContainerConfig, validSandboxConfig } from "./config.js";
import { Container, type ContainerRecord } from "./container.js";
import { groupUsage } from "./proc.js";
import { settleLeftover } from "./recover.js";

export interface ProcessRuntimeOptions {
  stateDir: string;
  nodeIP: string;
  memoryPollMs?: number;
  logMaxBytes?: number;
  logMaxFiles?: number;
  log?: (m: string) => void;
}

interface SandboxRecord {
  id: string;
  ip: string;
  createdAt: string;
  ready: boolean;
  config: SandboxConfig;
}

export class ProcessRuntime implements Runtime {
  private readonly sandboxes = new Map<string, { rec: SandboxRecord; file: JsonFile }>();
  private readonly containers = new Map<string, Container>();
  private readonly listeners = new Set<(s: ContainerStatus) => void>();
  private readonly creating = new Map<string, Promise<Sandbox>>();
  private readonly log: (m: string) => void;
  private readonly logMaxBytes: number;
  private readonly logMaxFiles: number;
  private readonly memoryPollMs: number;
  private cidrError: string | undefined;
  private memoryTimer: NodeJS.Timeout | undefined;
  private scanning = false;
  private closed = false;

  private constructor(
    private readonly opts: ProcessRuntimeOptions,
    private readonly ipam: Ipam,
  ) {
    this.log = opts.log ?? (() => {});
    this.logMaxBytes = opts.logMaxBytes && opts.logMaxBytes > 0 ? opts.logMaxBytes : 10 * 1024 * 1024;
    this.logMaxFiles = opts.logMaxFiles && opts.logMaxFiles > 0 ? Math.floor(opts.logMaxFiles) : 5;
    this.memoryPollMs = opts.memoryPollMs && opts.memoryPollMs > 0 ? opts.memoryPollMs : 500;
  }

  static async create(opts: ProcessRuntimeOptions): Promise<ProcessRuntime> {
    if (!opts || typeof opts.stateDir !== "string" || opts.stateDir === "") {
      throw new Error("process runtime: stateDir is required");
    }
    if (typeof opts.nodeIP !== "string" || opts.nodeIP === "")
      throw new Error("process runtime: nodeIP is required");
    await mkdir(join(opts.stateDir, "sandboxes"), { recursive: true });
    await mkdir(join(opts.stateDir, "containers"), { recursive: true });
    const rt = new ProcessRuntime(opts, await Ipam.load(opts.stateDir));
    await rt.recover();
    rt.memoryTimer = setInterval(() => void rt.watchMemory(), rt.memoryPollMs);
    rt.memoryTimer.unref();
    return rt;
  }

  private sandboxDir(id: string): string {
    return join(this.opts.stateDir, "sandboxes", id);
  }

  private containerDir(id: string): string {
    return join(this.opts.stateDir, "containers", id);
  }

  private async recover(): Promise<void> {
    for (const id of await listDirs(join(this.opts.stateDir, "sandboxes"))) {
      const rec = (await readJson(join(this.sandboxDir(id), "sandbox.json"))) as SandboxRecord | undefined;
      if (rec?.id === id && rec.config)
        this.sandboxes.set(id, { rec, file: new JsonFile(join(this.sandboxDir(id), "sandbox.json")) });
    }
    // An IP whose sandbox never got written (kite died in between) goes back to the pool.
    await this.ipam.retainOnly(new Set(this.sandboxes.keys()));
    for (const id of await listDirs(join(this.opts.stateDir, "containers"))) {
      const file = new JsonFile(join(this.containerDir(id), "container.json"));
      const rec = (await readJson(file.path)) as ContainerRecord | undefined;
      if (rec?.id !== id || !rec.config) {
        // Created up to its directory when kite died: nothing ever ran from it.
        if (/^[0-9a-f]{64}$/.test(id)) await rm(this.containerDir(id), { recursive: true, force: true });
        continue;
      }
      const c = this.newContainer(rec, file);
      this.containers.set(id, c);
      if (rec.state !== "running") continue;
      const pid = rec.pid;
      const outcome = await settleLeftover(rec);
      this.log(`process runtime: leftover container ${id} (pid ${pid}) from before the restart: ${outcome}`);
      await c.persist();
    }
  }

  private newContainer(rec: ContainerRecord, file: JsonFile): Container {
    return new Container(rec, file, {
      logMaxBytes: this.logMaxBytes,
      logMaxFiles: this.logMaxFiles,
      log: this.log,
      live: () => !this.closed,
      exited: (s) => {
        for (const l of [...this.listeners]) {
          try {
            l(s);
          } catch (e) {
            this.log(`process runtime: container exit listener failed: ${(e as Error).message}`);
          }
        }
      },
    });
  }

  version(): RuntimeVersion {
    return { name: "process", version: "0.1.0" };
  }

  updatePodCIDR(cidr: string): void {
    try {
      parseIpv4Cidr(cidr);
      this.cidrError = undefined;
    } catch (e) {
      // Not thrown at the kubelet: runSandbox reports it, where a pod is waiting for an IP.
      this.cidrError = (e as Error).message;
      this.log(this.cidrError);
      return;
    }
    this.ipam
      .setCidr(cidr)
      .catch((e) => this.log(`process runtime: persisting pod CIDR ${cidr}: ${(e as Error).message}`));
  }

  runSandbox(config: SandboxConfig): Promise<Sandbox> {
    try {
      validSandboxConfig(config);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = sandboxIdFor(config.uid);
    const inflight = this.creating.get(id);
    if (inflight) return inflight;
    const p = this.createSandbox(id, config).finally(() => this.creating.delete(id));
    this.creating.set(id, p);
    return p;
  }

  private async createSandbox(id: string, config: SandboxConfig): Promise<Sandbox> {
    const existing = this.sandboxes.get(id);
    if (existing) {
      if (!existing.rec.ready) {
        existing.rec.ready = true;
        await existing.file.write(existing.rec);
      }
      return { id, ip: existing.rec.ip, createdAt: new Date(existing.rec.createdAt) };
    }
    if (!config.hostNetwork && this.cidrError && !this.ipam.cidr) throw new Error(this.cidrError);
    const ip = config.hostNetwork ? this.opts.nodeIP : await this.ipam.allocate(id);
    const rec: SandboxRecord = {
      id,
      ip,
      createdAt: new Date().toISOString(),
      ready: true,
      config: structuredClone(config),
    };
    const file = new JsonFile(join(this.sandboxDir(id), "sandbox.json"));
    try {
      await mkdir(this.sandboxDir(id), { recursive: true });
      await file.write(rec);
    } catch (e) {
      if (!config.hostNetwork) await this.ipam.release(id);
      throw e;
    }
    this.sandboxes.set(id, { rec, file });
    return { id, ip, createdAt: new Date(rec.createdAt) };
  }

  async stopSandbox(id: string): Promise<void> {
    const sb = this.sandboxes.get(id);
    await Promise.all(
      [...this.containers.values()].filter((c) => c.rec.sandboxId === id).map((c) => c.stop(0)),
    );
    if (sb?.rec.ready) {
      sb.rec.ready = false;
      await sb.file.write(sb.rec);
    }
  }

  async removeSandbox(id: string): Promise<void> {
    for (const c of [...this.containers.values()])
      if (c.rec.sandboxId === id) await this.removeContainer(c.id);
    await this.ipam.release(id);
    this.sandboxes.delete(id);
    await rm(this.sandboxDir(id), { recursive: true, force: true });
  }

  async listSandboxes(): Promise<Array<Sandbox & { config: SandboxConfig }>> {
    return [...this.sandboxes.values()].map(({ rec }) => ({
      id: rec.id,
      ip: rec.ip,
      createdAt: new Date(rec.createdAt),
      config: structuredClone(rec.config),
    }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) throw new Error(`process runtime: sandbox ${sandboxId} not found`);
    validContainerConfig(config);
    const id = randomBytes(32).toString("hex");
    const rootDir = join(this.containerDir(id), "root");
    await mkdir(rootDir, { recursive: true });
    try {
      await linkMounts(rootDir, config.mounts ?? []);
    } catch (e) {
      await rm(this.containerDir(id), { recursive: true, force: true });
      throw e;
    }
    const rec: ContainerRecord = {
      id,
      sandboxId,
      podName: sb.rec.config.name,
      config: { ...structuredClone(config), mounts: config.mounts ?? [], env: config.env ?? {} },
      rootDir,
      state: "created",
      createdAt: new Date().toISOString(),
    };
    const c = this.newContainer(rec, new JsonFile(join(this.containerDir(id), "container.json")));
    await c.persist();
    this.containers.set(id, c);
    return id;
  }

  private get(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new Error(`process runtime: container ${id} not found`);
    return c;
  }

  async startContainer(id: string): Promise<void> {
    await this.get(id).start();
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await this.get(id).stop(graceSeconds);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) {
      await c.stop(0);
      this.containers.delete(id);
    }
    await rm(this.containerDir(id), { recursive: true, force: true });
  }

  containerStatus(id: string): ContainerStatus | undefined {
    return this.containers.get(id)?.status();
  }

  listContainers(sandboxId?: string): ContainerStatus[] {
    return [...this.containers.values()]
      .filter((c) => sandboxId === undefined || c.rec.sandboxId === sandboxId)
      .map((c) => c.status());
  }

  exec(id: string, argv: string[], timeoutMs: number): Promise<ExecResult> {
    return this.get(id).exec(argv, timeoutMs);
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    const c = this.containers.get(id);
    if (!c) return undefined;
    if (!c.running || !c.rec.pid) return { memoryBytes: 0, cpuNanos: 0 };
    return groupUsage(c.rec.pid, 500);
  }

  /** The OOM watch: without cgroups, a limit is enforced by summing the group's RSS every poll. */
  private async watchMemory(): Promise<void> {
    const limited = [...this.containers.values()].filter((c) => c.running && c.rec.config.memoryLimitBytes);
    if (this.scanning || this.closed || limited.length === 0) return;
    this.scanning = true;
    try {
      for (const c of limited) {
        const { memoryBytes } = await groupUsage(c.rec.pid!, this.memoryPollMs / 2);
        const limit = c.rec.config.memoryLimitBytes!;
        if (memoryBytes > limit) {
          this.log(
            `process runtime: container ${c.id} (${c.rec.config.name}) uses ${memoryBytes} bytes > limit ${limit}: OOM kill`,
          );
          c.oomKill();
        }
      }
    } catch (e) {
      this.log(`process runtime: memory watch: ${(e as Error).message}`);
    } finally {
      this.scanning = false;
    }
  }

  onContainerExit(listener: (status: ContainerStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.memoryTimer);
    this.listeners.clear();
    for (const c of this.containers.values()) c.detach();
  }
}
