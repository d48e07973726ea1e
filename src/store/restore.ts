// Puts an entry's outputs back into a target dir, each checked against its recorded content check:
// executables by clone or copy, other outputs by clone, hardlink or copy; dep-info rewritten fresh.
import {
  chmodSync,
  constants,
  copyFileSync,
  linkSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
} from "node:fs";
import { join } from "node:path";
import { atomicWrite, tempPathBeside, unlinkQuietly } from "../util/atomic-write";
import { fileSystemClockNs } from "../util/fs-clock";
import { contentCheck, contentCheckOfFile } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { BLOB_NAME, type BlobStore } from "./blobs";
import type { Entry, StoredFile } from "./index-db";

export type PlaceMethod = "clone" | "hardlink" | "copy";

/** The entry cannot be restored (a blob missing, truncated or changed, or a hostile name): compile instead. */
export class DamagedEntryError extends Error {}

let cloneUnsupported = false;

function tryClone(blob: string, temp: string): boolean {
  if (cloneUnsupported) return false;
  try {
    copyFileSync(blob, temp, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    cloneUnsupported = true;
    return false;
  }
}

/** A target dir on another filesystem than the store (EXDEV), or a link limit, means copying. */
function tryLink(blob: string, temp: string): boolean {
  try {
    linkSync(blob, temp);
    return true;
  } catch {
    return false;
  }
}

/** The modes rustc itself would give the file: kache never leaves one of its own in a target dir. */
function outputMode(executable: boolean): number {
  return (executable ? 0o777 : 0o666) & ~process.umask();
}

/**
 * A hardlink shares one inode, and so one mtime, with every other link. Cargo decides freshness
 * from mtimes, so a blob already linked into another target dir is copied instead: restoring into
 * tree B must never make tree A's outputs look newer. Executables are never linked: tools rewrite
 * them in place (strip, objcopy, codesign). Neither is a blob without write permission (an older
 * kache's 0444), whose link would hand the tree a mode rustc never gives.
 */
function placeInto(temp: string, blob: string, file: StoredFile, mayLink: boolean): PlaceMethod {
  if (tryClone(blob, temp)) return "clone";
  if (mayLink && !file.executable) {
    const stat = statSync(blob);
    if (stat.nlink === 1 && (stat.mode & 0o200) !== 0 && tryLink(blob, temp)) return "hardlink";
  }
  copyFileSync(blob, temp);
  return "copy";
}

/** Places one file, checked: what lands at `dest` has exactly the content the entry recorded. */
function placeFile(blobs: BlobStore, file: StoredFile, dest: string, mayLink: boolean): PlaceMethod {
  const blob = blobs.path(file.blob, file.executable);
  const temp = tempPathBeside(dest);
  try {
    const method = placeInto(temp, blob, file, mayLink);
    // A copy is checked as placed; a hardlink is the blob itself, which a tree may have written through.
    if (statSync(temp).size !== file.size || contentCheckOfFile(temp) !== file.check) {
      blobs.discard(file.blob, file.executable);
      throw new DamagedEntryError(`blob ${file.blob} of ${file.name} does not match its content check`);
    }
    if (method !== "hardlink") chmodSync(temp, outputMode(file.executable));
    renameSync(temp, dest);
    return method;
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
}

function restoreDepInfo(blobs: BlobStore, file: StoredFile, dest: string, normaliser: PathNormaliser): void {
  const data = readFileSync(blobs.path(file.blob, false));
  if (data.byteLength !== file.size || contentCheck(data) !== file.check) {
    blobs.discard(file.blob, false);
    throw new DamagedEntryError(`blob ${file.blob} of ${file.name} does not match its content check`);
  }
  atomicWrite(dest, normaliser.denormalise(data.toString("utf8")), { mode: outputMode(false) });
}

/** Names come from the index, and soon from a bucket: a name must stay inside the out-dir. */
function checkNames(entry: Entry): void {
  for (const file of entry.files) {
    const name = file.name;
    const plain = name !== "" && name !== "." && name !== ".." && !/[/\\\0]/.test(name);
    if (!plain || !BLOB_NAME.test(file.blob) || typeof file.check !== "string")
      throw new DamagedEntryError(
        `entry for ${entry.crate} has an unsafe file record ${JSON.stringify(name)}`,
      );
  }
}

/** utimes takes seconds; a Date would drop everything below the millisecond. */
function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

export interface RestoreResult {
  bytes: number;
  /** Bytes placed by clone or hardlink: they share storage with the store instead of taking more. */
  linkedBytes: number;
  methods: PlaceMethod[];
  /** Restored paths with the content hash they now have, for the file-hash memo. */
  placed: { path: string; hash: string }[];
}

/**
 * `hardlinks: false` for outputs that tools rewrite in place whatever their kind (C/C++ objects,
 * which `strip` and `objcopy` edit): then nothing is linked, whatever the blob's mode.
 */
export function restoreEntry(
  blobs: BlobStore,
  entry: Entry,
  outDir: string,
  normaliser: PathNormaliser,
  { hardlinks = true }: { hardlinks?: boolean } = {},
): RestoreResult {
  checkNames(entry);
  for (const file of entry.files) {
    if (!blobs.has(file.blob, file.executable && !file.depInfo, file.size)) {
      throw new DamagedEntryError(`blob ${file.blob} of ${file.name} is missing or truncated`);
    }
  }
  let stamp: number | null = null;
  let bytes = 0;
  let linkedBytes = 0;
  const methods: PlaceMethod[] = [];
  const placed: StoredFile[] = [];
  for (const file of entry.files) {
    const dest = join(outDir, file.name);
    bytes += file.size;
    if (file.depInfo) {
      restoreDepInfo(blobs, file, dest, normaliser);
      stamp ??= nsToSeconds(statSync(dest, { bigint: true }).mtimeNs);
    } else {
      const method = placeFile(blobs, file, dest, hardlinks);
      if (method !== "copy") linkedBytes += file.size;
      methods.push(method);
      placed.push(file);
    }
  }
  stamp ??= nsToSeconds(fileSystemClockNs(outDir));
  for (const file of placed) utimesSync(join(outDir, file.name), stamp, stamp);
  return {
    bytes,
    linkedBytes,
    methods,
    placed: placed.map((file) => ({ path: join(outDir, file.name), hash: file.blob })),
  };
}
