// The store's size in blob bytes as a running total in the index: a wrapper compares it with the
// limit by reading one row, never by walking the store.
import type { IndexDb } from "./index-db";

/** The memo row holding the total; gc writes the measured value, stores and imports add to it. */
export const STORE_BYTES_MEMO = "store-bytes";

/** The total, or null when this store was never measured (filled by an older kache, or repaired). */
export function readStoreBytes(index: IndexDb): number | null {
  const value = index.getMemo(STORE_BYTES_MEMO);
  if (value === null) return null;
  const bytes = Number(value);
  return Number.isFinite(bytes) ? bytes : null;
}

/**
 * Adds the bytes of blobs just written. An unmeasured store stays unmeasured: a total that started
 * from nothing would claim a full store is small. Call inside the transaction that records the entry.
 */
export function addStoreBytes(index: IndexDb, bytes: number): void {
  if (bytes === 0) return;
  index.db
    .query("UPDATE memo SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE name = ?")
    .run(bytes, STORE_BYTES_MEMO);
}

export function setStoreBytes(index: IndexDb, bytes: number): void {
  index.setMemo(STORE_BYTES_MEMO, String(Math.max(0, Math.round(bytes))));
}
