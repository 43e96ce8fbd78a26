// Reads against the key index at a revision: Range (etcd's applierV3backend.Range semantics) and
// txn compares.
import { type KeyIndex, rangeBounds } from "./keyindex.js";
import {
  type Bytes,
  type Compare,
  type KeyValue,
  MvccError,
  type RangeRequest,
  type RangeResponse,
} from "./types.js";

const EMPTY = Buffer.alloc(0);

/** Calls visit for every key live at rev in the etcd-encoded range, in key order, until it returns false. */
export function visitAt(
  index: KeyIndex,
  key: Bytes,
  rangeEnd: Bytes | undefined,
  rev: number,
  visit: (kv: KeyValue) => boolean | undefined,
): void {
  const { lo, hi } = rangeBounds(key, rangeEnd);
  if (hi === null) {
    const kv = index.get(lo)?.at(rev);
    if (kv !== undefined) visit(kv);
    return;
  }
  index.scan(lo, hi, (h) => {
    const kv = h.at(rev);
    return kv === undefined ? true : visit(kv);
  });
}

/** Resolves the revision a read asks for, throwing as etcd's rangeKeys does. */
export function resolveReadRev(
  requested: number | undefined,
  currentRev: number,
  compactRev: number,
): number {
  const rev = requested ?? 0;
  if (rev > currentRev) throw new MvccError("FUTURE_REV");
  const at = rev <= 0 ? currentRev : rev;
  if (at < compactRev) throw new MvccError("COMPACTED");
  return at;
}

export function rangeAt(
  index: KeyIndex,
  r: RangeRequest,
  currentRev: number,
  compactRev: number,
): RangeResponse {
  const rev = resolveReadRev(r.revision, currentRev, compactRev);
  if (r.countOnly) {
    let count = 0;
    visitAt(index, r.key, r.rangeEnd, rev, () => {
      count++;
      return true;
    });
    return { revision: currentRev, kvs: [], more: false, count };
  }
  const limit = r.limit !== undefined && r.limit > 0 ? r.limit : 0;
  const sortTarget = r.sortTarget ?? "KEY";
  let sortOrder = r.sortOrder ?? "NONE";
  // etcd: results come key-ascending, so NONE only means ASCEND for non-key targets.
  if (sortTarget !== "KEY" && sortOrder === "NONE") sortOrder = "ASCEND";
  const filtered = !!(r.minModRevision || r.maxModRevision || r.minCreateRevision || r.maxCreateRevision);
  // Without sorting or filtering, one extra kv is enough to know whether there is more.
  const fetch = sortOrder !== "NONE" || filtered || limit === 0 ? Number.POSITIVE_INFINITY : limit + 1;

  let kvs: KeyValue[] = [];
  let count = 0;
  visitAt(index, r.key, r.rangeEnd, rev, (kv) => {
    if (kvs.length < fetch) kvs.push(kv);
    count++;
    return true;
  });
  if (filtered) {
    const { minModRevision: minMod, maxModRevision: maxMod } = r;
    const { minCreateRevision: minCreate, maxCreateRevision: maxCreate } = r;
    kvs = kvs.filter(
      (kv) =>
        !(maxMod && kv.modRevision > maxMod) &&
        !(minMod && kv.modRevision < minMod) &&
        !(maxCreate && kv.createRevision > maxCreate) &&
        !(minCreate && kv.createRevision < minCreate),
    );
  }
  if (sortOrder !== "NONE") sortKvs(kvs, sortTarget, sortOrder === "DESCEND");
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs.length = limit;
    more = true;
  }
  if (r.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { revision: currentRev, kvs, more, count };
}

function sortKvs(kvs: KeyValue[], target: string, descend: boolean): void {
  let cmp: (a: KeyValue, b: KeyValue) => number;
  switch (target) {
    case "VERSION":
      cmp = (a, b) => a.version - b.version;
      break;
    case "CREATE":
      cmp = (a, b) => a.createRevision - b.createRevision;
      break;
    case "MOD":
      cmp = (a, b) => a.modRevision - b.modRevision;
      break;
    case "VALUE":
      cmp = (a, b) => Buffer.compare(a.value, b.value);
      break;
    default:
      // Already in ascending key order.
      if (descend) kvs.reverse();
      return;
  }
  const order = descend ? -1 : 1;
  // Stable: ties keep ascending key order.
  kvs.sort((a, b) => order * cmp(a, b));
}

/** etcd's applyCompare: every key in range must satisfy; a missing key compares as zero values, except VALUE fails. */
export function compareHolds(index: KeyIndex, c: Compare, rev: number): boolean {
  let any = false;
  let ok = true;
  visitAt(index, c.key, c.rangeEnd, rev, (kv) => {
    any = true;
    ok = compareKv(c, kv);
    return ok;
  });
  if (any) return ok;
  if (c.target === "VALUE") return false;
  return compareKv(c, undefined);
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let result: number;
  switch (c.target) {
    case "VALUE":
      result = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY);
      break;
    case "CREATE":
      result = Math.sign((kv?.createRevision ?? 0) - (c.createRevision ?? 0));
      break;
    case "MOD":
      result = Math.sign((kv?.modRevision ?? 0) - (c.modRevision ?? 0));
      break;
    case "VERSION":
      result = Math.sign((kv?.version ?? 0) - (c.version ?? 0));
      break;
    case "LEASE": {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      result = a < b ? -1 : a > b ? 1 : 0;
      break;
    }
    default:
      throw new MvccError("BAD_REQUEST", `unknown compare target ${String(c.target)}`);
  }
  switch (c.result) {
    case "EQUAL":
      return result === 0;
    case "NOT_EQUAL":
      return result !== 0;
    case "GREATER":
      return result > 0;
    case "LESS":
      return result < 0;
    default:
      throw new MvccError("BAD_REQUEST", `unknown compare result ${String(c.result)}`);
  }
}
