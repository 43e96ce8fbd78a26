// Fixtures for the kube-proxy tests: echo backends on pod-range loopback addresses that say who they
// are, clients that ask them through the proxy, and helpers writing Services and EndpointSlices.
// Addresses are /24s in 127.0.0.0/8 chosen from the pid, and ports come from freePort(),
// so files running in parallel (or a `kite up` on the same host) cannot collide.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { KubeObject } from "../../src/api/index.js";
import type { RestClient } from "../../src/client/index.js";

export const SERVICES = { group: "", version: "v1", resource: "services" };
export const SLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };
/** A service range of its own, away from `kite up`'s 127.96.0.0/16. */
export const TEST_SERVICE_RANGE = "127.97.0.0/16";

/** A /24 of its own inside base (e.g. "127.244"), from the pid and a counter so parallel files differ. */
let subnetCounter = 0;
export function subnet(base: string): string {
  const n = (process.pid * 7 + subnetCounter++ * 13) % 250;
  return `${base}.${n + 2}`;
}

export interface Backend {
  ip: string;
  port: number;
  identity: string;
  close(): Promise<void>;
}

/** A TCP server that writes "<identity>\n" on connect and then echoes. */
export function tcpEcho(ip: string, port: number, identity: string): Promise<Backend> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.write(`${identity}\n`);
    s.pipe(s);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: ip, port }, () =>
      resolve({
        ip,
        port,
        identity,
        close: () =>
          new Promise((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** A UDP server that answers "<identity>:<message>". */
export function udpEcho(ip: string, port: number, identity: string): Promise<Backend> {
  const socket: UdpSocket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => socket.send(`${identity}:${msg}`, rinfo.port, rinfo.address));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: ip, port }, () =>
      resolve({ ip, port, identity, close: () => new Promise((done) => socket.close(() => done())) }),
    );
  });
}

/** Connects to ip:port and returns the first line the other end sends (its identity). */
export function ask(ip: string, port: number, localAddress?: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port, ...(localAddress ? { localAddress } : {}) });
    let buf = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${ip}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("data", (d) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.slice(0, nl));
      }
    });
    s.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`connection to ${ip}:${port} closed before an answer`));
    });
  });
}

/** Sends one datagram from a fresh socket and returns the reply and who sent it. */
export function askUdp(
  ip: string,
  port: number,
  message: string,
  timeoutMs = 5000,
): Promise<{ text: string; from: string }> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP answer from ${ip}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("message", (msg, rinfo) => {
      clearTimeout(timer);
      s.close();
      resolve({ text: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
    });
    s.on("error", (err) => {
      clearTimeout(timer);
      s.close();
      reject(err);
    });
    s.send(message, port, ip);
  });
}

export interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function sliceObject(
  service: string,
  name: string,
  ports: Array<{ name?: string; port: number; protocol?: string }>,
  endpoints: SliceEndpoint[],
): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    ports: ports.map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ready: e.ready ?? true,
        ...(e.serving === undefined ? {} : { serving: e.serving }),
        ...(e.terminating === undefined ? {} : { terminating: e.terminating }),
      },
    })),
  };
}

export async function createService(
  client: RestClient,
  name: string,
  spec: Record<string, unknown>,
): Promise<KubeObject> {
  return client
    .resource(SERVICES, "default")
    .create({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec });
}

export async function putSlice(client: RestClient, slice: KubeObject): Promise<KubeObject> {
  const res = client.resource(SLICES, "default");
  try {
    const cur = await res.get(slice.metadata!.name!);
    return await res.update({
      ...slice,
      metadata: { ...slice.metadata, resourceVersion: cur.metadata?.resourceVersion },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    return res.create(slice);
  }
}

/** Counts identities over n sequential requests. */
export async function tally(
  ip: string,
  port: number,
  n: number,
  localAddress?: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await ask(ip, port, localAddress);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

/**
 * Waits until a connection through ip:port gets an answer. A frontend can be bound before the sync
 * that brings its endpoints (service and slice are separate writes), so tests wait on traffic.
 */
export async function waitForAnswer(ip: string, port: number, deadlineMs = 10_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await ask(ip, port);
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`no answer through ${ip}:${port} within ${deadlineMs} ms: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
