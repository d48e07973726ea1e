// The incremental dirs kache saw (`-C incremental=<dir>`), remembered on a miss, and gc's sweep of
// the per-crate dirs in them that nobody has used for a while.
//
// The rule: cargo names one dir per target dir and profile (`target/debug/incremental`), and rustc
// keeps one sub-dir per crate in it (`<crate>-<hash>`) holding its sessions (`s-...` dirs, each
// with an `s-....lock` file). A crate's sub-dir is removed when (1) it holds nothing but rustc's
// sessions, (2) neither it nor anything directly inside was modified within the idle time (every
// compile creates a new session dir, so an incremental compile in the last week shows), and (3) no
// session lock is held (rustc holds one with flock for the whole compile). Under those locks it is
// first renamed aside, so a compile starting right then makes a fresh dir, then deleted.
import { readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { IndexDb } from "./index-db";
import { flockLock, type HeldLock } from "./kernel-lock";

const MEMO_PREFIX = "incremental-dir|";

/** How long a crate's incremental dir must lie unused before gc removes it (unless --max-age is shorter). */
export const INCREMENTAL_IDLE_MS = 7 * 86_400_000;

/** Called on a miss that compiled incrementally: one row read, and one write the first time only. */
export function rememberIncrementalDir(index: IndexDb, dir: string): void {
  const name = MEMO_PREFIX + dir;
  if (index.getMemo(name) === null) index.setMemo(name, String(Date.now()));
}

export function knownIncrementalDirs(index: IndexDb): string[] {
  const rows = index.db
    .query("SELECT name FROM memo WHERE name >= ? AND name < ?")
    .all(MEMO_PREFIX, `${MEMO_PREFIX}\uffff`) as { name: string }[];
  return rows.map((row) => row.name.slice(MEMO_PREFIX.length));
}

export function forgetIncrementalDir(index: IndexDb, dir: string): void {
  index.deleteMemo(MEMO_PREFIX + dir);
}

export interface RemovedDir {
  path: string;
  bytes: number;
}

function bytesUnder(path: string): number {
  let bytes = 0;
  for (const name of readdirSync(path, { recursive: true, encoding: "utf8" })) {
    try {
      const stat = statSync(join(path, name));
      if (stat.isFile()) bytes += stat.size;
    } catch {
      // gone meanwhile
    }
  }
  return bytes;
}

/** Newest mtime of the crate dir and its direct entries, or null when it holds more than sessions. */
function lastUsedIfRustcs(crateDir: string): number | null {
  let newest = statSync(crateDir).mtimeMs;
  for (const name of readdirSync(crateDir)) {
    if (!name.startsWith("s-")) return null;
    newest = Math.max(newest, statSync(join(crateDir, name)).mtimeMs);
  }
  return newest;
}

/** Every session lock of the crate dir, taken; null when rustc holds one (a compile in progress). */
function takeSessionLocks(crateDir: string): HeldLock[] | null {
  const held: HeldLock[] = [];
  for (const name of readdirSync(crateDir).filter((n) => n.endsWith(".lock"))) {
    const lock = flockLock(name, join(crateDir, name));
    if (lock === null) {
      for (const other of held) other.release();
      return null;
    }
    if (lock) held.push(lock);
  }
  return held;
}

let asideCounter = 0;
const ASIDE = ".kache-removing-";

/** One crate's dir, when idle since `idleBefore` and unlocked: its size, else null (kept). */
function sweepCrateDir(crateDir: string, idleBefore: number, dryRun: boolean): RemovedDir | null {
  const used = lastUsedIfRustcs(crateDir);
  if (used === null || used >= idleBefore) return null;
  const locks = takeSessionLocks(crateDir);
  if (locks === null) return null;
  try {
    const bytes = bytesUnder(crateDir);
    if (dryRun) return { path: crateDir, bytes };
    asideCounter += 1;
    const aside = `${crateDir}${ASIDE}${process.pid}-${asideCounter}`;
    renameSync(crateDir, aside);
    rmSync(aside, { recursive: true, force: true });
    return { path: crateDir, bytes };
  } finally {
    for (const lock of locks) lock.release();
  }
}

/** Sweeps every remembered incremental dir; a dir that no longer exists is forgotten. */
export function sweepIncrementalDirs(index: IndexDb, idleBefore: number, dryRun: boolean): RemovedDir[] {
  const removed: RemovedDir[] = [];
  for (const dir of knownIncrementalDirs(index)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      if (!dryRun) forgetIncrementalDir(index, dir);
      continue;
    }
    for (const name of names) {
      try {
        // Renamed aside by a gc that was killed before it finished deleting.
        if (name.includes(ASIDE)) {
          if (!dryRun) rmSync(join(dir, name), { recursive: true, force: true });
          continue;
        }
        const gone = sweepCrateDir(join(dir, name), idleBefore, dryRun);
        if (gone) removed.push(gone);
      } catch {
        // changed under us (a build runs there): it stays for the next gc
      }
    }
  }
  return removed;
}
