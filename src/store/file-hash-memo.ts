// Content hashes of input files, memoised by (path, size, mtime, ctime, inode) so unchanged files are not re-read.
import { statSync } from "node:fs";
import { hashFile } from "../util/hash";
import type { IndexDb } from "./index-db";

/** Files changed this recently may still change within one timestamp tick; hash them but do not memoise. */
const SETTLE_NS = 1_000_000_000n;

interface MemoRow {
  size: number;
  mtime_ns: string;
  ctime_ns: string;
  ino: string;
  hash: string;
}

type PendingRow = [path: string, size: number, mtimeNs: string, ctimeNs: string, ino: string, hash: string];

export class FileHashMemo {
  private pending: PendingRow[] = [];

  constructor(private readonly index: IndexDb) {}

  /** The file's sha256, or null when it does not exist. */
  hash(path: string): string | null {
    let stat: ReturnType<typeof statSync> & { mtimeNs: bigint; ctimeNs: bigint; ino: bigint; size: bigint };
    try {
      stat = statSync(path, { bigint: true }) as typeof stat;
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const row = this.index.db
      .query("SELECT size, mtime_ns, ctime_ns, ino, hash FROM file_hashes WHERE path = ?")
      .get(path) as MemoRow | null;
    const size = Number(stat.size);
    if (
      row &&
      row.size === size &&
      row.mtime_ns === String(stat.mtimeNs) &&
      row.ctime_ns === String(stat.ctimeNs) &&
      row.ino === String(stat.ino)
    ) {
      return row.hash;
    }
    const hash = hashFile(path);
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now - stat.mtimeNs > SETTLE_NS && now - stat.ctimeNs > SETTLE_NS) this.write(path, stat, hash);
    return hash;
  }

  /** Records a hash kache already knows (a file it just restored from a verified blob). */
  remember(path: string, hash: string): void {
    try {
      this.write(path, statSync(path, { bigint: true }) as never, hash);
    } catch {
      // the memo is an optimisation; losing it costs a re-hash
    }
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
        "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, ctime_ns, ino, hash) VALUES (?, ?, ?, ?, ?, ?)",
      );
      this.index.db.transaction(() => {
        for (const row of rows) insert.run(...row);
      })();
    } catch {
      // the memo is an optimisation; losing it costs a re-hash
    }
  }

  private write(
    path: string,
    stat: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint },
    hash: string,
  ) {
    this.pending.push([
      path,
      Number(stat.size),
      String(stat.mtimeNs),
      String(stat.ctimeNs),
      String(stat.ino),
      hash,
    ]);
  }
}
