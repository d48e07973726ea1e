// Stores a C/C++ compile's object and dep file as an ordinary index entry, and restores one: the
// object is always a copy (or clone) both ways, never a hardlink, since objcopy and strip write in place.
import { constants, copyFileSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { BlobStore } from "../store/blobs";
import type { Entry, IndexDb } from "../store/index-db";
import { restoreEntry } from "../store/restore";
import { unlinkQuietly } from "../util/atomic-write";
import { scanFile } from "../util/file-scan";
import type { PathNormaliser } from "../util/path-roots";
import type { KeyComponents } from "../wrapper/cache-key";
import { entryKey, type PlacedBlob, recordEntry } from "../wrapper/record-entry";
import type { CcLanguage } from "./cc-args";

export interface CcOutputs {
  /** Absolute paths of what the compile writes. */
  object: string;
  depFile: string | null;
}

export interface CcStoreJob {
  key: string;
  crate: string;
  language: CcLanguage;
  target: string;
  components: KeyComponents;
  outputs: CcOutputs;
  stderr: string;
  compileMs: number;
}

function copyInto(source: string, temp: string): void {
  try {
    copyFileSync(source, temp, constants.COPYFILE_FICLONE);
  } catch {
    copyFileSync(source, temp);
  }
}

/**
 * A read-only blob of its own ("dep-info" kind: 0444): restore then copies it, never links it.
 * The dep file's text is stored normalised, so another checkout gets its own paths back.
 */
function placeBlob(blobs: BlobStore, path: string, depInfo: boolean, normaliser: PathNormaliser): PlacedBlob {
  const temp = blobs.tempFile();
  try {
    if (depInfo) writeFileSync(temp, normaliser.normalise(readFileSync(path, "utf8")));
    else copyInto(path, temp);
    const roots = depInfo ? [] : normaliser.bindingRoots();
    const scan = scanFile(
      temp,
      roots.map((root) => root.path),
    );
    const added = blobs.adopt(temp, scan.hash, scan.size, "dep-info");
    const file = { name: basename(path), blob: scan.hash, size: scan.size, check: scan.check };
    return {
      file: { ...file, executable: false, depInfo },
      added,
      roots: roots.filter((root) => scan.found.includes(root.path)).map((root) => root.name),
    };
  } finally {
    unlinkQuietly(temp);
  }
}

/** Stores the entry; returns its size and, when the object names local paths, why it is bound here. */
export function storeCcEntry(
  stores: { index: IndexDb; blobs: BlobStore },
  job: CcStoreJob,
  normaliser: PathNormaliser,
): { size: number; key: string; boundTo: string[] } {
  const placed = [placeBlob(stores.blobs, job.outputs.object, false, normaliser)];
  if (job.outputs.depFile) placed.push(placeBlob(stores.blobs, job.outputs.depFile, true, normaliser));
  const size = placed.reduce((sum, p) => sum + p.file.size, 0);
  // An object that still names a checkout's path (the user's own prefix maps) serves only this one.
  const { key, boundTo } = entryKey(job.key, placed, normaliser);
  const now = Date.now();
  const entry: Entry = {
    key,
    crate: job.crate,
    crateTypes: [`${job.language}-object`],
    target: job.target,
    profile: "",
    features: [],
    files: placed.map((p) => p.file),
    stdout: "",
    stderr: normaliser.normalise(job.stderr),
    compileMs: job.compileMs,
    size,
    hits: 0,
    created: now,
    lastUsed: now,
    components: job.components,
    boundTo: null,
  };
  if (!recordEntry(stores, entry, job.key, boundTo, placed))
    throw new Error("gc removed a blob the object shares while it was stored");
  return { size, key, boundTo };
}

/** Where the compiler writes `path`: it opens the path, so through a symlink to what that names. */
function throughSymlinks(path: string): string {
  let at = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(at).isSymbolicLink()) return at;
      at = resolve(dirname(at), readlinkSync(at));
    } catch {
      return at;
    }
  }
  return at;
}

/** Places the object and dep file where this call writes them, each checked against its record. */
export function restoreCcEntry(
  blobs: BlobStore,
  entry: Entry,
  outputs: CcOutputs,
  normaliser: PathNormaliser,
): number {
  let bytes = 0;
  for (const file of entry.files) {
    const named = file.depInfo ? outputs.depFile : outputs.object;
    if (!named) continue;
    const dest = throughSymlinks(named);
    const one = { ...entry, files: [{ ...file, name: basename(dest) }] };
    // Never a hardlink, even of a blob a remote import left writable: tools rewrite objects in place.
    bytes += restoreEntry(blobs, one, dirname(dest), normaliser, { hardlinks: false }).bytes;
  }
  return bytes;
}
