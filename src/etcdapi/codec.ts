// Maps between the decoded protobuf objects (snake_case, int64 as decimal strings, bytes as
// Buffer, enums by PascalCase name or number) and the store's camelCase TypeScript shapes.
// Decoded messages come from the network: every field is read defensively.
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  Event,
  KeyValue,
  PutRequest,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  WatchFilter,
} from "../store/mvcc/types.js";
import type { ResponseHeader } from "../store/server/types.js";
import { enumNumber } from "./proto.js";

/** A decoded protobuf message: field name to value, nothing guaranteed. */
export type Wire = Record<string, unknown>;

const EMPTY = new Uint8Array(0);

export function bytesField(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

/** An int64 field (decimal string under longs: String) as a number; garbage reads as 0. */
export function intField(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

/** An int64/uint64 id field as a bigint. */
export function bigField(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}

export function boolField(v: unknown): boolean {
  return v === true;
}

export function wireField(v: unknown): Wire | undefined {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) ? (v as Wire) : undefined;
}

export function listField(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function optionalBytes(v: unknown): Uint8Array | undefined {
  const b = bytesField(v);
  return b.length === 0 ? undefined : b;
}

/** Thrown for enum values etcd does not define; mapped to InvalidArgument. */
export class BadEnumError extends Error {}

const SORT_ORDERS: readonly SortOrder[] = ["NONE", "ASCEND", "DESCEND"];
const SORT_TARGETS: readonly SortTarget[] = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"];
const COMPARE_RESULTS: readonly CompareResult[] = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"];
const COMPARE_TARGETS: readonly CompareTarget[] = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"];
const FILTERS: readonly WatchFilter[] = ["NOPUT", "NODELETE"];

const SORT_ORDER_NAMES = ["None", "Ascend", "Descend"];
const SORT_TARGET_NAMES = ["Key", "Version", "Create", "Mod", "Value"];
const COMPARE_RESULT_NAMES = ["Equal", "Greater", "Less", "NotEqual"];
const COMPARE_TARGET_NAMES = ["Version", "Create", "Mod", "Value", "Lease"];
const FILTER_NAMES = ["Noput", "Nodelete"];

function pick<T>(v: unknown, wireNames: readonly string[], values: readonly T[], what: string): T {
  const value = values[enumNumber(v ?? 0, wireNames)];
  if (value === undefined) throw new BadEnumError(`etcdserver: invalid ${what}`);
  return value;
}

// ---- requests ----

export function rangeRequest(w: Wire): RangeRequest {
  return {
    key: bytesField(w.key),
    rangeEnd: optionalBytes(w.range_end),
    limit: intField(w.limit),
    revision: intField(w.revision),
    sortOrder: pick(w.sort_order, SORT_ORDER_NAMES, SORT_ORDERS, "sort option"),
    sortTarget: pick(w.sort_target, SORT_TARGET_NAMES, SORT_TARGETS, "sort option"),
    serializable: boolField(w.serializable),
    keysOnly: boolField(w.keys_only),
    countOnly: boolField(w.count_only),
    minModRevision: intField(w.min_mod_revision),
    maxModRevision: intField(w.max_mod_revision),
    minCreateRevision: intField(w.min_create_revision),
    maxCreateRevision: intField(w.max_create_revision),
  };
}

export function putRequest(w: Wire): PutRequest {
  return {
    key: bytesField(w.key),
    value: bytesField(w.value),
    lease: bigField(w.lease),
    prevKv: boolField(w.prev_kv),
    ignoreValue: boolField(w.ignore_value),
    ignoreLease: boolField(w.ignore_lease),
  };
}

export function deleteRangeRequest(w: Wire): DeleteRangeRequest {
  return { key: bytesField(w.key), rangeEnd: optionalBytes(w.range_end), prevKv: boolField(w.prev_kv) };
}

export function compare(w: Wire): Compare {
  const c: Compare = {
    result: pick(w.result, COMPARE_RESULT_NAMES, COMPARE_RESULTS, "compare result"),
    target: pick(w.target, COMPARE_TARGET_NAMES, COMPARE_TARGETS, "compare target"),
    key: bytesField(w.key),
    rangeEnd: optionalBytes(w.range_end),
  };
  switch (c.target) {
    case "VERSION":
      c.version = intField(w.version);
      break;
    case "CREATE":
      c.createRevision = intField(w.create_revision);
      break;
    case "MOD":
      c.modRevision = intField(w.mod_revision);
      break;
    case "VALUE":
      c.value = bytesField(w.value);
      break;
    case "LEASE":
      c.lease = bigField(w.lease);
      break;
  }
  return c;
}

/** An op with no request set stays empty: validation rejects it as etcd does ("key not found"). */
export function requestOp(w: Wire): RequestOp {
  const range = wireField(w.request_range);
  if (range) return { requestRange: rangeRequest(range) };
  const put = wireField(w.request_put);
  if (put) return { requestPut: putRequest(put) };
  const del = wireField(w.request_delete_range);
  if (del) return { requestDeleteRange: deleteRangeRequest(del) };
  const txn = wireField(w.request_txn);
  if (txn) return { requestTxn: txnRequest(txn) };
  return {};
}

export function txnRequest(w: Wire): TxnRequest {
  const ops = (v: unknown) => listField(v).map((o) => requestOp(wireField(o) ?? {}));
  return {
    compare: listField(w.compare).map((c) => compare(wireField(c) ?? {})),
    success: ops(w.success),
    failure: ops(w.failure),
  };
}

export function watchFilters(v: unknown): WatchFilter[] {
  // etcd ignores filter values it does not know.
  const out: WatchFilter[] = [];
  for (const f of listField(v)) {
    const filter = FILTERS[enumNumber(f, FILTER_NAMES)];
    if (filter !== undefined) out.push(filter);
  }
  return out;
}

// ---- responses ----

export function header(h: ResponseHeader): Wire {
  return {
    cluster_id: h.clusterId.toString(),
    member_id: h.memberId.toString(),
    revision: String(h.revision),
    raft_term: String(h.raftTerm),
  };
}

/** The header etcd puts on responses nested in a txn: only the revision. */
function revisionHeader(revision: number): Wire {
  return { revision: String(revision) };
}

export function keyValue(kv: KeyValue): Wire {
  return {
    key: kv.key,
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: kv.value,
    lease: kv.lease.toString(),
  };
}

export function event(e: Event): Wire {
  const out: Wire = { type: e.type === "PUT" ? 0 : 1, kv: keyValue(e.kv) };
  if (e.prevKv) out.prev_kv = keyValue(e.prevKv);
  return out;
}

export function rangeBody(r: Omit<RangeResponse, "revision">): Wire {
  return { kvs: r.kvs.map(keyValue), more: r.more, count: String(r.count) };
}

export function responseOp(op: ResponseOp): Wire {
  if (op.responseRange) {
    return {
      response_range: { header: revisionHeader(op.responseRange.revision), ...rangeBody(op.responseRange) },
    };
  }
  if (op.responsePut) {
    const p = op.responsePut;
    return {
      response_put: { header: revisionHeader(p.revision), prev_kv: p.prevKv ? keyValue(p.prevKv) : null },
    };
  }
  if (op.responseDeleteRange) {
    const d = op.responseDeleteRange;
    return {
      response_delete_range: {
        header: revisionHeader(d.revision),
        deleted: String(d.deleted),
        prev_kvs: d.prevKvs.map(keyValue),
      },
    };
  }
  if (op.responseTxn) {
    const t = op.responseTxn;
    return {
      response_txn: {
        header: revisionHeader(t.revision),
        succeeded: t.succeeded,
        responses: t.responses.map(responseOp),
      },
    };
  }
  return {};
}
