// Per-pod state computed once per scheduling cycle and shared by all filters and scores.
import type { KubeObject } from "../api/index.js";
import { podHasNodeConstraints } from "./filters.js";
import { type InterPodAffinityState, preFilterInterPodAffinity } from "./interpodaffinity.js";
import { podTolerations, type Toleration } from "./matching.js";
import { type HostPort, podHostPorts, type Snapshot } from "./nodeinfo.js";
import { type PodRequests, podRequests } from "./resources.js";

export interface CycleState {
  pod: KubeObject;
  requests: PodRequests;
  tolerations: Toleration[];
  hostPorts: HostPort[];
  hasNodeConstraints: boolean;
  interPodAffinity: InterPodAffinityState | null;
}

export function newCycleState(pod: KubeObject, snapshot: Snapshot): CycleState {
  return {
    pod,
    requests: podRequests(pod),
    tolerations: podTolerations(pod),
    hostPorts: podHostPorts(pod),
    hasNodeConstraints: podHasNodeConstraints(pod),
    interPodAffinity: preFilterInterPodAffinity(pod, snapshot),
  };
}
