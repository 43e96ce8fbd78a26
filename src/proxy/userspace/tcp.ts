// One TCP frontend (a ClusterIP:port or nodeIP:nodePort listener): each accepted connection is
// spliced to an endpoint the balancer picks. A dial that fails (refused, or no answer within the
// attempt's timeout) moves on to the next endpoint, upstream's endpointDialTimeouts; when no
// endpoint can be reached the client gets a reset, the nearest userspace can come to a REJECT.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Frontend } from "../desired.js";
import type { FrontendDeps } from "./deps.js";

/** Upstream userspace proxy's dial timeouts, one per attempt. */
export const DIAL_TIMEOUTS_MS = [250, 500, 1000, 2000];

function dial(endpoint: string, timeoutMs: number): Promise<Socket> {
  const colon = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, colon);
  const port = Number(endpoint.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`dial ${endpoint}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

export function clientAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

export class TcpFrontend {
  /** Accepted client → its endpoint connection (undefined while dialling). */
  private readonly conns = new Map<Socket, Socket | undefined>();
  private closed = false;

  private constructor(
    readonly frontend: Frontend,
    private readonly server: Server,
    private readonly deps: FrontendDeps,
  ) {}

  /** Listens on the frontend's address; rejects with the bind error (e.g. EADDRINUSE). */
  static open(frontend: Frontend, deps: FrontendDeps): Promise<TcpFrontend> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      const fe = new TcpFrontend(frontend, server, deps);
      server.on("connection", (socket) => fe.accept(socket));
      server.once("error", reject);
      server.listen({ host: frontend.ip, port: frontend.port, exclusive: true }, () => {
        server.removeListener("error", reject);
        server.on("error", (err) => deps.log(`proxy: listener ${frontend.key}: ${err.message}`));
        resolve(fe);
      });
    });
  }

  private accept(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    this.conns.set(client, undefined);
    this.deps.metrics.activeConnections.inc({ protocol: "TCP" });
    client.on("error", () => {});
    client.once("close", (hadError) => this.onClientClose(client, hadError));
    void this.connectToEndpoint(client);
  }

  private onClientClose(client: Socket, hadError: boolean): void {
    const backend = this.conns.get(client);
    if (backend !== undefined) closeAfter(backend, hadError);
    this.maybeForget(client);
  }

  /** A connection counts until both of its sockets are gone (the endpoint side may still be flushing). */
  private maybeForget(client: Socket): void {
    if (!this.conns.has(client)) return;
    const backend = this.conns.get(client);
    if (!client.destroyed || (backend !== undefined && !backend.destroyed)) return;
    this.conns.delete(client);
    this.deps.metrics.activeConnections.dec({ protocol: "TCP" });
  }

  private async connectToEndpoint(client: Socket): Promise<void> {
    const clientIP = clientAddress(client.remoteAddress);
    let backend: Socket | undefined;
    for (let attempt = 0; attempt < DIAL_TIMEOUTS_MS.length && backend === undefined; attempt++) {
      const endpoint = this.deps.balancer.next(this.frontend.servicePort, clientIP, attempt > 0);
      if (endpoint === undefined) break;
      try {
        backend = await dial(endpoint, DIAL_TIMEOUTS_MS[attempt]!);
      } catch (err) {
        this.deps.metrics.dialFailures.inc();
        this.deps.log(
          `proxy: ${this.frontend.servicePort}: dial ${endpoint} failed (${(err as Error).message}); trying the next endpoint`,
        );
      }
      if (client.destroyed || this.closed) {
        backend?.destroy();
        return;
      }
    }
    if (backend === undefined) {
      this.deps.metrics.rejected.inc({ protocol: "TCP" });
      client.resetAndDestroy();
      return;
    }
    this.deps.metrics.connections.inc({ protocol: "TCP" });
    this.conns.set(client, backend);
    backend.once("close", () => this.maybeForget(client));
    splice(client, backend);
  }

  /** Stops listening and cuts every connection through this frontend. */
  close(): Promise<void> {
    this.closed = true;
    for (const [client, backend] of this.conns) {
      backend?.destroy();
      client.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  get activeConnections(): number {
    return this.conns.size;
  }
}

/** A peer that went away cleanly lets the other side finish its writes; an error cuts at once. */
export function closeAfter(other: Socket, hadError: boolean): void {
  if (other.destroyed) return;
  if (hadError) {
    other.destroy();
    return;
  }
  other.end();
  setTimeout(() => other.destroy(), LINGER_MS).unref();
}

/** How long a side may keep flushing after its peer closed. */
const LINGER_MS = 30_000;

/** Copies bytes both ways; a FIN travels on (half-close), an error or reset on either side cuts both. */
function splice(client: Socket, backend: Socket): void {
  const cut = () => {
    client.destroy();
    backend.destroy();
  };
  client.on("error", cut);
  backend.on("error", cut);
  backend.once("close", (hadError) => closeAfter(client, hadError));
  client.pipe(backend);
  backend.pipe(client);
  client.resume();
}
