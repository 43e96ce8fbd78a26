// What every REST handler works with: the parsed request, the store and registry, the clock, and
// the options the server passes in.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject } from "../../api/index.js";
import type { Authorizer, ObjectStore, ResourceDef, UserInfo } from "../types.js";

/** The registry lookups the handlers need (ResourceRegistry from src/apiserver/resources satisfies it). */
export interface RestRegistry {
  lookup(group: string, version: string, resource: string): ResourceDef | undefined;
}

/** One request, as the metrics of upstream's apiserver label it. */
export interface RequestRecord {
  /** Upstream's apiserver_request_total verb: GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, DELETECOLLECTION. */
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  /** "resource" (one named object), "namespace" or "cluster". */
  scope: "resource" | "namespace" | "cluster";
  code: number;
  durationSeconds: number;
}

export interface RestOptions {
  store: ObjectStore;
  registry: RestRegistry;
  authorizer: Authorizer;
  now?: () => Date;
  /** Largest request body accepted; default 3 MiB as upstream. */
  maxBodyBytes?: number;
  /** Service ClusterIP range; default 10.96.0.0/12. */
  serviceClusterIPRange?: string;
  /** Service NodePort range, "first-last"; default 30000-32767. */
  serviceNodePortRange?: string;
  /** Random source for generateName, ClusterIPs and NodePorts; default Math.random. */
  random?: () => number;
  /** Serves pods/log; without it the endpoint answers 503 (no kubelet to ask yet). */
  podLogs?(pod: KubeObject, query: URLSearchParams, res: ServerResponse): Promise<void>;
  /** Called once per request when its response is complete (for apiserver_request_* metrics). */
  onRequest?(record: RequestRecord): void;
}

/** A request for a resource, parsed from the URL path. */
export interface ResourceRequest {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  def: ResourceDef;
  query: URLSearchParams;
}

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  user: UserInfo;
  rr: ResourceRequest;
  /** Set by the handler: the upstream metric verb (e.g. APPLY for apply patches). */
  metricVerb: string;
}

export interface Env {
  opts: RestOptions;
  store: ObjectStore;
  registry: RestRegistry;
  now(): Date;
  random(): number;
  maxBodyBytes: number;
  /** Serialises service writes so two creates never take the same ClusterIP or NodePort. */
  serviceLock<T>(fn: () => Promise<T>): Promise<T>;
}

export function apiVersionOf(def: ResourceDef): string {
  return def.group === "" ? def.version : `${def.group}/${def.version}`;
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return `${new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Sets kind and apiVersion, which stored objects may lack. */
export function withType(def: ResourceDef, obj: KubeObject): KubeObject {
  return { kind: def.kind, apiVersion: apiVersionOf(def), ...stripType(obj) };
}

function stripType(obj: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return rest;
}
