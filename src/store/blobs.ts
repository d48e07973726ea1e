// Content-addressed blobs under store/ab/<sha256>: made whole elsewhere and renamed in, never written again.
import { chmodSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { unlinkQuietly } from "../util/atomic-write";

let tempCounter = 0;

export const BLOB_NAME = /^[0-9a-f]{64}$/;

/** A blob's file name: executables live under their own name, never shared with a tree (see adopt). */
export function blobFileName(hash: string, executable: boolean): string {
  return executable ? `${hash}.x` : hash;
}

/** The blob file one of an entry's files is restored from (dep-info is never an executable's copy). */
export function blobOf(file: { blob: string; executable: boolean; depInfo: boolean }): string {
  return blobFileName(file.blob, file.executable && !file.depInfo);
}

export class BlobStore {
  readonly root: string;

  constructor(cacheDir: string) {
    this.root = join(cacheDir, "store");
  }

  path(hash: string, executable: boolean): string {
    return join(this.root, hash.slice(0, 2), blobFileName(hash, executable));
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
   * Makes `file` (on the store's filesystem, already hashed to `hash`) the blob, or drops it when
   * the blob exists. What the file is decides its mode, and kache never chmods a file in a target
   * dir:
   * - an executable's file is the store's own copy (tools such as strip, objcopy, chrpath and
   *   codesign rewrite executables in place, and must never reach a blob): 0555;
   * - kache's normalised dep-info: 0444;
   * - anything else (rlib, rmeta) is a hardlink of the output itself, costing no disk, and keeps
   *   rustc's mode. Whatever writes it in place is caught by the content check on every restore.
   *
   * Returns the bytes the store grew by: 0 when the blob was there already (dedup).
   */
  adopt(file: string, hash: string, size: number, kind: "executable" | "dep-info" | "shared"): number {
    const executable = kind === "executable";
    try {
      if (this.has(hash, executable, size)) return 0;
      mkdirSync(join(this.root, hash.slice(0, 2)), { recursive: true });
      if (kind !== "shared") chmodSync(file, executable ? 0o555 : 0o444);
      renameSync(file, this.path(hash, executable));
      return size;
    } finally {
      unlinkQuietly(file);
    }
  }

  /** A temp name inside the store, for a copy that becomes a blob by rename. */
  tempFile(): string {
    mkdirSync(this.root, { recursive: true });
    tempCounter += 1;
    return join(this.root, `.tmp-${process.pid}-${tempCounter}-${Date.now()}`);
  }

  /** Takes a blob whose content failed its check out of the store, so the next store writes it anew. */
  discard(hash: string, executable: boolean): void {
    unlinkQuietly(this.path(hash, executable));
  }
}
