// Per-key build lock: one process compiles a key, others wait for it and restore its result.
import { join } from "node:path";
import { tryKernelLock } from "./kernel-lock";

const POLL_MS = 25;

export interface KeyLock {
  /** True when another process held the lock and this one waited for it. */
  waited: boolean;
  release(): void;
}

/** The lock's name and, for the flock backend, its file (under `<cache>/locks`, created on demand). */
function lockPlace(cacheDir: string, key: string): { name: string; file: string } {
  return { name: `${cacheDir}\0key\0${key}`, file: join(cacheDir, "locks", `${key}.lock`) };
}

/** One try: the lock, an unheld stand-in where no lock can be had, or null while another holds it. */
function attempt(place: { name: string; file: string }, waited: boolean): KeyLock | null {
  const held = tryKernelLock(place.name, place.file);
  if (held === undefined) return { waited, release: () => {} };
  return held ? { waited, release: () => held.release() } : null;
}

/**
 * Takes the lock for `key`. The kernel releases it when its holder exits or is killed, so a waiter
 * waits exactly as long as the compile it waits for. Gives up after `maxWaitMs` (a holder that
 * hangs) and returns an unheld lock: the caller then compiles on its own, which is always safe.
 */
export async function acquireKeyLock(cacheDir: string, key: string, maxWaitMs: number): Promise<KeyLock> {
  const place = lockPlace(cacheDir, key);
  const deadline = Date.now() + maxWaitMs;
  for (let waited = false; ; waited = true) {
    const lock = attempt(place, waited);
    if (lock) return lock;
    if (Date.now() > deadline) return { waited: true, release: () => {} };
    await Bun.sleep(POLL_MS);
  }
}

/** The same lock, waited for synchronously (short critical sections such as repairing the index). */
export function acquireKeyLockSync(cacheDir: string, key: string, maxWaitMs: number): KeyLock {
  const place = lockPlace(cacheDir, key);
  const deadline = Date.now() + maxWaitMs;
  for (let waited = false; ; waited = true) {
    const lock = attempt(place, waited);
    if (lock) return lock;
    if (Date.now() > deadline) return { waited: true, release: () => {} };
    Bun.sleepSync(10);
  }
}
