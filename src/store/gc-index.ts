// The index side of gc: entry rows as gc weighs them, and deletions guarded so that a row a build
// touched since gc read it (a hit, a new store under the same key) is left alone.
import { blobOf } from "./blobs";
import type { IndexDb, StoredFile } from "./index-db";

export interface GcRow {
  key: string;
  crate: string;
  /** Bytes of the entry's files. */
  size: number;
  compileMs: number;
  lastUsed: number;
  created: number;
  /** Blob file names its files are restored from. */
  blobs: string[];
  /** A marker row: the entry itself is under a location-bound key. */
  boundTo: string | null;
  /** The key components as stored (a marker carries its entry's). */
  components: string;
}

interface Row {
  key: string;
  crate: string;
  size: number;
  compile_ms: number;
  last_used: number;
  created: number;
  files: string;
  bound_to: string | null;
  components: string;
}

function blobsOf(files: string): string[] {
  return (JSON.parse(files) as StoredFile[]).map(blobOf);
}

export function readGcRows(index: IndexDb): GcRow[] {
  const rows = index.db
    .query(
      "SELECT key, crate, size, compile_ms, last_used, created, files, bound_to, components FROM entries",
    )
    .all() as Row[];
  return rows.map((row) => ({
    key: row.key,
    crate: row.crate,
    size: row.size,
    compileMs: row.compile_ms,
    lastUsed: row.last_used,
    created: row.created,
    blobs: blobsOf(row.files),
    boundTo: row.bound_to,
    components: row.components,
  }));
}

/** Every blob some entry uses now. */
export function blobsInUse(index: IndexDb): Set<string> {
  const rows = index.db.query("SELECT files FROM entries WHERE bound_to IS NULL").all() as Row[];
  return new Set(rows.flatMap((row) => blobsOf(row.files)));
}

/** Entries recorded at or after `since`, with their blobs: those a store made while gc worked. */
export function rowsCreatedSince(index: IndexDb, since: number): { key: string; blobs: string[] }[] {
  const rows = index.db
    .query("SELECT key, files FROM entries WHERE created >= ? AND bound_to IS NULL")
    .all(since) as Row[];
  return rows.map((row) => ({ key: row.key, blobs: blobsOf(row.files) }));
}

/**
 * Deletes entry rows as gc read them: a row used since (its last_used moved) or stored anew (its
 * created moved) stays. Returns the keys deleted.
 */
export function deleteRowsAsRead(index: IndexDb, rows: GcRow[]): Set<string> {
  const deleted = new Set<string>();
  const remove = index.db.query("DELETE FROM entries WHERE key = ? AND last_used = ? AND created = ?");
  const forgetPrefetch = index.db.query("DELETE FROM memo WHERE name = ?");
  for (const row of rows) {
    if (remove.run(row.key, row.lastUsed, row.created).changes === 0) continue;
    deleted.add(row.key);
    forgetPrefetch.run(`prefetched|${row.key}`);
  }
  return deleted;
}

export function deleteRows(index: IndexDb, keys: Iterable<string>): void {
  const remove = index.db.query("DELETE FROM entries WHERE key = ?");
  for (const key of keys) remove.run(key);
}

/** Drops input lists no entry's fingerprint names, recorded before `olderThan`; how many went. */
export function dropManifestsExcept(index: IndexDb, keep: Set<string>, olderThan: number): number {
  const rows = index.db
    .query("SELECT DISTINCT fingerprint FROM manifests WHERE updated < ?")
    .all(olderThan) as { fingerprint: string }[];
  const remove = index.db.query("DELETE FROM manifests WHERE fingerprint = ? AND updated < ?");
  let dropped = 0;
  for (const { fingerprint } of rows)
    if (!keep.has(fingerprint)) dropped += remove.run(fingerprint, olderThan).changes;
  return dropped;
}

export function countManifestsExcept(index: IndexDb, keep: Set<string>, olderThan: number): number {
  const rows = index.db
    .query("SELECT fingerprint, count(*) AS n FROM manifests WHERE updated < ? GROUP BY fingerprint")
    .all(olderThan) as { fingerprint: string; n: number }[];
  return rows.reduce((sum, row) => sum + (keep.has(row.fingerprint) ? 0 : row.n), 0);
}
