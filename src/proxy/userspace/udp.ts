// One UDP frontend: datagrams from a client (address:port) go to the endpoint its session was given
// (round robin or affinity at session start), through a socket of the session's own so replies can
// be told apart and sent back from the frontend's address. A session ends after udpIdleTimeoutMs
// without traffic either way (upstream's --udp-timeout, 250 ms by default).
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { Frontend } from "../desired.js";
import type { FrontendDeps } from "./deps.js";

interface Session {
  socket: Socket;
  host: string;
  port: number;
  idle?: NodeJS.Timeout;
}

/** Sessions per frontend at most; beyond it new clients' datagrams are dropped (bounded sockets). */
const MAX_SESSIONS = 4096;

export class UdpFrontend {
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  private constructor(
    readonly frontend: Frontend,
    private readonly socket: Socket,
    private readonly deps: FrontendDeps,
  ) {}

  static open(frontend: Frontend, deps: FrontendDeps): Promise<UdpFrontend> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: "udp4", reuseAddr: false });
      const fe = new UdpFrontend(frontend, socket, deps);
      const failed = (err: Error) => {
        socket.close();
        reject(err);
      };
      socket.once("error", failed);
      socket.bind({ address: frontend.ip, port: frontend.port, exclusive: true }, () => {
        socket.removeListener("error", failed);
        socket.on("error", (err) => deps.log(`proxy: listener ${frontend.key}: ${err.message}`));
        socket.on("message", (msg, rinfo) => fe.fromClient(msg, rinfo));
        resolve(fe);
      });
    });
  }

  private fromClient(msg: Buffer, client: RemoteInfo): void {
    if (this.closed) return;
    const key = `${client.address}:${client.port}`;
    let session = this.sessions.get(key);
    if (session === undefined) {
      session = this.newSession(key, client);
      if (session === undefined) {
        this.deps.metrics.rejected.inc({ protocol: "UDP" });
        return;
      }
    }
    this.touch(key, session);
    session.socket.send(msg, session.port, session.host);
  }

  private newSession(key: string, client: RemoteInfo): Session | undefined {
    if (this.sessions.size >= MAX_SESSIONS) return undefined;
    const endpoint = this.deps.balancer.next(this.frontend.servicePort, client.address);
    if (endpoint === undefined) return undefined;
    const colon = endpoint.lastIndexOf(":");
    const socket = createSocket("udp4");
    const session: Session = {
      socket,
      host: endpoint.slice(0, colon),
      port: Number(endpoint.slice(colon + 1)),
    };
    socket.on("error", () => this.endSession(key));
    socket.on("message", (reply, from) => {
      if (from.address !== session.host || from.port !== session.port || this.closed) return;
      this.touch(key, session);
      this.socket.send(reply, client.port, client.address);
    });
    this.sessions.set(key, session);
    this.deps.metrics.connections.inc({ protocol: "UDP" });
    this.deps.metrics.activeConnections.inc({ protocol: "UDP" });
    return session;
  }

  private touch(key: string, session: Session): void {
    if (session.idle !== undefined) session.idle.refresh();
    else {
      session.idle = setTimeout(() => this.endSession(key), this.deps.udpIdleTimeoutMs);
      session.idle.unref();
    }
  }

  private endSession(key: string): void {
    const session = this.sessions.get(key);
    if (session === undefined) return;
    this.sessions.delete(key);
    clearTimeout(session.idle);
    try {
      session.socket.close();
    } catch {
      // Already closed after an error.
    }
    this.deps.metrics.activeConnections.dec({ protocol: "UDP" });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.sessions.keys()]) this.endSession(key);
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  get activeConnections(): number {
    return this.sessions.size;
  }
}
