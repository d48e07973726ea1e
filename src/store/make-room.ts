// On a full disk SQLite cannot open the index at all (its WAL and shared-memory files need a few
// pages), so gc and purge could not free the space they exist to free. This makes room first
// without the index: the leftovers of stores, then the least recently used blobs. An entry whose
// blob went is dropped by the gc that follows, and a restore that meets it compiles instead.
import { statSync } from "node:fs";
import { unlinkQuietly } from "../util/atomic-write";
import { diskSpace } from "./disk-space";
import { sweepLeftovers } from "./pending-stores";
import { scanStore } from "./store-scan";

/** Room the index needs to open and record a gc: 64 MiB, or a tenth of a small filesystem. */
function roomWanted(size: number): number {
  return Math.min(64 * 1024 ** 2, Math.floor(size / 10));
}

export interface MadeRoom {
  /** Bytes free before. */
  before: number;
  leftovers: number;
  /** Blobs removed, least recently used first (a hardlinked blob's mtime is its last restore). */
  blobs: number;
  freedBytes: number;
}

const freeBytes = (dir: string) => diskSpace(dir)?.free ?? Number.POSITIVE_INFINITY;

/** Null when there was room already (or the filesystem cannot say); what went otherwise. */
export function makeRoom(cacheDir: string): MadeRoom | null {
  const space = diskSpace(cacheDir);
  if (space === null) return null;
  const wanted = roomWanted(space.size);
  if (space.free >= wanted) return null;
  const made: MadeRoom = { before: space.free, leftovers: 0, blobs: 0, freedBytes: 0 };
  const scan = scanStore(cacheDir);
  // A store or download under way on a full disk fails anyway: its leftovers go whatever their age.
  for (const temp of scan.temps) {
    unlinkQuietly(temp.path);
    made.leftovers += 1;
    made.freedBytes += temp.size;
  }
  made.leftovers += sweepLeftovers(cacheDir, 0);
  const oldestFirst = [...scan.blobs.values()].sort((a, b) => a.mtimeMs - b.mtimeMs);
  for (const blob of oldestFirst) {
    if (freeBytes(cacheDir) >= wanted) break;
    // A blob hardlinked into a target dir frees nothing: taking it would only lose the entry.
    if (linkCount(blob.path) !== 1) continue;
    unlinkQuietly(blob.path);
    made.blobs += 1;
    made.freedBytes += blob.size;
  }
  return made;
}

function linkCount(path: string): number {
  try {
    return statSync(path).nlink;
  } catch {
    return 0;
  }
}
