// The job reconcile: count the job's pods, decide whether it has finished (completions reached,
// backoffLimit exceeded, activeDeadlineSeconds passed), create or delete pods toward
// min(parallelism, remaining completions), and write status. Succeeded and failed are counted from
// the pods that still exist (upstream's pre-1.26 way, without the job-tracking finalizer): a
// finished pod deleted by hand is no longer counted.
import { isStatusError, type KubeObject, labelSelectorFromMeta } from "../../api/index.js";
import {
  type Clock,
  deletedObject,
  type Lister,
  objectKey,
  realClock,
  runWorkers,
  splitKey,
  WorkQueue,
} from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { Expectations } from "./expectations.js";
import { controllerOf, countPods, deletionOrder, isReady, JOBS, PODS, podFromTemplate } from "./pods.js";

export interface JobControllerOptions {
  clock?: Clock;
  workers?: number;
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function condition(job: KubeObject, type: string): KubeObject | undefined {
  const list: KubeObject[] = Array.isArray(job.status?.conditions) ? job.status.conditions : [];
  return list.find((c) => c.type === type);
}

export function isFinished(job: KubeObject): boolean {
  return ["Complete", "Failed"].some((t) => condition(job, t)?.status === "True");
}

/** Sets (or flips) a condition; lastTransitionTime moves only when the status changes. */
function setCondition(
  status: KubeObject,
  type: string,
  value: string,
  reason: string,
  message: string,
  now: string,
) {
  const list: KubeObject[] = Array.isArray(status.conditions) ? status.conditions : [];
  const existing = list.find((c) => c.type === type);
  if (existing?.status === value && existing.reason === reason) return;
  const next = { type, status: value, reason, message, lastProbeTime: now, lastTransitionTime: now };
  if (existing !== undefined && existing.status === value)
    next.lastTransitionTime = existing.lastTransitionTime;
  status.conditions = [...list.filter((c) => c.type !== type), next];
}

export async function startJobController(
  ctx: ControllerContext,
  opts: JobControllerOptions = {},
): Promise<void> {
  const clock = opts.clock ?? realClock;
  const jobInformer = ctx.informers.forResource(JOBS);
  const podInformer = ctx.informers.forResource(PODS);
  const jobs: Lister = jobInformer.lister;
  const pods: Lister = podInformer.lister;
  const jobClient = ctx.client.resource(JOBS);
  const podClient = ctx.client.resource(PODS);
  const queue = new WorkQueue<string>({ name: "job" });
  const expectations = new Expectations(() => clock.now());

  const jobKeyOfPod = (pod: KubeObject): string | undefined => {
    const ref = controllerOf(pod);
    if (ref?.kind !== "Job") return undefined;
    const key = `${pod.metadata?.namespace}/${ref.name}`;
    const job = jobs.get(pod.metadata?.namespace ?? "", ref.name);
    // A pod whose job was deleted and recreated under the same name belongs to nobody.
    return job === undefined || job.metadata?.uid === ref.uid ? key : undefined;
  };
  jobInformer.addEventHandler({
    onAdd: (j) => queue.add(objectKey(j)),
    onUpdate: (_o, j) => queue.add(objectKey(j)),
    onDelete: (j) => {
      const key = objectKey(deletedObject(j));
      expectations.forget(key);
      queue.add(key);
    },
  });
  podInformer.addEventHandler({
    onAdd: (p) => {
      const key = jobKeyOfPod(p);
      if (key === undefined) return;
      expectations.creationObserved(key);
      queue.add(key);
    },
    onUpdate: (_o, p) => {
      const key = jobKeyOfPod(p);
      if (key !== undefined) queue.add(key);
    },
    onDelete: (p) => {
      const key = jobKeyOfPod(deletedObject(p));
      if (key === undefined) return;
      expectations.deletionObserved(key);
      queue.add(key);
    },
  });

  const deletePod = async (job: KubeObject, pod: KubeObject, key: string): Promise<void> => {
    try {
      await podClient.inNamespace(pod.metadata?.namespace).delete(pod.metadata?.name ?? "");
      ctx.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata?.name}`);
    } catch (err) {
      expectations.deletionObserved(key);
      if (!(isStatusError(err) && err.code === 404)) throw err;
    }
  };

  const reconcile = async (key: string): Promise<{ requeueAfterMs?: number } | undefined> => {
    const { namespace, name } = splitKey(key);
    const cached = jobs.get(namespace, name);
    if (cached === undefined || cached.metadata?.deletionTimestamp) return undefined;
    if (!expectations.satisfied(key)) return undefined;
    const job = structuredClone(cached);
    const uid = job.metadata?.uid;
    const selector = labelSelectorFromMeta(job.spec?.selector);
    const owned = pods.list(selector, namespace).filter((p) => controllerOf(p)?.uid === uid);
    const counts = countPods(owned);
    const spec = job.spec ?? {};
    const nowMs = clock.now();
    const now = stamp(nowMs);
    const status: KubeObject = structuredClone(job.status ?? {});
    const before = JSON.stringify(status);
    let requeueAfterMs: number | undefined;
    let toDelete: KubeObject[] = [];
    let toCreate = 0;

    if (isFinished(job)) {
      toDelete = counts.active;
    } else if (spec.suspend === true) {
      toDelete = counts.active;
      if (condition(job, "Suspended")?.status !== "True") {
        setCondition(status, "Suspended", "True", "JobSuspended", "Job suspended", now);
        ctx.recorder.event(job, "Normal", "Suspended", "Job suspended");
      }
    } else {
      if (condition(job, "Suspended")?.status === "True") {
        setCondition(status, "Suspended", "False", "JobResumed", "Job resumed", now);
        ctx.recorder.event(job, "Normal", "Resumed", "Job resumed");
        // The deadline counts from the resume, as upstream resets startTime.
        status.startTime = now;
      }
      status.startTime ??= now;
      const completions: number | undefined = spec.completions ?? undefined;
      const backoffLimit: number = spec.backoffLimit ?? 6;
      const deadlineMs =
        typeof spec.activeDeadlineSeconds === "number"
          ? Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000
          : undefined;
      const complete =
        completions === undefined
          ? counts.succeeded > 0 && counts.active.length === 0
          : counts.succeeded >= completions;
      if (complete) {
        const msg = "Reached expected number of succeeded pods";
        setCondition(status, "Complete", "True", "CompletionsReached", msg, now);
        status.completionTime = now;
        ctx.recorder.event(job, "Normal", "Completed", "Job completed");
      } else if (counts.failed > backoffLimit) {
        const msg = "Job has reached the specified backoff limit";
        setCondition(status, "Failed", "True", "BackoffLimitExceeded", msg, now);
        ctx.recorder.event(job, "Warning", "BackoffLimitExceeded", msg);
        toDelete = counts.active;
      } else if (deadlineMs !== undefined && nowMs >= deadlineMs) {
        const msg = "Job was active longer than specified deadline";
        setCondition(status, "Failed", "True", "DeadlineExceeded", msg, now);
        ctx.recorder.event(job, "Warning", "DeadlineExceeded", msg);
        toDelete = counts.active;
      } else {
        if (deadlineMs !== undefined) requeueAfterMs = deadlineMs - nowMs;
        const parallelism: number = spec.parallelism ?? 1;
        const want =
          completions === undefined
            ? counts.succeeded > 0
              ? 0
              : parallelism
            : Math.max(0, Math.min(parallelism, completions - counts.succeeded));
        if (counts.active.length < want) toCreate = want - counts.active.length;
        else toDelete = [...counts.active].sort(deletionOrder).slice(0, counts.active.length - want);
      }
    }

    if (toCreate > 0 || toDelete.length > 0) expectations.expect(key, toCreate, toDelete.length);
    const creates = Array.from({ length: toCreate }, async () => {
      try {
        const pod = await podClient.inNamespace(namespace).create(podFromTemplate(job));
        ctx.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata?.name}`);
      } catch (err) {
        expectations.creationObserved(key);
        ctx.recorder.event(job, "Warning", "FailedCreate", `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    const deletes = toDelete.map((p) => deletePod(job, p, key));
    const results = await Promise.allSettled([...creates, ...deletes]);
    const failure = results.find((r) => r.status === "rejected");

    const deleted = new Set(toDelete);
    status.active = counts.active.length + toCreate - deleted.size;
    status.ready = counts.active.filter((p) => !deleted.has(p) && isReady(p)).length;
    status.succeeded = counts.succeeded;
    status.failed = counts.failed;
    if (JSON.stringify(status) !== before) {
      job.status = status;
      await jobClient.inNamespace(namespace).updateStatus(job);
    }
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  };

  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    await runWorkers(queue, opts.workers ?? 5, reconcile, (key, err) =>
      ctx.log(`job ${key}: ${(err as Error).message}`),
    );
  })();
  ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
}
