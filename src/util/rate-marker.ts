// A marker file whose mtime rate-limits something many processes would otherwise all do at once.
import { readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { unlinkQuietly } from "./atomic-write";

/** Creates `path` only if it does not exist: of many processes trying at once, exactly one gets true. */
function createExclusive(path: string): boolean | "failed" {
  try {
    writeFileSync(path, "", { flag: "wx" });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EEXIST" ? false : "failed";
  }
}

function mtimeNs(path: string): bigint | null {
  try {
    return statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
}

/** The claims of earlier renewals; the one just made stays, so a process that saw `seen` late still loses. */
function removeOldClaims(path: string, keep: string): void {
  const prefix = `${basename(path)}.renewed-`;
  try {
    for (const name of readdirSync(dirname(path)))
      if (name.startsWith(prefix) && name !== basename(keep)) unlinkQuietly(join(dirname(path), name));
  } catch {
    // a leftover claim costs nothing
  }
}

/** Gives back a renewal whose work did not happen: the next `markerDue` is due at once. */
export function releaseMarker(path: string): void {
  unlinkQuietly(path);
}

/** True when `path` was made or renewed within the last `everyMs`; reads it only. */
export function markerFresh(path: string, everyMs: number): boolean {
  return isFresh(mtimeNs(path), everyMs);
}

function isFresh(mtime: bigint | null, everyMs: number): boolean {
  return mtime !== null && Date.now() - Number(mtime / 1_000_000n) < everyMs;
}

/**
 * True when `path` is missing or older than `everyMs`, for exactly one of the processes asking at
 * once (a whole build's wrappers, say); it renews the marker. The first one creates the marker
 * exclusively; a renewal is claimed by exclusively creating a file named for the mtime it found
 * stale. When the marker cannot be written at all, nothing can be rate-limited: true.
 */
export function markerDue(path: string, everyMs: number): boolean {
  const seen = mtimeNs(path);
  if (isFresh(seen, everyMs)) return false;
  const claim = seen === null ? path : `${path}.renewed-${seen}`;
  const created = createExclusive(claim);
  if (created !== true) return created === "failed";
  if (seen !== null) {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the claim already made this renewal ours
    }
    removeOldClaims(path, claim);
  }
  return true;
}
