// Per-key build lock: one process compiles a key, others wait (bounded) and restore its result.
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { processIsAlive } from "../util/process-alive";

const POLL_MS = 25;

export function lockHolderIsDead(lockPath: string): boolean {
  return !holderIsAlive(lockPath);
}

function holderIsAlive(lockPath: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(lockPath, "utf8"), 10);
    // Created but its pid not written yet: give the holder a moment before calling it dead.
    if (Number.isNaN(pid)) return Date.now() - statSync(lockPath).mtimeMs < 2000;
  } catch {
    return false;
  }
  return processIsAlive(pid);
}

export interface KeyLock {
  /** True when another process held the lock and this one waited for it. */
  waited: boolean;
  release(): void;
}

/** Creates the lock file holding our pid; false when it already exists. */
export function tryCreateExclusive(lockPath: string): boolean {
  try {
    const fd = openSync(lockPath, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/**
 * Takes the lock for `key`, breaking it when its holder is dead. Gives up after `maxWaitMs`
 * and returns an unheld lock: the caller then compiles on its own, which is always safe.
 */
export async function acquireKeyLock(cacheDir: string, key: string, maxWaitMs: number): Promise<KeyLock> {
  const dir = join(cacheDir, "locks");
  mkdirSync(dir, { recursive: true });
  const lockPath = join(dir, `${key}.lock`);
  const deadline = Date.now() + maxWaitMs;
  let waited = false;
  for (;;) {
    if (tryCreateExclusive(lockPath)) return { waited, release: () => unlinkQuietly(lockPath) };
    if (!holderIsAlive(lockPath)) {
      // A killed holder: remove its lock. Racing breakers are fine, tryCreateExclusive picks the winner.
      unlinkQuietly(lockPath);
      continue;
    }
    waited = true;
    if (Date.now() > deadline) return { waited, release: () => {} };
    await Bun.sleep(POLL_MS);
  }
}
