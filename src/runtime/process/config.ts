// What the process runtime accepts from the kubelet (validated, so bad input is a clear error) and
// how a container's root directory presents its mounts: each mountPath is a symlink to the volume.
import { createHash } from "node:crypto";
import { mkdir, realpath, symlink, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import type { ContainerConfig, Mount, SandboxConfig } from "../types.js";

export function sandboxIdFor(uid: string): string {
  return createHash("sha256").update(`kite-sandbox/${uid}`).digest("hex");
}

export function validSandboxConfig(c: SandboxConfig): void {
  if (!c || typeof c !== "object") throw new Error("process runtime: sandbox config must be an object");
  for (const k of ["uid", "name", "namespace"] as const) {
    if (typeof c[k] !== "string" || c[k] === "")
      throw new Error(`process runtime: sandbox config needs a non-empty ${k}`);
  }
}

export function validContainerConfig(c: ContainerConfig): void {
  if (!c || typeof c !== "object") throw new Error("process runtime: container config must be an object");
  if (typeof c.name !== "string" || c.name === "")
    throw new Error("process runtime: container config needs a name");
  if (!Array.isArray(c.argv) || c.argv.some((a) => typeof a !== "string")) {
    throw new Error(`process runtime: container ${c.name}: argv must be an array of strings`);
  }
  if (typeof c.logPath !== "string" || !isAbsolute(c.logPath)) {
    throw new Error(`process runtime: container ${c.name}: logPath must be an absolute path`);
  }
  if (c.mounts !== undefined && !Array.isArray(c.mounts))
    throw new Error(`process runtime: container ${c.name}: mounts must be an array`);
}

/** Each mount appears at <root><containerPath> as a symlink to the volume's host directory. */
export async function linkMounts(rootDir: string, mounts: Mount[]): Promise<void> {
  const realRoot = await realpath(rootDir);
  const sorted = [...mounts].sort((a, b) => a.containerPath.length - b.containerPath.length);
  for (const m of sorted) {
    if (
      !m ||
      typeof m.containerPath !== "string" ||
      typeof m.hostPath !== "string" ||
      !isAbsolute(m.containerPath)
    ) {
      throw new Error(
        `process runtime: invalid mount ${JSON.stringify(m)} (containerPath and hostPath must be absolute paths)`,
      );
    }
    const rel = normalize(m.containerPath).replace(/^\/+/, "").replace(/\/+$/, "");
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`)) {
      throw new Error(`process runtime: mount path ${JSON.stringify(m.containerPath)} is not allowed`);
    }
    const link = join(rootDir, rel);
    await mkdir(dirname(link), { recursive: true });
    const parent = await realpath(dirname(link));
    if (parent !== realRoot && !parent.startsWith(realRoot + sep)) {
      throw new Error(
        `process runtime: mount path ${m.containerPath} lies inside another mount; nested mounts are not supported`,
      );
    }
    await unlink(link).catch(() => undefined);
    await symlink(m.hostPath, link);
  }
}
