// Finds the real C/C++ compiler behind kache: next on PATH after kache's own shims, never kache itself.
import { realpathSync } from "node:fs";
import { basename, join } from "node:path";
import { isExecutableFile } from "../wrapper/detect";

/** Set in the environment of every compiler kache runs: a kache cc that sees it compiles directly. */
export const CC_LOOP_GUARD = "KACHE_CC_WRAPPED";

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** kache's own executable, as the kernel sees it. */
export function kacheExecutable(): string {
  return realpathOrNull(process.execPath) ?? process.execPath;
}

/** The first `name` on PATH that is an executable and not kache (a shim dir may be listed twice). */
function searchPath(name: string, path: string, self: string): string | null {
  for (const dir of path.split(":")) {
    const candidate = join(dir || ".", name);
    if (!isExecutableFile(candidate)) continue;
    if (realpathOrNull(candidate) !== self) return candidate;
  }
  return null;
}

/**
 * The compiler to run for `compiler`: a bare name is looked up on PATH skipping kache; a path is
 * used as is, unless it is kache (a shim named by path), whose name is then looked up. Null when
 * nothing real is found.
 */
export function findRealCompiler(
  compiler: string,
  env: Record<string, string | undefined>,
  self: string = kacheExecutable(),
): string | null {
  if (compiler.includes("/")) {
    if (!isExecutableFile(compiler)) return null;
    if (realpathOrNull(compiler) !== self) return compiler;
  }
  return searchPath(basename(compiler), env.PATH ?? "", self);
}

/** True when `value` names kache (a shim, or the binary). */
function namesKache(value: string, path: string, self: string): boolean {
  const resolved = value.includes("/") ? value : searchPathAny(value, path);
  return resolved !== null && realpathOrNull(resolved) === self;
}

function searchPathAny(name: string, path: string): string | null {
  for (const dir of path.split(":")) {
    const candidate = join(dir || ".", name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/**
 * The compiler the user asked for with `CC` (or `CXX`), when a build script reached kache through
 * the `CC_<target>` key `kache init` wrote: the cc crate prefers that key over `CC`, so without
 * this a `CC=clang` set in the shell later would quietly build with the shim's `cc` instead.
 * Only a one-word value that is not kache itself counts; anything else leaves the shim's choice
 * (null). `found` is null when that compiler is not there: the call fails, as without kache.
 */
export function userCompiler(
  language: "c" | "c++",
  env: Record<string, string | undefined>,
  self: string = kacheExecutable(),
): { wanted: string; found: string | null } | null {
  const target = env.TARGET;
  const base = language === "c" ? "CC" : "CXX";
  const wanted = env[base]?.trim();
  if (!target || !wanted || /\s/.test(wanted)) return null;
  const path = env.PATH ?? "";
  const keyed = env[`${base}_${target}`] ?? env[`${base}_${target.replaceAll("-", "_")}`];
  if (!keyed || !namesKache(keyed, path, self) || namesKache(wanted, path, self)) return null;
  return { wanted, found: findRealCompiler(wanted, env, self) };
}

/** The one line kache prints (then exits 127) when no real compiler is found. */
export function noCompilerMessage(name: string): string {
  return `kache: no real ${name} found on PATH after kache's shims`;
}
