// Stopping a pod's containers as upstream's killContainer does: the Killing event, the preStop
// hook (exec or httpGet) within the grace period, then SIGTERM and, once what is left of the grace
// period has passed, SIGKILL (the runtime's stopContainer does those two).
import { rm } from "node:fs/promises";
import { request } from "node:http";
import type { KubeObject } from "../api/index.js";
import type { Clock, EventRecorder } from "../client/index.js";
import type { Runtime } from "../runtime/index.js";
import { containerRef } from "./containerconfig.js";
import { type PodState, specContainers } from "./podstate.js";
import type { ProberManager } from "./prober.js";

/** Upstream's minimumGracePeriodInSeconds, for stops without an explicit grace override. */
const MINIMUM_GRACE_SECONDS = 2;

export interface StopDeps {
  runtime: Runtime;
  recorder: EventRecorder;
  prober: ProberManager;
  clock: Clock;
  log(m: string): void;
}

function httpGet(
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: "GET", headers, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Runs the preStop hook; resolves when it finished or the time ran out. */
async function runPreStop(
  d: StopDeps,
  pod: KubeObject,
  container: KubeObject,
  id: string,
  podIP: string,
  timeoutMs: number,
): Promise<void> {
  const hook = container.lifecycle?.preStop;
  if (!hook || timeoutMs <= 0) return;
  try {
    if (Array.isArray(hook.exec?.command)) {
      const r = await d.runtime.exec(id, hook.exec.command.map(String), timeoutMs);
      if (r.exitCode !== 0 || r.timedOut)
        throw new Error(
          `command '${hook.exec.command.join(" ")}' exited with ${r.exitCode}: ${r.stdout}${r.stderr}`,
        );
    } else if (hook.httpGet) {
      const g = hook.httpGet;
      let port = Number(g.port);
      if (Number.isNaN(port)) {
        const named = (Array.isArray(container.ports) ? container.ports : []).find(
          (p: KubeObject) => p?.name === g.port,
        );
        port = Number(named?.containerPort);
      }
      const headers: Record<string, string> = {};
      for (const h of Array.isArray(g.httpHeaders) ? g.httpHeaders : [])
        if (h?.name) headers[h.name] = String(h.value ?? "");
      const code = await httpGet(g.host || podIP, port, g.path || "/", headers, timeoutMs);
      if (code < 200 || code >= 400)
        throw new Error(
          `HTTP lifecycle hook (${g.path || "/"}) for Container "${container.name}" in Pod "${pod.metadata?.name}" failed - error: received status code ${code}`,
        );
    }
  } catch (err) {
    d.recorder.event(
      containerRef(pod, container.name, false),
      "Warning",
      "FailedPreStopHook",
      `PreStopHook failed: ${(err as Error).message}`,
    );
  }
}

/**
 * Stops every running container of the pod in parallel. graceSeconds undefined: the pod's own
 * terminationGracePeriodSeconds with upstream's 2 s minimum; a number is an override (deletion).
 */
export async function stopPodContainers(
  d: StopDeps,
  state: PodState,
  graceSeconds: number | undefined,
  message: (name: string) => string = (name) => `Stopping container ${name}`,
): Promise<void> {
  const pod = state.pod;
  const specGrace = pod.spec?.terminationGracePeriodSeconds;
  const grace = graceSeconds ?? (typeof specGrace === "number" && specGrace >= 0 ? specGrace : 30);
  const start = d.clock.now();
  const all = [...specContainers(pod, "initContainers"), ...specContainers(pod, "containers")];
  const work: Promise<void>[] = [];
  for (const rec of state.records.values()) {
    if (rec.currentId === undefined) continue;
    const st = d.runtime.containerStatus(rec.currentId);
    d.prober.stopContainer(state.uid, rec.name);
    if (st === undefined || st.state === "exited") continue;
    const id = rec.currentId;
    const spec = all.find((c) => c?.name === rec.name) ?? { name: rec.name };
    work.push(
      (async () => {
        d.recorder.event(containerRef(pod, rec.name, rec.isInit), "Normal", "Killing", message(rec.name));
        if (st.state === "running" && grace > 0)
          await runPreStop(d, pod, spec, id, state.sandbox?.ip ?? "", grace * 1000);
        let left = grace - (d.clock.now() - start) / 1000;
        if (graceSeconds === undefined) left = Math.max(left, MINIMUM_GRACE_SECONDS);
        await d.runtime.stopContainer(id, Math.max(0, Math.ceil(left)));
      })().catch((err: unknown) =>
        d.log(`stopping ${rec.name} of ${pod.metadata?.name}: ${(err as Error).message}`),
      ),
    );
  }
  await Promise.all(work);
}

/** Removes containers, the sandbox, the pod's volumes and logs: nothing of the pod remains on the node. */
export async function removePodResources(
  d: StopDeps,
  state: PodState,
  cleanup: (podDir: string) => Promise<void>,
): Promise<void> {
  d.prober.removePod(state.uid);
  if (state.sandbox)
    await d.runtime
      .stopSandbox(state.sandbox.id)
      .catch((err: unknown) => d.log(`stop sandbox: ${(err as Error).message}`));
  for (const rec of state.records.values()) {
    for (const id of [rec.currentId, rec.previousId]) {
      if (id !== undefined) await d.runtime.removeContainer(id).catch(() => {});
    }
  }
  if (state.sandbox)
    await d.runtime
      .removeSandbox(state.sandbox.id)
      .catch((err: unknown) => d.log(`remove sandbox: ${(err as Error).message}`));
  await cleanup(state.podDir).catch((err: unknown) =>
    d.log(`volumes of ${state.uid}: ${(err as Error).message}`),
  );
  await rm(state.podDir, { recursive: true, force: true }).catch(() => {});
  await rm(state.logDir, { recursive: true, force: true }).catch(() => {});
}
