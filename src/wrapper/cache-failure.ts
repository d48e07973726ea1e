// What a failure inside kache turns a compiler call into, and what (if anything) it says about it.
import { join } from "node:path";
import type { Settings } from "../config/settings";
import { CacheDirRefused } from "../store/cache-dir";
import { DiskFullError, diskIsFull } from "../store/disk-space";
import { NewerIndexError } from "../store/index-file";
import { describeError } from "../util/errors";
import { markerDue } from "../util/rate-marker";
import { firstInBuild, privateMarkerDir } from "./once-per-build";
import type { PassthroughReason } from "./outcomes";
import { NotRustcError } from "./tool-identity";

/** Warnings every call of a build would give (a newer kache's index, a full disk): once a minute. */
const RARE_WARN_EVERY_MS = 60_000;

/** The pass-through an error inside kache turns into, and what (if anything) to warn about it. */
export function passthroughFor(
  error: unknown,
  settings: Settings | null,
): { reason: PassthroughReason; warn: string | null } {
  if (error instanceof NotRustcError) return { reason: "unknown-compiler", warn: null };
  if (error instanceof CacheDirRefused) {
    // Every call of the build meets it, and the dir is not ours to keep a marker in.
    const warn = `${describeError(error)}; running the compiler directly`;
    const markers = privateMarkerDir();
    const due = markers === null || firstInBuild(markers, "refused-cache-dir-", [warn]);
    return { reason: "cache-dir-refused", warn: due ? warn : null };
  }
  if (error instanceof DiskFullError) {
    // Every call of the build meets it: once a minute is enough (the marker needs no data block).
    const due =
      settings === null || markerDue(join(settings.cacheDir, "disk-full.warned"), RARE_WARN_EVERY_MS);
    return {
      reason: "cache-error",
      warn: due ? `${describeError(error)}; running the compiler directly` : null,
    };
  }
  if (error instanceof NewerIndexError) {
    const due = settings !== null && markerDue(join(settings.cacheDir, "index.db.newer"), RARE_WARN_EVERY_MS);
    return {
      reason: "index-newer",
      warn: due ? `${describeError(error)}; running the compiler directly` : null,
    };
  }
  return {
    reason: "cache-error",
    warn: `cache unavailable (${describeError(error)}); running the compiler directly`,
  };
}

/** What a failed store says: a full disk once a minute for the whole build, anything else each time. */
export function storeFailureWarning(what: string, error: unknown, cacheDir: string): string | null {
  const noSpace = (error as NodeJS.ErrnoException)?.code === "ENOSPC" || diskIsFull(cacheDir, error);
  if (!noSpace)
    return `could not store ${what} in the cache (${describeError(error)}); the build is unaffected`;
  if (!markerDue(join(cacheDir, "disk-full.warned"), RARE_WARN_EVERY_MS)) return null;
  return `could not store ${what}: the disk holding ${cacheDir} is full (run \`kache gc\`, which makes room first); the build is unaffected`;
}
