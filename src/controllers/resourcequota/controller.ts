// The resourcequota reconcile: for one quota, count the namespace's objects of every kind its hard
// limits name (through shared informers, added the first time a quota asks for a kind) and write
// status.hard and status.used. As upstream, a quota is recounted when its spec changes, when a
// counted object is deleted or frees usage, and every 5 minutes; creates are charged by the
// apiserver's quota admission. A kind the apiserver does not serve counts as zero objects.
import { isStatusError, type KubeObject } from "../../api/index.js";
import {
  deletedObject,
  objectKey,
  runWorkers,
  type SharedIndexInformer,
  splitKey,
  WorkQueue,
} from "../../client/index.js";
import type { ControllerContext } from "../context.js";
import { kindForResourceName, kindKey } from "./kinds.js";
import {
  objectUsage,
  podMatchesScopes,
  type ResourceKind,
  sumUsage,
  supportedScopes,
  type Usage,
} from "./usage.js";

export const RESOURCEQUOTAS = { group: "", version: "v1", resource: "resourcequotas" } as const;
const ABSENT_RECHECK_MS = 60_000;

/** Upstream's --resource-quota-sync-period: every quota is recounted this often anyway. */
const RESYNC_MS = 5 * 60_000;

function sameUsage(a: Usage, b: Usage): boolean {
  return a.size === b.size && [...a].every(([k, q]) => b.get(k)?.cmp(q) === 0);
}

/** The controller has not yet recorded the spec's limits, or a usage for each. */
function statusIncomplete(q: KubeObject): boolean {
  const hard: Record<string, string> = q.spec?.hard ?? {};
  return !sameList(q.status?.hard, hard) || Object.keys(hard).some((k) => q.status?.used?.[k] === undefined);
}

/** Resource lists compare by content, whatever order the server keeps their keys in. */
function sameList(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a?.[k] === b[k]);
}

type KindState = { informer: SharedIndexInformer } | { absentUntil: number } | { probing: true };

export async function startResourceQuotaController(ctx: ControllerContext, workers = 5): Promise<void> {
  const quotas = ctx.informers.forResource(RESOURCEQUOTAS);
  const queue = new WorkQueue<string>({ name: "resourcequota" });
  const kinds = new Map<string, KindState>();
  const client = ctx.client.resource(RESOURCEQUOTAS);

  const enqueueNamespace = (obj: KubeObject) => {
    for (const q of quotas.lister.list(undefined, obj.metadata?.namespace ?? "")) queue.add(objectKey(q));
  };
  // As upstream: a quota is recounted when its spec changes or its status lacks what the spec asks
  // for, not when only status.used moved. That is quota admission charging objects the informers
  // may not have seen yet, and a recount then would undo the charge and let the next create in.
  quotas.addEventHandler({
    onAdd: (q) => queue.add(objectKey(q)),
    onUpdate: (o, q) => {
      if (JSON.stringify(o.spec) !== JSON.stringify(q.spec) || statusIncomplete(q)) queue.add(objectKey(q));
    },
  });

  /** The informer for a kind once it is served and synced; undefined while unknown; null when not served. */
  const informerFor = (kind: ResourceKind, quotaKey: string): SharedIndexInformer | null | undefined => {
    const key = kindKey(kind);
    const state = kinds.get(key);
    if (state !== undefined && "informer" in state)
      return state.informer.hasSynced() ? state.informer : undefined;
    if (state !== undefined && "absentUntil" in state && Date.now() < state.absentUntil) return null;
    if (state !== undefined && "probing" in state) return undefined;
    kinds.set(key, { probing: true });
    void (async () => {
      try {
        await ctx.client.resource(kind).list({ limit: 1 });
        const informer = ctx.informers.forResource(kind);
        // Admission has charged what is added; a change that frees usage (a pod finishing, a
        // service losing its node ports) or a deletion needs a recount (upstream's replenishment).
        informer.addEventHandler({
          onUpdate: (o, n) => {
            if (!sameUsage(objectUsage(kind, o), objectUsage(kind, n))) enqueueNamespace(n);
          },
          onDelete: (o) => enqueueNamespace(deletedObject(o)),
        });
        kinds.set(key, { informer });
        ctx.informers.start();
        if (await informer.waitForSync(ctx.signal)) queue.add(quotaKey);
      } catch (err) {
        const served = !(isStatusError(err) && err.code === 404);
        if (served) ctx.log(`resourcequota: listing ${key}: ${(err as Error).message}`);
        kinds.set(key, { absentUntil: Date.now() + (served ? 1_000 : ABSENT_RECHECK_MS) });
        queue.add(quotaKey);
      }
    })();
    return undefined;
  };

  const reconcile = async (key: string): Promise<{ requeueAfterMs?: number } | undefined> => {
    const { namespace, name } = splitKey(key);
    const cached = quotas.lister.get(namespace, name);
    if (cached === undefined || cached.metadata?.deletionTimestamp) return undefined;
    const hard: Record<string, string> = { ...(cached.spec?.hard ?? {}) };
    const scopes: string[] = Array.isArray(cached.spec?.scopes) ? cached.spec.scopes : [];
    const unsupported = scopes.filter((s) => !supportedScopes.has(s));
    if (unsupported.length > 0 || cached.spec?.scopeSelector !== undefined) {
      ctx.log(`resourcequota ${key}: scopes ${unsupported.join(",") || "scopeSelector"} are not supported`);
      return undefined;
    }
    const counted = new Set<string>();
    const kindsNeeded = new Map<string, ResourceKind>();
    for (const resourceName of Object.keys(hard)) {
      const kind = kindForResourceName(resourceName);
      if (kind === undefined) continue;
      counted.add(resourceName);
      kindsNeeded.set(kindKey(kind), kind);
    }
    const usages: Usage[] = [];
    let waiting = false;
    let absent = false;
    for (const kind of kindsNeeded.values()) {
      const informer = informerFor(kind, key);
      if (informer === undefined) waiting = true;
      if (informer === null) absent = true;
      if (informer === null || informer === undefined) continue;
      for (const obj of informer.lister.list(undefined, namespace)) {
        if (kind.group === "" && kind.resource === "pods" && !podMatchesScopes(obj, scopes)) continue;
        usages.push(objectUsage(kind, obj));
      }
    }
    // Partial counts would under-report: wait until every kind is known.
    if (waiting) return { requeueAfterMs: 1_000 };
    const total = sumUsage(usages, counted);
    const used: Record<string, string> = {};
    for (const resourceName of [...counted].sort())
      used[resourceName] = total.get(resourceName)?.toString() ?? "0";
    const quota = structuredClone(cached);
    const status = { hard, used };
    // A kind not served now may be later (a new API): look again after a while.
    const recheck = { requeueAfterMs: absent ? ABSENT_RECHECK_MS : RESYNC_MS };
    if (sameList(quota.status?.hard, hard) && sameList(quota.status?.used, used)) return recheck;
    quota.status = status;
    await client.inNamespace(namespace).updateStatus(quota);
    return recheck;
  };

  ctx.signal.addEventListener("abort", () => queue.shutdown(), { once: true });
  void (async () => {
    if (!(await ctx.informers.waitForCacheSync(ctx.signal))) return;
    await runWorkers(queue, workers, reconcile, (key, err) =>
      ctx.log(`resourcequota ${key}: ${(err as Error).message}`),
    );
  })();
}
