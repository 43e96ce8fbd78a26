import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { KubeObject } from "../../src/api/types.js";
import {
  cleanupVolumes,
  containerMounts,
  prepareVolumes,
  VolumeError,
  type VolumeSources,
} from "../../src/kubelet/volumes.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function sources(
  configMaps: Record<string, KubeObject> = {},
  secrets: Record<string, KubeObject> = {},
): VolumeSources {
  return {
    getConfigMap: async (_ns, name) => configMaps[name],
    getSecret: async (_ns, name) => secrets[name],
    allocatable: { cpu: "2", memory: "4Gi" },
  };
}

function pod(volumes: unknown[]): KubeObject {
  return {
    metadata: {
      name: "web",
      namespace: "app",
      uid: "u-1",
      labels: { b: "2", a: "1" },
      annotations: { x: 'q"' },
    },
    spec: {
      containers: [{ name: "main", resources: { limits: { memory: "256Mi" }, requests: { cpu: "100m" } } }],
      volumes,
    },
  };
}

async function tempPodDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), "kite-volumes-"));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const read = (p: string) => fs.readFile(p, "utf8");
const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o777;

test("configMap, secret, emptyDir and hostPath volumes", async (t) => {
  const podDir = await tempPodDir(t);
  const cm = {
    data: { "app.conf": "level=debug\n", other: "o" },
    binaryData: { "logo.bin": b64("\x00\x01") },
  };
  const secret = { data: { token: b64("s3cr3t"), ca: b64("CA") } };
  const p = pod([
    { name: "config", configMap: { name: "cm" } },
    {
      name: "picked",
      configMap: {
        name: "cm",
        items: [{ key: "app.conf", path: "conf/app.conf", mode: 0o600 }],
        defaultMode: 0o640,
      },
    },
    { name: "creds", secret: { secretName: "sec", defaultMode: 0o400 } },
    { name: "scratch", emptyDir: {} },
    { name: "ram", emptyDir: { medium: "Memory" } },
    { name: "host", hostPath: { path: podDir } },
    { name: "opt", configMap: { name: "absent", optional: true } },
  ]);
  const vols = await prepareVolumes(p, podDir, sources({ cm }, { sec: secret }));
  const config = vols.get("config")!;
  assert.equal(config, join(podDir, "volumes", "config"));
  assert.equal(await read(join(config, "app.conf")), "level=debug\n");
  assert.deepEqual(await fs.readFile(join(config, "logo.bin")), Buffer.from([0, 1]));
  assert.equal(await modeOf(join(config, "app.conf")), 0o644);
  assert.equal(
    await fs.readlink(join(config, "app.conf")),
    join("..data", "app.conf"),
    "visible files go through ..data",
  );
  const picked = vols.get("picked")!;
  assert.equal(await read(join(picked, "conf", "app.conf")), "level=debug\n");
  assert.equal(await modeOf(join(picked, "conf", "app.conf")), 0o600);
  await assert.rejects(fs.stat(join(picked, "other")), "only the listed items");
  assert.equal(await read(join(vols.get("creds")!, "token")), "s3cr3t");
  assert.equal(await modeOf(join(vols.get("creds")!, "token")), 0o400);
  assert.ok((await fs.stat(vols.get("scratch")!)).isDirectory());
  assert.ok((await fs.stat(vols.get("ram")!)).isDirectory());
  assert.equal(vols.get("host"), podDir);
  assert.deepEqual(
    (await fs.readdir(vols.get("opt")!)).filter((e) => !e.startsWith("..")),
    [],
  );

  // Re-preparing keeps emptyDir contents and does not rewrite an unchanged configMap.
  await fs.writeFile(join(vols.get("scratch")!, "keep"), "me");
  const before = await fs.readlink(join(config, "..data"));
  const again = await prepareVolumes(p, podDir, sources({ cm }, { sec: secret }));
  assert.equal(await read(join(again.get("scratch")!, "keep")), "me");
  assert.equal(await fs.readlink(join(config, "..data")), before);

  // An update swaps ..data atomically; removed keys disappear, the old data dir is gone.
  const updated = { data: { "app.conf": "level=info\n" } };
  await prepareVolumes(p, podDir, sources({ cm: updated }, { sec: secret }));
  assert.equal(await read(join(config, "app.conf")), "level=info\n");
  await assert.rejects(fs.stat(join(config, "other")));
  const entries = (await fs.readdir(config)).sort();
  assert.equal(
    entries.filter((e) => e.startsWith("..") && e !== "..data").length,
    1,
    `one data dir: ${entries}`,
  );

  await cleanupVolumes(podDir);
  await assert.rejects(fs.stat(join(podDir, "volumes")));
  assert.ok((await fs.stat(podDir)).isDirectory(), "hostPath left alone");
});

test("downwardAPI and projected volumes", async (t) => {
  const podDir = await tempPodDir(t);
  const p = pod([
    {
      name: "info",
      downwardAPI: {
        items: [
          { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
          { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
          { path: "name", fieldRef: { fieldPath: "metadata.name" } },
          { path: "ns", fieldRef: { fieldPath: "metadata.namespace" } },
          { path: "uid", fieldRef: { fieldPath: "metadata.uid" } },
          {
            path: "mem",
            resourceFieldRef: { containerName: "main", resource: "limits.memory", divisor: "1Mi" },
          },
          { path: "cpu", resourceFieldRef: { containerName: "main", resource: "limits.cpu" } },
        ],
      },
    },
    {
      name: "all",
      projected: {
        defaultMode: 0o440,
        sources: [
          { configMap: { name: "cm", items: [{ key: "k", path: "cm-k" }] } },
          { secret: { name: "sec" } },
          { downwardAPI: { items: [{ path: "podname", fieldRef: { fieldPath: "metadata.name" } }] } },
        ],
      },
    },
  ]);
  const vols = await prepareVolumes(
    p,
    podDir,
    sources({ cm: { data: { k: "v" } } }, { sec: { data: { pw: b64("x") } } }),
  );
  const info = vols.get("info")!;
  assert.equal(await read(join(info, "labels")), 'a="1"\nb="2"');
  assert.equal(await read(join(info, "annotations")), 'x="q\\""');
  assert.equal(await read(join(info, "name")), "web");
  assert.equal(await read(join(info, "ns")), "app");
  assert.equal(await read(join(info, "uid")), "u-1");
  assert.equal(await read(join(info, "mem")), "256");
  assert.equal(await read(join(info, "cpu")), "2", "unset cpu limit is node allocatable");
  const all = vols.get("all")!;
  assert.equal(await read(join(all, "cm-k")), "v");
  assert.equal(await read(join(all, "pw")), "x");
  assert.equal(await read(join(all, "podname")), "web");
  assert.equal(await modeOf(join(all, "pw")), 0o440);
});

test("volume errors: missing objects, keys, unsupported kinds, bad paths", async (t) => {
  const podDir = await tempPodDir(t);
  const cases: Array<[unknown, string]> = [
    [
      { name: "v", configMap: { name: "nope" } },
      'MountVolume.SetUp failed for volume "v" : configmap "nope" not found',
    ],
    [
      { name: "v", secret: { secretName: "nope" } },
      'MountVolume.SetUp failed for volume "v" : secret "nope" not found',
    ],
    [
      { name: "v", configMap: { name: "cm", items: [{ key: "zz", path: "z" }] } },
      'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz',
    ],
    [
      { name: "data", persistentVolumeClaim: { claimName: "c" } },
      'MountVolume.SetUp failed for volume "data" : volume type persistentVolumeClaim is not supported by kite\'s kubelet',
    ],
    [
      { name: "v", configMap: { name: "cm", items: [{ key: "k", path: "../escape" }] } },
      'MountVolume.SetUp failed for volume "v" : invalid path: "../escape"',
    ],
    [
      { name: "v", hostPath: { path: join(podDir, "none"), type: "Directory" } },
      `MountVolume.SetUp failed for volume "v" : hostPath type check failed: ${join(podDir, "none")} is not a directory`,
    ],
  ];
  for (const [volume, message] of cases) {
    await assert.rejects(
      prepareVolumes(pod([volume]), podDir, sources({ cm: { data: { k: "v" } } })),
      (err: Error) => {
        assert.ok(err instanceof VolumeError, String(err));
        assert.equal(err.message, message);
        return true;
      },
    );
  }
});

test("containerMounts: readOnly for projected kinds, subPath, unknown volume", async (t) => {
  const podDir = await tempPodDir(t);
  const p = pod([
    { name: "config", configMap: { name: "cm" } },
    { name: "scratch", emptyDir: {} },
  ]);
  const vols = await prepareVolumes(p, podDir, sources({ cm: { data: { "a.conf": "x" } } }));
  const mounts = containerMounts(
    {
      name: "main",
      volumeMounts: [
        { name: "config", mountPath: "/etc/config" },
        { name: "config", mountPath: "/etc/a.conf", subPath: "a.conf" },
        { name: "scratch", mountPath: "/data" },
        { name: "scratch", mountPath: "/cache", subPath: "cache/x", readOnly: true },
      ],
    },
    vols,
  );
  assert.deepEqual(mounts, [
    { hostPath: vols.get("config"), containerPath: "/etc/config", readOnly: true },
    { hostPath: join(vols.get("config")!, "a.conf"), containerPath: "/etc/a.conf", readOnly: true },
    { hostPath: vols.get("scratch"), containerPath: "/data", readOnly: false },
    { hostPath: join(vols.get("scratch")!, "cache/x"), containerPath: "/cache", readOnly: true },
  ]);
  assert.ok((await fs.stat(join(vols.get("scratch")!, "cache/x"))).isDirectory(), "subPath created");
  assert.throws(
    () => containerMounts({ name: "main", volumeMounts: [{ name: "nope", mountPath: "/x" }] }, vols),
    {
      name: "VolumeError",
      message: 'cannot find volume "nope" to mount into container "main"',
    },
  );
  assert.throws(
    () =>
      containerMounts(
        { name: "main", volumeMounts: [{ name: "scratch", mountPath: "/x", subPath: "../up" }] },
        vols,
      ),
    VolumeError,
  );
});
