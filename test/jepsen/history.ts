// Records a concurrent client history for the linearizability checker, and saves/loads it as JSON.
// Each client worker brackets every request with invoke() and exactly one of ok()/fail()/info().
// Timestamps come from a monotonic clock (performance.now() by default), so they are comparable
// across workers in one process; they are never wall-clock times.

import { performance } from "node:perf_hooks";

/**
 * One completed (or possibly completed) operation as the checker sees it.
 * `output === undefined` and `return === Infinity` mean the outcome is unknown: the operation
 * may have taken effect at any point after `call`, or never.
 */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  output: O | undefined;
  call: number;
  return: number;
}

/** ok = response received; fail = definitely not applied; info = unknown outcome; pending = no answer yet. */
export type OperationStatus = "ok" | "fail" | "info" | "pending";

export interface RecordedOperation<I, O> {
  clientId: number;
  input: I;
  output: O | undefined;
  call: number;
  /** Time the answer arrived; undefined while pending. fail/info keep the time the client gave up. */
  completed: number | undefined;
  status: OperationStatus;
}

const FORMAT = "kite-jepsen-history/1";

interface SavedOperation {
  clientId: number;
  input: unknown;
  output?: unknown;
  call: number;
  completed: number | null;
  status: OperationStatus;
}

export class HistoryRecorder<I, O> {
  private readonly records: RecordedOperation<I, O>[] = [];
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Marks the start of a request; the returned token identifies it in ok/fail/info. */
  invoke(clientId: number, input: I): number {
    if (!Number.isInteger(clientId)) throw new Error(`clientId must be an integer, got ${clientId}`);
    this.records.push({
      clientId,
      input,
      output: undefined,
      call: this.now(),
      completed: undefined,
      status: "pending",
    });
    return this.records.length - 1;
  }

  /** The request got a response; `output` is what the server answered. */
  ok(token: number, output: O): void {
    const record = this.complete(token, "ok");
    record.output = output;
  }

  /** The request definitely had no effect (e.g. rejected before it was proposed). */
  fail(token: number): void {
    this.complete(token, "fail");
  }

  /** The outcome is unknown (timeout, connection lost): it may or may not have been applied. */
  info(token: number): void {
    this.complete(token, "info");
  }

  get size(): number {
    return this.records.length;
  }

  /** Every invocation in invocation order, including fails and still-pending ones. */
  recorded(): readonly RecordedOperation<I, O>[] {
    return this.records;
  }

  /** The history to check: see operationsFrom(). */
  operations(): Operation<I, O>[] {
    return operationsFrom(this.records);
  }

  toJSON(): string {
    return historyToJSON(this.records);
  }

  static fromJSON<I, O>(text: string): HistoryRecorder<I, O> {
    const recorder = new HistoryRecorder<I, O>();
    recorder.records.push(...historyFromJSON<I, O>(text));
    return recorder;
  }

  private complete(token: number, status: OperationStatus): RecordedOperation<I, O> {
    const record = this.records[token];
    if (record === undefined) throw new Error(`unknown history token ${token}`);
    if (record.status !== "pending") {
      throw new Error(`operation ${token} was already completed as ${record.status}`);
    }
    record.status = status;
    record.completed = this.now();
    return record;
  }
}

/**
 * Converts records into checker operations. Definite failures are dropped (they had no effect);
 * info and still-pending operations become unknown-outcome operations (return = Infinity).
 */
export function operationsFrom<I, O>(records: readonly RecordedOperation<I, O>[]): Operation<I, O>[] {
  const operations: Operation<I, O>[] = [];
  for (const r of records) {
    if (r.status === "fail") continue;
    const known = r.status === "ok";
    operations.push({
      clientId: r.clientId,
      input: r.input,
      output: known ? r.output : undefined,
      call: r.call,
      return: known ? (r.completed as number) : Number.POSITIVE_INFINITY,
    });
  }
  return operations;
}

/** `note` (e.g. a checker verdict) is saved alongside and ignored when loading. */
export function historyToJSON<I, O>(records: readonly RecordedOperation<I, O>[], note?: string): string {
  const saved: SavedOperation[] = records.map((r) => ({
    clientId: r.clientId,
    input: r.input,
    ...(r.status === "ok" ? { output: r.output } : {}),
    call: r.call,
    completed: r.completed ?? null,
    status: r.status,
  }));
  return JSON.stringify({ format: FORMAT, ...(note === undefined ? {} : { note }), operations: saved });
}

export function historyFromJSON<I, O>(text: string): RecordedOperation<I, O>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`history is not valid JSON: ${(err as Error).message}`);
  }
  const doc = parsed as { format?: unknown; operations?: unknown };
  if (doc === null || typeof doc !== "object" || doc.format !== FORMAT || !Array.isArray(doc.operations)) {
    throw new Error(`not a saved history (expected format "${FORMAT}" with an operations array)`);
  }
  return doc.operations.map((raw: unknown, i: number) => {
    const op = raw as Partial<SavedOperation>;
    const statusOk =
      op.status === "ok" || op.status === "fail" || op.status === "info" || op.status === "pending";
    if (
      op === null ||
      typeof op !== "object" ||
      !Number.isInteger(op.clientId) ||
      typeof op.call !== "number" ||
      !(op.completed === null || typeof op.completed === "number") ||
      !statusOk ||
      (op.status === "ok" && (op.completed === null || !("output" in op)))
    ) {
      throw new Error(`saved history operation ${i} is malformed: ${JSON.stringify(raw)}`);
    }
    return {
      clientId: op.clientId as number,
      input: op.input as I,
      output: op.status === "ok" ? (op.output as O) : undefined,
      call: op.call,
      completed: op.completed ?? undefined,
      status: op.status as OperationStatus,
    };
  });
}

/** Saves checker operations directly (e.g. a generated history), marking unknown ones as info. */
export function operationsToJSON<I, O>(operations: readonly Operation<I, O>[], note?: string): string {
  return historyToJSON(
    operations.map((op) => {
      const known = op.return !== Number.POSITIVE_INFINITY;
      return {
        clientId: op.clientId,
        input: op.input,
        output: op.output,
        call: op.call,
        completed: known ? op.return : undefined,
        status: known ? ("ok" as const) : ("info" as const),
      };
    }),
    note,
  );
}

/** Loads a saved history (from the recorder or a checker dump) straight into checker operations. */
export function operationsFromJSON<I, O>(text: string): Operation<I, O>[] {
  return operationsFrom(historyFromJSON<I, O>(text));
}
