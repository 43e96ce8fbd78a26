// Reading a kubeconfig into what the REST client needs: the server URL, the CA to trust and the
// credentials (bearer token, or client certificate and key), inline (`*-data`, base64) or as
// file paths relative to the kubeconfig's directory.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse } from "yaml";

export interface RestConfig {
  /** https://host:port, without a trailing slash. */
  server: string;
  /** PEM of the CA that signed the server's certificate; undefined trusts the system CAs. */
  ca?: string;
  token?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
  /** Client-side rate limit; default 50 qps, burst 100. */
  qps?: number;
  burst?: number;
  /** Deadline of each non-watch request; default 30 s. */
  timeoutMs?: number;
  /** Connections open at once for non-watch requests (more wait for one); default 32. */
  maxConnections?: number;
  /** Sent as User-Agent and used as the default field manager. */
  userAgent?: string;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

type Named<K extends string> = { name?: string } & { [key in K]?: Record<string, unknown> };

function pick<K extends string>(list: unknown, key: K, name: string, what: string): Record<string, unknown> {
  const entries = Array.isArray(list) ? (list as Named<K>[]) : [];
  const found = entries.find((e) => e?.name === name)?.[key];
  if (found === undefined || typeof found !== "object" || found === null)
    throw new KubeconfigError(`kubeconfig has no ${what} named ${JSON.stringify(name)}`);
  return found;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Parses kubeconfig text; file references resolve against baseDir. */
export function parseKubeconfig(text: string, opts: { context?: string; baseDir?: string } = {}): RestConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new KubeconfigError(`kubeconfig is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== "object") throw new KubeconfigError("kubeconfig is empty");
  const contextName = opts.context ?? str(doc["current-context"]);
  if (contextName === undefined) throw new KubeconfigError("kubeconfig has no current-context");
  const context = pick(doc.contexts, "context", contextName, "context");
  const clusterName = str(context.cluster);
  if (clusterName === undefined)
    throw new KubeconfigError(`context ${JSON.stringify(contextName)} names no cluster`);
  const cluster = pick(doc.clusters, "cluster", clusterName, "cluster");
  const userName = str(context.user);
  const user = userName === undefined ? {} : pick(doc.users, "user", userName, "user");
  const baseDir = opts.baseDir ?? process.cwd();
  const material = (inline: unknown, file: unknown, what: string): string | undefined => {
    const data = str(inline);
    if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
    const path = str(file);
    if (path === undefined) return undefined;
    try {
      return readFileSync(isAbsolute(path) ? path : resolve(baseDir, path), "utf8");
    } catch (err) {
      throw new KubeconfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const server = str(cluster.server);
  if (server === undefined) throw new KubeconfigError(`cluster ${JSON.stringify(clusterName)} has no server`);
  const config: RestConfig = { server: server.replace(/\/+$/, "") };
  const ca = material(cluster["certificate-authority-data"], cluster["certificate-authority"], "CA file");
  if (ca !== undefined) config.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) config.insecureSkipTlsVerify = true;
  const token = str(user.token) ?? material(undefined, user.tokenFile, "token file")?.trim();
  if (token !== undefined) config.token = token;
  const cert = material(user["client-certificate-data"], user["client-certificate"], "client certificate");
  const key = material(user["client-key-data"], user["client-key"], "client key");
  if ((cert === undefined) !== (key === undefined))
    throw new KubeconfigError(
      `user ${JSON.stringify(userName)} has a client certificate or key but not both`,
    );
  if (cert !== undefined && key !== undefined) {
    config.cert = cert;
    config.key = key;
  }
  return config;
}

export function loadKubeconfig(path: string, opts: { context?: string } = {}): RestConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  return parseKubeconfig(text, { ...opts, baseDir: dirname(path) });
}
