// A cluster of `kite store` processes for the Jepsen harness: each member is a separate process
// on free loopback ports with its own data dir under one kite- temp root, so a member can be
// SIGKILLed and restarted on the same data, SIGSTOPped/SIGCONTed, and partitioned through the
// fault hook ($KITE_FAULT_FILE + SIGUSR2). close() kills every process it started, by pid.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
      const fields = { ...s, faultFile: join(this.root, `${s.name}.faults`), paused: false, log: [] };
      this.members.push({ ...fields, proc: this.spawnProcess(fields) });
    }
  }

  private timing = { heartbeatMs: 30, electionMs: 300 };

  private spawnProcess(m: Omit<Member, "proc">): ChildProcess {
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
    const keep = (d: Buffer) => {
      m.log.push(d.toString());
      if (m.log.length > 200) m.log.splice(0, m.log.length - 200);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
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

  /** SIGKILL, stay down for downMs, then a new process on the same data dir and ports. */
  async killAndRestart(m: Member, downMs: number): Promise<void> {
    if (StoreProcessCluster.running(m) && m.proc.pid !== undefined) {
      const exited = new Promise((r) => m.proc.once("exit", r));
      process.kill(m.proc.pid, "SIGKILL");
      await exited;
    }
    await new Promise((r) => setTimeout(r, downMs));
    m.paused = false;
    m.proc = this.spawnProcess(m);
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
    if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) process.kill(m.proc.pid, "SIGUSR2");
  }

  /** Members that exited on their own (not by our SIGKILL), with their last log lines. */
  crashed(): string[] {
    return this.members
      .filter((m) => m.proc.exitCode !== null && m.proc.exitCode !== 0)
      .map((m) => `${m.name} exited with ${m.proc.exitCode}: ${m.log.join("").slice(-1500)}`);
  }

  close(): void {
    for (const m of this.members) {
      if (m.proc.pid !== undefined && StoreProcessCluster.running(m)) {
        try {
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
