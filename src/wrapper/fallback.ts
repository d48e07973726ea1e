// cache.fallback: the calls kache passes through run as `<fallback> <compiler> <args>` (sccache, say),
// unless the fallback is missing or is kache itself; then the compiler runs directly.
import { realpathSync } from "node:fs";
import { join } from "node:path";
import type { Settings } from "../config/settings";
import { ensureCacheDir } from "../store/cache-dir";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import { markerDue } from "../util/rate-marker";
import { type CapturedRun, type ProcessEnv, runCaptured, runPassthrough } from "./compiler-process";
import { isExecutableFile } from "./detect";

/**
 * Set in the fallback's environment. A kache started under it (a fallback script that calls kache
 * again) runs the compiler directly instead of going round the loop.
 */
export const FALLBACK_GUARD = "KACHE_IN_FALLBACK";

/** A build makes many pass-through calls; saying once a minute that the fallback is missing is enough. */
const WARN_EVERY_MS = 60_000;

/** Whether a call may warn: cargo's probes swallow stderr, and a refused cache dir takes no marker. */
export interface FallbackNotices {
  warn: boolean;
  /** Where the once-a-minute marker goes, or null to warn without one. */
  markerDir: string | null;
}

type Status = { exitCode: number; signal: string | null };

function warnOnce(notices: FallbackNotices, marker: string, message: string): void {
  if (!notices.warn) return;
  if (
    notices.markerDir &&
    markerDirReady(notices.markerDir) &&
    !markerDue(join(notices.markerDir, marker), WARN_EVERY_MS)
  )
    return;
  log.warn(message);
}

/** A first build's pass-throughs may come before any call made the cache dir. */
function markerDirReady(dir: string): boolean {
  try {
    ensureCacheDir(dir);
    return true;
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** A path as written (the loader made it absolute), or a bare name looked up on PATH. */
function findProgram(name: string): string | null {
  if (name.includes("/")) return isExecutableFile(name) ? name : null;
  return Bun.which(name);
}

/** The fallback's executable for this call, or null when the compiler is to run directly. */
export function fallbackProgram(settings: Settings | null, notices: FallbackNotices): string | null {
  const fallback = settings?.fallback;
  if (!fallback || process.env[FALLBACK_GUARD]) return null;
  const program = findProgram(fallback);
  if (!program) {
    const message = `fallback "${fallback}" (cache.fallback) was not found; running the compiler directly`;
    warnOnce(notices, "fallback.missing", message);
    return null;
  }
  if (sameFile(program, process.execPath)) {
    const message = `fallback "${fallback}" is kache itself; running the compiler directly (name another cache, e.g. sccache)`;
    warnOnce(notices, "fallback.self", message);
    return null;
  }
  return program;
}

function guardedEnv(): ProcessEnv {
  return { ...process.env, [FALLBACK_GUARD]: "1" };
}

/** Only a failure to start the fallback is retried plainly; once it ran, its result stands. */
function cannotStart(program: string, error: unknown, notices: FallbackNotices): void {
  if (!(error as NodeJS.ErrnoException)?.syscall?.startsWith("posix_spawn")) throw error;
  warnOnce(
    notices,
    "fallback.failed",
    `fallback ${program} could not be started (${describeError(error)}); running the compiler directly`,
  );
}

/** A pass-through sharing our stdio, through the fallback when there is one. */
export function runPassthroughCall(
  command: string[],
  cwd: string,
  settings: Settings | null,
  notices: FallbackNotices,
): Status {
  const program = fallbackProgram(settings, notices);
  if (program) {
    try {
      return runPassthrough([program, ...command], cwd, guardedEnv());
    } catch (error) {
      cannotStart(program, error, notices);
    }
  }
  return runPassthrough(command, cwd);
}

/** A pass-through whose output is captured (decided mid-flow), through the fallback when there is one. */
export async function runCapturedCall(
  command: string[],
  cwd: string,
  settings: Settings,
  notices: FallbackNotices,
): Promise<CapturedRun> {
  const program = fallbackProgram(settings, notices);
  if (program) {
    try {
      return await runCaptured([program, ...command], cwd, guardedEnv());
    } catch (error) {
      cannotStart(program, error, notices);
    }
  }
  return await runCaptured(command, cwd);
}
