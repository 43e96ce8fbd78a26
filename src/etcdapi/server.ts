// Serves the etcd v3 gRPC API and etcd's HTTP endpoints on the same client URLs, as etcd does
// with cmux: each accepted connection is sniffed, an HTTP/2 client preface goes to the gRPC
// server (through grpc-js's connection injector), anything else to the HTTP/1 handler.
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import type { KvService } from "../store/server/types.js";
import { authService } from "./auth.js";
import { EtcdError } from "./errors.js";
import { httpHandler } from "./http.js";
import { kvService, leaseUnaryCalls } from "./kv.js";
import { leaseKeepAlive } from "./lease.js";
import { clusterService, maintenanceService } from "./maintenance.js";
import { serviceDefinition } from "./proto.js";
import type { ApiContext } from "./rpc.js";
import { GRPC_OVERHEAD_BYTES, watchCall } from "./watch.js";

export interface EtcdGrpcServerOptions {
  /** etcd --listen-client-urls: http://host:port (port 0 picks a free one). */
  listenUrls: (URL | string)[];
  /** Served on /metrics. */
  registry?: Registry;
  /** etcd --max-request-bytes. Default 1.5 MiB. */
  maxRequestBytes?: number;
  /** etcd --max-txn-ops. Default 128. */
  maxTxnOps?: number;
  /** How often streams that asked for a leader check there is one (etcd: the election timeout). */
  leaderCheckMs?: number;
}

export interface EtcdGrpcServer {
  /** The URLs actually listened on (ports resolved). */
  readonly urls: string[];
  /** Their ports, in the order of listenUrls. */
  readonly ports: number[];
  close(): Promise<void>;
}

export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_MAX_TXN_OPS = 128;
/** etcd cancels `hasleader` streams after this many election timeouts without a leader. */
const MAX_NO_LEADER_CHECKS = 3;

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function parseListenUrl(u: URL | string): { host: string; port: number } {
  const url = typeof u === "string" ? new URL(u) : u;
  if (url.protocol !== "http:") {
    throw new Error(
      `unsupported client URL ${url.href}: only http:// is supported (no TLS, no unix sockets)`,
    );
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? 80 : Number(url.port) };
}

function listen(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

export async function startEtcdGrpcServer(
  service: KvService,
  opts: EtcdGrpcServerOptions,
): Promise<EtcdGrpcServer> {
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const ctx: ApiContext = {
    service,
    maxTxnOps: opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS,
    maxRequestBytes,
    leaderStreams: new Set(),
  };
  const targets = opts.listenUrls.map(parseListenUrl);

  const grpcServer = new grpc.Server({
    "grpc.max_receive_message_length": maxRequestBytes + GRPC_OVERHEAD_BYTES,
    "grpc.max_send_message_length": -1,
  });
  grpcServer.addService(serviceDefinition("KV"), kvService(ctx));
  grpcServer.addService(serviceDefinition("Watch"), { Watch: watchCall(ctx) });
  grpcServer.addService(serviceDefinition("Lease"), {
    ...leaseUnaryCalls(ctx),
    LeaseKeepAlive: leaseKeepAlive(ctx),
  });
  grpcServer.addService(serviceDefinition("Cluster"), clusterService(ctx));
  grpcServer.addService(serviceDefinition("Maintenance"), maintenanceService(ctx));
  grpcServer.addService(serviceDefinition("Auth"), authService(ctx));
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());

  const httpServer = createHttpServer(httpHandler(service, opts.registry));
  const sockets = new Set<Socket>();
  const route = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const n = Math.min(first.length, HTTP2_PREFACE.length);
      if (first.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))) {
        // The HTTP/2 session takes over the socket's handle and replays the unshifted bytes
        // itself on the next tick; resuming here would emit them to nobody.
        injector.injectConnection(socket);
      } else {
        httpServer.emit("connection", socket);
        socket.resume();
      }
    });
  };

  const listeners: NetServer[] = [];
  const ports: number[] = [];
  try {
    for (const t of targets) {
      const server = createNetServer(route);
      listeners.push(server);
      ports.push(await listen(server, t.host, t.port));
    }
  } catch (err) {
    for (const l of listeners) l.close();
    injector.destroy();
    grpcServer.forceShutdown();
    throw err;
  }

  let noLeaderChecks = 0;
  const leaderTimer = setInterval(() => {
    noLeaderChecks = service.hasLeader() ? 0 : noLeaderChecks + 1;
    if (noLeaderChecks < MAX_NO_LEADER_CHECKS) return;
    for (const end of [...ctx.leaderStreams]) end(EtcdError.of("NoLeader"));
    ctx.leaderStreams.clear();
  }, opts.leaderCheckMs ?? 1000);
  leaderTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    urls: targets.map((t, i) => `http://${t.host.includes(":") ? `[${t.host}]` : t.host}:${ports[i]}`),
    ports,
    close() {
      closing ??= (async () => {
        clearInterval(leaderTimer);
        // Stop accepting first; a listener's close completes only once its sockets are gone.
        const closed = listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
        injector.destroy();
        grpcServer.forceShutdown();
        httpServer.close();
        for (const s of sockets) s.destroy();
        await Promise.all(closed);
      })();
      return closing;
    },
  };
}
