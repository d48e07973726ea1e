// Puts an entry's outputs back into a target dir: clone, else hardlink, else copy; dep-info rewritten fresh.
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
import type { PathNormaliser } from "../wrapper/path-roots";
import type { BlobStore } from "./blobs";
import type { Entry, StoredFile } from "./index-db";

export type PlaceMethod = "clone" | "hardlink" | "copy";

export class MissingBlobError extends Error {}

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

/**
 * A hardlink shares one inode, and so one mtime, with every other link. Cargo decides freshness
 * from mtimes, so a blob already linked into another target dir is copied instead: restoring
 * into tree B must never make tree A's outputs look newer.
 */
function placeFile(blob: string, dest: string, file: StoredFile): PlaceMethod {
  const temp = tempPathBeside(dest);
  let method: PlaceMethod;
  try {
    if (tryClone(blob, temp)) method = "clone";
    else if (statSync(blob).nlink === 1 && tryLink(blob, temp)) method = "hardlink";
    else {
      copyFileSync(blob, temp);
      method = "copy";
    }
    if (method !== "hardlink") chmodSync(temp, file.executable ? 0o755 : 0o644);
    renameSync(temp, dest);
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
  return method;
}

/** utimes takes seconds; a Date would drop everything below the millisecond. */
function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

export interface RestoreResult {
  bytes: number;
  methods: PlaceMethod[];
  /** Restored paths with the content hash they now have, for the file-hash memo. */
  placed: { path: string; hash: string }[];
}

export function restoreEntry(
  blobs: BlobStore,
  entry: Entry,
  outDir: string,
  normaliser: PathNormaliser,
): RestoreResult {
  for (const file of entry.files) {
    if (!blobs.has(file.blob, file.executable && !file.depInfo, file.size)) {
      throw new MissingBlobError(`blob ${file.blob} of ${file.name} is missing or truncated`);
    }
  }
  let stamp: number | null = null;
  let bytes = 0;
  const methods: PlaceMethod[] = [];
  const placed: StoredFile[] = [];
  for (const file of entry.files) {
    const dest = join(outDir, file.name);
    bytes += file.size;
    if (file.depInfo) {
      const text = normaliser.denormalise(readFileSync(blobs.path(file.blob, false), "utf8"));
      atomicWrite(dest, text);
      stamp ??= nsToSeconds(statSync(dest, { bigint: true }).mtimeNs);
    } else {
      methods.push(placeFile(blobs.path(file.blob, file.executable), dest, file));
      placed.push(file);
    }
  }
  stamp ??= nsToSeconds(fileSystemClockNs(outDir));
  for (const file of placed) utimesSync(join(outDir, file.name), stamp, stamp);
  return {
    bytes,
    methods,
    placed: placed.map((file) => ({ path: join(outDir, file.name), hash: file.blob })),
  };
}
