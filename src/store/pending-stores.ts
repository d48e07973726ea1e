// Stores that finish after their wrapper exited: a marker per build lock says an entry is on its way,
// so a process that takes that lock next waits for the entry instead of compiling it again.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { acquireKeyLock, acquireKeyLockSync, type KeyLock } from "./key-lock";

/** A marker with no store process named yet: its wrapper is about to start one, unless it died first. */
const UNSTARTED_MS = 5000;
/** The longest a waiter waits for a store in progress before compiling itself. */
const MAX_WAIT_MS = 60_000;
const POLL_MS = 25;

export function pendingDir(cacheDir: string): string {
  return join(cacheDir, "pending");
}

function markerPath(cacheDir: string, lockName: string): string {
  return join(pendingDir(cacheDir), lockName);
}

/** Staging dirs of background stores live here, on the store's filesystem. */
export function stagingRoot(cacheDir: string): string {
  return join(cacheDir, "staging");
}

/** The build lock holder, before it releases the lock: its outputs are staged in `stagingDir`. */
export function markPending(cacheDir: string, lockName: string, stagingDir: string): void {
  mkdirSync(pendingDir(cacheDir), { recursive: true });
  writeFileSync(markerPath(cacheDir, lockName), stagingDir);
}

/** The store's process, named in its staging dir once it has been started. */
export function recordStorePid(stagingDir: string, pid: number): void {
  try {
    writeFileSync(join(stagingDir, "pid"), String(pid));
  } catch {
    // the store already finished and removed its staging dir
  }
}

/**
 * Whether the process named in a staging dir is that store, still running (it may not hold its
 * lock yet: it starts, or is stopped). On Linux a reused pid cannot pass: its command line must name
 * this staging dir.
 */
function storeRunning(stagingDir: string): boolean | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(stagingDir, "pid"), "utf8"), 10);
  } catch {
    return null;
  }
  if (process.platform === "linux") {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(stagingDir);
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The background store holds this while it works. */
export function takeStoreLock(cacheDir: string, lockName: string): KeyLock {
  return acquireKeyLockSync(cacheDir, `store-${lockName}`, MAX_WAIT_MS);
}

export function clearPending(cacheDir: string, lockName: string): void {
  unlinkQuietly(markerPath(cacheDir, lockName));
}

function markerAgeMs(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** A marker left by a store that never started or died: removed with its staging dir. */
function dropStale(marker: string): void {
  try {
    rmSync(readFileSync(marker, "utf8"), { recursive: true, force: true });
  } catch {
    // already gone
  }
  unlinkQuietly(marker);
}

/**
 * Called with the build lock held: returns once no store for this lock is in progress, so the
 * caller's next lookup sees its entry. Costs one stat when there is none (the usual case).
 */
export async function waitForPendingStore(cacheDir: string, lockName: string): Promise<void> {
  const marker = markerPath(cacheDir, lockName);
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const age = markerAgeMs(marker);
    if (age === null || Date.now() > deadline) return;
    const probe = await acquireKeyLock(cacheDir, `store-${lockName}`, 0);
    const locked = probe.waited;
    probe.release();
    if (!locked) {
      let stagingDir = "";
      try {
        stagingDir = readFileSync(marker, "utf8");
      } catch {
        return; // done meanwhile
      }
      const running = storeRunning(stagingDir);
      if (running === false || (running === null && age > UNSTARTED_MS)) {
        dropStale(marker);
        return;
      }
    }
    await Bun.sleep(POLL_MS);
  }
}

/** What stores killed before they cleaned up leave behind: gone once it is an hour old. */
const LEFTOVER_MS = 3_600_000;

/** How many it removed. */
function sweep(dir: string, olderThanMs: number): number {
  let removed = 0;
  try {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (Date.now() - statSync(path).mtimeMs < olderThanMs) continue;
      rmSync(path, { recursive: true, force: true });
      removed += 1;
    }
  } catch {
    // nothing there, or swept by another store meanwhile
  }
  return removed;
}

/**
 * Staging dirs and markers of stores that were killed. A waiter clears a marker it meets, but the
 * next call of a crate often takes another lock (a dependency changed), so old ones are swept too.
 * On a full disk (`olderThanMs` 0) the stores under way go too: they cannot finish there anyway.
 */
export function sweepLeftovers(cacheDir: string, olderThanMs = LEFTOVER_MS): number {
  return sweep(stagingRoot(cacheDir), olderThanMs) + sweep(pendingDir(cacheDir), olderThanMs);
}
