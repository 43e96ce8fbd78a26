// The garbage collector's dependency graph: every object the collector watches, by uid, with the
// owners it names, and for every owner uid (present or not) the uids of the objects naming it.
// It is rebuilt from the informers after a restart, so it holds nothing that cannot be recomputed.
import type { KubeObject, OwnerReference } from "../../api/index.js";
import type { GroupVersionResource } from "../../client/index.js";

export const FOREGROUND_FINALIZER = "foregroundDeletion";
export const ORPHAN_FINALIZER = "orphan";

export interface GraphNode {
  uid: string;
  gvr: GroupVersionResource;
  namespace: string;
  name: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

export function nodeOf(gvr: GroupVersionResource, obj: KubeObject): GraphNode {
  const m = obj.metadata ?? {};
  return {
    uid: m.uid ?? "",
    gvr,
    namespace: m.namespace ?? "",
    name: m.name ?? "",
    owners: m.ownerReferences ?? [],
    deleting: Boolean(m.deletionTimestamp),
    finalizers: m.finalizers ?? [],
  };
}

/** Being deleted in the foreground: the owner waits for its blocking dependents. */
export function isDeletingDependents(n: GraphNode): boolean {
  return n.deleting && n.finalizers.includes(FOREGROUND_FINALIZER);
}

export function isOrphaning(n: GraphNode): boolean {
  return n.deleting && n.finalizers.includes(ORPHAN_FINALIZER);
}

export class DependencyGraph {
  private readonly nodes = new Map<string, GraphNode>();
  /** owner uid → dependent uids */
  private readonly dependents = new Map<string, Set<string>>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** Adds or replaces the node; returns the previous version. */
  upsert(node: GraphNode): GraphNode | undefined {
    const old = this.nodes.get(node.uid);
    if (old !== undefined) for (const o of old.owners) this.unlink(o.uid, node.uid);
    this.nodes.set(node.uid, node);
    for (const o of node.owners) {
      let set = this.dependents.get(o.uid);
      if (set === undefined) this.dependents.set(o.uid, (set = new Set()));
      set.add(node.uid);
    }
    return old;
  }

  remove(uid: string): GraphNode | undefined {
    const old = this.nodes.get(uid);
    if (old === undefined) return undefined;
    for (const o of old.owners) this.unlink(o.uid, uid);
    this.nodes.delete(uid);
    return old;
  }

  private unlink(owner: string, dependent: string): void {
    const set = this.dependents.get(owner);
    set?.delete(dependent);
    if (set?.size === 0) this.dependents.delete(owner);
  }

  /** The present objects naming `owner` among their owners. */
  dependentsOf(owner: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependents.get(owner) ?? []) {
      const n = this.nodes.get(uid);
      if (n !== undefined) out.push(n);
    }
    return out;
  }

  /** Dependents whose reference to `owner` has blockOwnerDeletion set. */
  blockingDependentsOf(owner: string): GraphNode[] {
    return this.dependentsOf(owner).filter((d) =>
      d.owners.some((o) => o.uid === owner && o.blockOwnerDeletion === true),
    );
  }

  get size(): number {
    return this.nodes.size;
  }
}
