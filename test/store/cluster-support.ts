// Shared helpers for the cluster tests: in-process StoreServers with real peer transports on
// loopback, free ports picked up front (peer URLs must be known before the members start),
// and teardown that closes every member and removes its data directory even when a test fails.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreServer, type StoreServerOptions } from "../../src/store/index.js";
import { freePort } from "../support/ports.js";
import { waitFor } from "../support/require.js";

export { freePort };

export const enc = (s: string) => Buffer.from(s, "utf8");
export const dec = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : Buffer.from(b).toString("utf8");

/** Fast but not twitchy timings for loopback clusters. */
export const TIMING = { tickMs: 10, heartbeatMs: 30, electionMs: 150, requestTimeoutMs: 3000 };

export interface MemberSpec {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
}

export class ClusterHarness {
  readonly root = mkdtempSync(join(tmpdir(), "kite-cluster-"));
  readonly specs: MemberSpec[] = [];
  readonly servers = new Map<string, StoreServer>();
  readonly logs: string[] = [];

  async spec(name: string): Promise<MemberSpec> {
    const s = {
      name,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(this.root, name),
    };
    this.specs.push(s);
    return s;
  }

  initialCluster(specs: MemberSpec[] = this.specs) {
    return specs.map((s) => ({ name: s.name, peerURLs: [s.peerUrl] }));
  }

  async open(spec: MemberSpec, extra: Partial<StoreServerOptions> = {}): Promise<StoreServer> {
    const server = await StoreServer.open({
      name: spec.name,
      dataDir: spec.dataDir,
      initialCluster: this.initialCluster(),
      listenPeerUrls: [spec.peerUrl],
      advertiseClientUrls: [spec.clientUrl],
      peerTuning: { reconnectInitialMs: 10, reconnectMaxMs: 100 },
      log: (m) => this.logs.push(`${spec.name}: ${m}`),
      ...TIMING,
      ...extra,
    });
    this.servers.set(spec.name, server);
    return server;
  }

  /** Starts n new members of one new cluster. */
  async start(n: number, extra: Partial<StoreServerOptions> = {}): Promise<StoreServer[]> {
    const specs: MemberSpec[] = [];
    for (let i = 1; i <= n; i++) specs.push(await this.spec(`n${i}`));
    return Promise.all(specs.map((s) => this.open(s, extra)));
  }

  get(name: string): StoreServer {
    const s = this.servers.get(name);
    if (!s) throw new Error(`no running member ${name}`);
    return s;
  }

  running(): StoreServer[] {
    return [...this.servers.values()];
  }

  /** Waits until all given members agree on one leader among them; returns it. */
  async leader(among: StoreServer[] = this.running(), deadlineMs = 10_000): Promise<StoreServer> {
    let found: StoreServer | undefined;
    await waitFor(
      async () => {
        const ids = await Promise.all(among.map(async (s) => (await s.status()).leader));
        const lead = ids[0];
        found = among.find((s) => s.memberId === lead);
        return lead !== 0n && ids.every((x) => x === lead) && found !== undefined;
      },
      deadlineMs,
      "a leader all members agree on",
    );
    return found!;
  }

  async stop(name: string): Promise<void> {
    const s = this.servers.get(name);
    this.servers.delete(name);
    await s?.close();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.running().map((s) => s.close()));
    this.servers.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}
