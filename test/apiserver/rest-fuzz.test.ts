// Seeded fuzzing of the REST handlers over real HTTP: thousands of malformed paths, queries,
// content types and bodies. Every answer must be a Status with the HTTP code (or a well-formed
// success), nothing may crash the server, and nothing may reach Object.prototype.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import { seededRandom } from "../../src/apiserver/resources/index.js";
import { deployment, pod, type RestHarness, startRest } from "./rest-harness.js";

const SEED = Number(process.env.KITE_FUZZ_SEED ?? 20260305);
const COUNT = Number(process.env.KITE_FUZZ_COUNT ?? 3000);

/** Whether a path (as the URL parser normalises it) has the shape of an /api or /apis resource path. */
function isResourcePath(p: string): boolean {
  const parts = new URL(p, "http://x").pathname.split("/").filter((s) => s !== "");
  return (parts[0] === "api" && parts.length >= 3) || (parts[0] === "apis" && parts.length >= 4);
}

let h: RestHarness;
let unhandled = 0;
const onUnhandled = () => {
  unhandled++;
};
before(async () => {
  process.on("unhandledRejection", onUnhandled);
  h = await startRest();
  await h.request("POST", "/api/v1/namespaces/default/configmaps", {
    body: { metadata: { name: "seed" }, data: { a: "b" } },
  });
  await h.request("POST", "/apis/apps/v1/namespaces/default/deployments", { body: deployment("seed") });
  await h.request("POST", "/api/v1/namespaces/default/pods", { body: pod("seed") });
});
after(async () => {
  process.off("unhandledRejection", onUnhandled);
  await h?.stop();
});

test(`fuzz: ${COUNT} malformed requests (seed ${SEED}) always get a Status, never a crash`, async () => {
  const rnd = seededRandom(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const junk = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 0x3000))).join("");
  const segment = () =>
    pick([
      "seed",
      "x",
      "",
      "%",
      "%zz",
      "..",
      "a%2Fb",
      "UPPER",
      "n".repeat(300),
      encodeURIComponent(junk(4)),
      "-",
      "status",
      "scale",
    ]);
  const served: Array<[string, string[]]> = [
    ["/api/v1", ["configmaps", "pods", "services", "namespaces", "nodes", "events", "secrets"]],
    ["/apis/apps/v1", ["deployments", "replicasets", "statefulsets"]],
    ["/apis/coordination.k8s.io/v1", ["leases"]],
    ["/apis/rbac.authorization.k8s.io/v1", ["roles", "clusterroles"]],
  ];
  const path = () => {
    const [prefix, resources] = pick(served);
    const parts = [rnd() < 0.1 ? pick(["/apis/x/y", "/api/v2", "/apis/apps/v9"]) : prefix];
    if (rnd() < 0.7) parts.push("namespaces", pick(["default", "default", "kube-system", segment()]));
    if (rnd() < 0.1) parts.splice(1, 0, "watch");
    parts.push(rnd() < 0.1 ? pick(["widgets", "pods", "deployments"]) : pick(resources));
    if (rnd() < 0.75) parts.push(rnd() < 0.6 ? pick(["seed", "fz"]) : segment());
    if (rnd() < 0.3)
      parts.push(pick(["status", "scale", "binding", "eviction", "log", "finalize", "exec", segment()]));
    return parts.join("/");
  };
  const queryValue = () =>
    pick([
      "",
      "1",
      "true",
      "-5",
      "abc",
      "All",
      "Strict",
      "NotOlderThan",
      "Exact",
      "a=b",
      "a in (",
      "!x",
      junk(3),
      "9".repeat(30),
    ]);
  const query = () => {
    const keys = [
      "labelSelector",
      "fieldSelector",
      "limit",
      "continue",
      "resourceVersion",
      "resourceVersionMatch",
      "dryRun",
      "fieldManager",
      "force",
      "propagationPolicy",
      "gracePeriodSeconds",
      "includeObject",
      "sendInitialEvents",
      "allowWatchBookmarks",
      "orphanDependents",
    ];
    const n = Math.floor(rnd() * 4);
    const q = new URLSearchParams();
    for (let i = 0; i < n; i++) q.append(pick(keys), queryValue());
    return q.toString();
  };
  const valid = () =>
    pick<unknown>([
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "fz" }, data: { k: "v" } },
      pod("fz"),
      deployment("fz"),
      { apiVersion: "v1", kind: "Service", metadata: { name: "fz" }, spec: { ports: [{ port: 80 }] } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "fz" } },
      [{ op: "add", path: "/metadata/labels", value: { a: "b" } }],
      { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Orphan" },
      { apiVersion: "v1", kind: "Binding", metadata: { name: "seed" }, target: { name: "n1" } },
    ]);
  const randomValue = (depth: number): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.3)
      return pick([null, true, false, 0, -1, 1e308, "", "x", junk(5), 2 ** 53 + 1, "None"]);
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 3) }, () => randomValue(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < Math.floor(rnd() * 4); i++)
      o[
        pick([
          "metadata",
          "spec",
          "status",
          "name",
          "kind",
          "apiVersion",
          "__proto__",
          "constructor",
          "finalizers",
          "containers",
          "$patch",
          "labels",
          junk(2),
        ])
      ] = randomValue(depth + 1);
    return o;
  };
  const mutate = (v: unknown, depth = 0): unknown => {
    if (depth > 4 || v === null || typeof v !== "object") return rnd() < 0.2 ? randomValue(3) : v;
    if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      if (rnd() > 0.1) o[k] = rnd() < 0.15 ? randomValue(depth) : mutate(x, depth + 1);
    if (rnd() < 0.1) o[pick(["metadata", "spec", "kind", "apiVersion", "__proto__"])] = randomValue(depth);
    return o;
  };
  const body = (): string | Buffer | undefined => {
    const r = rnd();
    if (r < 0.1) return undefined;
    if (r < 0.45) return JSON.stringify(mutate(valid()));
    if (r < 0.55) return JSON.stringify(valid()).slice(0, Math.floor(rnd() * 60));
    if (r < 0.62)
      return Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
    if (r < 0.7) return `${"[".repeat(5000)}${"]".repeat(5000)}`;
    if (r < 0.75) return '{"metadata":{"name":"fz","__proto__":{"polluted":true}},"data":{}}';
    if (r < 0.82) return `a: &x [1, 2]\nb: *x\nc: ${junk(4)}\n- bad`;
    if (r < 0.9) return JSON.stringify(randomValue(0));
    return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${pick(["fz", "FZ", "-", junk(2)])}\ndata: {a: 1}\n`;
  };
  const contentType = () =>
    pick([
      "application/json",
      "application/yaml",
      "application/vnd.kubernetes.protobuf",
      "application/merge-patch+json",
      "application/json-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
      "text/plain",
      "",
      "application/json; charset=utf-8",
    ]);
  const accept = () =>
    pick([
      undefined,
      "application/json",
      "application/vnd.kubernetes.protobuf",
      "application/json;as=Table;v=v1;g=meta.k8s.io",
      "application/json;as=Table;v=v9;g=x",
      "*/*",
      "application/yaml",
      junk(3),
      "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    ]);

  const send = (
    method: string,
    p: string,
    payload: string | Buffer | undefined,
    ct: string,
    acc: string | undefined,
  ) =>
    new Promise<{ status: number; ctype: string; text: string }>((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (payload !== undefined) headers["Content-Length"] = String(Buffer.byteLength(payload));
      if (ct !== "" && payload !== undefined) headers["Content-Type"] = ct;
      if (acc !== undefined && /^[\x20-\x7e]*$/.test(acc)) headers.Accept = acc;
      const req = httpRequest(`${h.url}${p}`, { method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        const ctype = String(res.headers["content-type"] ?? "");
        // A watch that was accepted streams until its timeout: its headers are the answer.
        if (status === 200 && res.headers["transfer-encoding"] === "chunked" && method === "GET") {
          req.destroy();
          resolve({ status, ctype, text: "" });
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status, ctype, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });

  const codes = new Map<number, number>();
  let i = 0;
  const worker = async () => {
    while (i < COUNT) {
      i++;
      const method = pick(["GET", "POST", "PUT", "PATCH", "DELETE", "GET", "OPTIONS"]);
      let p = path();
      const q = query();
      if (q) p += `?${q}`;
      const payload = method === "GET" ? undefined : body();
      const r = await send(method, p, payload, contentType(), accept());
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      const where = `${method} ${p} -> ${r.status} ${r.text.slice(0, 300)}`;
      assert.notEqual(r.status, 0, where);
      if (r.status === 418) assert.ok(!isResourcePath(p), `a resource path was not handled: ${where}`);
      if (r.status === 418 || r.text === "") continue;
      if (r.ctype === "application/yaml") continue;
      const parsed = JSON.parse(r.text);
      if (r.status >= 400) {
        assert.equal(parsed.kind, "Status", where);
        assert.equal(parsed.status, "Failure", where);
        assert.equal(parsed.code, r.status, where);
        assert.notEqual(r.status, 500, `no internal errors on malformed input: ${where}`);
      } else {
        assert.equal(typeof parsed.kind, "string", where);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.equal(unhandled, 0, "no unhandled rejections");
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype untouched");
  const alive = await h.request("GET", "/api/v1/namespaces/default/configmaps");
  assert.equal(alive.status, 200);
  console.log(
    `# fuzz status codes: ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])))}`,
  );
});
