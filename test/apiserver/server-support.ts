// Helpers for the apiserver server tests: an HTTPS client that trusts the cluster CA and can
// present a bearer token or a client certificate, and a small resource registry.
import { request } from "node:https";
import type { ResourceDef } from "../../src/apiserver/types.js";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ClientAuth {
  ca: string;
  token?: string;
  cert?: string;
  key?: string;
}

export function call(
  url: string,
  auth: ClientAuth,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    const req = request(
      url,
      { method: opts.method ?? "GET", ca: auth.ca, cert: auth.cert, key: auth.key, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

function def(
  partial: Partial<ResourceDef> & Pick<ResourceDef, "group" | "version" | "kind" | "resource">,
): ResourceDef {
  return {
    listKind: `${partial.kind}List`,
    singular: partial.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    subresources: [],
    ...partial,
  };
}

export const SAMPLE_DEFS: ResourceDef[] = [
  def({
    group: "",
    version: "v1",
    kind: "Namespace",
    resource: "namespaces",
    namespaced: false,
    shortNames: ["ns"],
    subresources: ["status"],
  }),
  def({
    group: "",
    version: "v1",
    kind: "Pod",
    resource: "pods",
    shortNames: ["po"],
    categories: ["all"],
    subresources: ["status", "log", "binding"],
  }),
  def({
    group: "apps",
    version: "v1",
    kind: "Deployment",
    resource: "deployments",
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  def({
    group: "batch",
    version: "v1",
    kind: "Job",
    resource: "jobs",
    categories: ["all"],
    subresources: ["status"],
  }),
];

export const SAMPLE_REGISTRY = {
  all: () => SAMPLE_DEFS,
  groupVersions: () => [
    { group: "", version: "v1" },
    { group: "apps", version: "v1" },
    { group: "batch", version: "v1" },
  ],
  lookup: (group: string, version: string, resource: string) =>
    SAMPLE_DEFS.find((d) => d.group === group && d.version === version && d.resource === resource),
};
