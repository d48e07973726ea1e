// Finds the real C/C++ compiler behind kache: next on PATH after kache's own shims, never kache itself.
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { basename, join } from "node:path";

/** Set in the environment of every compiler kache runs: a kache cc that sees it compiles directly. */
export const CC_LOOP_GUARD = "KACHE_CC_WRAPPED";

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
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

/** The one line kache prints (then exits 127) when no real compiler is found. */
export function noCompilerMessage(name: string): string {
  return `kache: no real ${name} found on PATH after kache's shims`;
}
