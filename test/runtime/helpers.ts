// Shared scaffolding for the process runtime tests: a runtime on a temp state dir that is torn
// down (every container killed, every pid checked gone, the dir removed) even when a test fails.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import {
  type ContainerConfig,
  createProcessRuntime,
  type ProcessRuntimeOptions,
  type Runtime,
} from "../../src/runtime/index.js";
import { readProcStat, scanProcessGroups } from "../../src/runtime/process/proc.js";
import { waitFor } from "../support/require.js";

export interface Harness {
  dir: string;
  rt: Runtime;
  /** pids whose process groups must be gone when the test ends. */
  pids: Set<number>;
  sandbox(name?: string, hostNetwork?: boolean): Promise<string>;
  container(sandboxId: string, argv: string[], extra?: Partial<ContainerConfig>): Promise<string>;
  /** Starts the container and records its pid for the stray-process check. */
  start(id: string): Promise<void>;
  reopen(opts?: Partial<ProcessRuntimeOptions>): Promise<Runtime>;
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "kite-runtime-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function gone(pid: number): Promise<boolean> {
  const s = await readProcStat(pid);
  if (s && s.state !== "Z" && s.state !== "X") return false;
  return !(await scanProcessGroups()).has(pid);
}

export async function assertGone(pids: Iterable<number>, deadlineMs = 5000): Promise<void> {
  for (const pid of pids) await waitFor(() => gone(pid), deadlineMs, `process group ${pid} to be gone`);
}

let seq = 0;

export async function harness(t: TestContext, opts: Partial<ProcessRuntimeOptions> = {}): Promise<Harness> {
  const dir = tempDir(t);
  const runtimes: Runtime[] = [];
  const pids = new Set<number>();
  const open = async (o: Partial<ProcessRuntimeOptions>) => {
    const rt = await createProcessRuntime({
      stateDir: join(dir, "state"),
      nodeIP: "127.1.0.1",
      memoryPollMs: 50,
      ...opts,
      ...o,
    });
    runtimes.push(rt);
    return rt;
  };
  const h: Harness = {
    dir,
    rt: await open({}),
    pids,
    async sandbox(name = `pod-${++seq}`, hostNetwork = false) {
      h.rt.updatePodCIDR("127.244.7.0/24");
      const sb = await h.rt.runSandbox({
        uid: `uid-${name}`,
        name,
        namespace: "default",
        hostNetwork,
        logDirectory: join(dir, "logs", name),
        labels: {},
      });
      return sb.id;
    },
    async container(sandboxId, argv, extra = {}) {
      const name = extra.name ?? `c${++seq}`;
      return h.rt.createContainer(sandboxId, {
        name,
        image: "busybox",
        argv,
        env: {},
        mounts: [],
        logPath: join(dir, "logs", name, "0.log"),
        attempt: 0,
        ...extra,
      });
    },
    async start(id) {
      try {
        await h.rt.startContainer(id);
      } finally {
        const pid = h.rt.containerStatus(id)?.pid ?? readPidFromState(dir, id);
        if (pid) pids.add(pid);
      }
    },
    async reopen(o = {}) {
      h.rt = await open(o);
      return h.rt;
    },
  };
  t.after(async () => {
    for (const rt of runtimes) {
      for (const c of rt.listContainers())
        if (c.state === "running") await rt.stopContainer(c.id, 0).catch(() => {});
      await rt.close();
    }
    await assertGone(pids);
  });
  return h;
}

function readPidFromState(dir: string, id: string): number | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "state", "containers", id, "container.json"), "utf8")).pid;
  } catch {
    return undefined;
  }
}

export function readLog(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Resolves with the next exit status of container id. */
export function nextExit(rt: Runtime, id: string) {
  return new Promise<NonNullable<ReturnType<Runtime["containerStatus"]>>>((resolve) => {
    const off = rt.onContainerExit((s) => {
      if (s.id !== id) return;
      off();
      resolve(s);
    });
  });
}
