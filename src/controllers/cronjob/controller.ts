// The cronjob reconcile: refresh status.active from the CronJob's Jobs, trim finished Jobs to the
// history limits, then start the Job for the most recent missed schedule time (honouring suspend,
// startingDeadlineSeconds and the concurrency policy) and sleep until the next one. Wake-ups run
// on the injected clock so tests drive the schedule with a FakeClock.
import { isStatusError, type KubeObject } from "../../api/index.js";
import {
  type Clock,
  deletedObject,
  objectKey,
  realClock,
  runWorkers,
  splitKey,
  type TimerHandle,
  WorkQueue,
} from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { isFinished } from "../job/index.js";
import { CronError, nextAfter } from "./cron.js";
import {
  CRONJOBS,
  JOBS,
  jobFor,
  jobRef,
  jobsPastHistory,
  lastSuccessfulTime,
  mostRecentScheduleTime,
  schedule,
  stamp,
  succeeded,
} from "./jobs.js";

export interface CronJobControllerOptions {
  clock?: Clock;
  workers?: number;
}

function controllerOf(obj: KubeObject) {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export async function startCronJobController(
  ctx: ControllerContext,
  opts: CronJobControllerOptions = {},
): Promise<void> {
  const clock = opts.clock ?? realClock;
  const cronInformer = ctx.informers.forResource(CRONJOBS);
  const jobInformer = ctx.informers.forResource(JOBS);
  const cronjobs = cronInformer.lister;
  const jobs = jobInformer.lister;
  const cronClient = ctx.client.resource(CRONJOBS);
  const jobClient = ctx.client.resource(JOBS);
  const queue = new WorkQueue<string>({ name: "cronjob" });
  const wakeups = new Map<string, TimerHandle>();

  const wakeAt = (key: string, atMs: number | undefined): void => {
    wakeups.get(key)?.cancel();
    wakeups.delete(key);
    if (atMs === undefined) return;
    if (atMs <= clock.now()) {
      queue.add(key);
      return;
    }
    wakeups.set(
      key,
      clock.after(atMs - clock.now(), () => {
        wakeups.delete(key);
        queue.add(key);
      }),
    );
  };

  cronInformer.addEventHandler({
    onAdd: (cj) => queue.add(objectKey(cj)),
    onUpdate: (_o, cj) => queue.add(objectKey(cj)),
    onDelete: (cj) => wakeAt(objectKey(deletedObject(cj)), undefined),
  });
  const enqueueOwner = (job: KubeObject) => {
    const ref = controllerOf(job);
    if (ref?.kind === "CronJob") queue.add(`${job.metadata?.namespace}/${ref.name}`);
  };
  jobInformer.addEventHandler({
    onAdd: enqueueOwner,
    onUpdate: (_o, j) => enqueueOwner(j),
    onDelete: (j) => enqueueOwner(deletedObject(j)),
  });

  const deleteJob = async (cj: KubeObject, name: string): Promise<void> => {
    try {
      await jobClient.inNamespace(cj.metadata?.namespace).delete(name, { propagationPolicy: "Background" });
      ctx.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${name}`);
    } catch (err) {
      if (!(isStatusError(err) && err.code === 404)) throw err;
    }
  };

  /** status.active refreshed: running owned jobs, plus listed ones the cache has not seen yet. */
  const activeRefs = async (cj: KubeObject, owned: KubeObject[]): Promise<KubeObject[]> => {
    const refs = owned.filter((j) => !isFinished(j)).map(jobRef);
    const listed: KubeObject[] = Array.isArray(cj.status?.active) ? cj.status.active : [];
    for (const ref of listed) {
      if (owned.some((j) => j.metadata?.uid === ref.uid)) continue;
      try {
        const live = await jobClient.inNamespace(cj.metadata?.namespace).get(ref.name);
        if (live.metadata?.uid === ref.uid && !isFinished(live)) refs.push(jobRef(live));
      } catch (err) {
        if (!(isStatusError(err) && err.code === 404)) throw err;
      }
    }
    for (const j of owned)
      if (isFinished(j) && listed.some((r) => r.uid === j.metadata?.uid))
        ctx.recorder.event(
          cj,
          "Normal",
          "SawCompletedJob",
          `Saw completed job: ${j.metadata?.name}, status: ${succeeded(j) ? "Complete" : "Failed"}`,
        );
    return refs;
  };

  const reconcile = async (key: string): Promise<void> => {
    const { namespace, name } = splitKey(key);
    const cached = cronjobs.get(namespace, name);
    if (cached === undefined) return wakeAt(key, undefined);
    const cj = structuredClone(cached);
    const owned = jobs.list(undefined, namespace).filter((j) => controllerOf(j)?.uid === cj.metadata?.uid);
    const status: KubeObject = structuredClone(cj.status ?? {});
    const before = JSON.stringify(status);
    status.active = await activeRefs(cj, owned);
    const okAt = lastSuccessfulTime(owned);
    if (okAt !== undefined && okAt > (Date.parse(status.lastSuccessfulTime ?? "") || 0))
      status.lastSuccessfulTime = stamp(okAt);
    for (const old of jobsPastHistory(cj, owned)) await deleteJob(cj, old.metadata?.name ?? "");

    const writeStatus = async () => {
      if (status.active.length === 0) delete status.active;
      if (JSON.stringify(status) === before) return;
      cj.status = status;
      await cronClient.inNamespace(namespace).updateStatus(cj);
    };
    if (cj.metadata?.deletionTimestamp || cj.spec?.suspend === true) {
      wakeAt(key, undefined);
      return writeStatus();
    }
    const sched = schedule(cj);
    if (sched instanceof CronError) {
      ctx.recorder.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: ${sched.message}`);
      wakeAt(key, undefined);
      return writeStatus();
    }
    const nowMs = clock.now();
    wakeAt(key, nextAfter(sched, nowMs));
    const { scheduled, missed } = mostRecentScheduleTime({ ...cj, status }, sched, nowMs);
    if (missed > 100)
      ctx.recorder.event(
        cj,
        "Warning",
        "TooManyMissedTimes",
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      );
    if (scheduled === undefined) return writeStatus();
    const sds = cj.spec?.startingDeadlineSeconds;
    if (typeof sds === "number" && scheduled + sds * 1000 < nowMs) {
      ctx.recorder.event(
        cj,
        "Warning",
        "MissSchedule",
        `Missed scheduled time to start a job: ${stamp(scheduled)}`,
      );
      return writeStatus();
    }
    const policy = cj.spec?.concurrencyPolicy ?? "Allow";
    if (policy === "Forbid" && status.active.length > 0) {
      ctx.recorder.event(
        cj,
        "Normal",
        "JobAlreadyActive",
        "Not starting job because prior execution is running and concurrency policy is Forbid",
      );
      return writeStatus();
    }
    if (policy === "Replace") {
      for (const ref of status.active) await deleteJob(cj, ref.name);
      status.active = [];
    }
    const desired = jobFor(cj, scheduled);
    let created: KubeObject;
    try {
      created = await jobClient.inNamespace(namespace).create(desired);
      ctx.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${created.metadata?.name}`);
    } catch (err) {
      if (!(isStatusError(err) && err.code === 409 && err.reason === "AlreadyExists")) {
        ctx.recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${(err as Error).message}`);
        throw err;
      }
      // A previous run created it but did not get to record it (restart in mid-reconcile).
      created = await jobClient.inNamespace(namespace).get(desired.metadata?.name ?? "");
      if (controllerOf(created)?.uid !== cj.metadata?.uid) throw err;
    }
    if (!isFinished(created) && !status.active.some((r: KubeObject) => r.uid === created.metadata?.uid))
      status.active.push(jobRef(created));
    status.lastScheduleTime = stamp(scheduled);
    return writeStatus();
  };

  ctx.signal.addEventListener(
    "abort",
    () => {
      queue.shutdown();
      for (const t of wakeups.values()) t.cancel();
      wakeups.clear();
    },
    { once: true },
  );
  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    await runWorkers(
      queue,
      opts.workers ?? 5,
      async (key) => void (await reconcile(key)),
      (key, err) => ctx.log(`cronjob ${key}: ${(err as Error).message}`),
    );
  })();
}
