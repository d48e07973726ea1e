// Content hashes of files, memoised by (path, size, mtime, ctime, inode) so unchanged files are not
// re-read: on disk across calls, and in memory within one call.
import { statSync } from "node:fs";
import { hashFile } from "../util/hash";
import type { IndexDb } from "./index-db";

/** Files changed this recently may still change within one timestamp tick; hash them but do not memoise. */
const SETTLE_NS = 1_000_000_000n;

interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

interface MemoRow {
  size: number;
  mtime_ns: string;
  ctime_ns: string;
  ino: string;
  hash: string;
  /** 0 for kache's own outputs: see `remember`. */
  checks_ctime: number;
}

/** A row not yet written: a background store can be handed the rows of the call it finishes. */
export type PendingRow = [
  path: string,
  size: number,
  mtimeNs: string,
  ctimeNs: string,
  ino: string,
  hash: string,
  checksCtime: number,
];

function stampOf(path: string): FileStamp | null {
  try {
    const stat = statSync(path, { bigint: true });
    if (!stat.isFile()) return null;
    return {
      size: Number(stat.size),
      mtimeNs: String(stat.mtimeNs),
      ctimeNs: String(stat.ctimeNs),
      ino: String(stat.ino),
    };
  } catch {
    return null;
  }
}

function sameFile(a: FileStamp, b: FileStamp, checkCtime: boolean): boolean {
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ino === b.ino &&
    (!checkCtime || a.ctimeNs === b.ctimeNs)
  );
}

export class FileHashMemo {
  private pending: PendingRow[] = [];
  /** This call's hashes, settled or not: a file is read once per call however often it is asked for. */
  private readonly seen = new Map<string, { stamp: FileStamp; hash: string }>();

  constructor(private readonly index: IndexDb) {}

  /** The file's sha256 if it is known for the file as it is now, without reading it. */
  known(path: string): string | null {
    const stamp = stampOf(path);
    return stamp ? this.lookup(path, stamp) : null;
  }

  /** The file's sha256, or null when it does not exist. */
  hash(path: string): string | null {
    const stamp = stampOf(path);
    if (!stamp) return null;
    const known = this.lookup(path, stamp);
    if (known) return known;
    const hash = hashFile(path);
    this.seen.set(path, { stamp, hash });
    const now = BigInt(Date.now()) * 1_000_000n;
    const settled = now - BigInt(stamp.mtimeNs) > SETTLE_NS && now - BigInt(stamp.ctimeNs) > SETTLE_NS;
    if (settled) this.write(path, stamp, hash, true);
    return hash;
  }

  private lookup(path: string, stamp: FileStamp): string | null {
    const seen = this.seen.get(path);
    if (seen && sameFile(seen.stamp, stamp, true)) return seen.hash;
    const row = this.index.db
      .query("SELECT size, mtime_ns, ctime_ns, ino, hash, checks_ctime FROM file_hashes WHERE path = ?")
      .get(path) as MemoRow | null;
    if (!row) return null;
    const recorded = { size: row.size, mtimeNs: row.mtime_ns, ctimeNs: row.ctime_ns, ino: row.ino };
    if (!sameFile(recorded, stamp, row.checks_ctime !== 0)) return null;
    this.seen.set(path, { stamp, hash: row.hash });
    return row.hash;
  }

  /**
   * Records a hash kache already knows: a file it just stored or restored. Such a row is checked by
   * size, mtime and inode but not ctime, since cargo hardlinks outputs it uplifts into target/debug
   * (a new link is a new ctime) right after the call. Cargo itself judges those files by mtime.
   */
  remember(path: string, hash: string): void {
    const stamp = stampOf(path);
    if (!stamp) return;
    this.seen.set(path, { stamp, hash });
    this.write(path, stamp, hash, false);
  }

  /**
   * Writes the rows gathered since the last flush in one transaction. A crate with hundreds of
   * sources would otherwise pay one write transaction (and its lock) per file.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    try {
      const insert = this.index.db.query(
        `INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, ctime_ns, ino, hash, checks_ctime)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      this.index.db.transaction(() => {
        for (const row of rows) insert.run(...row);
      })();
    } catch {
      // the memo is an optimisation; losing it costs a re-hash
    }
  }

  /** The rows not written yet, now someone else's to write (see `adopt`); the memo keeps none. */
  handOver(): PendingRow[] {
    const rows = this.pending;
    this.pending = [];
    return rows;
  }

  /** Rows another process gathered, written with this memo's next flush. */
  adopt(rows: PendingRow[]): void {
    this.pending.push(...rows);
  }

  private write(path: string, stamp: FileStamp, hash: string, checksCtime: boolean): void {
    this.pending.push([path, stamp.size, stamp.mtimeNs, stamp.ctimeNs, stamp.ino, hash, checksCtime ? 1 : 0]);
  }
}
