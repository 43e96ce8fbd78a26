// The check quota admission makes before an object is written, kept pure so that the apiserver can
// call it: the request's usage is added to what the quota's status says is used, and any resource
// that would go past the hard limit rejects the request with upstream's message.
import { Quantity } from "../quantity.js";

export interface QuotaStatus {
  name: string;
  /** status.hard (the quota's limits as last written by the controller). */
  hard: Record<string, string>;
  /** status.used. */
  used?: Record<string, string>;
}

function q(value: string | number): Quantity {
  return Quantity.parse(value);
}

function pretty(list: Map<string, Quantity>): string {
  return [...list.keys()]
    .sort()
    .map((k) => `${k}=${list.get(k)?.toString()}`)
    .join(",");
}

/**
 * undefined when the request fits, else the reason it does not, worded as upstream:
 * "exceeded quota: <name>, requested: pods=1, used: pods=2, limited: pods=2", or "status unknown
 * for quota: <name>, resources: <names>" when the controller has not yet counted a resource.
 * Throws on a malformed quantity.
 */
export function checkQuota(
  quota: QuotaStatus,
  deltaUsage: Record<string, string | number>,
): string | undefined {
  const hard = new Map(Object.entries(quota.hard ?? {}).map(([k, v]) => [k, q(v)]));
  const used = new Map(Object.entries(quota.used ?? {}).map(([k, v]) => [k, q(v)]));
  const requested = new Map<string, Quantity>();
  for (const [k, v] of Object.entries(deltaUsage)) if (hard.has(k)) requested.set(k, q(v));
  if (requested.size === 0) return undefined;
  const unknown = [...requested.keys()].filter((k) => !used.has(k)).sort();
  if (unknown.length > 0) return `status unknown for quota: ${quota.name}, resources: ${unknown.join(",")}`;
  const failedRequested = new Map<string, Quantity>();
  const failedUsed = new Map<string, Quantity>();
  const failedHard = new Map<string, Quantity>();
  for (const [k, delta] of requested) {
    const current = used.get(k) as Quantity;
    const limit = hard.get(k) as Quantity;
    if (current.add(delta).cmp(limit) > 0) {
      failedRequested.set(k, delta);
      failedUsed.set(k, current);
      failedHard.set(k, limit);
    }
  }
  if (failedHard.size === 0) return undefined;
  return `exceeded quota: ${quota.name}, requested: ${pretty(failedRequested)}, used: ${pretty(failedUsed)}, limited: ${pretty(failedHard)}`;
}
