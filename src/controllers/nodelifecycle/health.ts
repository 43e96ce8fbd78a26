// Node health as the lifecycle controller judges it. As upstream, the controller never compares
// the node's own timestamps with its clock: it notes, on its own clock, when it last saw the
// Ready condition's lastHeartbeatTime or the node Lease's renewTime change, and a node silent for
// longer than the grace period is unhealthy. A renewed Lease alone keeps a node healthy even when
// its status reports are slow.
import type { KubeObject } from "../../api/index.js";
import { readyCondition } from "./taints.js";

/** The conditions the kubelet owns and the controller sets to Unknown when it goes silent. */
export const kubeletConditionTypes = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

interface Observed {
  heartbeat: string;
  renew: string;
  /** Controller-clock time of the last change seen. */
  probeMs: number;
}

export class HealthTracker {
  private readonly observed = new Map<string, Observed>();

  /** Records what the node and its lease show now; returns when the node was last heard from. */
  observe(node: KubeObject, lease: KubeObject | undefined, nowMs: number): number {
    const name = node.metadata?.name ?? "";
    const heartbeat = String(readyCondition(node)?.lastHeartbeatTime ?? "");
    const renew = String(lease?.spec?.renewTime ?? "");
    const prev = this.observed.get(name);
    if (prev === undefined || prev.heartbeat !== heartbeat || prev.renew !== renew) {
      this.observed.set(name, { heartbeat, renew, probeMs: nowMs });
      return nowMs;
    }
    return prev.probeMs;
  }

  forget(name: string): void {
    this.observed.delete(name);
  }
}

/** The node's conditions with every kubelet condition Unknown; undefined when already so. */
export function unknownConditions(node: KubeObject, now: string): KubeObject[] | undefined {
  const current: KubeObject[] = Array.isArray(node.status?.conditions) ? node.status.conditions : [];
  const next = current.map((c) => ({ ...c }));
  let changed = false;
  for (const type of kubeletConditionTypes) {
    const existing = next.find((c) => c.type === type);
    if (existing === undefined) {
      next.push({
        type,
        status: "Unknown",
        reason: "NodeStatusNeverUpdated",
        message: "Kubelet never posted node status.",
        lastHeartbeatTime: node.metadata?.creationTimestamp ?? now,
        lastTransitionTime: now,
      });
      changed = true;
    } else if (existing.status !== "Unknown") {
      existing.status = "Unknown";
      existing.reason = "NodeStatusUnknown";
      existing.message = "Kubelet stopped posting node status.";
      existing.lastTransitionTime = now;
      changed = true;
    }
  }
  return changed ? next : undefined;
}
