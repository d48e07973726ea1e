// Recording a stored entry in the index, and finding it again, for the Rust and the C/C++ paths alike: where outputs name
// local paths, the key they are bound to and the marker row under the portable key; the row and the
// store's size total in one transaction; and the entry taken back out when gc removed a blob it
// shares while it was being stored.
import type { BlobStore } from "../store/blobs";
import type { Entry, IndexDb, StoredFile } from "../store/index-db";
import { addStoreBytes } from "../store/store-size";
import type { PathNormaliser } from "../util/path-roots";
import { locationBoundKey } from "./cache-key";

export interface PlacedBlob {
  file: StoredFile;
  /** Bytes the store grew by for this file: 0 when its blob was there already. */
  added: number;
  /** Binding roots (names) found in the bytes. */
  roots: string[];
}

/**
 * The key an entry goes under: `portableKey`, or, when its bytes name local roots, a key bound to
 * those roots' paths here. Bound only to the roots that occur: an object that names the shared
 * registry (CARGO_HOME) still serves every checkout on this machine.
 */
export function entryKey(
  portableKey: string,
  placed: PlacedBlob[],
  normaliser: PathNormaliser,
): { key: string; boundTo: string[] } {
  const boundTo = [...new Set(placed.flatMap((p) => p.roots))].sort();
  const key = boundTo.length ? locationBoundKey(portableKey, normaliser.signatureOf(boundTo)) : portableKey;
  return { key, boundTo };
}

/** The entry under `key` here: a location-bound one through its marker row. */
export function lookupEntry(index: IndexDb, key: string, normaliser: PathNormaliser): Entry | null {
  const entry = index.getEntry(key);
  if (!entry?.boundTo) return entry;
  return index.getEntry(locationBoundKey(key, normaliser.signatureOf(entry.boundTo.split(","))));
}

/** A blob this entry found already in the store, and so did not add, that is gone now. */
function lostSharedBlob(placed: PlacedBlob[], blobs: BlobStore): boolean {
  return placed.some(
    (p) => p.added === 0 && !blobs.has(p.file.blob, p.file.executable && !p.file.depInfo, p.file.size),
  );
}

/**
 * Records `entry` (already under `entryKey`'s key) and its marker row; `alongside` runs in the same
 * transaction. False when a shared blob went meanwhile: then nothing of it stays recorded.
 */
export function recordEntry(
  stores: { index: IndexDb; blobs: BlobStore },
  entry: Entry,
  portableKey: string,
  boundTo: string[],
  placed: PlacedBlob[],
  alongside: () => void = () => {},
): boolean {
  const { index } = stores;
  index.db.transaction(() => {
    index.putEntry(entry);
    addStoreBytes(
      index,
      placed.reduce((sum, p) => sum + p.added, 0),
    );
    // The portable key points at the location-bound one; another checkout computes a different one and misses.
    if (boundTo.length)
      index.putEntry({ ...entry, key: portableKey, files: [], boundTo: boundTo.join(","), size: 0 });
    alongside();
  })();
  if (!lostSharedBlob(placed, stores.blobs)) return true;
  index.db.transaction(() => {
    index.deleteEntry(entry.key);
    if (boundTo.length) index.deleteEntry(portableKey);
  })();
  return false;
}
