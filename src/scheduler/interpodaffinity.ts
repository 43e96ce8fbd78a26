// Required inter-pod affinity and anti-affinity (InterPodAffinity filter). Counts are gathered once per
// scheduling cycle over all assigned pods, keyed by topology pair (label key + value of the pod's node);
// a node is then judged by its own value for each term's topologyKey.
import { type KubeObject, labelSelectorFromMeta, type Selector } from "../api/index.js";
import type { CycleState } from "./cycle.js";
import type { NodeInfo, Snapshot } from "./nodeinfo.js";
import { Reasons, type Rejection } from "./reasons.js";

export interface AffinityTerm {
  selector: Selector;
  namespaces: Set<string>;
  /** null when the term names no namespaceSelector (which then matches no namespace). */
  namespaceSelector: Selector | null;
  topologyKey: string;
}

// biome-ignore lint/suspicious/noExplicitAny: PodAffinityTerm is open JSON
function toTerm(owner: KubeObject, raw: any): AffinityTerm {
  const own = owner.metadata?.namespace ?? "";
  const namespaces: string[] = Array.isArray(raw?.namespaces) ? raw.namespaces : [];
  const hasNsSelector = raw?.namespaceSelector !== undefined && raw?.namespaceSelector !== null;
  return {
    selector: labelSelectorFromMeta(raw?.labelSelector),
    namespaces: new Set(namespaces.length === 0 && !hasNsSelector ? [own] : namespaces),
    namespaceSelector: hasNsSelector ? labelSelectorFromMeta(raw.namespaceSelector) : null,
    topologyKey: String(raw?.topologyKey ?? ""),
  };
}

/** Required terms of one kind ("podAffinity" or "podAntiAffinity"); terms with a bad selector are dropped. */
export function requiredTerms(pod: KubeObject, kind: "podAffinity" | "podAntiAffinity"): AffinityTerm[] {
  const raw = pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!Array.isArray(raw)) return [];
  const out: AffinityTerm[] = [];
  for (const t of raw) {
    try {
      out.push(toTerm(pod, t));
    } catch {
      // An invalid selector cannot match anything; upstream rejects such pods at admission.
    }
  }
  return out;
}

const termCache = new WeakMap<object, AffinityTerm[]>();

function antiAffinityTermsCached(pod: KubeObject): AffinityTerm[] {
  let t = termCache.get(pod);
  if (!t) {
    t = requiredTerms(pod, "podAntiAffinity");
    termCache.set(pod, t);
  }
  return t;
}

export function termMatchesPod(
  term: AffinityTerm,
  pod: KubeObject,
  nsLabels: Record<string, Record<string, string>>,
): boolean {
  const ns = pod.metadata?.namespace ?? "";
  const inNamespace =
    term.namespaces.has(ns) || (term.namespaceSelector?.matches(nsLabels[ns] ?? {}) ?? false);
  return inNamespace && term.selector.matches(pod.metadata?.labels ?? {});
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

export interface InterPodAffinityState {
  affinityTerms: AffinityTerm[];
  antiAffinityTerms: AffinityTerm[];
  /** Pods matching all of the incoming pod's affinity terms, per topology pair. */
  affinityCounts: Map<string, number>;
  /** Pods matching one of the incoming pod's anti-affinity terms, per topology pair. */
  antiAffinityCounts: Map<string, number>;
  /** Topology pairs where an existing pod's anti-affinity forbids the incoming pod: key -> values. */
  existingAntiAffinity: Map<string, Set<string>>;
  /** The incoming pod matches all its own affinity terms (lets the first pod of a group land). */
  podMatchesOwnAffinity: boolean;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

export function preFilterInterPodAffinity(pod: KubeObject, snapshot: Snapshot): InterPodAffinityState | null {
  const affinityTerms = requiredTerms(pod, "podAffinity");
  const antiAffinityTerms = requiredTerms(pod, "podAntiAffinity");
  if (affinityTerms.length === 0 && antiAffinityTerms.length === 0 && snapshot.antiAffinityPodCount === 0)
    return null;
  const ns = snapshot.namespaceLabels;
  const state: InterPodAffinityState = {
    affinityTerms,
    antiAffinityTerms,
    affinityCounts: new Map(),
    antiAffinityCounts: new Map(),
    existingAntiAffinity: new Map(),
    podMatchesOwnAffinity: affinityTerms.every((t) => termMatchesPod(t, pod, ns)),
  };
  for (const info of snapshot.nodeInfos) {
    const labels = info.labels;
    for (const existing of info.podsWithRequiredAntiAffinity) {
      for (const term of antiAffinityTermsCached(existing)) {
        const value = labels[term.topologyKey];
        if (value === undefined || !termMatchesPod(term, pod, ns)) continue;
        let values = state.existingAntiAffinity.get(term.topologyKey);
        if (!values) {
          values = new Set();
          state.existingAntiAffinity.set(term.topologyKey, values);
        }
        values.add(value);
      }
    }
    if (affinityTerms.length === 0 && antiAffinityTerms.length === 0) continue;
    for (const existing of info.pods) {
      if (affinityTerms.length > 0 && affinityTerms.every((t) => termMatchesPod(t, existing, ns))) {
        for (const t of affinityTerms) {
          const value = labels[t.topologyKey];
          if (value !== undefined) bump(state.affinityCounts, pairKey(t.topologyKey, value));
        }
      }
      for (const t of antiAffinityTerms) {
        const value = labels[t.topologyKey];
        if (value !== undefined && termMatchesPod(t, existing, ns))
          bump(state.antiAffinityCounts, pairKey(t.topologyKey, value));
      }
    }
  }
  return state;
}

function satisfiesAffinity(s: InterPodAffinityState, labels: Record<string, string>): boolean {
  let podsExist = true;
  for (const t of s.affinityTerms) {
    const value = labels[t.topologyKey];
    if (value === undefined) return false;
    if ((s.affinityCounts.get(pairKey(t.topologyKey, value)) ?? 0) <= 0) podsExist = false;
  }
  return podsExist || (s.affinityCounts.size === 0 && s.podMatchesOwnAffinity);
}

function satisfiesAntiAffinity(s: InterPodAffinityState, labels: Record<string, string>): boolean {
  for (const t of s.antiAffinityTerms) {
    const value = labels[t.topologyKey];
    if (value !== undefined && (s.antiAffinityCounts.get(pairKey(t.topologyKey, value)) ?? 0) > 0)
      return false;
  }
  return true;
}

function satisfiesExistingAntiAffinity(s: InterPodAffinityState, labels: Record<string, string>): boolean {
  for (const [key, values] of s.existingAntiAffinity) {
    const value = labels[key];
    if (value !== undefined && values.has(value)) return false;
  }
  return true;
}

export function filterInterPodAffinity(cycle: CycleState, node: NodeInfo): Rejection | null {
  const s = cycle.interPodAffinity;
  if (!s) return null;
  const labels = node.labels;
  if (!satisfiesAffinity(s, labels))
    return { plugin: "InterPodAffinity", reasons: [Reasons.podAffinity], unresolvable: true };
  if (!satisfiesAntiAffinity(s, labels)) {
    return { plugin: "InterPodAffinity", reasons: [Reasons.podAntiAffinity], unresolvable: false };
  }
  if (!satisfiesExistingAntiAffinity(s, labels)) {
    return { plugin: "InterPodAffinity", reasons: [Reasons.existingAntiAffinity], unresolvable: false };
  }
  return null;
}
