// Where a build's `.kache.toml` is searched from: the same directory for every unit of one build.
// Cargo runs a registry crate's rustc inside that crate's source dir, so the call's cwd will not do.
import { readlinkSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { targetDirFromOutDir } from "../util/path-roots";

/** The working directory of the cargo that started this wrapper (Linux), or null. */
function cargoWorkingDir(): string | null {
  if (process.platform !== "linux" || process.ppid <= 1) return null;
  try {
    if (!basename(readlinkSync(`/proc/${process.ppid}/exe`)).startsWith("cargo")) return null;
    return readlinkSync(`/proc/${process.ppid}/cwd`);
  } catch {
    return null;
  }
}

/**
 * Where cargo was run, as cargo itself finds its `.cargo/config.toml`; else the directory holding
 * the target dir (`<workspace>/target` in the default layout); else the call's own cwd.
 */
export function configSearchDir(cwd: string, outDir: string | null, target: string | null): string {
  const fromCargo = cargoWorkingDir();
  if (fromCargo) return fromCargo;
  const targetDir = targetDirFromOutDir(outDir ? resolve(cwd, outDir) : null, target);
  return targetDir ? dirname(targetDir) : cwd;
}
