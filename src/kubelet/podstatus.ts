// The bridge from what the kubelet holds about a pod (its records, the runtime's container
// statuses, the prober's results) to the status.ts views: used to write the pod's status and to
// find which container's log a /containerLogs request means.
import type { KubeObject } from "../api/index.js";
import type { ContainerStatus, Runtime } from "../runtime/index.js";
import { currentStatus, type PodState, previousStatus, specContainers } from "./podstate.js";
import type { ProberManager } from "./prober.js";
import { podQOSClass } from "./qos.js";
import { type ContainerView, computePodStatus } from "./status.js";

export interface PodStatusView {
  init: ContainerView[];
  containers: ContainerView[];
  compute(o: { hostIP: string; runtimeName: string; now: number }): KubeObject;
}

function view(
  runtime: Runtime,
  prober: ProberManager,
  state: PodState,
  c: KubeObject,
  isInit: boolean,
): ContainerView {
  const rec = state.records.get(c.name);
  const current = rec ? currentStatus(runtime, rec, state) : undefined;
  const previous = rec ? previousStatus(runtime, rec, state) : undefined;
  const running = current?.state === "running";
  // Sidecars (init containers with restartPolicy Always) report like containers.
  const runToCompletion = isInit && c.restartPolicy !== "Always";
  const v: ContainerView = {
    name: c.name,
    image: String(c.image ?? ""),
    restartCount: rec?.restartCount ?? 0,
    ready: runToCompletion
      ? current?.state === "exited" && current.exitCode === 0
      : running && prober.ready(state.uid, c.name),
    started: runToCompletion ? false : running && prober.started(state.uid, c.name),
  };
  if (current) v.current = current;
  if (previous) v.previous = previous;
  if (rec?.waiting && !running) v.waiting = rec.waiting;
  return v;
}

export function podStatus(runtime: Runtime, prober: ProberManager, state: PodState): PodStatusView {
  const init = specContainers(state.pod, "initContainers").map((c) => view(runtime, prober, state, c, true));
  const containers = specContainers(state.pod, "containers").map((c) =>
    view(runtime, prober, state, c, false),
  );
  return {
    init,
    containers,
    compute({ hostIP, runtimeName, now }) {
      const pod = state.pod;
      // Conditions and phase carry on from what this kubelet last wrote, even before the informer sees it.
      const base: KubeObject = state.lastStatus
        ? { ...pod, status: { ...(pod.status ?? {}), ...state.lastStatus } }
        : pod;
      return computePodStatus({
        pod: base,
        hostIP,
        podIP: state.sandbox?.ip,
        startTime: state.startTime,
        sandboxReady: state.sandbox !== undefined && state.sandboxGone !== true,
        init,
        containers,
        terminal: state.terminal,
        qosClass: podQOSClass(pod),
        runtimeName,
        now,
      });
    },
  };
}

/** The container whose log "previous" means: the one lastState shows as terminated. */
export function lastTerminated(v: ContainerView): ContainerStatus | undefined {
  if (v.waiting !== undefined && v.current?.state === "exited") return v.current;
  return v.previous?.state === "exited" ? v.previous : undefined;
}
