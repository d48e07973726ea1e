// Cargo target dirs below a directory: finding them, measuring them (size, and how much of it the
// store holds), removing them. Nothing here follows a symlink.
import { type Dirent, existsSync, lstatSync, readdirSync, rmSync, type Stats } from "node:fs";
import { join } from "node:path";
import { DiskFullError } from "../store/disk-space";
import { IndexDb } from "../store/index-db";
import { scanStore } from "../store/store-scan";
import { contentCheckOfFile } from "../util/hash";

/** Directories a scan never enters: version control and JavaScript dependencies hold no cargo builds. */
const SKIPPED = new Set([".git", "node_modules"]);

export interface TargetDir {
  path: string;
  /** Bytes in its regular files, each inode counted once. */
  bytes: number;
  /** The part of `bytes` whose content the store holds as blobs (a rebuild restores it). */
  storedBytes: number;
  /** The part of `storedBytes` in hardlinks of blobs: deleting the dir does not free it. */
  linkedBytes: number;
  /** Identity when scanned, so a dir swapped for something else meanwhile is not removed. */
  identity: string;
}

function isDirectory(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A dir named target that cargo made: its CACHEDIR.TAG, its rustc info, or a profile's fingerprints. */
export function isCargoTargetDir(dir: string): boolean {
  if (existsSync(join(dir, "CACHEDIR.TAG")) || existsSync(join(dir, ".rustc_info.json"))) return true;
  return ["debug", "release"].some((profile) => isDirectory(join(dir, profile, ".fingerprint")));
}

function entriesOf(dir: string, unreadable: string[]): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    unreadable.push(dir);
    return [];
  }
}

/**
 * Every cargo target dir below `root`, sorted. A dirent of a symlink is never a directory, so links
 * are not followed; a target dir found is not entered (a build inside a build dir is its own).
 */
export function findTargetDirs(root: string, unreadable: string[] = []): string[] {
  const found: string[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const entry of entriesOf(dir, unreadable)) {
      if (!entry.isDirectory() || SKIPPED.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.name === "target" && isCargoTargetDir(path)) found.push(path);
      else pending.push(path);
    }
  }
  return found.sort();
}

function inodeKey(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

/** What a scan needs to know of the store: its blobs' inodes, and the content of the files it records. */
export interface StoreBlobs {
  inodes: Set<string>;
  /** `size:check` of every stored file whose blob is present (check: the index's xxHash3 `contentCheck`). */
  contents: Set<string>;
  sizes: Set<number>;
}

function blobNames(cacheDir: string, inodes: Set<string>): Set<string> {
  const names = new Set<string>();
  for (const [name, file] of scanStore(cacheDir).blobs) {
    inodes.add(file.identity);
    names.add(name.replace(/\.x$/, ""));
  }
  return names;
}

/** Reads the store once: every blob's inode (lstat, no content), and from the index what each holds. */
export function readStoreBlobs(cacheDir: string): StoreBlobs {
  const blobs: StoreBlobs = { inodes: new Set(), contents: new Set(), sizes: new Set() };
  const present = blobNames(cacheDir, blobs.inodes);
  if (present.size === 0 || !existsSync(join(cacheDir, "index.db"))) return blobs;
  let index: IndexDb;
  try {
    index = IndexDb.open(cacheDir);
  } catch (error) {
    // Deleting target dirs is how a full disk gets room back: without the index, copies of
    // stored files are only not told apart from the rest.
    if (error instanceof DiskFullError) return blobs;
    throw error;
  }
  try {
    for (const entry of index.allEntries())
      for (const file of entry.files) {
        if (file.depInfo || !present.has(file.blob)) continue; // dep-info is rewritten per tree
        blobs.contents.add(`${file.size}:${file.check}`);
        blobs.sizes.add(file.size);
      }
  } finally {
    index.close();
  }
  return blobs;
}

/**
 * Whether the store holds a file's content, and how: "linked" when the file is a hardlink of a blob
 * (deleting it frees nothing), "copied" when its size and xxHash3 check are those of a stored file
 * (only a file whose size some stored file has is read), null when the store lacks it.
 */
function storedAs(path: string, stat: Stats, blobs: StoreBlobs): "linked" | "copied" | null {
  if (stat.nlink > 1 && blobs.inodes.has(inodeKey(stat))) return "linked";
  if (!blobs.sizes.has(stat.size)) return null;
  try {
    return blobs.contents.has(`${stat.size}:${contentCheckOfFile(path)}`) ? "copied" : null;
  } catch {
    return null; // unreadable or gone meanwhile: not counted
  }
}

/** Size and stored share of one target dir; `storeBlobs` is called only once a file may be in the store. */
export function measureTargetDir(path: string, storeBlobs: () => StoreBlobs): TargetDir {
  const seen = new Set<string>();
  const target: TargetDir = {
    path,
    bytes: 0,
    storedBytes: 0,
    linkedBytes: 0,
    identity: inodeKey(lstatSync(path)),
  };
  const pending = [path];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const entry of entriesOf(dir, [])) {
      const child = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(child);
      if (!entry.isFile()) continue;
      const stat = lstatSync(child, { throwIfNoEntry: false });
      if (!stat || seen.has(inodeKey(stat))) continue;
      seen.add(inodeKey(stat));
      target.bytes += stat.size;
      const stored = stat.size > 0 ? storedAs(child, stat, storeBlobs()) : null;
      if (stored) target.storedBytes += stat.size;
      if (stored === "linked") target.linkedBytes += stat.size;
    }
  }
  return target;
}

/**
 * Removes a measured target dir, unless it is no longer the same real directory. rm -r semantics:
 * a symlink inside is removed as a link; what it points to is left alone.
 */
export function removeTargetDir(target: TargetDir): boolean {
  const stat = lstatSync(target.path, { throwIfNoEntry: false });
  if (!stat?.isDirectory() || inodeKey(stat) !== target.identity) return false;
  rmSync(target.path, { recursive: true, force: true });
  return true;
}
