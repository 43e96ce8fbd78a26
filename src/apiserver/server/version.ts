// /version: pinned to Kubernetes 1.32 because the kubectl on our machines is a dispatcher that
// picks its binary by the server's minor version, and 1.32 is the one the spec targets.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** kite's own version, from the nearest package.json named "kite" above this module. */
export function kiteVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "kite" && pkg.version) return pkg.version;
    } catch {
      // no package.json here; keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return "0.0.0";
    dir = parent;
  }
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export function versionInfo(buildDate: Date): VersionInfo {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return {
    major: "1",
    minor: "32",
    gitVersion: `v1.32.0-kite.${kiteVersion()}`,
    gitCommit: "",
    gitTreeState: "clean",
    buildDate: `${buildDate.toISOString().slice(0, 19)}Z`,
    goVersion: `node${process.versions.node.split(".")[0]}`,
    compiler: "kite",
    platform: `${process.platform}/${arch}`,
  };
}
