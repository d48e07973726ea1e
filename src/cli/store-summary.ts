// What the local store holds: the index's entries (with their location bindings) and the blobs' disk use.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Entry, IndexDb } from "../store/index-db";

export interface IndexContents {
  entries: Entry[];
  /** Entry key -> the local roots (comma-separated) its outputs embed, for location-bound entries. */
  bindings: Map<string, string>;
}

export interface StoreFigures {
  entries: number;
  /** Entries cached for this location only (their outputs embed local paths). */
  location_bound: number;
  limit_bytes: number;
  /** Disk use of the blobs under store/ (each blob once, however many entries share it). */
  blob_bytes: number;
  blob_files: number;
  /** blob_bytes over limit_bytes. */
  used_ratio: number;
  /** Sum of the entries' sizes: what the store would take without sharing identical blobs. */
  entry_bytes: number;
  /** entry_bytes minus the bytes of the distinct blobs the entries name. */
  dedup_saved_bytes: number;
  /** index.db with its WAL. */
  index_bytes: number;
}

/**
 * A location-bound entry has its marker's components (the marker sits under the key they digest
 * to, so any other entry with them is bound to a location), whichever checkout stored it last.
 */
function markerKey(entry: Entry): string {
  return `${entry.crate}\0${JSON.stringify(entry.components)}`;
}

/** Every entry of an open index, with the location bindings of the location-bound ones. */
export function indexContents(index: IndexDb): IndexContents {
  const entries = index.allEntries();
  const roots = new Map(index.locationMarkers().map((marker) => [markerKey(marker), marker.boundTo!]));
  const bindings = new Map<string, string>();
  for (const entry of entries) {
    const boundTo = roots.get(markerKey(entry));
    if (boundTo) bindings.set(entry.key, boundTo);
  }
  return { entries, bindings };
}

/** Every entry of the index; empty when there is no index yet (nothing is created). */
export function readIndex(cacheDir: string): IndexContents {
  if (!existsSync(join(cacheDir, "index.db"))) return { entries: [], bindings: new Map() };
  const index = IndexDb.open(cacheDir);
  try {
    return indexContents(index);
  } finally {
    index.close();
  }
}

function fileBytes(path: string): number {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : 0;
  } catch {
    return 0; // removed meanwhile (gc, a discarded blob)
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Bytes and count of the files under store/ (blobs in their fan-out dirs, and temp files being written). */
export function blobDiskUse(cacheDir: string): { bytes: number; files: number } {
  const root = join(cacheDir, "store");
  let bytes = 0;
  let files = 0;
  for (const name of listDir(root)) {
    const names = /^[0-9a-f]{2}$/.test(name)
      ? listDir(join(root, name)).map((blob) => join(name, blob))
      : [name];
    for (const relative of names) {
      const size = fileBytes(join(root, relative));
      bytes += size;
      if (/^[0-9a-f]{2}\//.test(relative)) files += 1;
    }
  }
  return { bytes, files };
}

function indexBytes(cacheDir: string): number {
  return ["index.db", "index.db-wal", "index.db-shm"].reduce(
    (sum, name) => sum + fileBytes(join(cacheDir, name)),
    0,
  );
}

/** What the figures need of the index: each entry's size and files, and how many are location-bound. */
export interface FigureSource {
  entries: Pick<Entry, "size" | "files">[];
  bindings: { size: number };
}

export function storeFigures(cacheDir: string, limit: number, contents: FigureSource): StoreFigures {
  const blobs = blobDiskUse(cacheDir);
  const distinct = new Map<string, number>();
  let entryBytes = 0;
  for (const entry of contents.entries) {
    entryBytes += entry.size;
    for (const file of entry.files)
      distinct.set(`${file.blob}${file.executable && !file.depInfo ? ".x" : ""}`, file.size);
  }
  const distinctBytes = [...distinct.values()].reduce((sum, size) => sum + size, 0);
  return {
    entries: contents.entries.length,
    location_bound: contents.bindings.size,
    limit_bytes: limit,
    blob_bytes: blobs.bytes,
    blob_files: blobs.files,
    used_ratio: limit > 0 ? Math.round((blobs.bytes / limit) * 10_000) / 10_000 : 0,
    entry_bytes: entryBytes,
    dedup_saved_bytes: entryBytes - distinctBytes,
    index_bytes: indexBytes(cacheDir),
  };
}
