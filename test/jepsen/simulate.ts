// Generates histories of a truly linearizable system for testing the checker: several clients
// issue requests one at a time; each request takes effect atomically at a random instant inside
// its [call, return] interval, in the order of those instants. Some requests end with an unknown
// outcome (applied or not, at random) or a definite failure (not applied). The events are fed
// through a HistoryRecorder driven by a fake clock, so the recorder is exercised too.

import { Rng } from "../sim/rng.js";
import { HistoryRecorder } from "./history.js";

export interface SimulationSpec<S, I, O> {
  seed: number;
  clients: number;
  operations: number;
  initial: S;
  /** The real system: apply a request, returning the new state and its response. */
  apply(state: S, input: I): { state: S; output: O };
  generate(rng: Rng, clientId: number): I;
  /** Probability that a request ends with an unknown outcome (recorded via info()). */
  infoRate?: number;
  /** Probability that a request definitely fails (recorded via fail(), never applied). */
  failRate?: number;
}

interface Planned<I> {
  clientId: number;
  input: I;
  call: number;
  effect: number;
  complete: number;
  fate: "ok" | "info-applied" | "info-lost" | "fail";
}

export function simulate<S, I, O>(spec: SimulationSpec<S, I, O>): HistoryRecorder<I, O> {
  const rng = new Rng(spec.seed);
  const planned: Planned<I>[] = [];
  const clock = new Array<number>(spec.clients).fill(0);
  for (let n = 0; n < spec.operations; n++) {
    const clientId = rng.int(spec.clients);
    const call = (clock[clientId] as number) + rng.float() * 2;
    const effect = call + rng.float() * 3;
    const complete = effect + rng.float() * 3;
    clock[clientId] = complete;
    const roll = rng.float();
    const info = spec.infoRate ?? 0;
    const fail = spec.failRate ?? 0;
    const fate: Planned<I>["fate"] =
      roll < info ? (rng.chance(0.5) ? "info-applied" : "info-lost") : roll < info + fail ? "fail" : "ok";
    planned.push({ clientId, input: spec.generate(rng, clientId), call, effect, complete, fate });
  }

  // Apply the effects in effect-time order to learn each response.
  const outputs = new Map<Planned<I>, O>();
  let state = spec.initial;
  for (const op of [...planned].sort((a, b) => a.effect - b.effect)) {
    if (op.fate === "fail" || op.fate === "info-lost") continue;
    const applied = spec.apply(state, op.input);
    state = applied.state;
    outputs.set(op, applied.output);
  }

  // Replay invocations and completions in time order through the recorder.
  let now = 0;
  const recorder = new HistoryRecorder<I, O>({ now: () => now });
  const events: { time: number; op: Planned<I>; start: boolean }[] = [];
  for (const op of planned)
    events.push({ time: op.call, op, start: true }, { time: op.complete, op, start: false });
  events.sort((a, b) => a.time - b.time || Number(a.start) - Number(b.start));
  const tokens = new Map<Planned<I>, number>();
  for (const event of events) {
    now = event.time;
    if (event.start) {
      tokens.set(event.op, recorder.invoke(event.op.clientId, event.op.input));
      continue;
    }
    const token = tokens.get(event.op) as number;
    if (event.op.fate === "ok") recorder.ok(token, outputs.get(event.op) as O);
    else if (event.op.fate === "fail") recorder.fail(token);
    else recorder.info(token);
  }
  return recorder;
}
