// Content-addressed blobs under store/ab/<sha256>: written by temp-then-rename, read-only once named.
import { chmodSync, copyFileSync, linkSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { hashBytes } from "../util/hash";

let tempCounter = 0;

export class BlobStore {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, "store");
  }

  /** Executables live under their own name so a blob's mode never has to change. */
  path(hash: string, executable: boolean): string {
    return join(this.root, hash.slice(0, 2), executable ? `${hash}.x` : hash);
  }

  /** True when the blob exists with the expected size (a truncated blob counts as missing). */
  has(hash: string, executable: boolean, size: number): boolean {
    try {
      return statSync(this.path(hash, executable)).size === size;
    } catch {
      return false;
    }
  }

  /**
   * Stores a freshly compiled output. The data is hashed from memory; the blob is then made by
   * hardlinking the output itself (no extra disk) or, across filesystems, by copying it.
   */
  putFile(sourcePath: string, data: Uint8Array, executable: boolean): { hash: string; size: number } {
    const hash = hashBytes(data);
    const size = data.byteLength;
    if (this.has(hash, executable, size)) return { hash, size };
    const finalPath = this.path(hash, executable);
    const temp = this.tempPath(hash);
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    try {
      try {
        linkSync(sourcePath, temp);
      } catch {
        copyFileSync(sourcePath, temp);
      }
      if (statSync(temp).size !== size) throw new Error(`output ${sourcePath} changed while being stored`);
      chmodSync(temp, executable ? 0o555 : 0o444);
      renameSync(temp, finalPath);
    } finally {
      unlinkQuietly(temp);
    }
    return { hash, size };
  }

  /** Stores bytes kache produced itself (normalised dep-info). */
  putBytes(data: Uint8Array): { hash: string; size: number } {
    const hash = hashBytes(data);
    if (this.has(hash, false, data.byteLength)) return { hash, size: data.byteLength };
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    const temp = this.tempPath(hash);
    try {
      writeFileSync(temp, data);
      chmodSync(temp, 0o444);
      renameSync(temp, this.path(hash, false));
    } finally {
      unlinkQuietly(temp);
    }
    return { hash, size: data.byteLength };
  }

  private tempPath(hash: string): string {
    tempCounter += 1;
    return join(this.root, hash.slice(0, 2), `.tmp-${hash}-${process.pid}-${tempCounter}`);
  }
}
