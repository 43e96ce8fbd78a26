// The etcdctl 3.4 script the differential test runs against real etcd and against `kite store`,
// plus the runner and the normalizer that hides what legitimately differs between two servers
// (cluster/member/lease IDs, hashes, durations, db sizes, raft indexes, ports, temp paths).
import { spawn } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Step {
  args: string[];
  /** Text written to etcdctl's stdin (txn, put value from stdin). */
  stdin?: string;
  /** Like stdin, but written to a file first and given to etcdctl as its stdin fd. */
  stdinFile?: string;
  /** Stores a regex group of this step's stdout in a variable usable later as {{name}}. */
  capture?: { name: string; re: RegExp; map?: (found: string) => string };
  /** A watch: runs until its stdout has this many lines (then is killed by pid). */
  watchLines?: number;
  /** Commands run, in order, while the watch of this step is open. */
  during?: string[][];
}

export interface StepResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const BIG_VALUE_OVER_REQUEST_LIMIT = "v".repeat(1_600_000);

export const SCRIPT: Step[] = [
  { args: ["put", "foo", "bar"] },
  { args: ["put", "foo2", "baz"] },
  { args: ["put", "foo3", "qux"] },
  { args: ["put", "foo", "bar2", "-w", "json"] },
  { args: ["put", "other", "zzz", "--prev-kv"] },
  { args: ["put", "other", "yyy", "--prev-kv"] },
  { args: ["get", "foo"] },
  { args: ["get", "foo", "-w", "json"] },
  { args: ["get", "--prefix", "foo"] },
  { args: ["get", "--prefix", "foo", "-w", "json"] },
  { args: ["get", "foo", "--rev", "2"] },
  { args: ["get", "--prefix", "foo", "--rev", "3", "-w", "json"] },
  { args: ["get", "--prefix", "foo", "--limit", "2"] },
  { args: ["get", "--prefix", "foo", "--limit", "1", "-w", "json"] },
  { args: ["get", "--prefix", "foo", "--sort-by=MODIFY", "--order=DESCEND"] },
  { args: ["get", "--prefix", "foo", "--sort-by=VALUE", "--order=ASCEND"] },
  { args: ["get", "--prefix", "foo", "--sort-by=CREATE", "--order=DESCEND", "--limit", "2"] },
  { args: ["get", "--prefix", "foo", "--sort-by=VERSION", "--order=DESCEND", "-w", "json"] },
  { args: ["get", "--prefix", "foo", "--keys-only"] },
  { args: ["get", "--prefix", "foo", "--keys-only", "-w", "json"] },
  { args: ["get", "--prefix", "foo", "--print-value-only"] },
  { args: ["get", "--from-key", "foo2"] },
  { args: ["get", "foo", "foo3"] },
  { args: ["get", "foo", "-w", "fields"] },
  { args: ["get", "--hex", "foo"] },
  { args: ["get", "missing"] },
  { args: ["get", "missing", "-w", "json"] },
  { args: ["get", "--prefix", "foo", "--rev", "1000"] },
  { args: ["get", "--consistency=s", "foo"] },
  { args: ["get", ""] },
  { args: ["put", "", "v"] },
  { args: ["put", "foo", "v", "--ignore-value"] },
  { args: ["put", "foo", "--ignore-value"] },
  { args: ["put", "nokey-yet", "--ignore-value"] },
  { args: ["put", "big"], stdin: BIG_VALUE_OVER_REQUEST_LIMIT },
  { args: ["put", "fromstdin"], stdin: "stdin-value" },
  { args: ["del", "foo3"] },
  { args: ["del", "missing"] },
  { args: ["del", "--prev-kv", "other"] },
  { args: ["del", "--prefix", "nothing-here", "-w", "json"] },
  {
    args: ["txn", "-i"],
    stdin: 'mod("foo") > "0"\n\nput foo txnval\nget foo2\n\nput foo failval\n\n',
  },
  {
    args: ["txn"],
    stdinFile: 'value("foo") = "nope"\n\nput foo never\n\nget foo\nput tx1 a\ndel foo2\n\n',
  },
  {
    args: ["txn", "-w", "json"],
    stdin: 'version("foo") > "1"\ncreate("tx1") != "0"\n\nget --prefix foo\ndel tx1\n\n\n',
  },
  { args: ["txn"], stdin: 'value("foo") = "x"\n\nput dup 1\nput dup 2\n\n\n' },
  { args: ["put", "wx", "1"] },
  { args: ["put", "wx", "2"] },
  { args: ["del", "wx"] },
  { args: ["watch", "--rev", "1", "--prefix", "foo"], watchLines: 24 },
  { args: ["watch", "--rev", "1", "wx", "--prev-kv"], watchLines: 13 },
  {
    args: ["get", "wx", "-w", "json"],
    capture: { name: "next", re: /"revision":(\d+)/, map: (r) => String(Number(r) + 1) },
  },
  {
    args: ["watch", "--rev", "{{next}}", "--prefix", "live"],
    watchLines: 12,
    during: [
      ["put", "live1", "a"],
      ["put", "live2", "b"],
      ["del", "--prefix", "live"],
    ],
  },
  {
    args: ["watch", "--rev", "{{next}}", "-w", "json", "live1"],
    watchLines: 1,
  },
  { args: ["lease", "grant", "100"], capture: { name: "lease", re: /lease ([0-9a-f]+) granted/ } },
  { args: ["put", "--lease={{lease}}", "leased", "v"] },
  { args: ["put", "--lease={{lease}}", "leased2", "v"] },
  { args: ["lease", "timetolive", "{{lease}}", "--keys"] },
  { args: ["lease", "timetolive", "{{lease}}", "--keys", "-w", "json"] },
  { args: ["lease", "keep-alive", "--once", "{{lease}}"] },
  { args: ["lease", "list"] },
  { args: ["get", "leased", "-w", "json"] },
  { args: ["lease", "revoke", "{{lease}}"] },
  { args: ["get", "--prefix", "leased"] },
  { args: ["lease", "timetolive", "{{lease}}"] },
  { args: ["lease", "revoke", "{{lease}}"] },
  { args: ["lease", "keep-alive", "--once", "{{lease}}"] },
  { args: ["put", "--lease=1234", "badlease", "v"] },
  { args: ["lease", "grant", "0"] },
  { args: ["lease", "timetolive", "abc123"] },
  { args: ["compaction", "4"] },
  { args: ["get", "foo", "--rev", "2"] },
  { args: ["get", "foo", "--rev", "4", "-w", "json"] },
  { args: ["compaction", "3"] },
  { args: ["watch", "--rev", "2", "foo"], watchLines: 1 },
  { args: ["compaction", "100000"] },
  { args: ["endpoint", "status"] },
  { args: ["endpoint", "status", "-w", "json"] },
  { args: ["endpoint", "health"] },
  { args: ["endpoint", "hashkv"] },
  { args: ["member", "list"] },
  { args: ["member", "list", "-w", "json"] },
  { args: ["alarm", "list"] },
  { args: ["defrag"] },
  { args: ["snapshot", "save", "{{dir}}/snap.db"] },
  { args: ["get", "--prefix", "", "--keys-only"] },
];

function substitute(arg: string, vars: Map<string, string>): string {
  return arg.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => vars.get(name) ?? `<unset ${name}>`);
}

/** Drops etcdctl's zap JSON log lines: they carry timestamps and client UUIDs, not server behaviour. */
function dropLogLines(text: string): string {
  return text
    .split("\n")
    .filter((line) => !line.startsWith('{"level":'))
    .join("\n");
}

function runOnce(
  endpoint: string,
  args: string[],
  input: { text?: string; fd?: number },
  watchLines?: number,
  onWatching?: () => Promise<void>,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/etcdctl", [`--endpoints=${endpoint}`, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      stdio: [input.fd ?? "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let killedByUs = false;
    const deadline = setTimeout(() => {
      killedByUs = true;
      stderr += "<killed: deadline>";
      child.kill("SIGKILL");
    }, 15_000);
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
      if (watchLines !== undefined && stdout.split("\n").length - 1 >= watchLines && !killedByUs) {
        killedByUs = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(deadline);
      resolve({ exitCode: killedByUs && watchLines !== undefined ? 0 : (code ?? -1), stdout, stderr });
    });
    if (input.fd === undefined) child.stdin?.end(input.text ?? "");
    if (onWatching) onWatching().catch(reject);
  });
}

export async function runScript(
  endpoint: string,
  workDir: string,
  script: Step[] = SCRIPT,
): Promise<StepResult[]> {
  const vars = new Map<string, string>([["dir", workDir]]);
  const results: StepResult[] = [];
  for (const [i, step] of script.entries()) {
    const args = step.args.map((a) => substitute(a, vars));
    let fd: number | undefined;
    if (step.stdinFile !== undefined) {
      const path = join(workDir, `stdin-${i}.txt`);
      writeFileSync(path, step.stdinFile);
      fd = openSync(path, "r");
    }
    const during = step.during;
    const onWatching = during
      ? async () => {
          for (const cmd of during)
            await runOnce(
              endpoint,
              cmd.map((a) => substitute(a, vars)),
              {},
            );
        }
      : undefined;
    try {
      const out = await runOnce(endpoint, args, { text: step.stdin, fd }, step.watchLines, onWatching);
      if (step.capture) {
        const m = step.capture.re.exec(out.stdout);
        if (m?.[1] !== undefined)
          vars.set(step.capture.name, step.capture.map ? step.capture.map(m[1]) : m[1]);
      }
      results.push({ command: `etcdctl ${args.join(" ")}`, ...out, stderr: dropLogLines(out.stderr) });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return results;
}

/** Sorts the items of a list whose order etcd leaves to Go map iteration. */
function sortList(items: string, sep: string): string {
  return items.split(sep).sort().join(sep);
}

/** Replaces what differs between two correct servers by placeholders; everything else must match. */
export function normalize(text: string, ctx: { endpoint: string; workDir: string }): string {
  return (
    text
      .split(ctx.endpoint)
      .join("<ENDPOINT>")
      .split(ctx.workDir)
      .join("<DIR>")
      .replace(/https?:\/\/(127\.0\.0\.1|localhost):\d+/g, "<URL>")
      // ids, hashes, sizes, raft positions and remaining TTLs in JSON output (decimal)
      .replace(/"(cluster_id|member_id|ID|id|leader|hash|lease)":\d+/g, '"$1":"<N>"')
      .replace(/"(raft_term|raftTerm|raftIndex|raftAppliedIndex|dbSize|dbSizeInUse|ttl)":\d+/g, '"$1":"<N>"')
      .replace(/"version":"3\.\d+\.\d+"/g, '"version":"<VERSION>"')
      .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : <N>')
      // lease ids (%016x) and member ids (%x) in simple output
      .replace(/\b[0-9a-f]{16}\b/g, "<HEXID>")
      .replace(/^[0-9a-f]{1,16}, (started|unstarted), /gm, "<HEXID>, $1, ")
      .replace(/took = [0-9.]+[µmn]?s/g, "took = <DURATION>")
      .replace(/remaining\(\d+s\)/g, "remaining(<N>s)")
      .replace(
        /attached keys\(\[([^\]]*)\]\)/g,
        (_m, keys: string) => `attached keys([${sortList(keys, " ")}])`,
      )
      .replace(/"keys":\[([^\]]*)\]/g, (_m, keys: string) => `"keys":[${sortList(keys, ",")}]`)
  );
}

/** etcdctl's endpoint status line: "<ep>, <id>, <version>, <db size>, <leader>, <learner>, <term>, <index>, <applied>, <errors>". */
export function normalizeStatusLine(line: string): string {
  const cols = line.split(", ");
  if (cols.length < 10 || cols[0] !== "<ENDPOINT>") return line;
  for (const i of [1, 2, 3, 6, 7, 8]) cols[i] = "<N>";
  return cols.join(", ");
}

/** "http://...:port, 840384023" (endpoint hashkv) */
export function normalizeHashLine(line: string): string {
  return line.replace(/^(<ENDPOINT>), \d+$/, "$1, <HASH>");
}

export function normalizeResult(r: StepResult, ctx: { endpoint: string; workDir: string }): StepResult {
  const fix = (s: string) =>
    normalize(s, ctx)
      .split("\n")
      .map((l) => normalizeHashLine(normalizeStatusLine(l)))
      .join("\n");
  return { command: fix(r.command), exitCode: r.exitCode, stdout: fix(r.stdout), stderr: fix(r.stderr) };
}
