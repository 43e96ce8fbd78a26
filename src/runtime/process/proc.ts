// What the process runtime learns from /proc: which processes belong to a container's process
// group, their resident memory and CPU time, and a pid's start time (so a reused pid is never
// mistaken for a container we started).
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";

export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** utime + stime + cutime + cstime, clock ticks. */
  cpuTicks: number;
  /** Field 22, clock ticks since boot. */
  startTime: number;
  rssPages: number;
}

export function parseProcStat(pid: number, text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(" "); // f[0] is field 3 (state)
  const num = (field: number) => Number(f[field - 3]);
  const s: ProcStat = {
    pid,
    state: f[0] ?? "?",
    pgrp: num(5),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    startTime: num(22),
    rssPages: num(24),
  };
  return Number.isFinite(s.pgrp) && Number.isFinite(s.startTime) ? s : undefined;
}

export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(pid, await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Alive = exists and is not a zombie (a zombie holds no memory and cannot be signalled away). */
export async function aliveWithStart(pid: number, startTime: number | undefined): Promise<boolean> {
  const s = await readProcStat(pid);
  return !!s && s.state !== "Z" && s.state !== "X" && (startTime === undefined || s.startTime === startTime);
}

/** One pass over /proc: every live process's stat, grouped by process group. */
export async function scanProcessGroups(): Promise<Map<number, ProcStat[]>> {
  const groups = new Map<number, ProcStat[]>();
  let names: string[];
  try {
    names = await readdir("/proc");
  } catch {
    return groups;
  }
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number);
  const stats = await Promise.all(pids.map((pid) => readProcStat(pid)));
  for (const s of stats) {
    if (!s || s.state === "Z" || s.state === "X") continue;
    const list = groups.get(s.pgrp);
    if (list) list.push(s);
    else groups.set(s.pgrp, [s]);
  }
  return groups;
}

let shared: { at: number; groups: Promise<Map<number, ProcStat[]>> } | undefined;

/** A scan at most maxAgeMs old, shared by every runtime in this process (`kite up` runs one per node). */
export function scanProcessGroupsShared(maxAgeMs: number): Promise<Map<number, ProcStat[]>> {
  const now = Date.now();
  if (!shared || now - shared.at > maxAgeMs) shared = { at: now, groups: scanProcessGroups() };
  return shared.groups;
}

export interface SysConf {
  pageSize: number;
  clockTicks: number;
}

let sysconf: Promise<SysConf> | undefined;

function getconf(name: string, fallback: number): Promise<number> {
  return new Promise((resolve) => {
    execFile("getconf", [name], { timeout: 5000 }, (err, out) => {
      const n = Number(String(out).trim());
      resolve(!err && n > 0 ? n : fallback);
    });
  });
}

export function sysConf(): Promise<SysConf> {
  sysconf ??= Promise.all([getconf("PAGESIZE", 4096), getconf("CLK_TCK", 100)]).then(
    ([pageSize, clockTicks]) => ({
      pageSize,
      clockTicks,
    }),
  );
  return sysconf;
}

/** Resident memory and CPU time of a whole process group (what cgroup accounting would give). */
export async function groupUsage(
  pgid: number,
  maxAgeMs: number,
): Promise<{ memoryBytes: number; cpuNanos: number }> {
  const [groups, sys] = await Promise.all([scanProcessGroupsShared(maxAgeMs), sysConf()]);
  const members = groups.get(pgid) ?? [];
  return {
    memoryBytes: members.reduce((n, p) => n + p.rssPages, 0) * sys.pageSize,
    cpuNanos: Math.round((members.reduce((n, p) => n + p.cpuTicks, 0) * 1e9) / sys.clockTicks),
  };
}

/** Sets a process's oom_score_adj where permitted; an unprivileged kite cannot lower it, which is fine. */
export async function setOomScoreAdj(pid: number, value: number): Promise<void> {
  const v = Math.max(-1000, Math.min(1000, Math.round(value)));
  try {
    await writeFile(`/proc/${pid}/oom_score_adj`, String(v));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM" || code === "ENOENT" || code === "ESRCH") return;
    throw e;
  }
}

export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
