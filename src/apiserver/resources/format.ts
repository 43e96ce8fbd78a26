// Cell formatting shared by the table printers, as upstream's printers.go and apimachinery's
// duration.HumanDuration write them, so `kubectl get` output reads the same as against a real cluster.

import type { KubeObject, LabelSelector } from "../../api/index.js";
import { labelSelectorFromMeta, type Selector, SelectorError } from "../../api/index.js";
import type { TableColumn } from "../types.js";

/** apimachinery's duration.HumanDuration: about two significant figures ("5s", "3m2s", "10m", "2d3h"). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined when absent or unparsable. */
export function parseTime(ts: unknown): number | undefined {
  if (typeof ts !== "string" || ts === "") return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

/** upstream translateTimestampSince: "<unknown>" for a zero time. */
export function since(ts: unknown, now: Date): string {
  const t = parseTime(ts);
  return t === undefined ? "<unknown>" : humanDuration(now.getTime() - t);
}

export function age(obj: KubeObject, now: Date): string {
  return since(obj.metadata?.creationTimestamp, now);
}

/** labels.FormatLabels: sorted `k=v` pairs, "<none>" when empty. */
export function formatLabels(set: Record<string, string> | undefined | null): string {
  const keys = Object.keys(set ?? {}).sort();
  if (keys.length === 0) return "<none>";
  return keys.map((k) => `${k}=${set![k]}`).join(",");
}

const isStringMap = (v: unknown): boolean =>
  v !== null &&
  typeof v === "object" &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "string");

/** Whether a request's selector has the shape of a metav1.LabelSelector (null/undefined included). */
export function wellFormedSelector(sel: unknown): sel is LabelSelector | null | undefined {
  if (sel === null || sel === undefined) return true;
  if (typeof sel !== "object" || Array.isArray(sel)) return false;
  const { matchLabels, matchExpressions } = sel as Record<string, unknown>;
  if (matchLabels !== undefined && matchLabels !== null && !isStringMap(matchLabels)) return false;
  if (matchExpressions === undefined || matchExpressions === null) return true;
  return (
    Array.isArray(matchExpressions) &&
    matchExpressions.every(
      (e) =>
        e !== null &&
        typeof e === "object" &&
        typeof e.key === "string" &&
        typeof e.operator === "string" &&
        (e.values === undefined ||
          e.values === null ||
          (Array.isArray(e.values) && e.values.every((v: unknown) => typeof v === "string"))),
    )
  );
}

/**
 * A metav1.LabelSelector as a Selector; undefined when malformed. `null`/absent matches nothing
 * and `{}` everything, as upstream's LabelSelectorAsSelector.
 */
export function toSelector(sel: unknown): Selector | undefined {
  if (!wellFormedSelector(sel)) return undefined;
  try {
    return labelSelectorFromMeta(sel);
  } catch (err) {
    if (err instanceof SelectorError) return undefined;
    throw err;
  }
}

/** The selector string as LabelSelectorAsSelector(...).String() prints it; undefined when malformed. */
export function selectorString(sel: unknown): string | undefined {
  return toSelector(sel)?.toString();
}

/** metav1.FormatLabelSelector. */
export function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel);
  if (s === undefined) return "<error>";
  return s === "" ? "<none>" : s;
}

/** layoutContainerCells: the names and images of the containers, comma separated. */
export function containerCells(containers: unknown): [string, string] {
  const list = Array.isArray(containers) ? containers : [];
  return [
    list.map((c) => String(c?.name ?? "")).join(","),
    list.map((c) => String(c?.image ?? "")).join(","),
  ];
}

/** A Go integer field read from JSON: absent and malformed values are zero. */
export function int(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0;
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

const nameDoc =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const creationDoc =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

export function col(
  name: string,
  description: string,
  opts: { type?: TableColumn["type"]; priority?: number; format?: string } = {},
): TableColumn {
  return {
    name,
    type: opts.type ?? "string",
    format: opts.format ?? "",
    description,
    priority: opts.priority ?? 0,
  };
}

export const nameColumn: TableColumn = col("Name", nameDoc, { format: "name" });
export const ageColumn: TableColumn = col("Age", creationDoc);
export const containersColumn: TableColumn = col("Containers", "Names of each container in the template.", {
  priority: 1,
});
export const imagesColumn: TableColumn = col(
  "Images",
  "Images referenced by each container in the template.",
  { priority: 1 },
);
export function selectorColumn(description: string): TableColumn {
  return col("Selector", description, { priority: 1 });
}

/** Upstream's default table (rest.DefaultTableConvertor) for kinds without a printer: NAME, CREATED AT. */
export const defaultTable = {
  columns: [nameColumn, col("Created At", creationDoc, { type: "date" })],
  cells(obj: KubeObject): Array<string | number | boolean | null> {
    const t = parseTime(obj.metadata?.creationTimestamp);
    return [
      str(obj.metadata?.name),
      t === undefined ? null : new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z"),
    ];
  },
};
