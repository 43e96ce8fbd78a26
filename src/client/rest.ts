// The HTTP side of the client: one keep-alive HTTPS agent trusting the cluster CA, bearer-token or
// client-certificate credentials, a client-side token bucket (client-go's QPS/burst), per-request
// deadlines, and non-2xx answers turned into StatusError carrying the server's Status.
import type { IncomingMessage } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { createSecureContext } from "node:tls";
import { type KubeObject, makeStatus, type Status, StatusError } from "../api/index.js";
import { type Clock, realClock } from "./clock.js";
import { loadKubeconfig, type RestConfig } from "./kubeconfig.js";
import { TokenBucket } from "./ratelimit.js";
import { type GroupVersionResource, ResourceClient } from "./resource.js";
import { WatchStream } from "./watch.js";

export interface RestRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Absolute path, e.g. /api/v1/namespaces/default/pods. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Overrides the client's default deadline. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The Status a non-Status error body stands for, as client-go's newUnstructuredResponseError builds it. */
function statusFromResponse(code: number, body: string): Status {
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    if (parsed?.kind === "Status" && typeof parsed.code === "number") return parsed as Status;
  } catch {
    // Not JSON: fall through to a generic Status.
  }
  const reasons: Record<number, Status["reason"]> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  };
  const text = body.trim();
  return makeStatus(
    code,
    reasons[code],
    text === ""
      ? `the server responded with the status code ${code} but did not return more information`
      : text,
  );
}

function buildQuery(query: RestRequest["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s === "" ? "" : `?${s}`;
}

export class RestClient {
  readonly config: RestConfig;
  private readonly agent: Agent;
  /** Watches hold their connection for minutes, so they get their own pool, uncapped. */
  private readonly watchAgent: Agent;
  private readonly limiter: TokenBucket;
  private readonly base: URL;
  private closed = false;

  constructor(config: RestConfig, opts: { clock?: Clock } = {}) {
    this.config = config;
    this.base = new URL(config.server);
    if (this.base.protocol !== "https:") throw new Error(`server must be an https URL, got ${config.server}`);
    // One context for every connection: given ca/cert/key instead, tls.connect parses them into
    // a new context per connection, which under many concurrent requests cost more CPU than the
    // requests themselves.
    const tlsOptions = {
      secureContext: createSecureContext({ ca: config.ca, cert: config.cert, key: config.key }),
      rejectUnauthorized: config.insecureSkipTlsVerify !== true,
    };
    // Short requests share a bounded pool: a burst waits for a free connection instead of paying
    // a TLS handshake per request on both sides (client-go gets the same from HTTP/2's one
    // multiplexed connection).
    this.agent = new Agent({ keepAlive: true, maxSockets: config.maxConnections ?? 32, ...tlsOptions });
    this.watchAgent = new Agent({ keepAlive: true, ...tlsOptions });
    this.limiter = new TokenBucket(config.qps ?? 50, config.burst ?? 100, opts.clock ?? realClock);
  }

  static fromKubeconfig(
    path: string,
    overrides: Partial<RestConfig> & { context?: string } = {},
  ): RestClient {
    const { context, ...rest } = overrides;
    return new RestClient({ ...loadKubeconfig(path, context === undefined ? {} : { context }), ...rest });
  }

  /** A client for one resource, in one namespace or (undefined) all namespaces / cluster scope. */
  resource<T extends KubeObject = KubeObject>(
    gvr: GroupVersionResource,
    namespace?: string,
  ): ResourceClient<T> {
    return new ResourceClient<T>(this, gvr, namespace);
  }

  private headers(req: RestRequest, body: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    if (this.config.userAgent) headers["User-Agent"] = this.config.userAgent;
    if (body !== undefined) {
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return headers;
  }

  private async open(
    req: RestRequest,
    timeoutMs: number | undefined,
    agent: Agent = this.agent,
  ): Promise<{ res: IncomingMessage; abort: () => void }> {
    if (this.closed) throw new Error("rest client is closed");
    await this.limiter.accept();
    const body =
      req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    const url = new URL(req.path + buildQuery(req.query), this.base);
    return new Promise((resolve, reject) => {
      const r = httpsRequest(url, { method: req.method, agent, headers: this.headers(req, body) }, (res) => {
        clearTimer();
        resolve({ res, abort: () => r.destroy() });
      });
      let timer: NodeJS.Timeout | undefined;
      const clearTimer = () => clearTimeout(timer);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          r.destroy(new Error(`${req.method} ${req.path}: no response within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      r.on("error", (err) => {
        clearTimer();
        reject(new Error(`${req.method} ${url.pathname}: ${err.message}`, { cause: err }));
      });
      r.end(body);
    });
  }

  /** Sends the request and returns the parsed JSON answer; non-2xx throws StatusError. */
  async request<T = unknown>(req: RestRequest): Promise<T> {
    const timeoutMs = req.timeoutMs ?? this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = Date.now();
    const { res, abort } = await this.open(req, timeoutMs);
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        abort();
        reject(new Error(`${req.method} ${req.path}: response body not complete within ${timeoutMs} ms`));
      }, remaining);
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const code = res.statusCode ?? 0;
    if (code < 200 || code > 299) throw new StatusError(statusFromResponse(code, text));
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${req.method} ${req.path}: answer is not JSON: ${(err as Error).message}`);
    }
  }

  /** Opens a watch; an error answer (e.g. 410 for a too-old resourceVersion) throws StatusError. */
  async watch<T extends KubeObject>(req: RestRequest): Promise<WatchStream<T>> {
    // The connect deadline applies; the stream itself lasts until the server's timeoutSeconds.
    const { res, abort } = await this.open(
      req,
      req.timeoutMs ?? this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      this.watchAgent,
    );
    const code = res.statusCode ?? 0;
    if (code !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new StatusError(statusFromResponse(code, Buffer.concat(chunks).toString("utf8")));
    }
    return new WatchStream<T>(res, abort);
  }

  /** Closes idle keep-alive connections; open watches should be stopped first. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}
