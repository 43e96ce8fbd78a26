// One apiserver load-generator process. Modes:
//   create  `clients` callers each creating ConfigMaps back to back for `seconds` (closed loop);
//   rate    ConfigMap creates started at a fixed `rate` per second for `seconds` (open loop; a
//           call's latency counts from when it was due, so a slow server cannot hide its queue);
//           with --pods-for-nodes N, Pods bound round-robin to node-0..node-(N-1) instead;
//   watch   `watchers` chunked watches on the namespace's ConfigMaps (with --node-watchers-from
//           K --nodes N: watcher j watches the pods of node-(K+j) by fieldSelector
//           spec.nodeName); prints "ready" once all are open, then records for each event the
//           delay between "t" (the writer's Date.now() when it sent the create) and its
//           arrival, until stdin says "expect N" and every watcher has its share (or a deadline
//           passes). Lines are scanned as bytes, not decoded to strings: at 1,000 watchers the
//           load generator otherwise needs as much CPU as the server it measures.
// Each prints one JSON line at the end. Every created object carries "t" (data or annotation).
import { request } from "node:https";
import { createInterface } from "node:readline";
import { adminAgent, readAdminCredentials, send } from "./apiserver-client.js";
import type { CallResult, WatchResult } from "./apiserver-load.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const creds = readAdminCredentials(arg("data-dir", ""));
const namespace = arg("namespace", "default");
const worker = Number(arg("worker", "0"));
const seconds = Number(arg("seconds", "5"));
const podsForNodes = Number(arg("pods-for-nodes", "0"));
const nodeFrom = Number(arg("node-watchers-from", "-1"));
const usesPods = podsForNodes > 0 || nodeFrom >= 0;
const createPath = `/api/v1/namespaces/${namespace}/${usesPods ? "pods" : "configmaps"}`;
let seq = 0;

function configMap(): object {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `w${worker}-${seq++}`, labels: { bench: "apiserver" } },
    data: { t: String(Date.now()) },
  };
}

/** A pod already bound to node-(seq mod N), as the scheduler would leave it for the kubelet. */
function boundPod(): object {
  const n = seq++;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `w${worker}-${n}`,
      labels: { bench: "apiserver" },
      annotations: { t: String(Date.now()) },
    },
    spec: {
      nodeName: `node-${n % podsForNodes}`,
      containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
    },
  };
}

const newObject = podsForNodes > 0 ? boundPod : configMap;

function callRecorder(maxSockets?: number) {
  const result: CallResult = { ok: 0, errors: 0, firstError: "", latenciesUs: [] };
  const agent = adminAgent(creds, maxSockets);
  const create = async (since: number) => {
    try {
      const reply = await send(agent, creds, "POST", createPath, newObject());
      if (reply.status !== 201) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
      result.ok++;
      result.latenciesUs.push(Math.round((performance.now() - since) * 1000));
    } catch (err) {
      result.errors++;
      result.firstError ||= (err as Error).message;
    }
  };
  return { result, agent, create };
}

async function closedLoop(clients: number): Promise<CallResult> {
  const { result, agent, create } = callRecorder();
  const deadline = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) await create(performance.now());
  };
  await Promise.all(Array.from({ length: clients }, loop));
  agent.destroy();
  return result;
}

async function openLoop(rate: number): Promise<CallResult> {
  // Like a real client, a bounded pool of connections: calls beyond it wait (and that counts).
  const sockets = Number(arg("sockets", "64"));
  const { result, agent, create } = callRecorder(sockets);
  // Open the pool first, so TLS handshakes are not counted as the server's create latency.
  await Promise.all(Array.from({ length: sockets }, () => send(agent, creds, "GET", "/version")));
  const start = performance.now();
  const total = Math.round(rate * seconds);
  const inFlight: Array<Promise<void>> = [];
  let started = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; started < due; started++) inFlight.push(create(start + (started * 1000) / rate));
      if (started >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  return result;
}

const T_MARK = Buffer.from('"t":"');
const ERROR_MARK = Buffer.from('"type":"ERROR"');
const NEWLINE = 10;
const QUOTE = 34;

async function watchers(count: number): Promise<WatchResult> {
  const agent = adminAgent(creds);
  const out: WatchResult = {
    watchers: count,
    events: 0,
    bytes: 0,
    errors: 0,
    firstError: "",
    histogram: [],
    minEvents: 0,
    cpuSeconds: 0,
  };
  const nodes = Number(arg("nodes", "0"));
  const seen = new Array<number>(count).fill(0);
  const requests: Array<ReturnType<typeof request>> = [];
  let written = Number.POSITIVE_INFINITY;
  /** Events watcher i should get once the writer made `written` objects. */
  const share = (i: number) =>
    nodeFrom < 0 ? written : Math.floor((written - (nodeFrom + i) - 1) / nodes) + 1;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const checkDone = () => {
    if (seen.every((n, i) => n >= share(i))) finish();
  };
  const fail = (why: string) => {
    out.errors++;
    out.firstError ||= why;
  };
  /** One whole line, bytes [start, end) of buf, that arrived at `now`. */
  const onLine = (i: number, buf: Buffer, start: number, end: number, now: number) => {
    const at = buf.indexOf(T_MARK, start);
    if (at < 0 || at >= end) {
      const err = buf.indexOf(ERROR_MARK, start);
      if (err >= 0 && err < end)
        fail(`watch ERROR event: ${buf.toString("utf8", start, Math.min(end, start + 200))}`);
      return;
    }
    let sent = 0;
    for (let p = at + T_MARK.length; p < end && buf[p] !== QUOTE; p++) sent = sent * 10 + buf[p]! - 48;
    const ms = Math.max(0, now - sent);
    out.histogram[ms] = (out.histogram[ms] ?? 0) + 1;
    out.events++;
    seen[i]!++;
    if (seen[i]! >= share(i)) checkDone();
  };
  // A watch that cannot be opened counts as an error (and its events as missing), not a crash.
  const open = (i: number) =>
    new Promise<void>((resolve) => {
      const selector =
        nodeFrom >= 0 ? `&fieldSelector=${encodeURIComponent(`spec.nodeName=node-${nodeFrom + i}`)}` : "";
      const url = new URL(`${createPath}?watch=1&timeoutSeconds=3600${selector}`, creds.url);
      const req = request(url, { agent, headers: { Accept: "application/json" } }, (res) => {
        if (res.statusCode !== 200) {
          fail(`watch ${i}: HTTP ${res.statusCode}`);
          resolve();
          return;
        }
        resolve();
        let partial: Buffer | undefined;
        res.on("data", (data: Buffer) => {
          out.bytes += data.length;
          const chunk = partial ? Buffer.concat([partial, data]) : data;
          partial = undefined;
          let start = 0;
          const now = Date.now();
          for (;;) {
            const nl = chunk.indexOf(NEWLINE, start);
            if (nl < 0) break;
            if (nl > start) onLine(i, chunk, start, nl, now);
            start = nl + 1;
          }
          if (start < chunk.length) partial = Buffer.from(chunk.subarray(start));
        });
        res.on("end", () => fail(`watch ${i} ended early`));
        res.on("error", () => {});
      });
      req.on("error", (err) => {
        fail(`watch ${i}: ${err.message}`);
        resolve();
      });
      req.end();
      requests.push(req);
    });
  // Open in small batches so the TLS handshakes do not all land at once.
  for (let i = 0; i < count; i += 25)
    await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, k) => open(i + k)));
  process.stdout.write("ready\n");
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const m = /^expect (\d+)$/.exec(line.trim());
    if (!m) return;
    written = Number(m[1]);
    checkDone();
    setTimeout(finish, Number(arg("drain-seconds", "15")) * 1000).unref();
  });
  await done;
  lines.close();
  for (const req of requests) req.destroy();
  agent.destroy();
  out.minEvents = Math.min(...seen);
  const cpu = process.cpuUsage();
  out.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // Holes become zeros so the histogram survives JSON.
  out.histogram = Array.from(out.histogram, (n) => n ?? 0);
  return out;
}

async function main(): Promise<void> {
  const mode = arg("mode", "create");
  let result: CallResult | WatchResult;
  if (mode === "create") result = await closedLoop(Number(arg("clients", "16")));
  else if (mode === "rate") result = await openLoop(Number(arg("rate", "100")));
  else if (mode === "watch") result = await watchers(Number(arg("watchers", "100")));
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
