// The garbage collector's two loops over the dependency graph, as upstream's attemptToDelete and
// attemptToOrphan workers. attemptToDelete: an object whose owners are all gone (checked with a
// live GET, never the cache alone) is deleted; an owner being deleted in the foreground has its
// blocking dependents deleted (in the foreground too when they own others) and loses its
// foregroundDeletion finalizer once none is left. attemptToOrphan: an owner deleted with the
// orphan policy has its ownerReference removed from every dependent, then its orphan finalizer.
import { isStatusError, type KubeObject, type OwnerReference } from "../../api/index.js";
import type { RestClient } from "../../client/index.js";
import type { DiscoveredResource } from "./discovery.js";
import {
  type DependencyGraph,
  FOREGROUND_FINALIZER,
  type GraphNode,
  isDeletingDependents,
  ORPHAN_FINALIZER,
} from "./graph.js";

export class UnknownOwnerKindError extends Error {}

function notFound(err: unknown): boolean {
  return isStatusError(err) && err.code === 404;
}

export class Collector {
  constructor(
    private readonly client: RestClient,
    private readonly graph: DependencyGraph,
    /** "group/Kind" → resource */
    private readonly kinds: Map<string, DiscoveredResource>,
    private readonly log: (message: string) => void,
  ) {}

  private async getLive(
    n: Pick<GraphNode, "gvr" | "namespace" | "name" | "uid">,
  ): Promise<KubeObject | undefined> {
    try {
      const obj = await this.client.resource(n.gvr, n.namespace || undefined).get(n.name);
      return obj.metadata?.uid === n.uid ? obj : undefined;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** The owner as the apiserver has it now, or undefined when it is gone (or replaced by another uid). */
  private async liveOwner(dependent: GraphNode, ref: OwnerReference): Promise<KubeObject | undefined> {
    const group = ref.apiVersion.includes("/") ? ref.apiVersion.slice(0, ref.apiVersion.indexOf("/")) : "";
    const r = this.kinds.get(`${group}/${ref.kind}`);
    if (r === undefined)
      throw new UnknownOwnerKindError(`owner kind ${ref.apiVersion} ${ref.kind} is not served`);
    return this.getLive({
      gvr: r.gvr,
      namespace: r.namespaced ? dependent.namespace : "",
      name: ref.name,
      uid: ref.uid,
    });
  }

  async attemptToDelete(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (node === undefined) return;
    if (isDeletingDependents(node)) return this.processDeletingDependents(node);
    if (node.deleting || node.owners.length === 0) return;
    // Owners the cache holds, none deleting its dependents: nothing to do, no need to ask the apiserver.
    const settled = node.owners.every((o) => {
      const owner = this.graph.get(o.uid);
      return owner !== undefined && !isDeletingDependents(owner);
    });
    if (settled) return;
    const live = await this.getLive(node);
    if (live === undefined || live.metadata?.deletionTimestamp) return;
    const refs = live.metadata?.ownerReferences ?? [];
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      // A present owner in the cache is trusted; an absent one is confirmed with the apiserver.
      const cached = this.graph.get(ref.uid);
      if (cached !== undefined) {
        (isDeletingDependents(cached) ? waiting : solid).push(ref);
        continue;
      }
      const owner = await this.liveOwner(node, ref);
      if (owner === undefined) dangling.push(ref);
      else (isForeground(owner) ? waiting : solid).push(ref);
    }
    const rc = this.client.resource(node.gvr, node.namespace || undefined);
    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      // Keep the object for its live owners; drop dead references and stop blocking deleting owners.
      const gone = new Set(dangling.map((r) => r.uid));
      const unblock = new Set(waiting.map((r) => r.uid));
      const ownerReferences = refs
        .filter((r) => !gone.has(r.uid))
        .map((r) => (unblock.has(r.uid) ? { ...r, blockOwnerDeletion: false } : r));
      await rc.update({ ...live, metadata: { ...live.metadata, ownerReferences } });
      return;
    }
    const foreground = waiting.length > 0 && this.graph.dependentsOf(uid).length > 0;
    this.log(`deleting ${node.gvr.resource} ${node.namespace}/${node.name}: no owner left`);
    try {
      await rc.delete(node.name, {
        propagationPolicy: foreground ? "Foreground" : "Background",
        preconditions: { uid },
      });
    } catch (err) {
      // A conflict (another writer, or the uid precondition) is retried: the retry reads the object afresh.
      if (!notFound(err)) throw err;
    }
  }

  /** An owner deleted in the foreground: its dependents go first, then its finalizer. */
  private async processDeletingDependents(owner: GraphNode): Promise<void> {
    if (this.graph.blockingDependentsOf(owner.uid).length > 0) return;
    await this.removeFinalizer(owner, FOREGROUND_FINALIZER);
  }

  async attemptToOrphan(uid: string): Promise<void> {
    const owner = this.graph.get(uid);
    if (owner === undefined || !owner.deleting || !owner.finalizers.includes(ORPHAN_FINALIZER)) return;
    for (const dep of this.graph.dependentsOf(uid)) {
      const live = await this.getLive(dep);
      if (live === undefined) continue;
      const refs = live.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === uid)) continue;
      const ownerReferences = refs.filter((r) => r.uid !== uid);
      const { ownerReferences: _dropped, ...rest } = live.metadata ?? {};
      const metadata = ownerReferences.length === 0 ? rest : { ...rest, ownerReferences };
      try {
        await this.client.resource(dep.gvr, dep.namespace || undefined).update({ ...live, metadata });
      } catch (err) {
        if (!notFound(err)) throw err;
      }
    }
    await this.removeFinalizer(owner, ORPHAN_FINALIZER);
  }

  private async removeFinalizer(n: GraphNode, finalizer: string): Promise<void> {
    const live = await this.getLive(n);
    const finalizers = live?.metadata?.finalizers ?? [];
    if (live === undefined || !finalizers.includes(finalizer)) return;
    try {
      await this.client.resource(n.gvr, n.namespace || undefined).update({
        ...live,
        metadata: { ...live.metadata, finalizers: finalizers.filter((f) => f !== finalizer) },
      });
    } catch (err) {
      if (!notFound(err)) throw err;
    }
  }
}

function isForeground(obj: KubeObject): boolean {
  return (
    Boolean(obj.metadata?.deletionTimestamp) &&
    (obj.metadata?.finalizers ?? []).includes(FOREGROUND_FINALIZER)
  );
}
