// What the cronjob controller derives from a CronJob and its Jobs: the Job for one scheduled
// time, the references kept in status.active, and which finished Jobs fall off the history.
import type { KubeObject } from "../../api/index.js";
import { isFinished } from "../job/index.js";
import { type CronError, nextAfter, parseSchedule, type Schedule } from "./cron.js";

export const CRONJOBS = { group: "batch", version: "v1", resource: "cronjobs" } as const;
export const JOBS = { group: "batch", version: "v1", resource: "jobs" } as const;
export const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function schedule(cj: KubeObject): Schedule | CronError {
  try {
    return parseSchedule(String(cj.spec?.schedule ?? ""), cj.spec?.timeZone ?? undefined);
  } catch (err) {
    return err as CronError;
  }
}

/** Upstream names a CronJob's Job after the scheduled time in minutes since the epoch. */
export function jobName(cj: KubeObject, scheduledMs: number): string {
  return `${cj.metadata?.name}-${Math.floor(scheduledMs / 60_000)}`;
}

export function jobFor(cj: KubeObject, scheduledMs: number): KubeObject {
  const template = cj.spec?.jobTemplate ?? {};
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduledMs),
      namespace: cj.metadata?.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: {
        ...(template.metadata?.annotations ?? {}),
        [scheduledTimestampAnnotation]: stamp(scheduledMs),
      },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: cj.metadata?.name ?? "",
          uid: cj.metadata?.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

export function jobRef(job: KubeObject): KubeObject {
  return {
    kind: "Job",
    namespace: job.metadata?.namespace,
    name: job.metadata?.name,
    uid: job.metadata?.uid,
    apiVersion: "batch/v1",
    resourceVersion: job.metadata?.resourceVersion,
  };
}

export interface MostRecent {
  /** The latest schedule time in (earliest, now], if any. */
  scheduled?: number;
  /** How many schedule times fell in that window. */
  missed: number;
}

/** Schedule times since the last run (or creation), bounded by startingDeadlineSeconds. */
export function mostRecentScheduleTime(cj: KubeObject, s: Schedule, nowMs: number): MostRecent {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? "");
  if (Number.isNaN(earliest)) earliest = nowMs;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (typeof sds === "number") earliest = Math.max(earliest, nowMs - sds * 1000);
  let scheduled: number | undefined;
  let missed = 0;
  for (let t = nextAfter(s, earliest); t !== undefined && t <= nowMs; t = nextAfter(s, t)) {
    scheduled = t;
    missed++;
  }
  return { scheduled, missed };
}

function finishedAt(job: KubeObject): number {
  const conds: KubeObject[] = Array.isArray(job.status?.conditions) ? job.status.conditions : [];
  const c = conds.find((x) => (x.type === "Complete" || x.type === "Failed") && x.status === "True");
  return (
    Date.parse(
      job.status?.completionTime ?? c?.lastTransitionTime ?? job.metadata?.creationTimestamp ?? "",
    ) || 0
  );
}

export function succeeded(job: KubeObject): boolean {
  const conds: KubeObject[] = Array.isArray(job.status?.conditions) ? job.status.conditions : [];
  return conds.some((c) => c.type === "Complete" && c.status === "True");
}

/** Finished jobs beyond the successful/failed history limits, oldest first. */
export function jobsPastHistory(cj: KubeObject, owned: KubeObject[]): KubeObject[] {
  const finished = owned.filter(isFinished).sort((a, b) => finishedAt(a) - finishedAt(b));
  const ok = finished.filter(succeeded);
  const failed = finished.filter((j) => !succeeded(j));
  const keepOk: number = cj.spec?.successfulJobsHistoryLimit ?? 3;
  const keepFailed: number = cj.spec?.failedJobsHistoryLimit ?? 1;
  return [
    ...ok.slice(0, Math.max(0, ok.length - keepOk)),
    ...failed.slice(0, Math.max(0, failed.length - keepFailed)),
  ];
}

export function lastSuccessfulTime(owned: KubeObject[]): number | undefined {
  let last: number | undefined;
  for (const j of owned) if (succeeded(j)) last = Math.max(last ?? 0, finishedAt(j));
  return last;
}
