// The layering rule, checked on the source: raft → store → apiserver → (controllers, scheduler,
// kubelet, proxy, dns) → cli, and a lower layer never imports a higher one. Each component lists
// the components it may import; anything else fails with the offending file and import.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** The checkout: the nearest directory above this file holding package.json and src/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, "package.json")) && existsSync(join(dir, "src")))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the checkout above this test");
    dir = up;
  }
  return dir;
}

const ROOT = findRoot();
const SRC = join(ROOT, "src");

const ALLOWED: Record<string, string[]> = {
  raft: [],
  store: ["raft"],
  etcdapi: ["store", "raft"],
  api: [],
  apiserver: ["api", "etcdapi", "store", "raft"],
  client: ["api"],
  controllers: ["api", "client"],
  scheduler: ["api", "client"],
  hollow: ["api", "client"],
  runtime: ["api"],
  kubelet: ["api", "client", "runtime", "hollow"],
  proxy: ["api", "client"],
  dns: ["api", "client"],
  cli: ["*"],
};

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g;

test("no component imports a layer above it", () => {
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const component = relative(SRC, file).split(sep)[0]!;
    const allowed = ALLOWED[component];
    if (allowed === undefined) {
      violations.push(`${relative(ROOT, file)}: component "${component}" has no entry in the layer table`);
      continue;
    }
    if (allowed.includes("*")) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith(".")) continue;
      const target = relative(SRC, resolve(dirname(file), spec)).split(sep)[0]!;
      if (target === component || target.startsWith("..")) continue;
      if (!allowed.includes(target)) violations.push(`${relative(ROOT, file)} imports ${spec} (${target})`);
    }
  }
  assert.deepEqual(violations, []);
});

test("every component's index.ts opens with what it owns", () => {
  const missing: string[] = [];
  for (const name of readdirSync(SRC)) {
    if (!statSync(join(SRC, name)).isDirectory()) continue;
    const index = join(SRC, name, "index.ts");
    if (!existsSync(index)) {
      missing.push(`src/${name}/index.ts is missing`);
      continue;
    }
    if (!readFileSync(index, "utf8").startsWith("//"))
      missing.push(`src/${name}/index.ts does not open with a comment`);
  }
  assert.deepEqual(missing, []);
});
