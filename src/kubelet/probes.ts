// One probe attempt, as pkg/probe does it: httpGet (success for 200–399, same-host redirects
// followed, body capped at 10 KiB, TLS unverified for HTTPS), tcpSocket (a connect), exec (exit
// code 0) and grpc (grpc.health.v1 Check answering SERVING). Failures carry upstream's messages,
// which the kubelet puts into the Unhealthy event.

import * as http from "node:http";
import * as https from "node:https";
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { type Obj, record } from "./fields.js";

export type ProbeKind = "liveness" | "readiness" | "startup";

export interface ProbeTarget {
  podIP: string;
  containerPorts: Array<{ name?: string; containerPort: number }>;
  exec(argv: string[], timeoutMs: number): Promise<{ exitCode: number; stdout: string; timedOut: boolean }>;
}

export interface ProbeResult {
  ok: boolean;
  output: string;
}

/** The User-Agent probes send unless httpHeaders override it. */
export const PROBE_USER_AGENT = "kube-probe/1.32";
const MAX_BODY_BYTES = 10 * 1024;
const MAX_REDIRECTS = 10;

/** timeoutSeconds, default 1. */
export function probeTimeoutMs(probe: Obj): number {
  const t = probe.timeoutSeconds;
  return (typeof t === "number" && t > 0 ? t : 1) * 1000;
}

/** extractPort: a number, a named container port, or a number written as a string. */
export function resolvePort(port: unknown, target: ProbeTarget): number {
  let n: number;
  if (typeof port === "number") n = port;
  else if (typeof port === "string") {
    const named = target.containerPorts.find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[0-9]+$/.test(port)) n = Number(port);
    else throw new Error(`port ${port} not found`);
  } else throw new Error(`invalid port number: ${String(port)}`);
  if (!Number.isInteger(n) || n <= 0 || n >= 65536) throw new Error(`invalid port number: ${n}`);
  return n;
}

function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Runs one probe attempt against the container. */
export async function runProbe(probe: Record<string, unknown>, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = probeTimeoutMs(probe);
  try {
    if (probe.exec) return await execProbe(record(probe.exec), target, timeoutMs);
    if (probe.httpGet) return await httpProbe(record(probe.httpGet), target, timeoutMs);
    if (probe.tcpSocket) return await tcpProbe(record(probe.tcpSocket), target, timeoutMs);
    if (probe.grpc) return await grpcProbe(record(probe.grpc), target, timeoutMs);
    return { ok: false, output: "missing probe handler" };
  } catch (err) {
    return { ok: false, output: err instanceof Error ? err.message : String(err) };
  }
}

async function execProbe(spec: Obj, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const argv = Array.isArray(spec.command) ? spec.command.map(String) : [];
  if (argv.length === 0) return { ok: false, output: "exec probe has no command" };
  const res = await target.exec(argv, timeoutMs);
  if (res.timedOut) return { ok: false, output: `command ${JSON.stringify(argv.join(" "))} timed out` };
  return { ok: res.exitCode === 0, output: res.stdout };
}

async function tcpProbe(spec: Obj, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const host = typeof spec.host === "string" && spec.host !== "" ? spec.host : target.podIP;
  const port = resolvePort(spec.port, target);
  const where = `dial tcp ${joinHostPort(host, port)}`;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => finish({ ok: false, output: `${where}: i/o timeout` }), timeoutMs);
    function finish(r: ProbeResult) {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    }
    socket.once("connect", () => finish({ ok: true, output: "" }));
    socket.once("error", (err: NodeJS.ErrnoException) =>
      finish({ ok: false, output: `${where}: connect: ${connectMessage(err)}` }),
    );
  });
}

function connectMessage(err: NodeJS.ErrnoException): string {
  if (err.code === "ECONNREFUSED") return "connection refused";
  if (err.code === "EHOSTUNREACH") return "no route to host";
  if (err.code === "ENETUNREACH") return "network is unreachable";
  return err.message;
}

interface HttpResponse {
  status: number;
  location?: string;
  body: string;
}

function httpGetOnce(url: URL, headers: Record<string, string>, deadline: number): Promise<HttpResponse> {
  const remaining = Math.max(1, deadline - Date.now());
  const lib = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: "GET",
      headers,
      agent: false,
      rejectUnauthorized: false,
      timeout: remaining,
    });
    const timer = setTimeout(() => {
      req.destroy(
        new Error(
          `Get "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        ),
      );
    }, remaining);
    req.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.message.startsWith("Get ")) reject(err);
      else if (err.code === "ECONNREFUSED")
        reject(new Error(`Get "${url.href}": dial tcp ${url.host}: connect: connection refused`));
      else reject(new Error(`Get "${url.href}": ${err.message}`));
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        clearTimeout(timer);
        res.destroy();
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8"),
        });
      };
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) done();
      });
      res.once("end", done);
      res.once("error", done);
    });
    req.end();
  });
}

async function httpProbe(spec: Obj, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const scheme = String(spec.scheme ?? "HTTP").toLowerCase();
  if (scheme !== "http" && scheme !== "https") return { ok: false, output: `unsupported scheme ${scheme}` };
  const host = typeof spec.host === "string" && spec.host !== "" ? spec.host : target.podIP;
  const port = resolvePort(spec.port, target);
  let path = typeof spec.path === "string" ? spec.path : "";
  if (!path.startsWith("/")) path = `/${path}`;
  let url = new URL(`${scheme}://${joinHostPort(host, port)}${path}`);
  const headers: Record<string, string> = {};
  for (const h of Array.isArray(spec.httpHeaders) ? spec.httpHeaders.map(record) : []) {
    if (typeof h.name === "string" && h.name !== "") headers[h.name] = String(h.value ?? "");
  }
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has("user-agent")) headers["User-Agent"] = PROBE_USER_AGENT;
  if (!has("accept")) headers.Accept = "*/*";
  const deadline = Date.now() + timeoutMs;
  const firstHost = url.hostname;
  for (let redirects = 0; ; redirects++) {
    const res = await httpGetOnce(url, headers, deadline);
    if (res.status >= 300 && res.status < 400 && res.location) {
      const next = new URL(res.location, url);
      // Upstream follows redirects only to the same host; others end the probe as a (warning) success.
      if (next.hostname === firstHost && (next.protocol === "http:" || next.protocol === "https:")) {
        if (redirects + 1 >= MAX_REDIRECTS)
          return { ok: false, output: `Get "${next.href}": stopped after 10 redirects` };
        url = next;
        continue;
      }
    }
    if (res.status >= 200 && res.status < 400) {
      if (res.status >= 300)
        return { ok: true, output: `Probe terminated redirects, Response body: ${res.body}` };
      return { ok: true, output: res.body };
    }
    return { ok: false, output: `HTTP probe failed with statuscode: ${res.status}` };
  }
}

// grpc.health.v1: HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}.
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

function encodeHealthRequest(service: string): Buffer {
  const name = Buffer.from(service);
  if (name.length === 0) return Buffer.alloc(0);
  const len: number[] = [];
  for (let n = name.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), name]);
}

function decodeHealthStatus(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const tag = buf[i++]!;
    let value = 0;
    for (let shift = 0; i < buf.length; shift += 7) {
      const b = buf[i++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (tag === 0x08) return value;
    if ((tag & 7) === 2) i += value;
    else if ((tag & 7) !== 0) break;
  }
  return 0;
}

async function grpcProbe(spec: Obj, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(spec.port, target);
  const service = typeof spec.service === "string" ? spec.service : "";
  const addr = joinHostPort(target.podIP, port);
  const client = new grpc.Client(addr, grpc.credentials.createInsecure());
  const seconds = `${timeoutMs / 1000}s`;
  try {
    const deadline = Date.now() + timeoutMs;
    const ready = await new Promise<Error | undefined>((resolve) => client.waitForReady(deadline, resolve));
    if (ready)
      return {
        ok: false,
        output: `timeout: failed to connect service ${JSON.stringify(addr)} within ${seconds}: ${ready.message}`,
      };
    const status = await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        (s: string) => encodeHealthRequest(s),
        (b: Buffer) => decodeHealthStatus(b),
        service,
        new grpc.Metadata({}),
        { deadline },
        (err, value) => (err ? reject(err) : resolve(value ?? 0)),
      );
    }).catch((err: grpc.ServiceError) => err);
    if (typeof status !== "number") {
      if (status.code === grpc.status.UNIMPLEMENTED)
        return {
          ok: false,
          output: `this server doesn't implement the grpc health protocol (grpc.health.v1.Health): ${status.details}`,
        };
      if (status.code === grpc.status.DEADLINE_EXCEEDED)
        return { ok: false, output: `timeout: health rpc did not complete within ${seconds}` };
      return { ok: false, output: `error: health rpc probe failed: ${status.message}` };
    }
    if (status !== 1)
      return {
        ok: false,
        output: `service unhealthy (responded with ${JSON.stringify(SERVING_STATUS[status] ?? String(status))})`,
      };
    return { ok: true, output: "service healthy" };
  } finally {
    client.close();
  }
}
