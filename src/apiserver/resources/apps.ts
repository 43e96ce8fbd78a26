// apps/v1: deployments, replicasets, daemonsets and statefulsets, with apps/v1 defaults, the
// selector/template checks and immutable selectors, generation bumping and upstream's columns.

import { builtinFieldGetters, type FieldError, fieldErrors, type KubeObject } from "../../api/index.js";
import type { TablePrinter } from "../types.js";
import {
  age,
  ageColumn,
  col,
  containerCells,
  containersColumn,
  formatLabelSelector,
  formatLabels,
  imagesColumn,
  int,
  nameColumn,
  selectorColumn,
  selectorString,
  str,
} from "./format.js";
import { child, deepEqual, defineResource, immutable, isObject, setDefault } from "./meta.js";
import { defaultPodTemplate } from "./podspec.js";
import { nonNegative, validateSelector, validateTemplate } from "./workload.js";

const always = ["Always"];

function templateContainers(obj: KubeObject): [string, string] {
  return containerCells(obj.spec?.template?.spec?.containers);
}

/** An int-or-percent field: "25%" or a non-negative integer. */
function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "number") return nonNegative(v, path);
  if (typeof v === "string" && /^\d+%$/.test(v)) {
    return Number(v.slice(0, -1)) > 100
      ? [fieldErrors.invalid(path, v, "must not be greater than 100%")]
      : [];
  }
  return [
    fieldErrors.invalid(
      path,
      v,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ),
  ];
}

function isZero(v: unknown): boolean {
  return v === 0 || v === "0%";
}

const deploymentTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Ready", "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn(
      "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    ),
  ],
  cells(d, now) {
    const [names, images] = templateContainers(d);
    const status = isObject(d.status) ? d.status : {};
    return [
      str(d.metadata?.name),
      `${int(status.readyReplicas)}/${int(d.spec?.replicas)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      age(d, now),
      names,
      images,
      selectorString(d.spec?.selector) ?? "<invalid>",
    ];
  },
};

export const deployments = defineResource({
  group: "apps",
  version: "v1",
  kind: "Deployment",
  resource: "deployments",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  subresources: ["status", "scale"],
  table: deploymentTable,
  status: () => ({}),
  // Upstream's deploymentStatusStrategy resets spec and labels only.
  statusLockedMeta: ["deletionTimestamp", "generation", "labels"],
  generation: "spec+annotations",
  defaults(d) {
    const spec = child(d, "spec");
    setDefault(spec, "replicas", 1);
    const strategy = child(spec, "strategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") {
      const ru = child(strategy, "rollingUpdate");
      setDefault(ru, "maxUnavailable", "25%");
      setDefault(ru, "maxSurge", "25%");
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "progressDeadlineSeconds", 600);
    defaultPodTemplate(spec);
  },
  validate(d, old) {
    const spec = isObject(d.spec) ? d.spec : {};
    const errs = [
      ...nonNegative(spec.replicas, "spec.replicas"),
      ...validateSelector(spec.selector, "spec.selector", "deployment"),
      ...validateTemplate(spec.template, spec.selector, "spec.template", always),
      ...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"),
      ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ];
    const strategy = isObject(spec.strategy) ? spec.strategy : {};
    if (strategy.type !== "Recreate" && strategy.type !== "RollingUpdate")
      errs.push(
        fieldErrors.notSupported("spec.strategy.type", strategy.type ?? "", ["Recreate", "RollingUpdate"]),
      );
    if (strategy.type === "Recreate" && strategy.rollingUpdate !== undefined)
      errs.push(
        fieldErrors.forbidden(
          "spec.strategy.rollingUpdate",
          "may not be specified when strategy `type` is 'Recreate'",
        ),
      );
    if (isObject(strategy.rollingUpdate)) {
      const ru = strategy.rollingUpdate;
      errs.push(...validateIntOrPercent(ru.maxUnavailable, "spec.strategy.rollingUpdate.maxUnavailable"));
      errs.push(...validateIntOrPercent(ru.maxSurge, "spec.strategy.rollingUpdate.maxSurge"));
      if (isZero(ru.maxUnavailable) && isZero(ru.maxSurge))
        errs.push(
          fieldErrors.invalid(
            "spec.strategy.rollingUpdate.maxUnavailable",
            ru.maxUnavailable,
            "may not be 0 when `maxSurge` is 0",
          ),
        );
    }
    const deadline = spec.progressDeadlineSeconds;
    if (typeof deadline === "number" && deadline <= int(spec.minReadySeconds))
      errs.push(
        fieldErrors.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"),
      );
    if (old) errs.push(...immutable("spec.selector", spec.selector, old.spec?.selector));
    return errs;
  },
});

const replicaSetTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Desired", "Replicas is the number of desired pods.", { type: "integer" }),
    col("Current", "Replicas is the most recently observed number of non-terminating pods.", {
      type: "integer",
    }),
    col("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.", {
      type: "integer",
    }),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn("Selector is a label query over pods that should match the replica count."),
  ],
  cells(rs, now) {
    const [names, images] = templateContainers(rs);
    return [
      str(rs.metadata?.name),
      int(rs.spec?.replicas),
      int(rs.status?.replicas),
      int(rs.status?.readyReplicas),
      age(rs, now),
      names,
      images,
      formatLabelSelector(rs.spec?.selector),
    ];
  },
};

export const replicasets = defineResource({
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  resource: "replicasets",
  namespaced: true,
  shortNames: ["rs"],
  categories: ["all"],
  subresources: ["status", "scale"],
  fields: builtinFieldGetters.ReplicaSet,
  table: replicaSetTable,
  status: () => ({ replicas: 0 }),
  generation: "spec",
  defaults(rs) {
    const spec = child(rs, "spec");
    setDefault(spec, "replicas", 1);
    defaultPodTemplate(spec);
  },
  validate(rs, old) {
    const spec = isObject(rs.spec) ? rs.spec : {};
    const errs = [
      ...nonNegative(spec.replicas, "spec.replicas"),
      ...validateSelector(spec.selector, "spec.selector", "deployment"),
      ...validateTemplate(spec.template, spec.selector, "spec.template", always),
      ...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"),
    ];
    if (old) errs.push(...immutable("spec.selector", spec.selector, old.spec?.selector));
    return errs;
  },
});

const daemonSetTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Desired", "The total number of nodes that should be running the daemon pod.", { type: "integer" }),
    col(
      "Current",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
      { type: "integer" },
    ),
    col(
      "Ready",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
      { type: "integer" },
    ),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", { type: "integer" }),
    col(
      "Available",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
      { type: "integer" },
    ),
    col("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn("A label query over pods that are managed by the daemon set."),
  ],
  cells(ds, now) {
    const [names, images] = templateContainers(ds);
    const s = isObject(ds.status) ? ds.status : {};
    return [
      str(ds.metadata?.name),
      int(s.desiredNumberScheduled),
      int(s.currentNumberScheduled),
      int(s.numberReady),
      int(s.updatedNumberScheduled),
      int(s.numberAvailable),
      formatLabels(ds.spec?.template?.spec?.nodeSelector),
      age(ds, now),
      names,
      images,
      formatLabelSelector(ds.spec?.selector),
    ];
  },
};

export const daemonsets = defineResource({
  group: "apps",
  version: "v1",
  kind: "DaemonSet",
  resource: "daemonsets",
  namespaced: true,
  shortNames: ["ds"],
  categories: ["all"],
  subresources: ["status"],
  table: daemonSetTable,
  status: () => ({
    currentNumberScheduled: 0,
    desiredNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
  }),
  generation: "spec",
  defaults(ds) {
    const spec = child(ds, "spec");
    const strategy = child(spec, "updateStrategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") {
      const ru = child(strategy, "rollingUpdate");
      setDefault(ru, "maxUnavailable", 1);
      setDefault(ru, "maxSurge", 0);
    }
    setDefault(spec, "revisionHistoryLimit", 10);
    defaultPodTemplate(spec);
  },
  validate(ds, old) {
    const spec = isObject(ds.spec) ? ds.spec : {};
    const errs = [
      ...validateSelector(spec.selector, "spec.selector", "daemonset"),
      ...validateTemplate(spec.template, spec.selector, "spec.template", always),
      ...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"),
    ];
    const type = spec.updateStrategy?.type;
    if (type !== "RollingUpdate" && type !== "OnDelete")
      errs.push(
        fieldErrors.notSupported("spec.updateStrategy.type", type ?? "", ["OnDelete", "RollingUpdate"]),
      );
    if (old) errs.push(...immutable("spec.selector", spec.selector, old.spec?.selector));
    return errs;
  },
});

const statefulSetMutable = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

const statefulSetTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Ready", "Number of the pod with ready state"),
    ageColumn,
    containersColumn,
    imagesColumn,
  ],
  cells(sts, now) {
    const [names, images] = templateContainers(sts);
    return [
      str(sts.metadata?.name),
      `${int(sts.status?.readyReplicas)}/${int(sts.spec?.replicas)}`,
      age(sts, now),
      names,
      images,
    ];
  },
};

export const statefulsets = defineResource({
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  resource: "statefulsets",
  namespaced: true,
  shortNames: ["sts"],
  categories: ["all"],
  subresources: ["status", "scale"],
  table: statefulSetTable,
  status: () => ({ replicas: 0, availableReplicas: 0 }),
  generation: "spec",
  defaults(sts) {
    const spec = child(sts, "spec");
    setDefault(spec, "replicas", 1);
    setDefault(spec, "podManagementPolicy", "OrderedReady");
    const strategy = child(spec, "updateStrategy");
    setDefault(strategy, "type", "RollingUpdate");
    if (strategy.type === "RollingUpdate") setDefault(child(strategy, "rollingUpdate"), "partition", 0);
    setDefault(spec, "revisionHistoryLimit", 10);
    const retention = child(spec, "persistentVolumeClaimRetentionPolicy");
    setDefault(retention, "whenDeleted", "Retain");
    setDefault(retention, "whenScaled", "Retain");
    defaultPodTemplate(spec);
  },
  validate(sts, old) {
    const spec = isObject(sts.spec) ? sts.spec : {};
    const errs = [
      ...nonNegative(spec.replicas, "spec.replicas"),
      ...validateSelector(spec.selector, "spec.selector", "statefulset"),
      ...validateTemplate(spec.template, spec.selector, "spec.template", always),
    ];
    const policy = spec.podManagementPolicy;
    if (policy !== "OrderedReady" && policy !== "Parallel")
      errs.push(
        fieldErrors.notSupported("spec.podManagementPolicy", policy ?? "", ["OrderedReady", "Parallel"]),
      );
    if (old && isObject(old.spec)) {
      const a = { ...spec };
      const b = { ...old.spec };
      for (const k of statefulSetMutable) {
        delete a[k];
        delete b[k];
      }
      if (!deepEqual(a, b))
        errs.push(
          fieldErrors.forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        );
    }
    return errs;
  },
});
