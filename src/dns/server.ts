// The DNS listeners: UDP and TCP (RFC 1035 2-byte length framing, several queries per connection)
// on one address and port, each message answered from the Resolver; SERVFAIL until the informers
// have synced, FORMERR/NOTIMP/BADVERS for what cannot be answered, and bad input dropped, never
// thrown. CoreDNS's default TTL (5 s, the kubernetes plugin's minimum) unless ttlSeconds says.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import type { Server as HttpServer } from "node:http";
import { createServer as createTcpServer, isIPv6, type Socket, type Server as TcpServer } from "node:net";
import { Registry } from "prom-client";
import type { RestClient } from "../client/index.js";
import { InformerClusterView } from "./cluster.js";
import { DnsMetrics, serveMetrics } from "./metrics.js";
import { typeLabel } from "./names.js";
import { Resolver } from "./resolve.js";
import { type Answer, encodeResponse, parseQuery, RCODE, RCODE_NAMES, udpLimit } from "./wire.js";

export const DEFAULT_TTL_SECONDS = 5;
const DEFAULT_METRICS_PORT = 9153;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 1024;
const BIND_ATTEMPTS = 20;

export interface DnsOptions {
  client: RestClient;
  address: string;
  port: number;
  clusterDomain?: string;
  /** Record TTL; default 5 s as CoreDNS's kubernetes plugin. */
  ttlSeconds?: number;
  /** /metrics (and /health, /ready) on address; default 9153, 0 = a free port, -1 = none. */
  metricsPort?: number;
  registry?: Registry;
  log?: (m: string) => void;
}

export interface DnsServer {
  readonly address: string;
  readonly port: number;
  /** The port /metrics is served on, undefined when metricsPort was -1. */
  readonly metricsPort: number | undefined;
  synced(): boolean;
  stop(): Promise<void>;
}

const EMPTY = (rcode: number): Answer => ({ rcode, answers: [], authorities: [], additionals: [] });

function bindUdp(address: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(address) ? "udp6" : "udp4");
    sock.once("error", reject);
    sock.bind(port, address, () => {
      sock.off("error", reject);
      resolve(sock);
    });
  });
}

function bindTcp(server: TcpServer, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

export async function startDns(opts: DnsOptions): Promise<DnsServer> {
  const log = opts.log ?? (() => {});
  const zone = (opts.clusterDomain ?? "cluster.local").toLowerCase().replace(/\.+$/, "");
  const ttl = Math.max(0, Math.floor(opts.ttlSeconds ?? DEFAULT_TTL_SECONDS));
  const registry = opts.registry ?? new Registry();
  const metrics = new DnsMetrics(registry);
  const view = new InformerClusterView(opts.client, log);
  const resolver = new Resolver(view, { zone, ttl, serverAddress: opts.address });
  const family = isIPv6(opts.address) ? "2" : "1";
  const connections = new Set<Socket>();

  const handle = (msg: Buffer, proto: "udp" | "tcp", serverLabel: string): Buffer | undefined => {
    const started = process.hrtime.bigint();
    const parsed = parseQuery(msg);
    if (parsed.kind === "drop") return undefined;
    let out: Buffer;
    let zoneLabel = ".";
    let qtype = "other";
    let rcode: number;
    try {
      if (parsed.kind === "error") {
        rcode = parsed.rcode;
        out = encodeResponse(
          { id: parsed.id, opcode: parsed.opcode, recursionDesired: false, rawQuestion: parsed.rawQuestion },
          EMPTY(rcode),
        );
      } else {
        const q = parsed.query;
        qtype = typeLabel(q.qtype);
        let answer: Answer;
        if (q.edns !== undefined && q.edns.version > 0) answer = EMPTY(RCODE.BADVERS);
        else if (!view.synced()) answer = EMPTY(RCODE.SERVFAIL);
        else {
          const r = resolver.resolve(q.labels, q.qtype, q.qclass);
          zoneLabel = r.zone === "." ? "." : `${r.zone}.`;
          answer = r.answer;
        }
        rcode = answer.rcode;
        out = encodeResponse(q, answer, proto === "udp" ? udpLimit(q.edns) : 65535);
      }
    } catch (err) {
      log(`dns: answering failed: ${(err as Error).stack ?? err}`);
      if (parsed.kind !== "query") return undefined;
      rcode = RCODE.SERVFAIL;
      out = encodeResponse({ ...parsed.query, rawQuestion: parsed.query.rawQuestion }, EMPTY(rcode));
    }
    metrics.observe({
      server: serverLabel,
      zone: zoneLabel,
      proto,
      family,
      type: qtype,
      rcode: RCODE_NAMES[rcode] ?? String(rcode),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
    return out;
  };

  const onConnection = (sock: Socket, serverLabel: string) => {
    connections.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on("close", () => connections.delete(sock));
    sock.on("error", () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        const out = handle(msg, "tcp", serverLabel);
        if (out === undefined) continue;
        const frame = Buffer.alloc(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        sock.write(frame);
      }
    });
  };

  // UDP and TCP share one port; with port 0 the kernel's UDP pick may be taken on TCP: try again.
  let udp: UdpSocket | undefined;
  let tcp: TcpServer | undefined;
  let port = opts.port;
  for (let attempt = 1; ; attempt++) {
    udp = await bindUdp(opts.address, opts.port);
    port = udp.address().port;
    const serverLabel = `dns://${isIPv6(opts.address) ? `[${opts.address}]` : opts.address}:${port}`;
    tcp = createTcpServer((sock) => onConnection(sock, serverLabel));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    try {
      await bindTcp(tcp, opts.address, port);
      const u = udp;
      u.on("message", (msg, rinfo) => {
        const out = handle(msg, "udp", serverLabel);
        if (out !== undefined) u.send(out, rinfo.port, rinfo.address);
      });
      u.on("error", (err) => log(`dns: udp: ${err.message}`));
      tcp.on("error", (err) => log(`dns: tcp: ${err.message}`));
      break;
    } catch (err) {
      udp.close();
      if (opts.port !== 0 || attempt >= BIND_ATTEMPTS) throw err;
    }
  }

  let metricsServer: HttpServer | undefined;
  let metricsPort: number | undefined;
  const wantMetrics = opts.metricsPort ?? DEFAULT_METRICS_PORT;
  if (wantMetrics >= 0) {
    try {
      const m = await serveMetrics(registry, opts.address, wantMetrics, () => view.synced());
      metricsServer = m.server;
      metricsPort = m.port;
    } catch (err) {
      udp.close();
      tcp.close();
      throw err;
    }
  }

  view.start();
  log(
    `dns: serving ${zone} on ${opts.address}:${port} (udp, tcp)${metricsPort === undefined ? "" : `, metrics on :${metricsPort}`}`,
  );

  let stopping: Promise<void> | undefined;
  const u = udp;
  const t = tcp;
  return {
    address: opts.address,
    port,
    metricsPort,
    synced: () => view.synced(),
    stop() {
      stopping ??= (async () => {
        u.close();
        for (const sock of connections) sock.destroy();
        await new Promise<void>((r) => t.close(() => r()));
        if (metricsServer !== undefined) {
          metricsServer.closeAllConnections();
          await new Promise<void>((r) => metricsServer!.close(() => r()));
        }
        await view.stop();
      })();
      return stopping;
    },
  };
}
