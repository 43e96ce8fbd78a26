import assert from "node:assert/strict";
import { once } from "node:events";
import * as http from "node:http";
import { createServer as createTcpServer, type Server } from "node:net";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { PROBE_USER_AGENT, type ProbeTarget, runProbe } from "../../src/kubelet/probes.js";
import { freePort } from "../support/ports.js";

function target(extra: Partial<ProbeTarget> = {}): ProbeTarget {
  return {
    podIP: "127.0.0.1",
    containerPorts: [],
    exec: async () => ({ exitCode: 0, stdout: "", timedOut: false }),
    ...extra,
  };
}

async function listen(server: http.Server | Server, port: number): Promise<void> {
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
}

test("httpGet: status ranges, named port, headers, redirects, body cap, timeout", async (t) => {
  const port = await freePort();
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const path = req.url ?? "/";
    if (path === "/healthz") res.end("ok");
    else if (path === "/fail") {
      res.statusCode = 503;
      res.end("secret details");
    } else if (path === "/local-redirect") {
      res.writeHead(302, { location: "/fail" });
      res.end();
    } else if (path === "/away") {
      res.writeHead(301, { location: "http://127.0.0.2:1/elsewhere" });
      res.end("moved");
    } else if (path === "/big") res.end("x".repeat(64 * 1024));
    else if (path === "/slow") setTimeout(() => res.end("late"), 3000).unref();
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await listen(server, port);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const tgt = target({ containerPorts: [{ name: "http", containerPort: port }] });

  assert.deepEqual(await runProbe({ httpGet: { path: "/healthz", port: "http" } }, tgt), {
    ok: true,
    output: "ok",
  });
  assert.equal(seen.at(-1)?.["user-agent"], PROBE_USER_AGENT);
  assert.equal(seen.at(-1)?.accept, "*/*");
  await runProbe(
    {
      httpGet: {
        path: "healthz",
        port,
        httpHeaders: [
          { name: "User-Agent", value: "mine" },
          { name: "X-A", value: "1" },
        ],
      },
    },
    tgt,
  );
  assert.equal(seen.at(-1)?.["user-agent"], "mine");
  assert.equal(seen.at(-1)?.["x-a"], "1");
  assert.deepEqual(await runProbe({ httpGet: { path: "/fail", port } }, tgt), {
    ok: false,
    output: "HTTP probe failed with statuscode: 503",
  });
  assert.deepEqual(
    await runProbe({ httpGet: { path: "/local-redirect", port } }, tgt),
    { ok: false, output: "HTTP probe failed with statuscode: 503" },
    "same-host redirects are followed",
  );
  assert.deepEqual(await runProbe({ httpGet: { path: "/away", port } }, tgt), {
    ok: true,
    output: "Probe terminated redirects, Response body: moved",
  });
  const big = await runProbe({ httpGet: { path: "/big", port } }, tgt);
  assert.equal(big.ok, true);
  assert.equal(big.output.length, 10 * 1024);
  const slow = await runProbe({ httpGet: { path: "/slow", port }, timeoutSeconds: 1 }, tgt);
  assert.equal(slow.ok, false);
  assert.match(slow.output, /context deadline exceeded/);
  assert.deepEqual(await runProbe({ httpGet: { path: "/", port: "nope" } }, tgt), {
    ok: false,
    output: "port nope not found",
  });

  const closed = await freePort();
  const refused = await runProbe({ httpGet: { path: "/", port: closed } }, tgt);
  assert.deepEqual(refused, {
    ok: false,
    output: `Get "http://127.0.0.1:${closed}/": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
  });
});

test("tcpSocket: connect succeeds, refused fails", async (t) => {
  const port = await freePort();
  const server = createTcpServer((s) => s.destroy());
  await listen(server, port);
  t.after(() => server.close());
  assert.deepEqual(await runProbe({ tcpSocket: { port } }, target()), { ok: true, output: "" });
  const closed = await freePort();
  assert.deepEqual(await runProbe({ tcpSocket: { port: closed, host: "127.0.0.1" } }, target()), {
    ok: false,
    output: `dial tcp 127.0.0.1:${closed}: connect: connection refused`,
  });
});

test("exec: exit 0 passes, non-zero fails with output, timeout fails", async () => {
  const calls: Array<[string[], number]> = [];
  const tgt = (exitCode: number, timedOut = false) =>
    target({
      exec: async (argv, timeoutMs) => {
        calls.push([argv, timeoutMs]);
        return { exitCode, stdout: `out ${exitCode}`, timedOut };
      },
    });
  assert.deepEqual(
    await runProbe({ exec: { command: ["cat", "/tmp/healthy"] }, timeoutSeconds: 2 }, tgt(0)),
    {
      ok: true,
      output: "out 0",
    },
  );
  assert.deepEqual(calls[0], [["cat", "/tmp/healthy"], 2000]);
  assert.deepEqual(await runProbe({ exec: { command: ["false"] } }, tgt(1)), { ok: false, output: "out 1" });
  assert.equal(calls[1]![1], 1000, "timeoutSeconds defaults to 1");
  assert.deepEqual(await runProbe({ exec: { command: ["sleep", "9"] } }, tgt(-1, true)), {
    ok: false,
    output: 'command "sleep 9" timed out',
  });
  assert.deepEqual(await runProbe({}, target()), { ok: false, output: "missing probe handler" });
});

test("grpc: health Check SERVING passes, NOT_SERVING and unimplemented fail", async (t) => {
  const port = await freePort();
  const server = new grpc.Server();
  const statuses: Record<string, number> = { "": 1, down: 2 };
  server.addService(
    {
      Check: {
        path: "/grpc.health.v1.Health/Check",
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (b: Buffer) => ({ service: b.length > 2 ? b.subarray(2).toString() : "" }),
        responseSerialize: (v: number) => Buffer.from([0x08, v]),
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
        const s = statuses[call.request.service];
        if (s === undefined) cb({ code: grpc.status.NOT_FOUND, details: "unknown service" });
        else cb(null, s);
      },
    },
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  t.after(() => server.forceShutdown());
  assert.deepEqual(await runProbe({ grpc: { port }, timeoutSeconds: 5 }, target()), {
    ok: true,
    output: "service healthy",
  });
  assert.deepEqual(await runProbe({ grpc: { port, service: "down" }, timeoutSeconds: 5 }, target()), {
    ok: false,
    output: 'service unhealthy (responded with "NOT_SERVING")',
  });
  const other = await runProbe({ grpc: { port, service: "zzz" }, timeoutSeconds: 5 }, target());
  assert.equal(other.ok, false);
  assert.match(other.output, /^error: health rpc probe failed: /);
  const closed = await freePort();
  const refused = await runProbe({ grpc: { port: closed } }, target());
  assert.equal(refused.ok, false);
  assert.match(refused.output, /^timeout: failed to connect service "127.0.0.1:\d+" within 1s/);
});
