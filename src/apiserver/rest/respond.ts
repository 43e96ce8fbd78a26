// Response content negotiation and writing: plain JSON (or YAML), meta.k8s.io Tables and
// PartialObjectMetadata(List), and Status errors. Content-Type is the serializer's media type, as
// upstream writes it; protobuf-only Accept headers get 406.
import type { ServerResponse } from "node:http";
import YAML from "yaml";
import {
  badRequest,
  type KubeObject,
  makeStatus,
  notAcceptable,
  type Status,
  StatusError,
} from "../../api/index.js";
import type { ResourceDef, TableColumn } from "../types.js";
import { rfc3339 } from "./context.js";

export type Target =
  | { kind: "object"; mediaType: "application/json" | "application/yaml" }
  | { kind: "Table" | "PartialObjectMetadata" | "PartialObjectMetadataList"; version: "v1" | "v1beta1" };

export const acceptedMediaTypes = ["application/json", "application/yaml"];

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of header.split(",")) {
    const [type, ...raw] = part.split(";").map((s) => s.trim());
    if (!type) continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of raw) {
      const eq = p.indexOf("=");
      if (eq <= 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim();
      if (key === "q") q = Number(value);
      else params.set(key, value);
    }
    if (q > 0) out.push({ type: type.toLowerCase(), params, q });
  }
  // Stable: equal q keeps the client's order.
  return out.sort((a, b) => b.q - a.q);
}

/** Picks the response form from the Accept header; throws 406 when none is servable. */
export function negotiate(accept: string | undefined): Target {
  if (accept === undefined || accept.trim() === "") return { kind: "object", mediaType: "application/json" };
  for (const r of parseAccept(accept)) {
    const jsonish = r.type === "application/json" || r.type === "application/*" || r.type === "*/*";
    const as = r.params.get("as");
    if (as === undefined) {
      if (jsonish) return { kind: "object", mediaType: "application/json" };
      if (r.type === "application/yaml") return { kind: "object", mediaType: "application/yaml" };
      continue;
    }
    const g = r.params.get("g");
    const v = r.params.get("v");
    if (r.type !== "application/json" || g !== "meta.k8s.io" || (v !== "v1" && v !== "v1beta1")) continue;
    if (as === "Table" || as === "PartialObjectMetadata" || as === "PartialObjectMetadataList")
      return { kind: as, version: v };
  }
  throw notAcceptable(acceptedMediaTypes);
}

export function writeBody(res: ServerResponse, code: number, body: unknown, target?: Target): void {
  const yaml = target?.kind === "object" && target.mediaType === "application/yaml";
  const text = yaml ? YAML.stringify(body) : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": yaml ? "application/yaml" : "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

export function writeStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeBody(res, status.code, status);
}

/** A success Status (as upstream returns for deletes and subresource creates). */
export function successStatus(code: number | undefined, details?: Status["details"]): Status {
  const out: Record<string, unknown> = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" };
  if (details !== undefined) out.details = details;
  if (code !== undefined) out.code = code;
  return out as unknown as Status;
}

export function partialMetadata(obj: KubeObject, version: string): KubeObject {
  return {
    kind: "PartialObjectMetadata",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: obj.metadata ?? {},
  };
}

export type IncludeObject = "Metadata" | "Object" | "None";

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get("includeObject") ?? "";
  if (v === "" || v === "Metadata") return "Metadata";
  if (v === "Object" || v === "None") return v;
  throw badRequest(`unrecognized includeObject value: "${v}"`);
}

/** rest.NewDefaultTableConvertor's columns, for resources without a printer. */
const defaultColumns: TableColumn[] = [
  {
    name: "Name",
    type: "string",
    format: "name",
    description:
      "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    priority: 0,
  },
  {
    name: "Created At",
    type: "date",
    format: "",
    description:
      "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    priority: 0,
  },
];

function defaultCells(obj: KubeObject): Array<string | number | boolean | null> {
  const ts = obj.metadata?.creationTimestamp;
  return [obj.metadata?.name ?? "", ts ? rfc3339(new Date(ts)) : "0001-01-01T00:00:00Z"];
}

export interface TableOptions {
  version: string;
  include: IncludeObject;
  noHeaders: boolean;
  now: Date;
}

/** A meta.k8s.io Table of `items`; list metadata goes on the table. */
export function asTable(
  def: ResourceDef,
  items: KubeObject[],
  listMeta: Record<string, unknown>,
  opts: TableOptions,
): KubeObject {
  const columns = def.table?.columns ?? defaultColumns;
  const rows = items.map((obj) => {
    const cells = def.table ? def.table.cells(obj, opts.now) : defaultCells(obj);
    const row: Record<string, unknown> = { cells };
    if (opts.include === "Object") row.object = obj;
    else if (opts.include === "Metadata") row.object = partialMetadata(obj, opts.version);
    else row.object = null;
    return row;
  });
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: listMeta,
    columnDefinitions: opts.noHeaders ? null : columns.map((c) => ({ ...c })),
    rows,
  };
}

export function statusErrorFromTarget(target: Target, what: string): StatusError {
  return new StatusError(makeStatus(406, "NotAcceptable", `you requested ${target.kind}, but ${what}`));
}
