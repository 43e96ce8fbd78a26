// The current objects of one watch cache: ordered by key (so a namespace is a key range) and,
// for kinds with spec.nodeName, indexed by node, so a kubelet's list of its pods touches only them.
import sortedBtree from "sorted-btree";
import type { KubeObject } from "../../api/index.js";
import type { ListResult } from "../types.js";
import { encodeContinue } from "./keys.js";
import type { Predicate } from "./predicate.js";

const BTree = sortedBtree.default;
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
export const NODE_FIELD = "spec.nodeName";

export class ObjectIndex {
  private readonly byKey = new BTree<string, KubeObject>(undefined, compareKeys);
  private readonly byNode = new Map<string, Set<string>>();

  constructor(readonly nodeIndexed: boolean) {}

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): KubeObject | undefined {
    return this.byKey.get(key);
  }

  /** The node an object is indexed under ("" when unscheduled); undefined for kinds without nodes. */
  nodeOf(obj: KubeObject): string | undefined {
    if (!this.nodeIndexed) return undefined;
    const node = obj.spec?.nodeName;
    return typeof node === "string" ? node : "";
  }

  set(key: string, obj: KubeObject): void {
    this.delete(key);
    this.byKey.set(key, obj);
    const node = this.nodeOf(obj);
    if (node === undefined) return;
    let keys = this.byNode.get(node);
    if (!keys) this.byNode.set(node, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.byKey.delete(key);
    const node = this.nodeOf(old);
    if (node === undefined) return;
    const keys = this.byNode.get(node);
    keys?.delete(key);
    if (keys?.size === 0) this.byNode.delete(node);
  }

  /** The objects matching `pred` under `keyPrefix` in key order, optionally only after key `after`. */
  *matching(pred: Predicate, keyPrefix: string, after?: string): Iterable<[string, KubeObject]> {
    const node = this.nodeIndexed ? pred.exactField(NODE_FIELD) : undefined;
    if (node !== undefined) {
      const keys = [...(this.byNode.get(node) ?? [])].filter(
        (k) => k.startsWith(keyPrefix) && (after === undefined || k > after),
      );
      for (const key of keys.sort(compareKeys)) {
        const obj = this.byKey.get(key);
        if (obj && pred.matches(obj)) yield [key, obj];
      }
      return;
    }
    for (const [key, obj] of this.byKey.entries(after ?? keyPrefix)) {
      if (!key.startsWith(keyPrefix)) return;
      if (after !== undefined && key === after) continue;
      if (pred.matches(obj)) yield [key, obj];
    }
  }

  /** A page at revision `rv`; items are copies the caller may change. */
  list(pred: Predicate, keyPrefix: string, limit: number | undefined, rv: number): ListResult {
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (const [key, obj] of this.matching(pred, keyPrefix)) {
      if (limit && items.length === limit) {
        more = true;
        break;
      }
      items.push(structuredClone(obj));
      lastKey = key;
    }
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (more && lastKey !== undefined) {
      result.continue = encodeContinue(`${lastKey}\u0000`, keyPrefix, rv);
      if (pred.selectsAll) {
        let remaining = 0;
        for (const _ of this.matching(pred, keyPrefix, lastKey)) remaining++;
        result.remainingItemCount = remaining;
      }
    }
    return result;
  }
}
