// A cluster of `kite store` processes for the Jepsen harness: each member is a separate process
// on free loopback ports with its own data dir under one kite- temp root, so a member can be
// SIGKILLed and restarted on the same data, SIGSTOPped/SIGCONTed, and partitioned through the
// fault hook ($KITE_FAULT_FILE + SIGUSR2). close() kills every process it started, by pid.
// A store installs its SIGUSR2 handler only once it serves clients, and until then SIGUSR2 kills
// it (the default action), so a member is signalled only once its "ready" line was seen (plus a
// grace period: the line is written just before the handler is installed, and a signal sent
// the moment it arrives can beat it); a restart waits for that, and any exit the harness did
// not cause counts as a crash.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../store/cluster-support.js";

export const KITE_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface Member {
  name: string;
  peerUrl: string;
  /** host:port for gRPC clients. */
  clientAddress: string;
  faultFile: string;
  proc: ChildProcess;
  paused: boolean;
  log: string[];
  /** How each earlier process of this member ended ("pid 123: signal SIGKILL"), oldest first. */
  exits: string[];
  /** The current process serves clients and its fault hook is installed. */
  ready: boolean;
  /** The current process logged its ready line (ready follows after HOOK_GRACE_MS). */
  announced: boolean;
  /** A fault spec was written while the process started; signal it once ready. */
  signalWhenReady: boolean;
  /** The harness is SIGKILLing the current process, so its exit is expected. */
  killing: boolean;
  /** Exits the harness did not cause. */
  crashes: string[];
}

const READY_LINE = "ready to serve client requests";
const HOOK_GRACE_MS = 200;

/** Whether something accepts TCP connections on host:port (within 1 s). */
export function listening(hostPort: string): Promise<boolean> {
  const at = hostPort.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

export class StoreProcessCluster {
  readonly root = mkdtempSync(join(tmpdir(), "kite-jepsen-"));
  readonly members: Member[] = [];
  private initial = "";

  async start(n: number, timing = { heartbeatMs: 30, electionMs: 300 }): Promise<void> {
    const specs: Array<{ name: string; peerUrl: string; clientAddress: string }> = [];
    for (let i = 1; i <= n; i++) {
      specs.push({
        name: `n${i}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        clientAddress: `127.0.0.1:${await freePort()}`,
      });
    }
    this.initial = specs.map((s) => `${s.name}=${s.peerUrl}`).join(",");
    this.timing = timing;
    for (const s of specs) {
      const fields: Omit<Member, "proc"> = {
        ...s,
        faultFile: join(this.root, `${s.name}.faults`),
        paused: false,
        log: [],
        exits: [],
        ready: false,
        announced: false,
        signalWhenReady: false,
        killing: false,
        crashes: [],
      };
      const member = fields as Member;
      member.proc = this.spawnProcess(member);
      this.members.push(member);
    }
  }

  private timing = { heartbeatMs: 30, electionMs: 300 };

  private spawnProcess(m: Member): ChildProcess {
    const clientUrl = `http://${m.clientAddress}`;
    const proc = spawn(
      process.execPath,
      [
        KITE_MAIN,
        "store",
        `--name=${m.name}`,
        `--data-dir=${join(this.root, m.name)}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${this.initial}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=kite-jepsen",
        `--heartbeat-interval=${this.timing.heartbeatMs}`,
        `--election-timeout=${this.timing.electionMs}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KITE_FAULT_FILE: m.faultFile } },
    );
    m.ready = false;
    m.announced = false;
    m.killing = false;
    const keep = (d: Buffer) => {
      m.log.push(d.toString());
      if (m.log.length > 200) m.log.splice(0, m.log.length - 200);
      if (!m.announced && m.proc === proc && m.log.slice(-2).join("").includes(READY_LINE)) {
        m.announced = true;
        setTimeout(() => {
          if (m.proc !== proc) return;
          m.ready = true;
          if (m.signalWhenReady) this.signal(m);
        }, HOOK_GRACE_MS);
      }
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    proc.once("exit", (code, signal) => {
      const how = `pid ${proc.pid} ${signal ? `signal ${signal}` : `exit code ${code}`}`;
      m.exits.push(`${new Date().toISOString()} ${how}`);
      if (!(m.killing && signal === "SIGKILL")) m.crashes.push(how);
      keep(Buffer.from(`[harness] ${how}\n`));
    });
    return proc;
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  static running(m: Member): boolean {
    return m.proc.exitCode === null && m.proc.signalCode === null;
  }

  /**
   * SIGKILL, stay down for downMs, then a new process on the same data dir and ports; resolves
   * once it serves clients, exits, or readyMs passed (a slow start shows up in the member log).
   */
  async killAndRestart(m: Member, downMs: number, readyMs = 30_000): Promise<void> {
    if (StoreProcessCluster.running(m) && m.proc.pid !== undefined) {
      const exited = new Promise((r) => m.proc.once("exit", r));
      m.killing = true;
      process.kill(m.proc.pid, "SIGKILL");
      await exited;
    }
    await new Promise((r) => setTimeout(r, downMs));
    m.paused = false;
    m.log.push(`[harness] ${new Date().toISOString()} restarting after kill -9\n`);
    m.proc = this.spawnProcess(m);
    const until = Date.now() + readyMs;
    while (!m.ready && StoreProcessCluster.running(m) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  pause(m: Member): void {
    if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) process.kill(m.proc.pid, "SIGSTOP");
    m.paused = true;
  }

  resume(m: Member): void {
    if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) process.kill(m.proc.pid, "SIGCONT");
    m.paused = false;
  }

  /** Cuts every link between the members of `minority` and the rest (both directions). */
  partition(minority: readonly Member[]): void {
    const rest = this.members.filter((m) => !minority.includes(m));
    for (const m of minority) this.fault(m, `cut:${rest.map((r) => r.name).join(",")}`);
    for (const m of rest) this.fault(m, `cut:${minority.map((r) => r.name).join(",")}`);
  }

  healAll(): void {
    for (const m of this.members) {
      if (m.paused) this.resume(m);
      this.fault(m, "heal");
    }
  }

  private fault(m: Member, spec: string): void {
    writeFileSync(m.faultFile, spec);
    if (m.ready) this.signal(m);
    else m.signalWhenReady = true;
  }

  private signal(m: Member): void {
    m.signalWhenReady = false;
    if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) process.kill(m.proc.pid, "SIGUSR2");
  }

  /** Members whose process ended without the harness killing it, with their last log lines. */
  crashed(): string[] {
    return this.members
      .filter((m) => m.crashes.length > 0)
      .map((m) => `${m.name}: ${m.crashes.join("; ")}: ${m.log.join("").slice(-1500)}`);
  }

  /**
   * Every member's state for a failure report: its process (running, paused, or how it ended),
   * earlier exits, whether its client and peer ports accept connections, and its last log lines.
   */
  async describe(): Promise<string> {
    const parts: string[] = [];
    for (const m of this.members) {
      const state = StoreProcessCluster.running(m)
        ? `running (pid ${m.proc.pid})${m.paused ? ", paused" : ""}`
        : `exited (pid ${m.proc.pid}, code ${m.proc.exitCode}, signal ${m.proc.signalCode})`;
      const client = (await listening(m.clientAddress)) ? "listening" : "NOT listening";
      const peer = (await listening(m.peerUrl.replace(/^https?:\/\//, ""))) ? "listening" : "NOT listening";
      const lines = m.log.join("").split("\n").slice(-200).join("\n");
      parts.push(
        `=== ${m.name}: ${state}; client ${m.clientAddress} ${client}; peer ${m.peerUrl} ${peer}\n` +
          `earlier exits: ${m.exits.join("; ") || "none"}\n--- last log lines ---\n${lines}`,
      );
    }
    const crashed = this.crashed();
    return `${parts.join("\n")}\n=== crashed(): ${crashed.length === 0 ? "none" : crashed.join("\n")}`;
  }

  /** Copies every member's data dir (for post-mortem) into dir. */
  saveData(dir: string): void {
    for (const m of this.members) cpSync(join(this.root, m.name), join(dir, m.name), { recursive: true });
  }

  close(): void {
    for (const m of this.members) {
      if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) {
        try {
          m.killing = true;
          process.kill(m.proc.pid, "SIGCONT");
          process.kill(m.proc.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
