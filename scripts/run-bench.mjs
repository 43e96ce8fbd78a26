// `npm run bench -- NAME [args]` runs dist/bench/NAME.js (or dist/bench/NAME/index.js).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const [name, ...args] = process.argv.slice(2);
const candidates = name ? [`dist/bench/${name}.js`, `dist/bench/${name}/index.js`] : [];
const script = candidates.find((c) => existsSync(c));
if (!script) {
  const known = existsSync("dist/bench")
    ? readdirSync("dist/bench").map((f) => f.replace(/\.js(\.map)?$/, ""))
    : [];
  console.error(`usage: npm run bench -- NAME\nbenchmarks: ${[...new Set(known)].join(", ")}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ["--enable-source-maps", script, ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
