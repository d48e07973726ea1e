// The SQLite index (bun:sqlite, WAL): entries, file-hash memo, tool-identity memo, manifests.
import { Database } from "bun:sqlite";
import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { log } from "../util/log";

/** Bump whenever the tables change shape; an older index is rebuilt, never misread. */
export const INDEX_SCHEMA_VERSION = 1;

export interface StoredFile {
  /** File name relative to the out-dir. */
  name: string;
  blob: string;
  size: number;
  executable: boolean;
  /** Dep-info files are stored normalised and written back as fresh files, never linked. */
  depInfo: boolean;
}

export interface Entry {
  key: string;
  crate: string;
  crateTypes: string[];
  target: string;
  profile: string;
  features: string[];
  files: StoredFile[];
  stdout: string;
  stderr: string;
  compileMs: number;
  size: number;
  hits: number;
  created: number;
  lastUsed: number;
  components: Record<string, unknown>;
  /** Set on a marker row: the outputs embed local paths, look under this location-bound key. */
  boundTo: string | null;
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
  ino TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memo (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (fingerprint TEXT PRIMARY KEY, inputs TEXT NOT NULL, updated INTEGER NOT NULL);
`;

interface EntryRow {
  key: string;
  crate: string;
  crate_types: string;
  target: string;
  profile: string;
  features: string;
  files: string;
  stdout: string;
  stderr: string;
  compile_ms: number;
  size: number;
  hits: number;
  created: number;
  last_used: number;
  components: string;
  bound_to: string | null;
}

function rowToEntry(row: EntryRow): Entry {
  return {
    key: row.key,
    crate: row.crate,
    crateTypes: JSON.parse(row.crate_types),
    target: row.target,
    profile: row.profile,
    features: JSON.parse(row.features),
    files: JSON.parse(row.files),
    stdout: row.stdout,
    stderr: row.stderr,
    compileMs: row.compile_ms,
    size: row.size,
    hits: row.hits,
    created: row.created,
    lastUsed: row.last_used,
    components: JSON.parse(row.components),
    boundTo: row.bound_to,
  };
}

function isCorruption(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /not a database|malformed|corrupt|file is encrypted/i.test(text);
}

function openRaw(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA busy_timeout = 30000");
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (version !== INDEX_SCHEMA_VERSION) {
    db.run("PRAGMA journal_mode = WAL");
    // Re-read inside an immediate transaction: hundreds of wrappers may open a new index at once.
    db.transaction(() => {
      const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
      if (current === INDEX_SCHEMA_VERSION) return;
      if (current !== 0) {
        for (const table of ["entries", "file_hashes", "memo", "manifests"])
          db.run(`DROP TABLE IF EXISTS ${table}`);
      }
      db.run(SCHEMA);
      db.run(`PRAGMA user_version = ${INDEX_SCHEMA_VERSION}`);
    }).immediate();
  }
  db.run("PRAGMA synchronous = NORMAL");
  return db;
}

/** Moves a corrupt index aside (once, under an exclusive marker) and starts a fresh one. */
function quarantine(path: string): void {
  const aside = `${path}.corrupt-${Date.now()}-${process.pid}`;
  try {
    renameSync(path, aside);
    log.warn(`index ${path} was corrupt; moved it to ${aside} and started a new one`);
  } catch {
    // another process already moved it
  }
  unlinkQuietly(`${path}-wal`);
  unlinkQuietly(`${path}-shm`);
}

export class IndexDb {
  private constructor(readonly db: Database) {}

  static open(cacheDir: string): IndexDb {
    const path = join(cacheDir, "index.db");
    try {
      return new IndexDb(openRaw(path));
    } catch (error) {
      if (!isCorruption(error) || !existsSync(path)) throw error;
      quarantine(path);
      return new IndexDb(openRaw(path));
    }
  }

  close(): void {
    this.db.close(false);
  }

  getEntry(key: string): Entry | null {
    const row = this.db.query("SELECT * FROM entries WHERE key = ?").get(key) as EntryRow | null;
    return row ? rowToEntry(row) : null;
  }

  putEntry(entry: Entry): void {
    this.db
      .query(
        `INSERT OR REPLACE INTO entries (key, crate, crate_types, target, profile, features, files, stdout, stderr,
          compile_ms, size, hits, created, last_used, components, bound_to)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        entry.key,
        entry.crate,
        JSON.stringify(entry.crateTypes),
        entry.target,
        entry.profile,
        JSON.stringify(entry.features),
        JSON.stringify(entry.files),
        entry.stdout,
        entry.stderr,
        entry.compileMs,
        entry.size,
        entry.hits,
        entry.created,
        entry.lastUsed,
        JSON.stringify(entry.components),
        entry.boundTo,
      );
  }

  deleteEntry(key: string): void {
    this.db.query("DELETE FROM entries WHERE key = ?").run(key);
  }

  recordHit(key: string, now: number): void {
    this.db.query("UPDATE entries SET hits = hits + 1, last_used = ? WHERE key = ?").run(now, key);
  }

  /** Newest entries for one crate, newest first (why-miss, list). */
  entriesForCrate(crate: string, limit = 20): Entry[] {
    const rows = this.db
      .query("SELECT * FROM entries WHERE crate = ? AND bound_to IS NULL ORDER BY created DESC LIMIT ?")
      .all(crate, limit) as EntryRow[];
    return rows.map(rowToEntry);
  }

  allEntries(): Entry[] {
    const rows = this.db.query("SELECT * FROM entries WHERE bound_to IS NULL").all() as EntryRow[];
    return rows.map(rowToEntry);
  }

  getMemo(name: string): string | null {
    const row = this.db.query("SELECT value FROM memo WHERE name = ?").get(name) as { value: string } | null;
    return row?.value ?? null;
  }

  setMemo(name: string, value: string): void {
    this.db.query("INSERT OR REPLACE INTO memo (name, value) VALUES (?, ?)").run(name, value);
  }
}
