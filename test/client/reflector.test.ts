// The Reflector's list/watch state machine against a scripted ListerWatcher on a fake clock:
// paging, watching from the list's resourceVersion, bookmarks, re-watch after a clean close,
// relist on 410 (ERROR event, HTTP answer, expired continue token), backoff after failures.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type KubeList,
  type KubeObject,
  makeStatus,
  resourceExpired,
  type WatchEvent,
} from "../../src/api/index.js";
import {
  type EventStream,
  FakeClock,
  type ListerWatcher,
  type ListOptions,
  Reflector,
  type WatchOptions,
} from "../../src/client/index.js";
import { waitFor } from "../support/require.js";

class ScriptedStream implements EventStream {
  private queue: Array<WatchEvent | Error | "end"> = [];
  private wake: (() => void) | undefined;
  stopped = false;

  push(item: WatchEvent | Error | "end"): void {
    this.queue.push(item);
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    for (;;) {
      if (this.stopped) return;
      const next = this.queue.shift();
      if (next === "end") return;
      if (next instanceof Error) throw next;
      if (next !== undefined) {
        yield next;
        continue;
      }
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }
}

const cm = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: "ns", resourceVersion: rv },
});

/** Lists and watches answered from scripts the test sets per call. */
class ScriptedLW implements ListerWatcher {
  lists: ListOptions[] = [];
  watches: WatchOptions[] = [];
  streams: ScriptedStream[] = [];
  listAnswers: Array<KubeList | Error> = [];
  watchErrors: Error[] = [];

  async list(opts: ListOptions): Promise<KubeList> {
    this.lists.push(opts);
    const next = this.listAnswers.shift();
    if (next === undefined) throw new Error("unscripted list");
    if (next instanceof Error) throw next;
    return next;
  }

  async watch(opts: WatchOptions): Promise<EventStream> {
    this.watches.push(opts);
    const err = this.watchErrors.shift();
    if (err) throw err;
    const s = new ScriptedStream();
    this.streams.push(s);
    return s;
  }
}

function page(rv: string, items: KubeObject[], cont?: string): KubeList {
  return { metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items };
}

function setup() {
  const clock = new FakeClock();
  const lw = new ScriptedLW();
  const replaced: string[][] = [];
  const applied: string[] = [];
  const reflector = new Reflector(
    lw,
    {
      replace: (items, rv) => replaced.push([rv, ...items.map((i) => i.metadata?.name ?? "")]),
      apply: (e) => applied.push(`${e.type} ${e.object.metadata?.name}`),
    },
    { clock, pageSize: 2 },
  );
  return { clock, lw, replaced, applied, reflector };
}

describe("reflector", () => {
  test("lists in pages from rv 0, watches from the list rv, follows bookmarks, re-watches after a clean end", async () => {
    const { lw, replaced, applied, reflector } = setup();
    lw.listAnswers.push(page("10", [cm("a", "3"), cm("b", "4")], "tok"), page("10", [cm("c", "9")]));
    reflector.run();
    await waitFor(() => lw.streams.length === 1, 2000, "first watch");
    assert.deepEqual(lw.lists, [
      { labelSelector: undefined, fieldSelector: undefined, limit: 2, resourceVersion: "0" },
      { labelSelector: undefined, fieldSelector: undefined, limit: 2, continue: "tok" },
    ]);
    assert.deepEqual(replaced, [["10", "a", "b", "c"]]);
    assert.equal(lw.watches[0]?.resourceVersion, "10");
    assert.equal(lw.watches[0]?.allowWatchBookmarks, true);
    const s = lw.streams[0]!;
    s.push({ type: "ADDED", object: cm("d", "11") });
    s.push({ type: "BOOKMARK", object: { metadata: { resourceVersion: "15" } } });
    s.push("end");
    await waitFor(() => lw.streams.length === 2, 2000, "re-watch");
    assert.deepEqual(applied, ["ADDED d"], "bookmarks are not events");
    assert.equal(lw.watches[1]?.resourceVersion, "15");
    assert.equal(lw.lists.length, 2, "a clean end re-watches without listing");
    await reflector.stop();
    assert.equal(lw.streams[1]?.stopped, true);
  });

  test('a 410 ERROR event relists at once from etcd (resourceVersion "")', async () => {
    const { lw, replaced, reflector } = setup();
    lw.listAnswers.push(page("10", [cm("a", "3")]), page("50", [cm("b", "40")]));
    reflector.run();
    await waitFor(() => lw.streams.length === 1, 2000, "watch");
    lw.streams[0]!.push({
      type: "ERROR",
      object: makeStatus(410, "Expired", "too old resource version: 10 (20)"),
    });
    await waitFor(() => lw.streams.length === 2, 2000, "relist and watch");
    assert.equal(lw.lists[1]?.resourceVersion, "", "relist after expiry is a consistent read");
    assert.deepEqual(replaced[1], ["50", "b"]);
    assert.equal(lw.watches[1]?.resourceVersion, "50");
    await reflector.stop();
  });

  test("a 410 answer to the watch request relists too", async () => {
    const { lw, reflector } = setup();
    lw.listAnswers.push(page("10", []), page("30", []));
    lw.watchErrors.push(resourceExpired("too old resource version: 10 (20)"));
    reflector.run();
    await waitFor(() => lw.streams.length === 1, 2000, "watch after relist");
    assert.equal(lw.lists.length, 2);
    assert.equal(lw.watches[1]?.resourceVersion, "30");
    await reflector.stop();
  });

  test("an expired continue token restarts the list as a consistent read", async () => {
    const { lw, replaced, reflector } = setup();
    lw.listAnswers.push(page("10", [cm("a", "1"), cm("b", "2")], "tok"), resourceExpired("continue expired"));
    lw.listAnswers.push(page("12", [cm("a", "1"), cm("b", "2")]));
    reflector.run();
    await waitFor(() => lw.streams.length === 1, 2000, "watch");
    assert.equal(lw.lists[2]?.resourceVersion, "");
    assert.equal(lw.lists[2]?.continue, undefined);
    assert.deepEqual(replaced, [["12", "a", "b"]], "the half-read first list is discarded");
    await reflector.stop();
  });

  test("failures back off 800 ms doubling; a broken stream relists from the last resourceVersion", async () => {
    const { clock, lw, reflector } = setup();
    lw.listAnswers.push(new Error("connection refused"), new Error("connection refused"), page("10", []));
    reflector.run();
    await waitFor(() => lw.lists.length === 1 && clock.pending() === 1, 2000, "first backoff");
    clock.advance(799);
    assert.equal(lw.lists.length, 1);
    clock.advance(1);
    await waitFor(() => lw.lists.length === 2 && clock.pending() === 1, 2000, "second backoff");
    clock.advance(1599);
    assert.equal(lw.lists.length, 2, "the second wait is 1600 ms");
    clock.advance(1);
    await waitFor(() => lw.streams.length === 1, 2000, "watch after success");
    lw.streams[0]!.push({ type: "MODIFIED", object: cm("a", "17") });
    lw.streams[0]!.push(new Error("socket hang up"));
    await waitFor(() => clock.pending() === 1, 2000, "backoff after a broken stream");
    lw.listAnswers.push(page("20", []));
    clock.advance(800);
    await waitFor(() => lw.streams.length === 2, 2000, "relist and watch");
    assert.equal(lw.lists[3]?.resourceVersion, "17", "resumes from what it has, served by the watch cache");
    await reflector.stop();
  });
});
