// What the runtime gets for one container start: argv (command + args, $(VAR) expanded), the
// resources in bytes and millicores, and the log path of this attempt; and the names a container
// goes by (event reference, back-off key, probe target, pod description).
import { join } from "node:path";
import { type KubeObject, parseQuantity } from "../api/index.js";
import { type ObjectReference, referenceTo } from "../client/index.js";
import type { Runtime } from "../runtime/index.js";
import { expandCommandAndArgs } from "./env.js";
import type { ProbeTarget } from "./prober.js";

/** command + args, as Docker's ENTRYPOINT + CMD without an image: args alone are the command. */
export function containerArgv(container: KubeObject, env: Record<string, string>): string[] {
  const { command, args } = expandCommandAndArgs(container, env);
  return [...command, ...args];
}

function quantity(v: unknown, milli: boolean): number | undefined {
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  try {
    const q = parseQuantity(v);
    return Number(milli ? q.milliValue() : q.value());
  } catch {
    return undefined;
  }
}

export function containerResources(container: KubeObject): {
  memoryLimitBytes?: number;
  cpuRequestMillis?: number;
  cpuLimitMillis?: number;
} {
  const res = container.resources ?? {};
  const out: { memoryLimitBytes?: number; cpuRequestMillis?: number; cpuLimitMillis?: number } = {};
  const mem = quantity(res.limits?.memory, false);
  if (mem !== undefined && mem > 0) out.memoryLimitBytes = mem;
  const cpuReq = quantity(res.requests?.cpu ?? res.limits?.cpu, true);
  if (cpuReq !== undefined) out.cpuRequestMillis = cpuReq;
  const cpuLim = quantity(res.limits?.cpu, true);
  if (cpuLim !== undefined) out.cpuLimitMillis = cpuLim;
  return out;
}

/** <logDir>/<container>/<attempt>.log, as the CRI lays container logs out. */
export function containerLogPath(logDir: string, container: string, attempt: number): string {
  return join(logDir, container, `${attempt}.log`);
}

export function podLogDir(rootDir: string, pod: KubeObject): string {
  const m = pod.metadata ?? {};
  return join(rootDir, "logs", `${m.namespace}_${m.name}_${m.uid}`);
}

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, "pods", uid);
}

/** upstream's format.Pod: name_namespace(uid). */
export function podDescription(pod: KubeObject): string {
  const m = pod.metadata ?? {};
  return `${m.name}_${m.namespace}(${m.uid})`;
}

export function containerRef(pod: KubeObject, name: string, isInit: boolean): ObjectReference {
  const list = isInit ? "initContainers" : "containers";
  return { ...referenceTo({ apiVersion: "v1", kind: "Pod", ...pod }), fieldPath: `spec.${list}{${name}}` };
}

export function backoffKey(pod: KubeObject, name: string): string {
  return `${pod.metadata?.uid}/${name}`;
}

export function probeTarget(runtime: Runtime, podIP: string, container: KubeObject, id: string): ProbeTarget {
  return {
    podIP,
    containerPorts: Array.isArray(container.ports) ? container.ports : [],
    exec: async (argv, timeoutMs) => {
      const r = await runtime.exec(id, argv, timeoutMs);
      return { exitCode: r.exitCode, stdout: r.stdout + r.stderr, timedOut: r.timedOut };
    },
  };
}

/** The grace a liveness kill or an undeleted stop gets: the pod's terminationGracePeriodSeconds. */
export function terminationGrace(pod: KubeObject): number {
  const g = pod.spec?.terminationGracePeriodSeconds;
  return typeof g === "number" && g >= 0 ? g : 30;
}
