// A cluster of three separate `kite store` processes talking over the peer transport, driven
// through the etcd v3 gRPC API: SIGKILL the leader and measure how long until a survivor
// commits again; partition through the Jepsen hook (SIGUSR2 + $KITE_FAULT_FILE) and heal;
// replace the dead member through the Cluster API with a fourth process that joins an existing
// cluster.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../src/etcdapi/proto.js";
import { need, waitFor } from "../support/require.js";
import { freePort } from "./cluster-support.js";

const KITE_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ELECTION_MS = 150;

/** The fields of etcd responses these tests read (proto-loader output, longs as strings). */
interface Wire {
  leader?: string;
  header?: { member_id?: string };
  kvs?: Array<{ value: Uint8Array }>;
  member?: { ID: string };
  members?: Array<{ ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }>;
  isLearner?: boolean;
}

type Unary = (req: object, opts: { deadline: number }, cb: (err: Error | null, res: Wire) => void) => void;

interface Proc {
  name: string;
  peerUrl: string;
  clientUrl: string;
  faultFile: string;
  proc: ChildProcess;
  log: string[];
  kv: grpc.Client & Record<string, Unary>;
  maint: grpc.Client & Record<string, Unary>;
  cluster: grpc.Client & Record<string, Unary>;
}

function call(
  client: grpc.Client & Record<string, Unary>,
  method: string,
  req: object,
  ms = 500,
): Promise<Wire> {
  return new Promise((resolve, reject) => {
    client[method]!.call(client, req, { deadline: Date.now() + ms }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

class ProcessCluster {
  readonly root = mkdtempSync(join(tmpdir(), "kite-cluster-proc-"));
  readonly members: Proc[] = [];

  async spec(name: string): Promise<{ name: string; peerUrl: string; clientUrl: string }> {
    return {
      name,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
    };
  }

  async start(n: number): Promise<void> {
    const specs = [];
    for (let i = 1; i <= n; i++) specs.push(await this.spec(`n${i}`));
    const initial = specs.map((s) => `${s.name}=${s.peerUrl}`).join(",");
    for (const s of specs) this.spawn(s, initial, "new");
  }

  spawn(
    s: { name: string; peerUrl: string; clientUrl: string },
    initial: string,
    state: "new" | "existing",
  ): Proc {
    const faultFile = join(this.root, `${s.name}.faults`);
    const proc = spawn(
      process.execPath,
      [
        KITE_MAIN,
        "store",
        `--name=${s.name}`,
        `--data-dir=${join(this.root, s.name)}`,
        `--listen-client-urls=${s.clientUrl}`,
        `--advertise-client-urls=${s.clientUrl}`,
        `--listen-peer-urls=${s.peerUrl}`,
        `--initial-advertise-peer-urls=${s.peerUrl}`,
        `--initial-cluster=${initial}`,
        `--initial-cluster-state=${state}`,
        "--initial-cluster-token=kite-test",
        "--heartbeat-interval=30",
        `--election-timeout=${ELECTION_MS}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KITE_FAULT_FILE: faultFile } },
    );
    const log: string[] = [];
    proc.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
    proc.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
    const address = new URL(s.clientUrl).host;
    const creds = grpc.credentials.createInsecure();
    const client = (name: "KV" | "Maintenance" | "Cluster") =>
      new (grpc.makeGenericClientConstructor(serviceDefinition(name), name))(address, creds) as Proc["kv"];
    const member: Proc = {
      ...s,
      faultFile,
      proc,
      log,
      kv: client("KV"),
      maint: client("Maintenance"),
      cluster: client("Cluster"),
    };
    this.members.push(member);
    return member;
  }

  alive(): Proc[] {
    return this.members.filter((m) => m.proc.exitCode === null && m.proc.signalCode === null);
  }

  async leaderOf(m: Proc): Promise<string> {
    return String((await call(m.maint, "Status", {})).leader);
  }

  async memberIdOf(m: Proc): Promise<string> {
    return String((await call(m.maint, "Status", {})).header?.member_id);
  }

  /** Waits until every given member names the same leader among them. */
  async leader(among = this.alive(), deadlineMs = 15_000): Promise<Proc> {
    let found: Proc | undefined;
    await waitFor(
      async () => {
        for (const m of among) {
          if (m.proc.exitCode !== null) throw new Error(`${m.name} exited: ${m.log.join("").slice(-2000)}`);
        }
        try {
          const views = await Promise.all(among.map((m) => this.leaderOf(m)));
          const ids = await Promise.all(among.map((m) => this.memberIdOf(m)));
          found = among[ids.indexOf(views[0]!)];
          return views[0] !== "0" && views.every((v) => v === views[0]) && found !== undefined;
        } catch {
          return false;
        }
      },
      deadlineMs,
      "the members to agree on a leader",
    );
    return found!;
  }

  close(): void {
    for (const m of this.members) {
      m.kv.close();
      m.maint.close();
      m.cluster.close();
      if (m.proc.pid !== undefined && m.proc.exitCode === null && m.proc.signalCode === null) {
        process.kill(m.proc.pid, "SIGKILL");
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

const put = (m: Proc, key: string, value: string, ms = 500) =>
  call(m.kv, "Put", { key: Buffer.from(key), value: Buffer.from(value) }, ms);

/**
 * Like a client retrying every ~10 ms: starts a put every 10 ms, alternating between targets,
 * each allowed a second (an attempt forwarded to a dead leader only fails at its deadline), and
 * resolves with the time the first one is acknowledged.
 */
function firstAcknowledgedPut(targets: Proc[], limitMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let attempts = 0;
    let settled = false;
    const attempt = () => {
      if (settled) return;
      if (performance.now() - started > limitMs) {
        settled = true;
        clearInterval(timer);
        reject(new Error(`no put was acknowledged within ${limitMs} ms (${attempts} attempts)`));
        return;
      }
      const target = targets[attempts++ % targets.length]!;
      put(target, "after", String(attempts), 1000).then(
        () => {
          if (settled) return;
          settled = true;
          clearInterval(timer);
          resolve(performance.now());
        },
        () => {},
      );
    };
    const timer = setInterval(attempt, 10);
    attempt();
  });
}

describe("a cluster of kite store processes", () => {
  const cluster = new ProcessCluster();
  after(() => cluster.close());

  test("SIGKILL of the leader: writes resume within 2 election timeouts", {
    timeout: 60_000,
  }, async (t) => {
    if (!need(t, existsSync(KITE_MAIN), `built CLI missing at ${KITE_MAIN}`)) return;
    await cluster.start(3);
    const leader = await cluster.leader();
    await put(leader, "before", "1", 2000);
    const survivors = cluster.alive().filter((m) => m !== leader);
    const killedAt = performance.now();
    process.kill(leader.proc.pid!, "SIGKILL");
    const resumedAt = await firstAcknowledgedPut(survivors, 10_000);
    const failoverMs = resumedAt - killedAt;
    t.diagnostic(
      `failover: first committed write ${failoverMs.toFixed(0)} ms after SIGKILL (election ${ELECTION_MS} ms)`,
    );
    assert.ok(
      failoverMs < 2 * ELECTION_MS,
      `writes resumed only after ${failoverMs.toFixed(0)} ms (bound: 2 election timeouts, ${2 * ELECTION_MS} ms)`,
    );
    const next = await cluster.leader(survivors);
    assert.notEqual(next, leader);
    const got = await call(survivors[0]!.kv, "Range", { key: Buffer.from("before") }, 2000);
    assert.equal(Buffer.from(got.kvs![0]!.value).toString(), "1");
  });

  test("the Jepsen hook: SIGUSR2 applies $KITE_FAULT_FILE (member names allowed), isolating the leader", {
    timeout: 60_000,
  }, async () => {
    const alive = cluster.alive();
    const leader = await cluster.leader(alive);
    const [other] = alive.filter((m) => m !== leader);
    // Cut the two survivors apart: no quorum is left, so no write can commit.
    writeFileSync(leader.faultFile, `cut:${other!.name}`);
    writeFileSync(other!.faultFile, `cut:${leader.name}`);
    process.kill(leader.proc.pid!, "SIGUSR2");
    process.kill(other!.proc.pid!, "SIGUSR2");
    await waitFor(
      async () => (await cluster.leaderOf(leader).catch(() => "x")) === "0",
      5000,
      "the isolated leader to step down",
    );
    await assert.rejects(put(other!, "cut", "1", 1000));
    writeFileSync(leader.faultFile, "heal");
    writeFileSync(other!.faultFile, "heal");
    process.kill(leader.proc.pid!, "SIGUSR2");
    process.kill(other!.proc.pid!, "SIGUSR2");
    await cluster.leader(alive);
    await waitFor(
      async () =>
        put(other!, "healed", "1", 1000).then(
          () => true,
          () => false,
        ),
      5000,
      "writes to resume after healing",
    );
    assert.ok(leader.log.join("").includes(`applied fault spec "cut:${other!.name}"`));
  });

  test("replace the dead member through the etcd API: remove, add a learner, join, promote, move leader", {
    timeout: 60_000,
  }, async () => {
    const alive = cluster.alive();
    const leader = await cluster.leader(alive);
    const dead = cluster.members.find((m) => !alive.includes(m))!;
    const listed = (await call(leader.cluster, "MemberList", {}, 2000)).members!;
    const deadId = listed.find((m) => m.name === dead.name)!.ID;
    await call(leader.cluster, "MemberRemove", { ID: deadId }, 5000);

    const spec = await cluster.spec("n4");
    const added = await call(
      alive[0]!.cluster,
      "MemberAdd",
      { peerURLs: [spec.peerUrl], isLearner: true },
      5000,
    );
    const newId = added.member!.ID;
    const initial = [...alive, spec].map((m) => `${m.name}=${m.peerUrl}`).join(",");
    const joined = cluster.spawn(spec, initial, "existing");
    await waitFor(
      async () => {
        if (joined.proc.exitCode !== null) throw new Error(`n4 exited: ${joined.log.join("").slice(-2000)}`);
        const r = await call(
          joined.kv,
          "Range",
          { key: Buffer.from("healed"), serializable: true },
          500,
        ).catch(() => undefined);
        return r?.kvs?.length === 1;
      },
      15_000,
      "the joining member to catch up",
    );
    await waitFor(
      () =>
        call(leader.cluster, "MemberPromote", { ID: newId }, 2000).then(
          () => true,
          (err: Error) => {
            if (/in sync with leader/.test(err.message)) return false;
            throw err;
          },
        ),
      10_000,
      "the learner to be promoted",
    );
    const lead = await cluster.leader(cluster.alive());
    await call(lead.maint, "MoveLeader", { targetID: newId }, 5000);
    assert.equal(await cluster.leaderOf(joined), newId);
    const members = (await call(joined.cluster, "MemberList", {}, 2000)).members!;
    assert.deepEqual(members.map((m) => m.name).sort(), [...alive.map((m) => m.name), "n4"].sort());
    const me = members.find((m) => m.ID === newId)!;
    assert.equal(me.isLearner, false);
    assert.deepEqual(me.clientURLs, [spec.clientUrl]);
    await put(joined, "after-replace", "1", 2000);
  });
});
