// The nemesis for the Jepsen harness: cycles through kill -9 + restart on the same data dir,
// a partition that cuts a random minority away, and SIGSTOP/SIGCONT of a member. Each fault is
// held for holdMs, undone, and followed by calmMs of healthy cluster so progress can resume.
import type { Member, StoreProcessCluster } from "./harness-cluster.js";

export type FaultKind = "kill" | "partition" | "pause";
export const FAULT_KINDS: readonly FaultKind[] = ["kill", "partition", "pause"];

export interface NemesisOptions {
  holdMs: number;
  calmMs: number;
  random: () => number;
  log: (line: string) => void;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly injected: Record<FaultKind, number> = { kill: 0, partition: 0, pause: 0 };

  constructor(
    private readonly cluster: StoreProcessCluster,
    private readonly options: NemesisOptions,
  ) {}

  get total(): number {
    return this.injected.kill + this.injected.partition + this.injected.pause;
  }

  /** Runs fault cycles until `until()` is true; always leaves the cluster healed. */
  async run(until: () => boolean): Promise<void> {
    const { calmMs, log } = this.options;
    for (let i = 0; !until(); i++) {
      await sleep(calmMs);
      if (until()) break;
      const kind = FAULT_KINDS[i % FAULT_KINDS.length] as FaultKind;
      await this.inject(kind);
      log(`nemesis: ${kind} undone`);
    }
  }

  private pick(): Member {
    const ms = this.cluster.members;
    return ms[Math.floor(this.options.random() * ms.length)] as Member;
  }

  async inject(kind: FaultKind): Promise<void> {
    const { holdMs, log } = this.options;
    this.injected[kind]++;
    if (kind === "kill") {
      const m = this.pick();
      log(`nemesis: kill -9 ${m.name} (pid ${m.proc.pid})`);
      await this.cluster.killAndRestart(m, holdMs);
    } else if (kind === "partition") {
      const members = [...this.cluster.members].sort(() => this.options.random() - 0.5);
      const minority = members.slice(0, Math.floor((members.length - 1) / 2));
      log(`nemesis: partition ${minority.map((m) => m.name).join(",")} from the rest`);
      this.cluster.partition(minority);
      await sleep(holdMs);
      this.cluster.healAll();
    } else {
      const m = this.pick();
      log(`nemesis: SIGSTOP ${m.name}`);
      this.cluster.pause(m);
      await sleep(holdMs);
      this.cluster.resume(m);
    }
  }
}
