// The SQLite index (bun:sqlite, WAL): entries, file-hash memo, tool-identity memo, manifests.
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hashBytes, hashParts } from "../util/hash";
import { DiskFullError, diskIsFull } from "./disk-space";
import { isCorruption, openIndexFile, quarantine, repairedSince } from "./index-file";
import { acquireKeyLockSync } from "./key-lock";

/** Longest wait for another process computing the same memo (a link probe takes well under 1 s). */
const MEMO_WAIT_MS = 10_000;

export interface StoredFile {
  /** File name relative to the out-dir. */
  name: string;
  blob: string;
  size: number;
  /** `contentCheck` of the blob's bytes: every restore verifies what it placed against it. */
  check: string;
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
  /**
   * Set on a marker row: the outputs embed these local roots (comma-separated names such as
   * `CARGO_HOME,HOME`); the entry itself is under the key bound to their paths here.
   */
  boundTo: string | null;
}

/** An entry as the monitor lists it; `componentsText` is the key components' stored JSON, unparsed. */
export interface EntrySummary
  extends Pick<
    Entry,
    "key" | "crate" | "size" | "hits" | "created" | "lastUsed" | "compileMs" | "files" | "boundTo"
  > {
  componentsText: string;
}

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

export class IndexDb {
  private constructor(
    readonly db: Database,
    /** The cache dir holding this index (and the locks of `memoOnce`). */
    readonly cacheDir: string,
  ) {}

  /** Moves a corrupt index aside (once, however many processes ask) so the next open starts fresh. */
  static repair(cacheDir: string): void {
    quarantine(join(cacheDir, "index.db"));
  }

  /** True when another process repaired the index at `sinceMs` or later. */
  static repairedSince(cacheDir: string, sinceMs: number): boolean {
    return repairedSince(join(cacheDir, "index.db"), sinceMs);
  }

  static open(cacheDir: string): IndexDb {
    const path = join(cacheDir, "index.db");
    try {
      return new IndexDb(openIndexFile(path), cacheDir);
    } catch (error) {
      if (diskIsFull(cacheDir, error)) throw new DiskFullError(cacheDir);
      if (!isCorruption(error) || !existsSync(path)) throw error;
      quarantine(path);
      return new IndexDb(openIndexFile(path), cacheDir);
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

  /** A number that changes whenever another connection commits to the index (SQLite's data_version). */
  changeCounter(): number {
    return (this.db.query("PRAGMA data_version").get() as { data_version: number }).data_version;
  }

  /**
   * Every entry (and marker) without what only a compile or a restore needs: the monitor reads
   * this often, and parsing each entry's key components would cost it tens of ms a time.
   */
  entrySummaries(): EntrySummary[] {
    const rows = this.db
      .query(
        "SELECT key, crate, size, hits, created, last_used, compile_ms, files, bound_to, components FROM entries",
      )
      .all() as Pick<
      EntryRow,
      | "key"
      | "crate"
      | "size"
      | "hits"
      | "created"
      | "last_used"
      | "compile_ms"
      | "files"
      | "bound_to"
      | "components"
    >[];
    return rows.map((row) => ({
      key: row.key,
      crate: row.crate,
      size: row.size,
      hits: row.hits,
      created: row.created,
      lastUsed: row.last_used,
      compileMs: row.compile_ms,
      files: JSON.parse(row.files),
      boundTo: row.bound_to,
      componentsText: row.components,
    }));
  }

  allEntries(): Entry[] {
    const rows = this.db.query("SELECT * FROM entries WHERE bound_to IS NULL").all() as EntryRow[];
    return rows.map(rowToEntry);
  }

  /**
   * The entries another machine may use: neither marker rows nor the location-bound entries they
   * point at (a marker keeps its entry's components under the portable key).
   */
  shareableEntries(): Entry[] {
    const rows = this.db
      .query(
        `SELECT * FROM entries AS e WHERE bound_to IS NULL AND NOT EXISTS
           (SELECT 1 FROM entries AS m WHERE m.bound_to IS NOT NULL AND m.components = e.components)`,
      )
      .all() as EntryRow[];
    return rows.map(rowToEntry);
  }

  /** The marker rows of location-bound entries: each names the roots its entry is bound to. */
  locationMarkers(): Entry[] {
    const rows = this.db.query("SELECT * FROM entries WHERE bound_to IS NOT NULL").all() as EntryRow[];
    return rows.map(rowToEntry);
  }

  /** The recorded input sets of one fingerprint, most recently used first. */
  getManifests(fingerprint: string, limit: number): string[] {
    const rows = this.db
      .query("SELECT inputs FROM manifests WHERE fingerprint = ? ORDER BY updated DESC LIMIT ?")
      .all(fingerprint, limit) as { inputs: string }[];
    return rows.map((row) => row.inputs);
  }

  /** Adds (or refreshes) one input set and keeps only the `keep` most recent for the fingerprint. */
  putManifest(fingerprint: string, inputs: string, keep: number): void {
    this.db.transaction(() => {
      this.db
        .query(
          "INSERT OR REPLACE INTO manifests (fingerprint, inputs_hash, inputs, updated) VALUES (?, ?, ?, ?)",
        )
        .run(fingerprint, hashBytes(inputs), inputs, Date.now());
      this.db
        .query(
          `DELETE FROM manifests WHERE fingerprint = ?1 AND inputs_hash NOT IN
             (SELECT inputs_hash FROM manifests WHERE fingerprint = ?1 ORDER BY updated DESC LIMIT ?2)`,
        )
        .run(fingerprint, keep);
    })();
  }

  getMemo(name: string): string | null {
    const row = this.db.query("SELECT value FROM memo WHERE name = ?").get(name) as { value: string } | null;
    return row?.value ?? null;
  }

  deleteMemo(name: string): void {
    this.db.query("DELETE FROM memo WHERE name = ?").run(name);
  }

  setMemo(name: string, value: string): void {
    this.db.query("INSERT OR REPLACE INTO memo (name, value) VALUES (?, ?)").run(name, value);
  }

  /**
   * The memo `name`, computed by one process at a time: the first calls of a cold build all need
   * the compiler's identity and the linker probe at once, and each would otherwise spawn its own
   * (a probe links a program: about 150 ms of CPU). Waiters read the holder's value; a holder that
   * hangs past `maxWaitMs` only costs them computing it themselves.
   */
  memoOnce(name: string, compute: () => string, maxWaitMs = MEMO_WAIT_MS): string {
    const known = this.getMemo(name);
    if (known !== null) return known;
    const lock = acquireKeyLockSync(this.cacheDir, `memo-${hashParts([name])}`, maxWaitMs);
    try {
      const computedMeanwhile = lock.waited ? this.getMemo(name) : null;
      if (computedMeanwhile !== null) return computedMeanwhile;
      const value = compute();
      try {
        this.setMemo(name, value);
      } catch {
        // a memo we cannot write only costs computing it again next time
      }
      return value;
    } finally {
      lock.release();
    }
  }
}
