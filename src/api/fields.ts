// Field selectors (`metadata.name=x,status.phase!=Failed`) with apimachinery's parsing and escaping
// (pkg/fields, v0.32), matched through per-kind field getters like upstream's GetAttrs.

import type { KubeObject } from "./types.js";

export interface FieldRequirement {
  readonly field: string;
  readonly operator: "=" | "!=";
  readonly value: string;
}

export class FieldSelectorError extends Error {
  override name = "FieldSelectorError";
}

/** The selectable fields of an object, as the strings a selector compares against. */
export type FieldGetter = (obj: KubeObject) => Record<string, string>;

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  static everything(): FieldSelector {
    return new FieldSelector([]);
  }

  isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  /** Matches a field set; an absent field reads as "" just as upstream's fields.Set does. */
  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => {
      const actual = Object.hasOwn(fields, r.field) ? fields[r.field] : "";
      return r.operator === "=" ? actual === r.value : actual !== r.value;
    });
  }

  requiresExactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === "=")?.value;
  }

  /** The fields this selector names, to check them against what a resource supports. */
  fields(): string[] {
    return [...new Set(this.requirements.map((r) => r.field))];
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(",");
  }
}

export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = "";
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== "\\" && c !== "," && c !== "=")
        throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      inSlash = false;
    } else if (c === "\\") {
      inSlash = true;
    } else if (c === "," || c === "=") {
      // Upstream prints the rune with %v, i.e. its code point number.
      throw new FieldSelectorError(
        `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`,
      );
    } else {
      out += c;
    }
  }
  if (inSlash) throw new FieldSelectorError("invalid field selector: invalid escape sequence: \\");
  return out;
}

function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** Parses a `fieldSelector` query parameter; throws FieldSelectorError with upstream's message. */
export function parseFieldSelector(selector: string): FieldSelector {
  const parts = splitTerms(selector).sort();
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === "") continue;
    let found: { lhs: string; op: "=" | "!="; rhs: string } | undefined;
    for (let i = 0; i < part.length && !found; i++) {
      const rest = part.slice(i);
      if (rest.startsWith("!=")) found = { lhs: part.slice(0, i), op: "!=", rhs: part.slice(i + 2) };
      else if (rest.startsWith("==")) found = { lhs: part.slice(0, i), op: "=", rhs: part.slice(i + 2) };
      else if (rest.startsWith("=")) found = { lhs: part.slice(0, i), op: "=", rhs: part.slice(i + 1) };
    }
    if (!found) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    reqs.push({ field: found.lhs, operator: found.op, value: unescapeFieldValue(found.rhs) });
  }
  return new FieldSelector(reqs);
}

/**
 * Checks every field against what a resource supports. `supported` is the resource's list; the error is
 * upstream's conversion-func wording. Resources with no own list accept metadata.name/namespace only and
 * answer with the runtime default wording.
 */
export function checkSupportedFields(
  selector: FieldSelector,
  supported: readonly string[] | undefined,
): void {
  for (const field of selector.fields()) {
    if (supported === undefined) {
      if (field !== "metadata.name" && field !== "metadata.namespace")
        throw new FieldSelectorError(
          `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
        );
    } else if (!supported.includes(field)) {
      throw new FieldSelectorError(`field label not supported: ${field}`);
    }
  }
}

const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));

/** metadata.name and metadata.namespace, which every resource exposes. */
export function metaFields(obj: KubeObject): Record<string, string> {
  return { "metadata.name": str(obj.metadata?.name), "metadata.namespace": str(obj.metadata?.namespace) };
}

/** Upstream's selectable fields for the kinds kubectl and controllers filter on (pkg/registry/.../strategy.go). */
export const builtinFieldGetters: Record<string, { supported: readonly string[]; get: FieldGetter }> = {
  Pod: {
    supported: [
      "metadata.name",
      "metadata.namespace",
      "spec.nodeName",
      "spec.restartPolicy",
      "spec.schedulerName",
      "spec.serviceAccountName",
      "spec.hostNetwork",
      "status.phase",
      "status.podIP",
      "status.podIPs",
      "status.nominatedNodeName",
    ],
    get: (o) => ({
      ...metaFields(o),
      "spec.nodeName": str(o.spec?.nodeName),
      "spec.restartPolicy": str(o.spec?.restartPolicy),
      "spec.schedulerName": str(o.spec?.schedulerName),
      "spec.serviceAccountName": str(o.spec?.serviceAccountName),
      "spec.hostNetwork": String(o.spec?.hostNetwork === true),
      "status.phase": str(o.status?.phase),
      "status.podIP": str(o.status?.podIPs?.[0]?.ip ?? o.status?.podIP),
      "status.nominatedNodeName": str(o.status?.nominatedNodeName),
    }),
  },
  Node: {
    supported: ["metadata.name", "spec.unschedulable"],
    get: (o) => ({ ...metaFields(o), "spec.unschedulable": String(o.spec?.unschedulable === true) }),
  },
  Namespace: {
    supported: ["metadata.name", "status.phase"],
    get: (o) => ({ ...metaFields(o), "status.phase": str(o.status?.phase) }),
  },
  Secret: {
    supported: ["metadata.name", "metadata.namespace", "type"],
    get: (o) => ({ ...metaFields(o), type: str(o.type) }),
  },
  Service: {
    supported: ["metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"],
    get: (o) => ({
      ...metaFields(o),
      "spec.clusterIP": str(o.spec?.clusterIP),
      "spec.type": str(o.spec?.type),
    }),
  },
  ReplicationController: {
    supported: ["metadata.name", "metadata.namespace", "status.replicas"],
    get: (o) => ({ ...metaFields(o), "status.replicas": str(o.status?.replicas ?? 0) }),
  },
  ReplicaSet: {
    supported: ["metadata.name", "metadata.namespace", "status.replicas"],
    get: (o) => ({ ...metaFields(o), "status.replicas": str(o.status?.replicas ?? 0) }),
  },
  Job: {
    supported: ["metadata.name", "metadata.namespace", "status.successful"],
    get: (o) => ({ ...metaFields(o), "status.successful": str(o.status?.succeeded ?? 0) }),
  },
  Event: {
    supported: [
      "metadata.name",
      "metadata.namespace",
      "involvedObject.kind",
      "involvedObject.namespace",
      "involvedObject.name",
      "involvedObject.uid",
      "involvedObject.apiVersion",
      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",
      "reason",
      "reportingComponent",
      "source",
      "type",
    ],
    get: (o) => ({
      ...metaFields(o),
      "involvedObject.kind": str(o.involvedObject?.kind),
      "involvedObject.namespace": str(o.involvedObject?.namespace),
      "involvedObject.name": str(o.involvedObject?.name),
      "involvedObject.uid": str(o.involvedObject?.uid),
      "involvedObject.apiVersion": str(o.involvedObject?.apiVersion),
      "involvedObject.resourceVersion": str(o.involvedObject?.resourceVersion),
      "involvedObject.fieldPath": str(o.involvedObject?.fieldPath),
      reason: str(o.reason),
      reportingComponent: str(o.reportingComponent),
      source: str(o.source?.component),
      type: str(o.type),
    }),
  },
};

/** The field set of an object of `kind`: the built-in getter when there is one, else name/namespace. */
export function fieldsOf(kind: string, obj: KubeObject): Record<string, string> {
  return (builtinFieldGetters[kind]?.get ?? metaFields)(obj);
}
