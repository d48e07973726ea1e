// The crates a `kache sync --pull` is about: the packages of the workspace's Cargo.lock, as rustc
// names them (underscores), plus build scripts, which every package names alike.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The Cargo.lock next to `--manifest-path`, or the nearest one above the cwd; null when none. */
export function findLockfile(cwd: string, manifestPath?: string): string | null {
  if (manifestPath) {
    const lock = join(dirname(resolve(cwd, manifestPath)), "Cargo.lock");
    return existsSync(lock) ? lock : null;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const lock = join(dir, "Cargo.lock");
    if (existsSync(lock)) return lock;
    if (dirname(dir) === dir) return null;
  }
}

export function lockfileCrates(lockfile: string): Set<string> {
  const parsed = Bun.TOML.parse(readFileSync(lockfile, "utf8")) as { package?: { name?: string }[] };
  const names = new Set<string>(["build_script_build", "build_script_main"]);
  for (const pkg of parsed.package ?? []) if (pkg.name) names.add(pkg.name.replaceAll("-", "_"));
  return names;
}
