// The Jepsen-style harness: a cluster of kite store processes, K concurrent clients doing get,
// put and compare-and-set txns on a few keys against random members (every invoke/return in a
// HistoryRecorder), a nemesis injecting kill -9, partitions and pauses, watchers following the
// keys; at the end everything is healed, a barrier write and final read close the history, and
// the history is checked for linearizability and the watch streams for completeness.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { checkOperations } from "./checker.js";
import type { EtcdRequest, EtcdResponse } from "./etcd-kv.js";
import { etcdModel } from "./etcd-model.js";
import { execute, type GrpcClient, grpcClient } from "./harness-client.js";
import { StoreProcessCluster } from "./harness-cluster.js";
import { type FaultKind, Nemesis, sleep } from "./harness-nemesis.js";
import { type FinalKey, verifyWatch, Watcher } from "./harness-watch.js";
import { HistoryRecorder } from "./history.js";

export interface CampaignOptions {
  nodes: number;
  clients: number;
  durationMs: number;
  seed: number;
  keys?: number;
  watchers?: number;
  /** Per-call gRPC deadline. */
  callMs?: number;
  holdMs?: number;
  calmMs?: number;
  checkTimeoutMs?: number;
  /** Where a failing run saves its history; default jepsen-failures/ in the working directory. */
  failureRoot?: string;
  log?: (line: string) => void;
  progressEveryMs?: number;
}

export interface CampaignResult {
  ok: boolean;
  /** "linearizable", "violation", "unknown" (checker budget ran out). */
  verdict: string;
  explanation: string;
  watchErrors: string[];
  operations: number;
  okOperations: number;
  infoOperations: number;
  /** Unknown-outcome writes the checker still had to consider (the watch showed them applied). */
  unknownChecked: number;
  failedOperations: number;
  opsPerSecond: number;
  faults: Record<FaultKind, number>;
  watchEvents: number[];
  watchReconnects: number[];
  checkerMs: number;
  finalRevision: number;
  savedTo?: string;
}

const PREFIX = "jk/";
type Recorder = HistoryRecorder<EtcdRequest, EtcdResponse>;

/** Deterministic PRNG (mulberry32) so a seed reproduces the workload and fault choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const cluster = new StoreProcessCluster();
  const clients: GrpcClient[] = [];
  const watchers: Watcher[] = [];
  const recorder: Recorder = new HistoryRecorder();
  try {
    return await campaign(cluster, clients, watchers, recorder, options);
  } catch (err) {
    // A liveness failure (no write, no final read) or a crash: say what every member was doing.
    const members = await cluster.describe();
    const message = err instanceof Error ? err.message : String(err);
    let saved = "";
    try {
      const dir = saveFailure(options, recorder, { error: message, members });
      cluster.saveData(join(dir, "data"));
      saved = `\nsaved to ${dir}`;
    } catch (saveErr) {
      saved = `\n(could not save the failure: ${saveErr})`;
    }
    throw new Error(`${message}${saved}\nmembers:\n${members}`, { cause: err });
  } finally {
    for (const w of watchers) w.stop();
    for (const c of clients) c.close();
    cluster.close();
  }
}

async function campaign(
  cluster: StoreProcessCluster,
  clients: GrpcClient[],
  watchers: Watcher[],
  recorder: Recorder,
  o: CampaignOptions,
): Promise<CampaignResult> {
  const log = o.log ?? (() => {});
  const random = seededRandom(o.seed);
  const keys = Array.from({ length: o.keys ?? 4 }, (_, i) => `${PREFIX}${i}`);
  const callMs = o.callMs ?? 1000;
  await cluster.start(o.nodes);
  for (const m of cluster.members) clients.push(grpcClient(m.clientAddress, "KV"));
  const attempted = new Map<string, string>(); // value → key
  await barrier(clients, recorder, attempted, 30_000);
  log(`cluster of ${o.nodes} up in ${cluster.root}; seed ${o.seed}`);
  for (let i = 0; i < (o.watchers ?? 2); i++) {
    const w = new Watcher(
      i,
      cluster.members.map((m) => m.clientAddress),
      PREFIX,
    );
    watchers.push(w);
    w.start();
  }

  const started = performance.now();
  const end = started + o.durationMs;
  // A member that died on its own ends the load at once (reported below, with its log).
  const done = () => performance.now() >= end || cluster.crashed().length > 0;
  const nemesis = new Nemesis(cluster, {
    holdMs: o.holdMs ?? 1500,
    calmMs: o.calmMs ?? 1500,
    random,
    log,
  });
  const progress = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    log(
      `t=${s.toFixed(0)}s ops=${recorder.size} faults=${nemesis.total} ${JSON.stringify(nemesis.injected)}`,
    );
  }, o.progressEveryMs ?? 5000);
  try {
    const workers = Array.from({ length: o.clients }, (_, w) =>
      worker(w, clients, keys, recorder, attempted, seededRandom(o.seed * 7919 + w + 1), callMs, done),
    );
    await Promise.all([nemesis.run(done), ...workers]);
  } finally {
    clearInterval(progress);
    cluster.healAll();
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const crashed = cluster.crashed();
  if (crashed.length > 0) throw new Error(`members crashed on their own:\n${crashed.join("\n")}`);

  // Close the history: a barrier write commits (or forever discards) every earlier proposal,
  // and then a linearizable read of all keys is the final state the watchers must reach.
  let finalRevision = 0;
  let finalKeys: FinalKey[] = [];
  for (let attempt = 1, settled = false; !settled; attempt++) {
    if (attempt > 5) throw new Error("the store revision kept changing after the load stopped");
    await barrier(clients, recorder, attempted, 30_000);
    const final = await finalRead(clients, recorder, keys, 10_000);
    finalRevision = final.revision;
    finalKeys = final.kvs.map((kv) => ({ key: kv.key, value: kv.value, modRevision: kv.modRevision }));
    const until = Date.now() + 20_000;
    while (watchers.some((w) => w.lastRevision < finalRevision) && Date.now() < until) await sleep(50);
    settled = (await finalRead(clients, recorder, keys, 10_000)).revision === finalRevision;
  }

  // The checker needs the CPU the cluster would take.
  for (const w of watchers) w.stop();
  const members = await cluster.describe();
  cluster.close();
  const watchErrors = watchers.flatMap((w) => verifyWatch(w, finalRevision, finalKeys, attempted));
  // Writes with unknown outcome make the check expensive (each may or may not have applied).
  // Once the watch check has shown that a watcher saw exactly the revisions of the final store,
  // a write whose unique value it never saw definitely did not apply, so it can be dropped.
  const applied = new Set(watchers[0]?.events.map((e) => e.value));
  const operations =
    watchErrors.length === 0 && watchers.length > 0
      ? recorder.operations().filter((op) => op.output !== undefined || appliedIfWrite(op.input, applied))
      : recorder.operations();
  log(`load done; checking ${operations.length} operations (final revision ${finalRevision})`);
  const checkStarted = performance.now();
  const result = checkOperations(etcdModel(), operations, { timeoutMs: o.checkTimeoutMs ?? 120_000 });
  const checkerMs = performance.now() - checkStarted;
  const records = recorder.recorded();
  const count = (s: string) => records.filter((r) => r.status === s).length;
  const verdict = result.ok === true ? "linearizable" : result.ok === false ? "violation" : "unknown";
  const explanation =
    result.ok === false
      ? result.explanation
      : result.ok === "unknown"
        ? result.reason
        : "history is linearizable";
  const outcome: CampaignResult = {
    ok: result.ok === true && watchErrors.length === 0,
    verdict,
    explanation,
    watchErrors,
    operations: records.length,
    okOperations: count("ok"),
    infoOperations: count("info"),
    unknownChecked: operations.filter((op) => op.output === undefined).length,
    failedOperations: count("fail"),
    opsPerSecond: count("ok") / loadSeconds,
    faults: { ...nemesis.injected },
    watchEvents: watchers.map((w) => w.events.length),
    watchReconnects: watchers.map((w) => w.reconnects),
    checkerMs,
    finalRevision,
  };
  if (!outcome.ok) outcome.savedTo = saveFailure(o, recorder, { outcome, members });
  return outcome;
}

/** Whether an unknown-outcome request may have changed the store, given every applied value. */
function appliedIfWrite(request: EtcdRequest, applied: ReadonlySet<string>): boolean {
  if (request.type === "put") return applied.has(request.value);
  if (request.type !== "txn") return true;
  return [...request.success, ...request.failure].some((op) => op.type === "put" && applied.has(op.value));
}

async function worker(
  w: number,
  clients: readonly GrpcClient[],
  keys: readonly string[],
  recorder: Recorder,
  attempted: Map<string, string>,
  random: () => number,
  callMs: number,
  done: () => boolean,
): Promise<void> {
  // After an unknown outcome the process is "crashed" in Jepsen terms: continue as a new one.
  let processId = w * 1_000_000;
  const lastMod = new Map<string, number>();
  for (let n = 0; !done(); n++) {
    const key = keys[Math.floor(random() * keys.length)] as string;
    const value = `c${w}-${n}`;
    const roll = random();
    const request: EtcdRequest =
      roll < 0.5
        ? { type: "get", key }
        : roll < 0.9
          ? { type: "put", key, value }
          : {
              type: "txn",
              compare: [{ key, target: "mod", op: "=", value: lastMod.get(key) ?? 0 }],
              success: [{ type: "put", key, value }],
              failure: [{ type: "get", key }],
            };
    if (request.type !== "get") attempted.set(value, key);
    const client = clients[Math.floor(random() * clients.length)] as GrpcClient;
    const token = recorder.invoke(processId, request);
    try {
      const response = await execute(client, request, callMs);
      recorder.ok(token, response);
      if (response.type === "get") lastMod.set(key, response.kvs[0]?.modRevision ?? 0);
      if (response.type === "txn" && !response.succeeded && response.results[0]?.type === "get") {
        lastMod.set(key, response.results[0].kvs[0]?.modRevision ?? 0);
      }
    } catch {
      if (request.type === "get") recorder.fail(token);
      else {
        recorder.info(token);
        processId++;
      }
    }
  }
}

/** A recorded put that must succeed (retried on other members) within deadlineMs. */
async function barrier(
  clients: readonly GrpcClient[],
  recorder: Recorder,
  attempted: Map<string, string>,
  deadlineMs: number,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (let i = 0; ; i++) {
    const value = `barrier-${recorder.size}`;
    const request: EtcdRequest = { type: "put", key: `${PREFIX}0`, value };
    attempted.set(value, request.key);
    const token = recorder.invoke(900_000_000 + recorder.size, request);
    try {
      recorder.ok(token, await execute(clients[i % clients.length] as GrpcClient, request, 2000));
      return;
    } catch (err) {
      recorder.info(token);
      if (Date.now() > until)
        throw new Error(`the cluster did not accept a write within ${deadlineMs} ms: ${err}`);
      await sleep(100);
    }
  }
}

async function finalRead(
  clients: readonly GrpcClient[],
  recorder: Recorder,
  keys: readonly string[],
  deadlineMs: number,
): Promise<Extract<EtcdResponse, { type: "get" }>> {
  const until = Date.now() + deadlineMs;
  for (let i = 0; ; i++) {
    const request: EtcdRequest = { type: "get", key: PREFIX, prefix: true };
    const token = recorder.invoke(910_000_000 + recorder.size, request);
    try {
      const response = await execute(clients[i % clients.length] as GrpcClient, request, 2000);
      if (response.type !== "get") throw new Error("not a range response");
      recorder.ok(token, response);
      if (response.kvs.some((kv) => !keys.includes(kv.key))) throw new Error("unexpected key in final read");
      return response;
    } catch (err) {
      recorder.fail(token);
      if (Date.now() > until) throw new Error(`no final read succeeded within ${deadlineMs} ms: ${err}`);
      await sleep(100);
    }
  }
}

/** Saves the history and what is known about the failure under failureRoot/<timestamp>/. */
function saveFailure(
  o: CampaignOptions,
  recorder: Recorder,
  failure: { outcome?: CampaignResult; error?: string; members: string },
): string {
  const dir = join(o.failureRoot ?? "jepsen-failures", new Date().toISOString().replace(/[:.]/g, "-"));
  mkdirSync(dir, { recursive: true });
  const { outcome } = failure;
  const report = [
    `verdict: ${outcome?.verdict ?? "campaign failed"}`,
    `seed: ${o.seed} nodes: ${o.nodes} clients: ${o.clients} duration: ${o.durationMs} ms`,
    "",
    outcome?.explanation ?? failure.error ?? "",
    "",
    ...(outcome?.watchErrors ?? []),
  ].join("\n");
  writeFileSync(join(dir, "history.json"), recorder.toJSON());
  writeFileSync(join(dir, "explanation.txt"), `${report}\n`);
  writeFileSync(join(dir, "members.txt"), `${failure.members}\n`);
  if (outcome) writeFileSync(join(dir, "result.json"), JSON.stringify(outcome, null, 2));
  return dir;
}
