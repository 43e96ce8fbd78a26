// batch/v1: jobs (defaults, the apiserver-generated selector, immutable selector/template) and
// cronjobs (schedule checks, history defaults), with upstream's table columns.

import { builtinFieldGetters, type FieldError, fieldErrors, type KubeObject } from "../../api/index.js";
import type { TablePrinter } from "../types.js";
import {
  age,
  ageColumn,
  col,
  containerCells,
  containersColumn,
  formatLabelSelector,
  humanDuration,
  imagesColumn,
  int,
  nameColumn,
  parseTime,
  selectorColumn,
  since,
  str,
  toSelector,
  wellFormedSelector,
} from "./format.js";
import { asArray, child, defineResource, immutable, isObject, type JsonMap, setDefault } from "./meta.js";
import { defaultPodTemplate } from "./podspec.js";
import { nonNegative, validateTemplate } from "./workload.js";

const controllerUidLabel = "batch.kubernetes.io/controller-uid";
const jobNameLabel = "batch.kubernetes.io/job-name";
const legacyControllerUidLabel = "controller-uid";
const legacyJobNameLabel = "job-name";

/**
 * generateSelector: unless spec.manualSelector, the job selects its pods by its uid and labels its
 * template with uid and name. Needs metadata.uid, so it runs once the uid is assigned.
 */
export function generateJobSelector(job: KubeObject): void {
  const spec = child(job, "spec");
  const uid = job.metadata?.uid;
  if (spec.manualSelector === true || typeof uid !== "string" || uid === "") return;
  const name = str(job.metadata?.name);
  const labels = child(child(child(spec, "template"), "metadata"), "labels");
  for (const key of [legacyJobNameLabel, jobNameLabel]) setDefault(labels, key, name);
  for (const key of [legacyControllerUidLabel, controllerUidLabel]) setDefault(labels, key, uid);
  setDefault(child(child(spec, "selector"), "matchLabels"), controllerUidLabel, uid);
}

/** ValidateHasLabel: the generated template label is there with its value. */
function hasLabel(labels: JsonMap, key: string, value: string): FieldError[] {
  const path = `spec.template.metadata.labels[${key}]`;
  if (!(key in labels)) return [fieldErrors.required(path, `must be '${value}'`)];
  return labels[key] === value ? [] : [fieldErrors.invalid(path, labels, `must be '${value}'`)];
}

/** validateGeneratedSelector: a generated selector and labels must name this job's uid and name. */
function validateGeneratedSelector(job: KubeObject): FieldError[] {
  const spec = isObject(job.spec) ? job.spec : {};
  if (spec.manualSelector === true || spec.selector === undefined || spec.selector === null) return [];
  const uid = str(job.metadata?.uid);
  const name = str(job.metadata?.name);
  const errs: FieldError[] = [];
  if (uid === "") errs.push(fieldErrors.required("metadata.uid"));
  const labels = isObject(spec.template?.metadata?.labels) ? spec.template.metadata.labels : {};
  errs.push(
    ...hasLabel(labels, legacyControllerUidLabel, uid),
    ...hasLabel(labels, legacyJobNameLabel, name),
  );
  errs.push(...hasLabel(labels, controllerUidLabel, uid), ...hasLabel(labels, jobNameLabel, name));
  const expected = {
    [controllerUidLabel]: uid,
    [jobNameLabel]: name,
    [legacyControllerUidLabel]: uid,
    [legacyJobNameLabel]: name,
  };
  const sel = toSelector(spec.selector);
  if (sel !== undefined && !sel.matches(expected))
    errs.push(fieldErrors.invalid("spec.selector", spec.selector, "`selector` not auto-generated"));
  return errs;
}

/** Template fields a suspended, never-started job may change (mutable scheduling directives). */
function schedulingDirectivesFrom(template: unknown, into: JsonMap): void {
  const t = isObject(template) ? template : {};
  const meta = child(into, "metadata");
  const spec = child(into, "spec");
  for (const [obj, from, key] of [
    [meta, t.metadata, "labels"],
    [meta, t.metadata, "annotations"],
    [spec, t.spec, "nodeSelector"],
    [spec, t.spec, "tolerations"],
    [spec, t.spec, "schedulingGates"],
  ] as const) {
    const v = isObject(from) ? from[key] : undefined;
    if (v === undefined) delete obj[key];
    else obj[key] = v;
  }
  const affinity = isObject(t.spec?.affinity) ? t.spec.affinity : undefined;
  const oldAffinity = isObject(spec.affinity) ? { ...spec.affinity } : undefined;
  if (affinity === undefined && oldAffinity !== undefined) {
    delete oldAffinity.nodeAffinity;
    if (Object.keys(oldAffinity).length === 0) delete spec.affinity;
    else spec.affinity = oldAffinity;
  } else if (affinity !== undefined) {
    const merged: JsonMap = { ...(oldAffinity ?? {}) };
    if (affinity.nodeAffinity === undefined) delete merged.nodeAffinity;
    else merged.nodeAffinity = affinity.nodeAffinity;
    spec.affinity = merged;
  }
}

/** ValidateJobSpecUpdate: selector, completion mode and (mostly) template are fixed once created. */
function validateJobSpecUpdate(spec: JsonMap, oldSpec: JsonMap, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (spec.completionMode !== "Indexed")
    errs.push(...immutable("spec.completions", spec.completions, oldSpec.completions));
  else if (
    spec.completions !== oldSpec.completions &&
    spec.completions !== undefined &&
    spec.completions !== spec.parallelism
  )
    errs.push(
      fieldErrors.invalid(
        "spec.completions",
        spec.completions,
        "can only be modified in tandem with spec.parallelism",
      ),
    );
  errs.push(...immutable("spec.selector", spec.selector, oldSpec.selector));
  let oldTemplate = oldSpec.template;
  if (oldSpec.suspend === true && old.status?.startTime === undefined) {
    oldTemplate = structuredClone(isObject(oldSpec.template) ? oldSpec.template : {});
    schedulingDirectivesFrom(spec.template, oldTemplate);
  }
  errs.push(...immutable("spec.template", spec.template, oldTemplate));
  errs.push(...immutable("spec.completionMode", spec.completionMode, oldSpec.completionMode));
  errs.push(...immutable("spec.podFailurePolicy", spec.podFailurePolicy, oldSpec.podFailurePolicy));
  errs.push(
    ...immutable("spec.backoffLimitPerIndex", spec.backoffLimitPerIndex, oldSpec.backoffLimitPerIndex),
  );
  errs.push(...immutable("spec.successPolicy", spec.successPolicy, oldSpec.successPolicy));
  return errs;
}

function validateJobSpec(spec: JsonMap, path: string): FieldError[] {
  const errs = [
    ...nonNegative(spec.parallelism, `${path}.parallelism`),
    ...nonNegative(spec.completions, `${path}.completions`),
    ...nonNegative(spec.backoffLimit, `${path}.backoffLimit`),
  ];
  errs.push(...nonNegative(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...nonNegative(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`));
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== "NonIndexed" && mode !== "Indexed")
    errs.push(fieldErrors.notSupported(`${path}.completionMode`, mode, ["NonIndexed", "Indexed"]));
  if (mode === "Indexed" && spec.completions === undefined)
    errs.push(fieldErrors.required(`${path}.completions`, "when completion mode is Indexed"));
  return errs;
}

const jobConditionTrue = (job: KubeObject, type: string): boolean => {
  const c = asArray(job.status?.conditions).find((x) => isObject(x) && x.type === type);
  return c?.status === "True";
};

const jobTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Status", "Status of the job."),
    col("Completions", "The number of pods which reached phase Succeeded."),
    col("Duration", "Time required to complete the job."),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn("A label query over pods that should match the pod count."),
  ],
  cells(job, now) {
    const spec = isObject(job.spec) ? job.spec : {};
    const succeeded = int(job.status?.succeeded);
    let completions: string;
    if (typeof spec.completions === "number") completions = `${succeeded}/${spec.completions}`;
    else
      completions =
        int(spec.parallelism) > 1 ? `${succeeded}/1 of ${int(spec.parallelism)}` : `${succeeded}/1`;
    const start = parseTime(job.status?.startTime);
    const end = parseTime(job.status?.completionTime);
    const duration = start === undefined ? "" : humanDuration((end ?? now.getTime()) - start);
    let status = "Running";
    if (jobConditionTrue(job, "Complete")) status = "Complete";
    else if (jobConditionTrue(job, "Failed")) status = "Failed";
    else if (job.metadata?.deletionTimestamp) status = "Terminating";
    else if (jobConditionTrue(job, "Suspended")) status = "Suspended";
    else if (jobConditionTrue(job, "FailureTarget")) status = "FailureTarget";
    const [names, images] = containerCells(spec.template?.spec?.containers);
    return [
      str(job.metadata?.name),
      status,
      completions,
      duration,
      age(job, now),
      names,
      images,
      formatLabelSelector(spec.selector),
    ];
  },
};

export const jobs = defineResource({
  group: "batch",
  version: "v1",
  kind: "Job",
  resource: "jobs",
  namespaced: true,
  categories: ["all"],
  subresources: ["status"],
  fields: builtinFieldGetters.Job,
  table: jobTable,
  status: () => ({}),
  generation: "spec",
  defaults(job) {
    const spec = child(job, "spec");
    if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
    setDefault(spec, "parallelism", 1);
    setDefault(spec, "backoffLimit", spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6);
    setDefault(spec, "completionMode", "NonIndexed");
    setDefault(spec, "suspend", false);
    setDefault(
      spec,
      "podReplacementPolicy",
      spec.podFailurePolicy !== undefined ? "Failed" : "TerminatingOrFailed",
    );
    const templateLabels = spec.template?.metadata?.labels;
    if (isObject(templateLabels) && Object.keys(job.metadata?.labels ?? {}).length === 0) {
      job.metadata ??= {};
      job.metadata.labels = { ...templateLabels };
    }
    defaultPodTemplate(spec);
  },
  onCreate: generateJobSelector,
  validate(job, old) {
    // Upstream generates the selector in Validate, the first step that sees the uid.
    if (!old) generateJobSelector(job);
    const spec = isObject(job.spec) ? job.spec : {};
    const errs = [
      ...validateGeneratedSelector(job),
      ...validateJobSpec(spec, "spec"),
      ...validateTemplate(spec.template, spec.selector, "spec.template", "job"),
    ];
    if (spec.selector === undefined || spec.selector === null)
      errs.push(fieldErrors.required("spec.selector"));
    else if (!wellFormedSelector(spec.selector))
      errs.push(fieldErrors.invalid("spec.selector", spec.selector, "invalid label selector"));
    if (old) errs.push(...validateJobSpecUpdate(spec, isObject(old.spec) ? old.spec : {}, old));
    return errs;
  },
});

const cronDescriptors = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/** The shape check of cron.ParseStandard: five fields or a descriptor. */
export function cronScheduleError(schedule: string): string | undefined {
  let s = schedule.trim();
  if (s.startsWith("TZ=") || s.startsWith("CRON_TZ="))
    return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
  if (s.startsWith("@")) {
    if (cronDescriptors.includes(s)) return undefined;
    if (s.startsWith("@every ")) {
      s = s.slice(7).trim();
      return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)
        ? undefined
        : `failed to parse duration @every ${s}: time: invalid duration "${s}"`;
    }
    return `unrecognized descriptor: ${s}`;
  }
  const fields = s.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  for (const f of fields)
    if (!/^[0-9A-Za-z*?/,-]+$/.test(f))
      return `failed to parse int from ${f}: strconv.Atoi: parsing "${f}": invalid syntax`;
  return undefined;
}

function printBoolPtr(v: unknown): string {
  if (typeof v !== "boolean") return "<unset>";
  return v ? "True" : "False";
}

const cronJobTable: TablePrinter = {
  columns: [
    nameColumn,
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col(
      "Timezone",
      "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    ),
    col(
      "Suspend",
      "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.",
      { type: "boolean" },
    ),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    ageColumn,
    containersColumn,
    imagesColumn,
    selectorColumn("A label query over pods that should match the pod count."),
  ],
  cells(cj, now) {
    const spec = isObject(cj.spec) ? cj.spec : {};
    const jobSpec = isObject(spec.jobTemplate?.spec) ? spec.jobTemplate.spec : {};
    const [names, images] = containerCells(jobSpec.template?.spec?.containers);
    const last = cj.status?.lastScheduleTime;
    return [
      str(cj.metadata?.name),
      str(spec.schedule),
      typeof spec.timeZone === "string" ? spec.timeZone : "<none>",
      printBoolPtr(spec.suspend),
      asArray(cj.status?.active).length,
      last ? since(last, now) : "<none>",
      age(cj, now),
      names,
      images,
      formatLabelSelector(jobSpec.selector),
    ];
  },
};

const concurrencyPolicies = ["Allow", "Forbid", "Replace"];

export const cronjobs = defineResource({
  group: "batch",
  version: "v1",
  kind: "CronJob",
  resource: "cronjobs",
  namespaced: true,
  shortNames: ["cj"],
  categories: ["all"],
  subresources: ["status"],
  table: cronJobTable,
  status: () => ({}),
  generation: "spec",
  defaults(cj) {
    const spec = child(cj, "spec");
    setDefault(spec, "concurrencyPolicy", "Allow");
    setDefault(spec, "suspend", false);
    setDefault(spec, "successfulJobsHistoryLimit", 3);
    setDefault(spec, "failedJobsHistoryLimit", 1);
    defaultPodTemplate(child(child(spec, "jobTemplate"), "spec"));
  },
  validate(cj) {
    const errs: FieldError[] = [];
    const name = cj.metadata?.name;
    if (typeof name === "string" && Buffer.byteLength(name) > 52)
      errs.push(fieldErrors.invalid("metadata.name", name, "must be no more than 52 characters"));
    const spec = isObject(cj.spec) ? cj.spec : {};
    if (typeof spec.schedule !== "string" || spec.schedule === "")
      errs.push(fieldErrors.required("spec.schedule"));
    else {
      const msg = cronScheduleError(spec.schedule);
      if (msg !== undefined) errs.push(fieldErrors.invalid("spec.schedule", spec.schedule, msg));
    }
    if (spec.concurrencyPolicy === undefined || spec.concurrencyPolicy === "")
      errs.push(fieldErrors.required("spec.concurrencyPolicy"));
    else if (!concurrencyPolicies.includes(spec.concurrencyPolicy))
      errs.push(
        fieldErrors.notSupported("spec.concurrencyPolicy", spec.concurrencyPolicy ?? "", concurrencyPolicies),
      );
    errs.push(...nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds"));
    errs.push(...nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit"));
    errs.push(...nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit"));
    const jobSpec = spec.jobTemplate?.spec;
    if (!isObject(jobSpec)) errs.push(fieldErrors.required("spec.jobTemplate.spec"));
    else {
      errs.push(...validateJobSpec(jobSpec, "spec.jobTemplate.spec"));
      errs.push(
        ...validateTemplate(jobSpec.template, jobSpec.selector, "spec.jobTemplate.spec.template", "job"),
      );
    }
    return errs;
  },
});
