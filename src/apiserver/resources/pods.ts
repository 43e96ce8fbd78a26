// core/v1 pods: defaults (including what upstream's admission plugins add to a new pod), the
// update rule that leaves only images, deadlines and tolerations mutable, and printPod's table.

import { builtinFieldGetters, type FieldError, fieldErrors, type KubeObject } from "../../api/index.js";
import type { TablePrinter } from "../types.js";
import { age, ageColumn, col, int, nameColumn, parseTime, since, str } from "./format.js";
import {
  asArray,
  child,
  deepEqual,
  defineResource,
  isObject,
  type JsonMap,
  nameIsDNSSubdomain,
  setDefault,
} from "./meta.js";
import { defaultPodOnlyFields, defaultPodSpec, podQOSClass, validatePodSpec } from "./podspec.js";

export const podUpdateForbiddenMessage =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

const defaultTolerations = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];

/** What the ServiceAccount, Priority and DefaultTolerationSeconds admission plugins add to a new pod. */
function admitNewPod(pod: KubeObject): void {
  const spec = child(pod, "spec");
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || "default";
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.priorityClassName === undefined || spec.priorityClassName === "") {
    setDefault(spec, "priority", 0);
    setDefault(spec, "preemptionPolicy", "PreemptLowerPriority");
  }
  const tolerations = asArray(spec.tolerations);
  for (const key of defaultTolerations) {
    const has = tolerations.some(
      (t) =>
        isObject(t) &&
        (t.key === key || (t.operator === "Exists" && !t.key)) &&
        (!t.effect || t.effect === "NoExecute"),
    );
    if (!has) tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** ValidatePodUpdate's spec rule: the new spec with its mutable fields put back must equal the old. */
function validatePodSpecUpdate(spec: unknown, oldSpec: unknown): FieldError[] {
  if (!isObject(spec) || !isObject(oldSpec)) return [];
  const mutated = structuredClone(spec);
  for (const key of ["containers", "initContainers"]) {
    const now = asArray(mutated[key]);
    const before = asArray(oldSpec[key]);
    if (now.length !== before.length) continue;
    now.forEach((c, i) => {
      if (isObject(c) && isObject(before[i])) c.image = before[i].image;
    });
  }
  mutated.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  const oldTolerations = asArray(oldSpec.tolerations);
  const newTolerations = asArray(mutated.tolerations);
  if (oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t))))
    mutated.tolerations = oldSpec.tolerations;
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === "number" && oldGrace < 0 && mutated.terminationGracePeriodSeconds === 1)
    mutated.terminationGracePeriodSeconds = oldGrace;
  return deepEqual(mutated, oldSpec) ? [] : [fieldErrors.forbidden("spec", podUpdateForbiddenMessage)];
}

function conditionTrue(conditions: unknown, type: string): boolean {
  return asArray(conditions).some((c) => isObject(c) && c.type === type && c.status === "True");
}

/** The READY, STATUS and RESTARTS cells of printPod. */
export function podStatusCells(
  pod: KubeObject,
  now: Date,
): { ready: string; reason: string; restarts: string } {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const status = isObject(pod.status) ? pod.status : {};
  const initSpecs = asArray(spec.initContainers);
  const restartableInit = new Set(
    initSpecs.filter((c) => isObject(c) && c.restartPolicy === "Always").map((c) => c.name as string),
  );
  const total = asArray(spec.containers).length + restartableInit.size;
  let ready = 0;
  let restarts = 0;
  let restartableRestarts = 0;
  let lastRestart = 0;
  let lastRestartableRestart = 0;
  const phase = str(status.phase);
  let reason = status.reason ? str(status.reason) : phase;
  if (
    asArray(status.conditions).some(
      (c) => isObject(c) && c.type === "PodScheduled" && c.reason === "SchedulingGated",
    )
  )
    reason = "SchedulingGated";

  const finishedAt = (cs: JsonMap): number => parseTime(cs.lastState?.terminated?.finishedAt) ?? 0;

  let initializing = false;
  const initStatuses = asArray(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = isObject(initStatuses[i]) ? initStatuses[i] : {};
    const state = isObject(cs.state) ? cs.state : {};
    restarts += int(cs.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const restartable = restartableInit.has(cs.name);
    if (restartable) {
      restartableRestarts += int(cs.restartCount);
      lastRestartableRestart = Math.max(lastRestartableRestart, finishedAt(cs));
    }
    if (isObject(state.terminated) && int(state.terminated.exitCode) === 0) continue;
    if (restartable && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (isObject(state.terminated)) {
      const t = state.terminated;
      if (!t.reason) reason = t.signal ? `Init:Signal:${int(t.signal)}` : `Init:ExitCode:${int(t.exitCode)}`;
      else reason = `Init:${t.reason}`;
    } else if (
      isObject(state.waiting) &&
      state.waiting.reason &&
      state.waiting.reason !== "PodInitializing"
    ) {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, "Initialized")) {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses = asArray(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = isObject(statuses[i]) ? statuses[i] : {};
      const state = isObject(cs.state) ? cs.state : {};
      restarts += int(cs.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      if (isObject(state.waiting) && state.waiting.reason) reason = str(state.waiting.reason);
      else if (isObject(state.terminated) && state.terminated.reason) reason = str(state.terminated.reason);
      else if (isObject(state.terminated))
        reason = state.terminated.signal
          ? `Signal:${int(state.terminated.signal)}`
          : `ExitCode:${int(state.terminated.exitCode)}`;
      else if (cs.ready === true && isObject(state.running)) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning)
      reason = conditionTrue(status.conditions, "Ready") ? "Running" : "NotReady";
  }

  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && phase !== "Failed" && phase !== "Succeeded")
    reason = "Terminating";

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart !== 0)
    restartsCell = `${restarts} (${since(new Date(lastRestart).toISOString(), now)} ago)`;
  return { ready: `${ready}/${total}`, reason, restarts: restartsCell };
}

const podTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    ageColumn,
    col(
      "IP",
      "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
      { priority: 1 },
    ),
    col("Node", "NodeName indicates in which node this pod is scheduled.", { priority: 1 }),
    col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", {
      priority: 1,
    }),
    col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", {
      priority: 1,
    }),
  ],
  cells(pod, now) {
    const { ready, reason, restarts } = podStatusCells(pod, now);
    const spec = isObject(pod.spec) ? pod.spec : {};
    const status = isObject(pod.status) ? pod.status : {};
    const gates = asArray(spec.readinessGates);
    let readinessGates = "<none>";
    if (gates.length > 0) {
      const conditions = asArray(status.conditions);
      const trueCount = gates.filter((g) => {
        const c = conditions.find((x) => isObject(x) && x.type === g?.conditionType);
        return c?.status === "True";
      }).length;
      readinessGates = `${trueCount}/${gates.length}`;
    }
    return [
      str(pod.metadata?.name),
      ready,
      reason,
      restarts,
      age(pod, now),
      str(asArray(status.podIPs)[0]?.ip) || "<none>",
      str(spec.nodeName) || "<none>",
      str(status.nominatedNodeName) || "<none>",
      readinessGates,
    ];
  },
};

export const pods = defineResource({
  group: "",
  version: "v1",
  kind: "Pod",
  resource: "pods",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  subresources: ["status", "binding", "log", "eviction"],
  name: nameIsDNSSubdomain,
  fields: builtinFieldGetters.Pod,
  table: podTable,
  status: (pod) => ({ phase: "Pending", qosClass: podQOSClass(pod.spec) }),
  defaults(pod) {
    const spec = child(pod, "spec");
    defaultPodSpec(spec);
    defaultPodOnlyFields(spec);
  },
  validate(pod, old) {
    const errs = validatePodSpec(pod.spec, "spec");
    if (old) errs.push(...validatePodSpecUpdate(pod.spec, old.spec));
    return errs;
  },
  onCreate: admitNewPod,
});
