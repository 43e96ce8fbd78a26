// Lists read straight from etcd at one revision, paged as upstream's etcd3 store pages: filter
// each page, fetch more (doubling up to 10000 keys) until `limit` objects matched, and hand out
// a continue token for the next key at the same revision.
import { internalError, type KubeObject, resourceExpired } from "../../api/index.js";
import type { ListResult } from "../types.js";
import { continueExpired, LIST_EXPIRED_MESSAGE, storageError, tooLargeResourceVersion } from "./errors.js";
import { type EtcdKv, isCompacted, isFutureRevision, type KeyValue, prefixEnd } from "./etcd-client.js";
import { decodeKv, encodeContinue } from "./keys.js";
import type { Predicate } from "./predicate.js";

const MAX_PAGE = 10_000;

export interface EtcdListRequest {
  /** Every key of the list starts with this (ends with "/"). */
  keyPrefix: string;
  predicate: Predicate;
  /** 0 or undefined: no limit. */
  limit?: number;
  /** Resume here (from a continue token) instead of at keyPrefix. */
  startKey?: string;
  /** 0 = the latest revision. */
  revision: number;
  /** Set when the request came with a continue token, for the 410 it gets when compacted. */
  fromContinue?: boolean;
}

function decodeOrFail(kv: KeyValue): KubeObject {
  try {
    return decodeKv(kv);
  } catch (err) {
    throw internalError(`unable to decode ${kv.key.toString("utf8")}: ${(err as Error).message}`);
  }
}

export async function listFromEtcd(client: EtcdKv, req: EtcdListRequest): Promise<ListResult> {
  try {
    return await pagedRange(client, req);
  } catch (err) {
    if (isCompacted(err)) {
      if (!req.fromContinue || req.startKey === undefined) throw resourceExpired(LIST_EXPIRED_MESSAGE);
      throw continueExpired(encodeContinue(req.startKey, req.keyPrefix, -1));
    }
    if (isFutureRevision(err)) {
      const head = await client
        .range({ key: Buffer.from(req.keyPrefix), count_only: true })
        .catch(() => undefined);
      throw tooLargeResourceVersion(req.revision, Number(head?.header.revision ?? 0));
    }
    throw storageError(err);
  }
}

async function pagedRange(client: EtcdKv, req: EtcdListRequest): Promise<ListResult> {
  const limit = req.limit && req.limit > 0 ? req.limit : 0;
  const end = prefixEnd(Buffer.from(req.keyPrefix));
  let start = Buffer.from(req.startKey ?? req.keyPrefix);
  let revision = req.revision;
  let pageSize = limit > 0 ? Math.min(limit, MAX_PAGE) : MAX_PAGE;
  let total: number | undefined;
  let examined = 0;
  const items: KubeObject[] = [];
  for (;;) {
    const resp = await client.range({ key: start, range_end: end, limit: pageSize, revision });
    if (revision === 0) revision = Number(resp.header.revision);
    total ??= Number(resp.count);
    for (let i = 0; i < resp.kvs.length; i++) {
      const kv = resp.kvs[i]!;
      examined++;
      const obj = decodeOrFail(kv);
      if (!req.predicate.matches(obj)) continue;
      items.push(obj);
      if (limit > 0 && items.length === limit) {
        const more = i < resp.kvs.length - 1 || resp.more;
        if (!more) return { items, resourceVersion: String(revision) };
        const next = `${kv.key.toString("utf8")}\u0000`;
        const result: ListResult = {
          items,
          resourceVersion: String(revision),
          continue: encodeContinue(next, req.keyPrefix, revision),
        };
        if (req.predicate.selectsAll) result.remainingItemCount = total - examined;
        return result;
      }
    }
    if (!resp.more || resp.kvs.length === 0) return { items, resourceVersion: String(revision) };
    start = Buffer.concat([resp.kvs[resp.kvs.length - 1]!.key, Buffer.from([0])]);
    // Selectors threw away part of the page: read more per round trip, as upstream does.
    if (limit > 0) pageSize = Math.min(pageSize * 2, MAX_PAGE);
  }
}
