// Deployment arithmetic as upstream's deployment/util: the pod-template-hash, revision and replica
// annotations, maxSurge/maxUnavailable resolution (percentages round surge up and unavailability
// down), finding the new ReplicaSet by template, and replica sums over ReplicaSets.
import type { KubeObject } from "../../api/index.js";

export const POD_TEMPLATE_HASH = "pod-template-hash";
export const REVISION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
/** Annotations that belong to the deployment machinery and are never copied onto a ReplicaSet. */
const NOT_COPIED = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  "deprecated.deployment.rollback.to",
]);

/** JSON with object keys sorted, so equal templates always serialize equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * The pod-template-hash: FNV-32a of the template (and the collision count, when set), written with
 * upstream's vowel-free alphabet so it never spells words and is a valid label value.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let text = canonical(template);
  if (collisionCount !== undefined && collisionCount !== null) text += String(collisionCount);
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join("");
}

function withoutHashLabel(template: KubeObject | undefined): unknown {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) {
    delete t.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return canonical(t);
}

/** Whether two pod templates are equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  return withoutHashLabel(a) === withoutHashLabel(b);
}

function creationTime(o: KubeObject): number {
  const t = Date.parse(o.metadata?.creationTimestamp ?? "");
  return Number.isFinite(t) ? t : 0;
}

/** Oldest first, names breaking ties. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  const d = creationTime(a) - creationTime(b);
  if (d !== 0) return d;
  const an = a.metadata?.name ?? "";
  const bn = b.metadata?.name ?? "";
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** The oldest ReplicaSet whose template equals the deployment's: the "new" one. */
export function findNewReplicaSet(d: KubeObject, rsList: KubeObject[]): KubeObject | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export function revisionOf(o: KubeObject): number {
  const n = Number(o.metadata?.annotations?.[REVISION] ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export function replicasOf(o: KubeObject): number {
  return Number(o.spec?.replicas ?? 0);
}

export function sumSpecReplicas(list: KubeObject[]): number {
  return list.reduce((n, rs) => n + replicasOf(rs), 0);
}

export function sumStatus(list: KubeObject[], field: string): number {
  return list.reduce((n, rs) => n + Number(rs.status?.[field] ?? 0), 0);
}

/** Upstream's GetScaledValueFromIntOrPercent. */
function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^\d+%$/.test(v)) {
    const exact = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return 0;
}

export function isRollingUpdate(d: KubeObject): boolean {
  return (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

/** [maxSurge, maxUnavailable] for `desired` replicas; both zero becomes unavailability 1. */
export function resolveFenceposts(d: KubeObject, desired: number): [number, number] {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = scaled(ru.maxSurge ?? "25%", desired, true);
  const unavailable = scaled(ru.maxUnavailable ?? "25%", desired, false);
  return surge === 0 && unavailable === 0 ? [0, 1] : [surge, unavailable];
}

export function maxSurge(d: KubeObject): number {
  return isRollingUpdate(d) ? resolveFenceposts(d, replicasOf(d))[0] : 0;
}

export function maxUnavailable(d: KubeObject): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d, replicas)[1], replicas);
}

/** Sets desired-replicas and max-replicas; true when something changed. */
export function setReplicasAnnotations(rs: KubeObject, desired: number, max: number): boolean {
  rs.metadata ??= {};
  const ann = (rs.metadata.annotations ??= {});
  const want = { [DESIRED_REPLICAS]: String(desired), [MAX_REPLICAS]: String(max) };
  let changed = false;
  for (const [k, v] of Object.entries(want)) {
    if (ann[k] !== v) {
      ann[k] = v;
      changed = true;
    }
  }
  return changed;
}

/**
 * Copies the deployment's own annotations onto the ReplicaSet and raises its revision to
 * newRevision, remembering the revision it had in revision-history. True when something changed.
 */
export function setNewReplicaSetAnnotations(d: KubeObject, rs: KubeObject, newRevision: number): boolean {
  rs.metadata ??= {};
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (NOT_COPIED.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  const old = revisionOf(rs);
  if (old < newRevision) {
    if (ann[REVISION] !== undefined) {
      ann[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${old}` : String(old);
    }
    ann[REVISION] = String(newRevision);
    changed = true;
  }
  return changed;
}

/** The replica count the new ReplicaSet may have now (rolling: bounded by maxSurge). */
export function newReplicaSetReplicas(d: KubeObject, allRSs: KubeObject[], newRS: KubeObject): number {
  if (!isRollingUpdate(d)) return replicasOf(d);
  // Pods an old ReplicaSet has not deleted yet still count, so pods never exceed the surge.
  const current = allRSs.reduce((n, rs) => n + Math.max(replicasOf(rs), Number(rs.status?.replicas ?? 0)), 0);
  const maxTotal = replicasOf(d) + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
  return replicasOf(newRS) + Math.max(0, up);
}
