// Which search dirs' static archives a library crate may bundle through a `#[link(kind = "static")]`
// attribute (no `-l` flag names them): its own build script's. Cargo hands every dependency's
// search dirs to each crate above it too, but what those bundle is in their own rlib's key.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isUnder } from "./tool-identity";

/** Dirs whose archives change with the system or the toolchain, not with a build: never hashed. */
const SYSTEM_LIBRARY_DIRS = [
  "/usr/",
  "/lib/",
  "/lib32/",
  "/lib64/",
  "/System/",
  "/Library/",
  "/opt/homebrew/",
  "/opt/local/",
  "/nix/store/",
];

/** The dir of a `-L [kind=]dir` spec that native libraries are searched in, or null. */
export function nativeSearchDir(spec: string, cwd: string): string | null {
  const eq = spec.indexOf("=");
  const kind = eq === -1 ? "all" : spec.slice(0, eq);
  if (kind !== "all" && kind !== "native") return null;
  return resolve(cwd, eq === -1 ? spec : spec.slice(eq + 1));
}

/**
 * The search dirs the crate's own build script printed (`cargo:rustc-link-search=`), from the
 * `output` file cargo keeps beside its OUT_DIR.
 */
function ownBuildScriptDirs(outDir: string, cwd: string): string[] {
  let text: string;
  try {
    text = readFileSync(join(dirname(outDir), "output"), "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/^cargo::?rustc-link-search=(.+)$/gm)]
    .map((match) => nativeSearchDir(match[1]!.trim(), cwd))
    .filter((dir) => dir !== null);
}

/** Of `dirs`, those whose archives the crate may bundle: its OUT_DIR, and its build script's outside the system's and the toolchain's. */
export function bundlableDirs(
  dirs: string[],
  call: { cwd: string; outDir: string | undefined; sysroot: string },
): string[] {
  if (!call.outDir || dirs.length === 0) return [];
  const outDir = resolve(call.cwd, call.outDir);
  const own = new Set(ownBuildScriptDirs(outDir, call.cwd));
  const system = (dir: string) =>
    isUnder(dir, call.sysroot) || SYSTEM_LIBRARY_DIRS.some((prefix) => `${dir}/`.startsWith(prefix));
  return dirs.filter((dir) => isUnder(dir, outDir) || (own.has(dir) && !system(dir)));
}
