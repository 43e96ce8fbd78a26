// Matching rules shared by filters and scores (component-helpers/scheduling/corev1): a toleration
// against a taint, and a NodeSelectorTerm (matchExpressions + matchFields) against a node.
import type { KubeObject } from "../api/index.js";

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" | string;
}

export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal" | string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** An empty key with Exists tolerates every taint; an empty effect tolerates every effect. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "Exists":
      return true;
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

export function tolerationsTolerate(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

export function podTolerations(pod: KubeObject): Toleration[] {
  const t = pod.spec?.tolerations;
  return Array.isArray(t) ? t : [];
}

export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" | string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

const integerRE = /^[+-]?\d+$/;

function requirementMatches(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return has && values.includes(value as string);
    case "NotIn":
      return !has || !values.includes(value as string);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      // Gt/Lt take exactly one integer; a label that is not an integer does not match.
      if (
        !has ||
        values.length !== 1 ||
        !integerRE.test(values[0] as string) ||
        !integerRE.test(value as string)
      ) {
        return false;
      }
      const l = BigInt(value as string);
      const r = BigInt(values[0] as string);
      return req.operator === "Gt" ? l > r : l < r;
    }
    default:
      return false;
  }
}

function fieldMatches(req: NodeSelectorRequirement, node: KubeObject): boolean {
  // metadata.name with In/NotIn and a single value is the only field selector upstream accepts.
  if (req.key !== "metadata.name" || (req.operator !== "In" && req.operator !== "NotIn")) return false;
  if ((req.values ?? []).length !== 1) return false;
  return requirementMatches(req, { "metadata.name": node.metadata?.name ?? "" });
}

/** A term matches when all its requirements do; a term with no requirements matches no node. */
export function termMatches(term: NodeSelectorTerm | null | undefined, node: KubeObject): boolean {
  const exprs = term?.matchExpressions ?? [];
  const fields = term?.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const e of exprs) if (!requirementMatches(e, labels)) return false;
  for (const f of fields) if (!fieldMatches(f, node)) return false;
  return true;
}

/** spec.nodeSelector and required node affinity (terms ORed) both have to hold. */
export function podMatchesNodeSelectorAndAffinity(pod: KubeObject, node: KubeObject): boolean {
  const selector: Record<string, string> | undefined = pod.spec?.nodeSelector;
  if (selector) {
    const labels = node.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const terms: NodeSelectorTerm[] = required.nodeSelectorTerms ?? [];
    if (!terms.some((t) => termMatches(t, node))) return false;
  }
  return true;
}
