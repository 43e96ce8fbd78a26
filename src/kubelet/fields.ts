// Narrowing for the loosely typed parts of API objects the kubelet reads (pod specs, volumes,
// probes): a wrong-shaped field reads as empty instead of throwing.

export type Obj = Record<string, unknown>;

export function record(v: unknown): Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(record) : [];
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
