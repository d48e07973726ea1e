// Where a build's `.kache.toml` is searched from: the same directory for every unit of one build.
// Cargo runs a registry crate's rustc inside that crate's source dir, so the call's cwd will not do.
import { readFileSync, readlinkSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { targetDirFromOutDir } from "../util/path-roots";

/**
 * How far up the process tree cargo may be: the wrapper's parent, or above a build script and what
 * it runs (build script, cmake, make, sh, then the C compiler).
 */
const CARGO_ANCESTORS = 8;

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/**
 * The working directory of the cargo that started this process (Linux), or null: its parent, or
 * the cargo that runs the build script that started it (a build script runs in its package's dir,
 * a registry crate's outside the workspace).
 */
function cargoWorkingDir(): string | null {
  if (process.platform !== "linux") return null;
  let pid = process.ppid;
  try {
    for (let depth = 0; depth < CARGO_ANCESTORS && pid > 1; depth++, pid = parentOf(pid))
      if (basename(readlinkSync(`/proc/${pid}/exe`)).startsWith("cargo"))
        return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // gone meanwhile, or not ours to read
  }
  return null;
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
