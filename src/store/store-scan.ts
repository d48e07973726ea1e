// One walk over the blob store (gc, doctor, clean): every blob with its size and mtime, and the temp files that
// stores and downloads killed midway left behind.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
  /** Permission bits. */
  mode: number;
  /** `dev:ino`: a file in target/ with the same identity is a hardlink of this blob. */
  identity: string;
}

export interface StoreScan {
  /** Blob file name (`<sha256>` or `<sha256>.x`) to what is on disk. */
  blobs: Map<string, ScannedFile>;
  /** Temp files of stores and downloads (`store/.tmp-*`, `tmp/remote-*`). */
  temps: ScannedFile[];
  blobBytes: number;
}

const BLOB_FILE = /^[0-9a-f]{64}(\.x)?$/;
const SHARD = /^[0-9a-f]{2}$/;

function statFile(path: string): ScannedFile | null {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return null;
    const identity = `${stat.dev}:${stat.ino}`;
    return { path, size: stat.size, mtimeMs: stat.mtimeMs, mode: stat.mode & 0o7777, identity };
  } catch {
    return null; // removed meanwhile
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function scanStore(cacheDir: string): StoreScan {
  const root = join(cacheDir, "store");
  const scan: StoreScan = { blobs: new Map(), temps: [], blobBytes: 0 };
  for (const name of listDir(root)) {
    const path = join(root, name);
    if (name.startsWith(".tmp-")) {
      const temp = statFile(path);
      if (temp) scan.temps.push(temp);
      continue;
    }
    if (!SHARD.test(name)) continue;
    for (const blob of listDir(path)) {
      if (!BLOB_FILE.test(blob) || !blob.startsWith(name)) continue;
      const file = statFile(join(path, blob));
      if (!file) continue;
      scan.blobs.set(blob, file);
      scan.blobBytes += file.size;
    }
  }
  for (const name of listDir(join(cacheDir, "tmp"))) {
    const temp = name.startsWith("remote-") ? statFile(join(cacheDir, "tmp", name)) : null;
    if (temp) scan.temps.push(temp);
  }
  return scan;
}
