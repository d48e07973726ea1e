// The cache directory: created owner-only, and refused when someone else could plant entries in it.
import { mkdirSync, statSync } from "node:fs";
import { KacheError } from "../util/errors";

/** The cache dir is not safe to read entries from: the call passes through without touching it. */
export class CacheDirRefused extends KacheError {}

/** Creates `dir` (0700) when missing; throws when it belongs to another user or anyone may write it. */
export function ensureCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (!stat.isDirectory()) {
    throw new CacheDirRefused(`cache dir ${dir} is not a directory`, "set KACHE_CACHE_DIR to a directory");
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new CacheDirRefused(
      `cache dir ${dir} belongs to uid ${stat.uid}, not to you (uid ${uid})`,
      "set KACHE_CACHE_DIR to a directory of your own",
    );
  }
  // Group write is allowed: with per-user groups (Debian, Ubuntu) it is the default and safe.
  if ((stat.mode & 0o002) !== 0) {
    throw new CacheDirRefused(
      `cache dir ${dir} is writable by every user`,
      `make it private: chmod 700 ${dir}`,
    );
  }
}
