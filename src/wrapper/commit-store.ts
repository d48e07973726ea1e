// Runs a store job: checks that nothing changed since the compile, hashes each staged output in one
// pass, moves it into the store, and records the entry (blobs first, then the row) and its inputs.
import { copyFileSync, statSync } from "node:fs";
import type { BlobStore } from "../store/blobs";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { Entry, IndexDb } from "../store/index-db";
import { unlinkQuietly } from "../util/atomic-write";
import { scanFile } from "../util/file-scan";
import { contentCheckOfFile } from "../util/hash";
import { PathNormaliser } from "../util/path-roots";
import { MANIFESTS_PER_FINGERPRINT, type Manifest } from "./direct-mode";
import { entryKey, type PlacedBlob, recordEntry } from "./record-entry";
import { stampOf } from "./stage-outputs";
import type { StagedFile, StoreJob } from "./store-job";

export interface StoreResult {
  stored: boolean;
  size: number;
  why?: string;
}

interface Placed extends PlacedBlob {
  output: string;
}

class ChangedError extends Error {}

/**
 * A write moves a file's mtime forward to now. Cargo sets some outputs' mtimes back after the call
 * (a `cargo check`'s rmeta gets the time its compile started), which changes no byte.
 */
function unchanged(file: StagedFile): void {
  const now = stampOf(file.staged);
  const was = file.stamp;
  if (now.size !== was.size || now.ino !== was.ino || BigInt(now.mtimeNs) > BigInt(was.mtimeNs))
    throw new ChangedError(`${file.name} was written to after the compile`);
}

function place(file: StagedFile, blobs: BlobStore, normaliser: PathNormaliser): Placed {
  // Every root in the one pass: with debuginfo most artifacts name one, and a second pass over a
  // large binary to tell which costs more than a few extra searches per chunk.
  const roots = file.depInfo ? [] : normaliser.bindingRoots();
  const scan = scanFile(
    file.staged,
    roots.map((root) => root.path),
  );
  const found = new Set(scan.found);
  const bound = roots.filter((root) => found.has(root.path)).map((root) => root.name);
  // Written in place since staging (a tool on the tree's file): the bytes may be anyone's.
  if (!file.depInfo) unchanged(file);
  let added = 0;
  if (file.executable && !blobs.has(scan.hash, true, scan.size)) {
    // The staged link is the tree's own file: the blob is a copy, never that inode. Unchanged after
    // the copy means the copy holds the bytes just hashed.
    const copy = blobs.tempFile();
    try {
      copyFileSync(file.staged, copy);
      unchanged(file);
    } catch (error) {
      unlinkQuietly(copy); // half a copy on a full disk, or bytes that are no longer the compiler's
      throw error;
    }
    added = blobs.adopt(copy, scan.hash, scan.size, "executable");
  } else if (file.executable) {
    unlinkQuietly(file.staged); // the blob exists
  } else {
    added = blobs.adopt(file.staged, scan.hash, scan.size, file.depInfo ? "dep-info" : "shared");
  }
  return {
    added,
    file: {
      name: file.name,
      blob: scan.hash,
      size: scan.size,
      check: scan.check,
      executable: file.executable,
      depInfo: file.depInfo,
    },
    output: file.output,
    roots: bound,
  };
}

/**
 * The manifest with a size and a content check for each link input in the target dir (other units'
 * rlibs): the next lookup can then tell a rebuilt dependency from the recorded one without its
 * sha256. Both only ever rule a list out, so a file that changes meanwhile costs a miss at most.
 */
function withLinkChecks(text: string, normaliser: PathNormaliser): string {
  const manifest = JSON.parse(text) as Manifest;
  for (const link of manifest.links ?? []) {
    const path = normaliser.denormalise(link.path);
    if (!link.hash || !normaliser.inTargetDir(path)) continue;
    try {
      link.size = statSync(path).size;
      link.check = contentCheckOfFile(path);
    } catch {
      // gone meanwhile: the lookup hashes it, or finds it missing
    }
  }
  return JSON.stringify(manifest);
}

export function commitStoreJob(
  job: StoreJob,
  stores: { index: IndexDb; blobs: BlobStore; memo: FileHashMemo },
): StoreResult {
  // The inputs were hashed, and checked unchanged since the call began, before the job was made:
  // the key describes what the compiler read, whatever happens to those files now. Only the
  // outputs must still be the compiler's (see `unchanged`).
  const normaliser = new PathNormaliser(job.roots);
  let placed: Placed[];
  try {
    placed = job.files.map((file) => place(file, stores.blobs, normaliser));
  } catch (error) {
    if (error instanceof ChangedError) return { stored: false, size: 0, why: error.message };
    throw error;
  }
  const size = placed.reduce((sum, p) => sum + p.file.size, 0);
  const manifest = job.manifest && { ...job.manifest, text: withLinkChecks(job.manifest.text, normaliser) };
  const { key, boundTo } = entryKey(job.key, placed, normaliser);
  const now = Date.now();
  const entry: Entry = {
    ...job.entry,
    key,
    files: placed.map((p) => p.file),
    size,
    hits: 0,
    created: now,
    lastUsed: now,
    boundTo: null,
  };
  const recorded = recordEntry(stores, entry, job.key, boundTo, placed, () => {
    for (const p of placed) if (!p.file.depInfo) stores.memo.remember(p.output, p.file.blob);
    stores.memo.flush();
    // Only now may a manifest lead another wrapper to this key.
    if (manifest) stores.index.putManifest(manifest.fingerprint, manifest.text, MANIFESTS_PER_FINGERPRINT);
  });
  if (!recorded) return { stored: false, size: 0, why: "gc removed a blob it shares while it was stored" };
  const why = boundTo.length
    ? `outputs embed local paths (${boundTo.join(",")}); cached for this location only`
    : undefined;
  return { stored: true, size, why };
}
