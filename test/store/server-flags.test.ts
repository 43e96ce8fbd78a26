import assert from "node:assert/strict";
import { test } from "node:test";
import { parseStoreFlags, StoreFlagError } from "../../src/store/server/flags.js";

test("etcd flags parse in both --flag value and --flag=value forms", () => {
  const f = parseStoreFlags([
    "--name",
    "n1",
    "--data-dir=/tmp/x",
    "--listen-client-urls",
    "http://127.0.0.1:2379,http://127.0.0.1:22379",
    "--heartbeat-interval=20",
    "--election-timeout",
    "200",
    "--snapshot-count=500",
    "--quota-backend-bytes=1048576",
    "--max-request-bytes=2048",
    "--initial-cluster=n1=http://127.0.0.1:2380",
    "--initial-cluster-state=new",
    "--experimental-watch-progress-notify-interval=1m30s",
    "--log-level=error",
  ]);
  assert.equal(f.server.name, "n1");
  assert.equal(f.server.dataDir, "/tmp/x");
  assert.deepEqual(
    f.listenClientUrls.map((u) => u.host),
    ["127.0.0.1:2379", "127.0.0.1:22379"],
  );
  assert.equal(f.server.heartbeatMs, 20);
  assert.equal(f.server.electionMs, 200);
  assert.equal(f.server.snapshotCount, 500);
  assert.equal(f.server.quotaBackendBytes, 1048576);
  assert.equal(f.server.maxRequestBytes, 2048);
  assert.deepEqual(f.server.initialCluster, [{ name: "n1", peerURLs: ["http://127.0.0.1:2380"] }]);
  assert.deepEqual(f.server.advertiseClientUrls, ["http://127.0.0.1:2379", "http://127.0.0.1:22379"]);
  assert.equal(f.server.watchProgressNotifyIntervalMs, 90_000);
  assert.equal(f.initialClusterState, "new");
  assert.equal(f.help, false);
});

test("defaults follow etcd: name default, data dir <name>.etcd, localhost URLs", () => {
  const f = parseStoreFlags([]);
  assert.equal(f.server.name, "default");
  assert.equal(f.server.dataDir, "default.etcd");
  assert.equal(f.listenClientUrls[0]!.toString(), "http://localhost:2379/");
  assert.deepEqual(f.server.initialCluster, [{ name: "default", peerURLs: ["http://localhost:2380"] }]);
  assert.equal(parseStoreFlags(["--quota-backend-bytes=0"]).server.quotaBackendBytes, undefined);
  assert.equal(parseStoreFlags(["--quota-backend-bytes=-1"]).server.quotaBackendBytes, -1);
  assert.equal(parseStoreFlags(["--help"]).help, true);
});

test("bad flags are clear errors", () => {
  const cases: Array<[string[], RegExp]> = [
    [["--frobnicate=1"], /unknown flag: --frobnicate/],
    [["--name"], /flag needs an argument: --name/],
    [["stray"], /unexpected argument "stray"/],
    [["--snapshot-count=abc"], /--snapshot-count must be an integer/],
    [["--snapshot-count=0"], /--snapshot-count must be an integer >= 1/],
    [["--listen-client-urls=not a url"], /invalid URL/],
    [["--listen-client-urls=ftp://x:1"], /scheme must be http/],
    [["--initial-cluster=other=http://127.0.0.1:2380"], /couldn't find local name "default"/],
    [["--initial-cluster=bad"], /must be name=url/],
    [["--initial-cluster-state=maybe"], /must be "new" or "existing"/],
    [["--experimental-watch-progress-notify-interval=10x"], /must be a duration/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseStoreFlags(args),
      (err: unknown) => err instanceof StoreFlagError && message.test(err.message),
    );
  }
});

test("kite store refuses an unknown flag with exit status 1", async () => {
  const { storeCommand } = await import("../../src/cli/commands/store.js");
  assert.equal(storeCommand.name, "store");
  const errors: string[] = [];
  const original = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assert.equal(await storeCommand.run(["--frobnicate=1"]), 1);
  } finally {
    console.error = original;
  }
  assert.match(errors.join("\n"), /unknown flag: --frobnicate/);
});
