// After a kite restart: containers the previous kite started are not adopted (their pipes and
// exit statuses died with it). Their process groups are killed, but only when the recorded pid
// still belongs to the process we started (same start time), so a reused pid is never touched.
import type { ContainerRecord } from "./container.js";
import { aliveWithStart, killGroup, readProcStat, scanProcessGroups } from "./proc.js";

const KILL_WAIT_MS = 5000;

export type LeftoverOutcome = "killed" | "gone" | "unverifiable";

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10_000; i++) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Kills what is left of a process group we started; waits (bounded) until it is gone. */
export async function killLeftoverGroup(
  pgid: number,
  startTime: number | undefined,
): Promise<LeftoverOutcome> {
  if (startTime === undefined) return "unverifiable";
  if (await aliveWithStart(pgid, startTime)) {
    killGroup(pgid, "SIGKILL");
    await until(async () => !(await aliveWithStart(pgid, startTime)), KILL_WAIT_MS);
    return "killed";
  }
  // The leader is gone. A pid that exists again now is a different process: leave its group alone.
  if (await readProcStat(pgid)) return "gone";
  // Members the leader left behind keep the group id reserved; they started after the leader did.
  const members = ((await scanProcessGroups()).get(pgid) ?? []).filter((p) => p.startTime >= startTime);
  if (members.length === 0) return "gone";
  for (const m of members) {
    try {
      process.kill(m.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await until(async () => !((await scanProcessGroups()).get(pgid)?.length ?? 0), KILL_WAIT_MS);
  return "killed";
}

/** Kills a container left running by the previous kite and records it as exited. */
export async function settleLeftover(rec: ContainerRecord): Promise<LeftoverOutcome> {
  const outcome = rec.pid ? await killLeftoverGroup(rec.pid, rec.pidStartTime) : "gone";
  const how =
    outcome === "killed"
      ? {
          exitCode: 137,
          reason: "Error",
          message: "killed: the process runtime restarted and does not adopt running containers",
        }
      : {
          exitCode: 255,
          reason: "Unknown",
          message: "exited while the process runtime was not running; exit status unknown",
        };
  Object.assign(rec, { state: "exited", finishedAt: new Date().toISOString(), pid: undefined, ...how });
  return outcome;
}
