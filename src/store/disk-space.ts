// How full the cache's filesystem is: SQLite answers a full disk with "disk I/O error" when it
// cannot grow its shared-memory file, which says nothing a user can act on.
import { statfsSync } from "node:fs";
import { KacheError } from "../util/errors";

/** The index cannot be opened because the cache's disk has no room left. */
export class DiskFullError extends KacheError {
  constructor(cacheDir: string) {
    super(
      `the disk holding ${cacheDir} is full: the index cannot be opened`,
      "free some space, or run `kache gc`, which makes room first",
    );
  }
}

/** Free bytes for an unprivileged writer, and the filesystem's size; null when it cannot say. */
export function diskSpace(dir: string): { free: number; size: number } | null {
  try {
    const stat = statfsSync(dir);
    return { free: stat.bavail * stat.bsize, size: stat.blocks * stat.bsize };
  } catch {
    return null;
  }
}

const SQLITE_SPACE_ERROR = /disk I\/O error|database or disk is full|ENOSPC/i;

/** True when `error` is SQLite's (or a write's) failure for lack of space, and the disk is full. */
export function diskIsFull(dir: string, error: unknown): boolean {
  if (!SQLITE_SPACE_ERROR.test(String((error as Error)?.message ?? error))) return false;
  const space = diskSpace(dir);
  return space !== null && space.free < 1024 * 1024;
}
