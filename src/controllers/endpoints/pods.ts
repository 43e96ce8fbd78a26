// What the endpoints and endpointslice controllers read from a pod: whether it belongs in a
// service's endpoints at all, whether it is ready, and which port a service port lands on.
import type { KubeObject } from "../../api/index.js";
import { labelSelectorFromSet } from "../../api/index.js";

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

/** A service's selector as a label Selector, or undefined when it has none (endpoints managed by hand). */
export function serviceSelector(svc: KubeObject) {
  const sel = svc.spec?.selector as Record<string, string> | undefined;
  if (sel === undefined || sel === null || Object.keys(sel).length === 0) return undefined;
  return labelSelectorFromSet(sel);
}

export function isPodReady(pod: KubeObject): boolean {
  const conds = (pod.status?.conditions ?? []) as Array<{ type: string; status: string }>;
  return conds.some((c) => c.type === "Ready" && c.status === "True");
}

export function isTerminating(pod: KubeObject): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

/** Pods that finished for good never serve again (upstream's ShouldPodBeInEndpoints). */
export function hasAddress(pod: KubeObject): boolean {
  if (!pod.status?.podIP) return false;
  const phase = pod.status?.phase;
  const restart = pod.spec?.restartPolicy ?? "Always";
  if (phase === "Failed" && restart === "Never") return false;
  if (phase === "Succeeded" && restart !== "Always") return false;
  return true;
}

/** The container port a service port targets on this pod, or undefined if the pod has no such named port. */
export function resolveTargetPort(svcPort: ServicePort, pod: KubeObject): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === "number") return target;
  const asNumber = /^\d+$/.test(target) ? Number(target) : undefined;
  if (asNumber !== undefined) return asNumber;
  const protocol = svcPort.protocol ?? "TCP";
  for (const c of (pod.spec?.containers ?? []) as Array<{ ports?: Array<Record<string, unknown>> }>) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort as number;
    }
  }
  return undefined;
}

export function podReference(pod: KubeObject): Record<string, string> {
  return {
    kind: "Pod",
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
  };
}

/** Canonical JSON (sorted keys), so equal content compares equal whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export function servicesForPod(services: KubeObject[], pod: KubeObject): KubeObject[] {
  return services.filter((svc) => serviceSelector(svc)?.matches(pod.metadata?.labels) === true);
}
