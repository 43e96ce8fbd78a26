// A minimal OpenAPI v3 built from the resource registry: /openapi/v3 lists one document per
// group-version (with a content hash in the URL, as upstream), and each document has the
// resource paths with operations tagged x-kubernetes-group-version-kind (create/update/patch
// carry the fieldValidation parameter, which tells kubectl to leave validation to the server)
// and component schemas for each kind (openapi-kinds.ts, from src/apiserver/schemas).
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { ResourceDef } from "../types.js";
import type { DiscoverySource } from "./discovery.js";
import { documentSchemas, schemaName } from "./openapi-kinds.js";
import type { Schema } from "./openapi-schemas.js";
import { sendJson } from "./respond.js";

const queryParam = (name: string, description: string, type = "string"): Schema => ({
  name,
  in: "query",
  description,
  schema: { type, uniqueItems: true },
});
const PARAMS = {
  fieldValidation: queryParam(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.",
  ),
  dryRun: queryParam(
    "dryRun",
    "When present, indicates that modifications should not be persisted. Valid value: All.",
  ),
  fieldManager: queryParam(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
  ),
  force: queryParam("force", 'Force is going to "force" Apply requests.', "boolean"),
  labelSelector: queryParam(
    "labelSelector",
    "A selector to restrict the list of returned objects by their labels.",
  ),
  fieldSelector: queryParam(
    "fieldSelector",
    "A selector to restrict the list of returned objects by their fields.",
  ),
  watch: queryParam(
    "watch",
    "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
    "boolean",
  ),
  name: {
    name: "name",
    in: "path",
    required: true,
    description: "name of the resource",
    schema: { type: "string", uniqueItems: true },
  },
  namespace: {
    name: "namespace",
    in: "path",
    required: true,
    description: "object name and auth scope, such as for teams and projects",
    schema: { type: "string", uniqueItems: true },
  },
};

function jsonContent(schemaRef: string): Schema {
  return { "application/json": { schema: { $ref: `#/components/schemas/${schemaRef}` } } };
}

function operation(
  def: ResourceDef,
  action: string,
  id: string,
  schemaRef: string,
  params: Schema[],
  body: boolean,
): Schema {
  const op: Schema = {
    description: `${action} ${def.kind}`,
    operationId: id,
    tags: [def.group === "" ? "core_v1" : `${def.group.split(".")[0]}_${def.version}`],
    parameters: params,
    responses: { "200": { description: "OK", content: jsonContent(schemaRef) } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: def.group, version: def.version, kind: def.kind },
  };
  if (body) op.requestBody = { content: jsonContent(schemaRef), required: true };
  return op;
}

function resourcePaths(def: ResourceDef): Record<string, Schema> {
  const prefix = def.group === "" ? `/api/${def.version}` : `/apis/${def.group}/${def.version}`;
  const collection = def.namespaced
    ? `${prefix}/namespaces/{namespace}/${def.resource}`
    : `${prefix}/${def.resource}`;
  const item = `${collection}/{name}`;
  const kindRef = schemaName(def.group, def.version, def.kind);
  const listRef = schemaName(def.group, def.version, def.listKind);
  const write = [PARAMS.dryRun, PARAMS.fieldManager, PARAMS.fieldValidation];
  const can = (verb: string) => def.verbs.includes(verb);
  const scope = def.namespaced ? [PARAMS.namespace] : [];
  const name = def.kind;
  const collectionOps: Schema = { parameters: scope };
  if (can("list")) {
    collectionOps.get = operation(
      def,
      "list",
      `list${name}`,
      listRef,
      [PARAMS.labelSelector, PARAMS.fieldSelector, PARAMS.watch],
      false,
    );
  }
  if (can("create")) collectionOps.post = operation(def, "post", `create${name}`, kindRef, write, true);
  if (can("deletecollection")) {
    collectionOps.delete = operation(
      def,
      "deletecollection",
      `deleteCollection${name}`,
      kindRef,
      [PARAMS.labelSelector, PARAMS.dryRun],
      false,
    );
  }
  const itemOps: Schema = { parameters: [PARAMS.name, ...scope] };
  if (can("get")) itemOps.get = operation(def, "get", `read${name}`, kindRef, [], false);
  if (can("update")) itemOps.put = operation(def, "put", `replace${name}`, kindRef, write, true);
  if (can("patch"))
    itemOps.patch = operation(def, "patch", `patch${name}`, kindRef, [...write, PARAMS.force], true);
  if (can("delete"))
    itemOps.delete = operation(def, "delete", `delete${name}`, kindRef, [PARAMS.dryRun], false);
  return { [collection]: collectionOps, [item]: itemOps };
}

/** The path key of a group-version in the index: "api/v1" or "apis/apps/v1". */
function indexKey(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

export class OpenApi {
  private readonly documents = new Map<string, string>();
  private readonly index: string;

  constructor(source: DiscoverySource) {
    const byKey = new Map<string, ResourceDef[]>();
    for (const { group, version } of source.groupVersions()) byKey.set(indexKey(group, version), []);
    for (const def of source.all()) byKey.get(indexKey(def.group, def.version))?.push(def);
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const [key, defs] of byKey) {
      const docPaths: Record<string, Schema> = {};
      for (const def of defs) Object.assign(docPaths, resourcePaths(def));
      const schemas = documentSchemas(defs);
      const doc = JSON.stringify({
        openapi: "3.0.0",
        info: { title: "Kubernetes", version: "v1.32.0" },
        paths: docPaths,
        components: { schemas },
      });
      this.documents.set(key, doc);
      const hash = createHash("sha512").update(doc).digest("hex").toUpperCase();
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
    this.index = JSON.stringify({ paths });
  }

  /** Serves /openapi/v3 and its documents; returns false for other paths. */
  serve(path: string, res: ServerResponse): boolean {
    if (path === "/openapi/v3" || path === "/openapi/v3/") {
      sendJson(res, 200, this.index);
      return true;
    }
    if (!path.startsWith("/openapi/v3/")) return false;
    const doc = this.documents.get(path.slice("/openapi/v3/".length));
    if (doc === undefined) return false;
    sendJson(res, 200, doc);
    return true;
  }
}
