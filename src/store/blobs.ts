// Content-addressed blobs under store/ab/<sha256>: written by temp-then-rename, never written again.
import { chmodSync, copyFileSync, linkSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";
import { hashBytes } from "../util/hash";

let tempCounter = 0;

export const BLOB_NAME = /^[0-9a-f]{64}$/;

export class BlobStore {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, "store");
  }

  /** Executables live under their own name: they are never shared with a tree (see putFile). */
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
   * Stores a freshly compiled output whose bytes were hashed from memory. The output itself keeps
   * its mode: kache never chmods a file in a target dir.
   * - An executable (binaries, build scripts, proc-macros, shared objects) is copied: tools such
   *   as strip, objcopy, chrpath and codesign rewrite those in place, and must never reach a blob.
   * - Anything else (rlib, rmeta) becomes the blob by a hardlink, costing no disk. Whatever writes
   *   it in place is caught by the content check on every restore.
   */
  putFile(sourcePath: string, data: Uint8Array, executable: boolean): { hash: string; size: number } {
    const hash = hashBytes(data);
    const size = data.byteLength;
    if (this.has(hash, executable, size)) return { hash, size };
    const temp = this.tempPath(hash);
    mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
    try {
      if (executable) {
        copyFileSync(sourcePath, temp);
        chmodSync(temp, 0o555);
      } else {
        try {
          linkSync(sourcePath, temp);
        } catch {
          copyFileSync(sourcePath, temp); // another filesystem than the target dir
        }
      }
      if (statSync(temp).size !== size) throw new Error(`output ${sourcePath} changed while being stored`);
      renameSync(temp, this.path(hash, executable));
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

  /** Takes a blob whose content failed its check out of the store, so the next store writes it anew. */
  discard(hash: string, executable: boolean): void {
    unlinkQuietly(this.path(hash, executable));
  }

  private tempPath(hash: string): string {
    tempCounter += 1;
    return join(this.root, hash.slice(0, 2), `.tmp-${hash}-${process.pid}-${tempCounter}`);
  }
}
