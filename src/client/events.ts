// Recording core/v1 Events, with client-go's aggregation of identical events: the same source,
// object, type, reason and message within the recorder's memory become one Event whose count and
// lastTimestamp are patched, instead of a new Event each time. Recording never blocks the caller
// and never throws: writes run in the background (in order per event) and failures are logged.
import { isStatusError, type KubeObject } from "../api/index.js";
import { type Clock, realClock } from "./clock.js";
import type { ResourceClient } from "./resource.js";
import type { RestClient } from "./rest.js";

export type EventType = "Normal" | "Warning";

export interface ObjectReference {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export function referenceTo(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = {};
  if (obj.kind) ref.kind = obj.kind;
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.metadata?.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata?.name) ref.name = obj.metadata.name;
  if (obj.metadata?.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata?.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. "default-scheduler". */
  component: string;
  /** source.host and reportingInstance. */
  host?: string;
  clock?: Clock;
  /** Distinct events remembered for aggregation; default 4096 as client-go. */
  cacheSize?: number;
  log?: (message: string) => void;
}

interface Remembered {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** Seconds precision, as metav1.Time serializes. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const EVENTS = { group: "", version: "v1", resource: "events" } as const;

export class EventRecorder {
  private readonly events: ResourceClient;
  private readonly clock: Clock;
  private readonly cacheSize: number;
  /** Aggregation key → the Event it was written as; Map order doubles as LRU order. */
  private readonly seen = new Map<string, Remembered>();
  /** The last write per aggregation key, so a patch never overtakes its create. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: (message: string) => void;
  private seq = 0;

  constructor(
    client: RestClient,
    private readonly opts: EventRecorderOptions,
  ) {
    this.events = client.resource(EVENTS);
    this.clock = opts.clock ?? realClock;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.log = opts.log ?? (() => {});
  }

  /** Records an event about obj (an object, or a reference to one). */
  event(obj: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    const ref =
      "metadata" in obj && obj.metadata !== undefined
        ? referenceTo(obj as KubeObject)
        : (obj as ObjectReference);
    const namespace = ref.namespace || "default";
    const key = JSON.stringify([
      this.opts.component,
      this.opts.host ?? "",
      ref.kind ?? "",
      ref.namespace ?? "",
      ref.name ?? "",
      ref.uid ?? "",
      ref.apiVersion ?? "",
      ref.fieldPath ?? "",
      type,
      reason,
      message,
    ]);
    const now = this.clock.now();
    const prev = this.chains.get(key) ?? Promise.resolve();
    const write = prev.then(() => this.write(key, ref, namespace, type, reason, message, now));
    this.chains.set(key, write);
    this.inFlight.add(write);
    void write.finally(() => {
      this.inFlight.delete(write);
      if (this.chains.get(key) === write) this.chains.delete(key);
    });
  }

  /** Waits for every event recorded so far to be written (or to have failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private remember(key: string, entry: Remembered): void {
    this.seen.delete(key);
    this.seen.set(key, entry);
    if (this.seen.size > this.cacheSize) this.seen.delete(this.seen.keys().next().value as string);
  }

  private async write(
    key: string,
    ref: ObjectReference,
    namespace: string,
    type: EventType,
    reason: string,
    message: string,
    now: number,
  ): Promise<void> {
    const stamp = rfc3339(now);
    const known = this.seen.get(key);
    try {
      if (known !== undefined) {
        const count = known.count + 1;
        try {
          await this.events
            .inNamespace(known.namespace)
            .patch(known.name, "merge", { count, lastTimestamp: stamp, message });
          this.remember(key, { ...known, count });
          return;
        } catch (err) {
          // The event expired (events have a TTL) or was deleted: write it anew with the count kept.
          if (!(isStatusError(err) && err.code === 404)) throw err;
          await this.create(key, ref, namespace, type, reason, message, stamp, known.firstTimestamp, count);
          return;
        }
      }
      await this.create(key, ref, namespace, type, reason, message, stamp, stamp, 1);
    } catch (err) {
      this.log(`event ${reason} on ${ref.kind}/${ref.name}: ${(err as Error).message}`);
    }
  }

  private async create(
    key: string,
    ref: ObjectReference,
    namespace: string,
    type: EventType,
    reason: string,
    message: string,
    stamp: string,
    firstTimestamp: string,
    count: number,
  ): Promise<void> {
    // client-go names events <object>.<unix nanos in hex>; the sequence keeps names unique within a ms.
    const nanos = BigInt(this.clock.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const name = `${ref.name ?? "unknown"}.${nanos.toString(16)}`;
    const source: Record<string, string> = { component: this.opts.component };
    if (this.opts.host) source.host = this.opts.host;
    await this.events.inNamespace(namespace).create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      source,
      firstTimestamp,
      lastTimestamp: stamp,
      count,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? "",
    });
    this.remember(key, { name, namespace, count, firstTimestamp });
  }
}
