// etcd's KV semantics as a pure sequential function: Range, Put, DeleteRange and Txn on an
// immutable state, with revisions as etcd assigns them. Every write that changes something bumps
// the store revision by one; a write that changes nothing (delete of a missing key, read-only
// txn) does not. States carry an incremental hash so the checker can compare them cheaply.

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

/** A single-key get, or with prefix: true every key starting with `key`. */
export interface GetRequest {
  type: "get";
  key: string;
  prefix?: boolean;
}
export interface PutRequest {
  type: "put";
  key: string;
  value: string;
}
export interface DeleteRequest {
  type: "delete";
  key: string;
  prefix?: boolean;
}
export interface Compare {
  key: string;
  target: "value" | "version" | "create" | "mod";
  op: "=" | "!=" | "<" | ">";
  /** A string for target "value", a number otherwise. */
  value: string | number;
}
export type TxnOp = GetRequest | PutRequest | DeleteRequest;
export interface TxnRequest {
  type: "txn";
  compare: Compare[];
  success: TxnOp[];
  failure: TxnOp[];
}
export type EtcdRequest = GetRequest | PutRequest | DeleteRequest | TxnRequest;

/** kvs are sorted by key, as etcd returns them. */
export type TxnOpResult =
  | { type: "get"; kvs: KeyValue[] }
  | { type: "put" }
  | { type: "delete"; deleted: number };
export type EtcdResponse =
  | { type: "get"; revision: number; kvs: KeyValue[] }
  | { type: "put"; revision: number }
  | { type: "delete"; revision: number; deleted: number }
  | { type: "txn"; revision: number; succeeded: boolean; results: TxnOpResult[] };

type KeyMeta = Omit<KeyValue, "key">;

export interface EtcdState {
  readonly revision: number;
  readonly kvs: ReadonlyMap<string, Readonly<KeyMeta>>;
  /** Order-independent hash of revision and contents, kept up to date on every write. */
  readonly hash: number;
}

export interface EtcdModelOptions {
  /** Store revision before the history starts; a fresh etcd cluster is at revision 1. */
  revision?: number;
  /** Keys that exist before the history starts. */
  kvs?: KeyValue[];
}

export function initialEtcdState(options: EtcdModelOptions = {}): EtcdState {
  const revision = options.revision ?? 1;
  const kvs = new Map<string, KeyMeta>();
  let contents = 0;
  for (const { key, ...meta } of options.kvs ?? []) {
    if (meta.modRevision > revision)
      throw new Error(`initial key ${key} has modRevision above the initial revision`);
    if (kvs.has(key)) throw new Error(`initial key ${key} is listed twice`);
    kvs.set(key, meta);
    contents = (contents + entryHash(key, meta)) >>> 0;
  }
  return { revision, kvs, hash: withRevision(contents, revision) };
}

/** Applies one request to one state, as etcd would, returning the new state and etcd's response. */
export function applyRequest(
  state: EtcdState,
  request: EtcdRequest,
): { state: EtcdState; response: EtcdResponse } {
  switch (request.type) {
    case "get":
      return { state, response: { type: "get", revision: state.revision, kvs: range(state.kvs, request) } };
    case "put":
    case "delete": {
      const { state: next, results } = applyOps(state, [request]);
      const result = results[0] as TxnOpResult;
      const response: EtcdResponse =
        result.type === "delete"
          ? { type: "delete", revision: next.revision, deleted: result.deleted }
          : { type: "put", revision: next.revision };
      return { state: next, response };
    }
    case "txn": {
      const succeeded = request.compare.every((c) => evaluateCompare(state, c));
      const { state: next, results } = applyOps(state, succeeded ? request.success : request.failure);
      return { state: next, response: { type: "txn", revision: next.revision, succeeded, results } };
    }
  }
}

/** All ops of one request share a revision: state.revision + 1 if any of them changed something. */
function applyOps(state: EtcdState, ops: readonly TxnOp[]): { state: EtcdState; results: TxnOpResult[] } {
  const writeRevision = state.revision + 1;
  let kvs: Map<string, KeyMeta> | undefined;
  let contents = withRevision(state.hash, state.revision); // undoes the revision mix
  const results: TxnOpResult[] = [];
  for (const op of ops) {
    const current = kvs ?? state.kvs;
    if (op.type === "get") {
      results.push({ type: "get", kvs: range(current, op) });
    } else if (op.type === "put") {
      kvs ??= new Map(state.kvs);
      const old = kvs.get(op.key);
      const meta = {
        value: op.value,
        createRevision: old ? old.createRevision : writeRevision,
        modRevision: writeRevision,
        version: old ? old.version + 1 : 1,
      };
      if (old) contents = (contents - entryHash(op.key, old)) >>> 0;
      kvs.set(op.key, meta);
      contents = (contents + entryHash(op.key, meta)) >>> 0;
      results.push({ type: "put" });
    } else {
      const doomed = [...current.keys()].filter((k) => matchesKey(k, op));
      if (doomed.length > 0) {
        kvs ??= new Map(state.kvs);
        for (const k of doomed) {
          contents = (contents - entryHash(k, kvs.get(k) as KeyMeta)) >>> 0;
          kvs.delete(k);
        }
      }
      results.push({ type: "delete", deleted: doomed.length });
    }
  }
  const next = kvs ? { revision: writeRevision, kvs, hash: withRevision(contents, writeRevision) } : state;
  return { state: next, results };
}

function matchesKey(key: string, request: GetRequest | DeleteRequest): boolean {
  return request.prefix ? key.startsWith(request.key) : key === request.key;
}

function range(kvs: ReadonlyMap<string, KeyMeta>, request: GetRequest): KeyValue[] {
  if (!request.prefix) {
    const meta = kvs.get(request.key);
    return meta ? [{ key: request.key, ...meta }] : [];
  }
  const found: KeyValue[] = [];
  for (const [key, meta] of kvs) if (key.startsWith(request.key)) found.push({ key, ...meta });
  return found.sort((a, b) => compareBytes(a.key, b.key));
}

/** etcd compares bytes; a value compare on a missing key always fails, other targets read as 0. */
export function evaluateCompare(state: EtcdState, c: Compare): boolean {
  const meta = state.kvs.get(c.key);
  let order: number;
  if (c.target === "value") {
    if (!meta) return false;
    order = compareBytes(meta.value, String(c.value));
  } else {
    const field =
      c.target === "version" ? "version" : c.target === "create" ? "createRevision" : "modRevision";
    order = Math.sign((meta ? meta[field] : 0) - Number(c.value));
  }
  switch (c.op) {
    case "=":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case ">":
      return order > 0;
  }
}

function compareBytes(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function responsesEqual(a: EtcdResponse, b: EtcdResponse): boolean {
  if (a.type !== b.type || a.revision !== b.revision) return false;
  switch (a.type) {
    case "get":
      return kvsEqual(a.kvs, (b as typeof a).kvs);
    case "put":
      return true;
    case "delete":
      return a.deleted === (b as typeof a).deleted;
    case "txn": {
      const other = b as typeof a;
      return (
        a.succeeded === other.succeeded &&
        a.results.length === other.results.length &&
        a.results.every((r, i) => opResultsEqual(r, other.results[i] as TxnOpResult))
      );
    }
  }
}

function opResultsEqual(a: TxnOpResult, b: TxnOpResult): boolean {
  if (a.type !== b.type) return false;
  if (a.type === "get") return kvsEqual(a.kvs, (b as typeof a).kvs);
  if (a.type === "delete") return a.deleted === (b as typeof a).deleted;
  return true;
}

function kvsEqual(a: readonly KeyValue[], b: readonly KeyValue[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i] as KeyValue;
      return (
        x.key === y.key &&
        x.value === y.value &&
        x.modRevision === y.modRevision &&
        x.createRevision === y.createRevision &&
        x.version === y.version
      );
    })
  );
}

export function isReadOnly(request: EtcdRequest): boolean {
  if (request.type === "get") return true;
  if (request.type !== "txn") return false;
  return [...request.success, ...request.failure].every((op) => op.type === "get");
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function mix(h: number): number {
  let z = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** One key's share of a state hash; a state's contents hash is the sum of its entries'. */
function entryHash(key: string, m: KeyMeta): number {
  return mix(
    hashString(key) ^
      mix(
        hashString(m.value) +
          Math.imul(m.createRevision, 0x9e3779b1) +
          Math.imul(m.modRevision, 0x85ebca77) +
          m.version,
      ),
  );
}

/** XOR with a revision-derived mask: applying it twice gives back the contents hash. */
function withRevision(contents: number, revision: number): number {
  return (contents ^ mix(revision + 0x632be5ab)) >>> 0;
}

export function statesEqual(a: EtcdState, b: EtcdState): boolean {
  if (a === b) return true;
  if (a.hash !== b.hash || a.revision !== b.revision || a.kvs.size !== b.kvs.size) return false;
  for (const [key, m] of a.kvs) {
    const o = b.kvs.get(key);
    if (
      !o ||
      o.value !== m.value ||
      o.modRevision !== m.modRevision ||
      o.createRevision !== m.createRevision ||
      o.version !== m.version
    ) {
      return false;
    }
  }
  return true;
}
