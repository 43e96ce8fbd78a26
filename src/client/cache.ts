// The informer's local store: objects by key ("namespace/name", or "name" when cluster-scoped) with
// secondary indexes (namespace built in; callers add others such as spec.nodeName), and a Lister
// reading it. Objects handed out are the cached ones and must not be changed by callers: copy first
// (structuredClone) before modifying.
import type { KubeObject, Selector } from "../api/index.js";

/** The values an object is indexed under (may be several, or none). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

export const NAMESPACE_INDEX = "namespace";

export function namespaceIndexFunc(obj: KubeObject): string[] {
  return [obj.metadata?.namespace ?? ""];
}

/** client-go's MetaNamespaceKeyFunc. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? "";
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key back into namespace ("" when cluster-scoped) and name. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0
    ? { namespace: "", name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export class Indexer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexFuncs = new Map<string, IndexFunc<T>>();
  /** index name → value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexers({ [NAMESPACE_INDEX]: namespaceIndexFunc, ...indexers });
  }

  /** Adds indexes; existing objects are indexed at once. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexFuncs.has(name)) throw new Error(`index ${JSON.stringify(name)} already exists`);
      this.indexFuncs.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      for (const [key, obj] of this.items) this.indexOne(index, fn, key, obj);
    }
  }

  private indexOne(index: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const value of fn(obj)) {
      let keys = index.get(value);
      if (keys === undefined) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexFuncs) {
      const index = this.indices.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  /** Adds or replaces the object; returns the one it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old !== undefined) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexFuncs) this.indexOne(this.indices.get(name)!, fn, key, obj);
    return old;
  }

  /** Removes the object under key; returns it. */
  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  list(): T[] {
    return [...this.items.values()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (index === undefined) throw new Error(`no index named ${JSON.stringify(name)}`);
    const out: T[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.items.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /** The values index `name` currently holds. */
  indexValues(name: string): string[] {
    const index = this.indices.get(name);
    if (index === undefined) throw new Error(`no index named ${JSON.stringify(name)}`);
    return [...index.keys()];
  }
}

/** Read access to an informer's cache, as client-go's generated listers. */
export class Lister<T extends KubeObject = KubeObject> {
  constructor(private readonly indexer: Indexer<T>) {}

  /** Objects matching the label selector (all when omitted), in one namespace when given. */
  list(selector?: Selector, namespace?: string): T[] {
    const pool =
      namespace === undefined ? this.indexer.list() : this.indexer.byIndex(NAMESPACE_INDEX, namespace);
    if (selector === undefined || selector.isEmpty()) return pool;
    return pool.filter((o) => selector.matches(o.metadata?.labels));
  }

  /** The object, or undefined; cluster-scoped objects use namespace "". */
  get(namespace: string, name: string): T | undefined {
    return this.indexer.get(namespace === "" ? name : `${namespace}/${name}`);
  }

  byIndex(name: string, value: string): T[] {
    return this.indexer.byIndex(name, value);
  }
}
