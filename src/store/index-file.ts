// Opening the index file: made whole before anyone sees it, kept to this kache's schema (a newer one
// is left alone), and moved aside exactly once when it is corrupt.
import { Database } from "bun:sqlite";
import { existsSync, linkSync, readdirSync, renameSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { KacheError } from "../util/errors";
import { log } from "../util/log";
import { acquireKeyLockSync } from "./key-lock";
import { STORE_BYTES_MEMO } from "./store-size";

/**
 * Bump whenever the tables or the entry format change shape. An older index is rebuilt, never
 * misread; a newer one (another kache installed beside this one) is left alone.
 */
export const INDEX_SCHEMA_VERSION = 4;

/** The index was written by a newer kache: this one must neither read nor rebuild it. */
export class NewerIndexError extends KacheError {
  constructor(path: string, found: number) {
    super(
      `${path} has index schema ${found}, newer than this kache understands (${INDEX_SCHEMA_VERSION})`,
      "upgrade this kache, or give it its own KACHE_CACHE_DIR; the index is left as it is",
    );
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  key TEXT PRIMARY KEY, crate TEXT NOT NULL, crate_types TEXT NOT NULL, target TEXT NOT NULL,
  profile TEXT NOT NULL, features TEXT NOT NULL, files TEXT NOT NULL, stdout TEXT NOT NULL,
  stderr TEXT NOT NULL, compile_ms INTEGER NOT NULL, size INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL, last_used INTEGER NOT NULL, components TEXT NOT NULL, bound_to TEXT
);
CREATE INDEX IF NOT EXISTS entries_by_crate ON entries(crate, created);
CREATE TABLE IF NOT EXISTS file_hashes (
  path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns TEXT NOT NULL, ctime_ns TEXT NOT NULL,
  ino TEXT NOT NULL, hash TEXT NOT NULL, checks_ctime INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS memo (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (
  fingerprint TEXT NOT NULL, inputs_hash TEXT NOT NULL, inputs TEXT NOT NULL, updated INTEGER NOT NULL,
  PRIMARY KEY (fingerprint, inputs_hash)
);
`;

export function isCorruption(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /not a database|malformed|corrupt|file is encrypted/i.test(text);
}

function isBusy(error: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test(String((error as Error)?.message ?? error));
}

/**
 * Switching a new index to WAL takes an exclusive lock and SQLite does not wait on the busy
 * handler for it, so the hundreds of wrappers a cold build starts retry here instead.
 */
export function openIndexFile(path: string): Database {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return openOnce(path);
    } catch (error) {
      const retry = isBusy(error) || error instanceof VanishedError;
      if (!retry || Date.now() > deadline) throw error;
      Bun.sleepSync(5 + Math.random() * 20);
    }
  }
}

let freshCounter = 0;

/**
 * A new index is made whole under a temp name (WAL mode, schema, version), then linked into
 * place, never replacing one: opening a missing index.db in place would let hundreds of wrappers
 * read its first page while one of them is still writing it, and take it for corrupt.
 */
function createFresh(path: string): void {
  freshCounter += 1;
  const temp = `${path}.new-${process.pid}-${freshCounter}`;
  const db = new Database(temp, { create: true, strict: true });
  try {
    db.run("PRAGMA journal_mode = WAL");
    db.run(SCHEMA);
    // A new cache dir has no blobs yet: its running size total starts right (see store-size.ts).
    if (!existsSync(join(dirname(path), "store")))
      db.query("INSERT INTO memo (name, value) VALUES (?, '0')").run(STORE_BYTES_MEMO);
    db.run(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
  } finally {
    db.close(false); // the last connection: the WAL is checkpointed into the file and removed
  }
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`]) unlinkQuietly(leftover);
  }
}

/** The index was moved aside by a repair between seeing it and opening it: open again. */
class VanishedError extends Error {}

function openOnce(path: string): Database {
  if (!existsSync(path)) createFresh(path);
  let db: Database;
  try {
    db = new Database(path, { readwrite: true, create: false, strict: true });
  } catch (error) {
    if (!existsSync(path)) throw new VanishedError(String(error));
    throw error;
  }
  try {
    prepare(db, path);
    return db;
  } catch (error) {
    db.close(false);
    throw error;
  }
}

function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

function prepare(db: Database, path: string): void {
  db.run("PRAGMA busy_timeout = 30000");
  const version = schemaVersion(db);
  if (version > INDEX_SCHEMA_VERSION) throw new NewerIndexError(path, version);
  if (version !== INDEX_SCHEMA_VERSION) {
    db.run("PRAGMA journal_mode = WAL");
    // Re-read inside an immediate transaction: hundreds of wrappers may open a new index at once.
    db.transaction(() => {
      const current = schemaVersion(db);
      if (current === INDEX_SCHEMA_VERSION) return;
      if (current > INDEX_SCHEMA_VERSION) throw new NewerIndexError(path, current);
      if (current !== 0) {
        for (const table of ["entries", "file_hashes", "memo", "manifests"])
          db.run(`DROP TABLE IF EXISTS ${table}`);
      }
      db.run(SCHEMA);
      db.run(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
    }).immediate();
  }
  db.run("PRAGMA synchronous = NORMAL");
}

/** True when the file at `path` opens as a healthy index now (another process may have repaired it). */
function opensCleanly(path: string): boolean {
  try {
    const db = openIndexFile(path);
    db.query("SELECT count(*) FROM entries").get();
    db.close(false);
    return true;
  } catch (error) {
    if (isCorruption(error)) return false;
    throw error;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/**
 * Moves a corrupt index aside and starts a fresh one. Many wrappers can meet the same corrupt file
 * at once; an exclusive repair lock plus a re-check under it makes exactly one of them move it.
 * The WAL and shared-memory files go first: once the database itself is moved, other wrappers
 * create a fresh index with files of the same names, which must never be taken from under them.
 */
export function quarantine(path: string): void {
  const lock = acquireKeyLockSync(dirname(path), "index-repair", 30_000);
  try {
    if (!existsSync(path) || opensCleanly(path)) return;
    const aside = `${path}.corrupt-${Date.now()}-${process.pid}`;
    renameIfPresent(`${path}-wal`, `${aside}-wal`);
    renameIfPresent(`${path}-shm`, `${aside}-shm`);
    renameSync(path, aside);
    createFresh(path);
    log.warn(`index ${path} was corrupt; moved it to ${aside} and started a new one`);
  } finally {
    lock.release();
  }
}

/**
 * True when a repair moved the index at `path` aside at `sinceMs` or later (the time is in the
 * aside name, see `quarantine`). A process that had the old file open then reads a file that is
 * no longer the index, and its errors (a "disk I/O error" as often as "malformed") say nothing
 * about the new one.
 */
export function repairedSince(path: string, sinceMs: number): boolean {
  const prefix = `${basename(path)}.corrupt-`;
  try {
    return readdirSync(dirname(path)).some(
      (name) => name.startsWith(prefix) && Number.parseInt(name.slice(prefix.length), 10) >= sinceMs,
    );
  } catch {
    return false;
  }
}
