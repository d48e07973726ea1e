// Makes an unpacked archive a local entry: blobs first, then the index row (and its input list), so
// a reader never finds a row whose blobs are missing.
import type { BlobStore } from "../store/blobs";
import type { Entry, IndexDb } from "../store/index-db";
import { addStoreBytes } from "../store/store-size";
import { unlinkQuietly } from "../util/atomic-write";
import { MANIFESTS_PER_FINGERPRINT } from "../wrapper/direct-mode";
import { ArchiveError, type Unpacked } from "./archive";

/** Adopts the files and records the entry; throws ArchiveError when the archive is not the one asked for. */
export function importEntry(
  unpacked: Unpacked,
  expected: { key: string; crate: string },
  stores: { index: IndexDb; blobs: BlobStore },
): Entry {
  const { metadata, temps } = unpacked;
  try {
    // Served under another key, an entry would be someone else's artifact: refuse it.
    if (metadata.key !== expected.key || metadata.crate !== expected.crate)
      throw new ArchiveError(
        `the object for ${expected.crate} ${expected.key} holds ${metadata.crate} ${metadata.key}`,
        true,
      );
    const { checks } = unpacked;
    let added = 0;
    metadata.files.forEach((file, index) => {
      const kind = file.executable ? "executable" : file.depInfo ? "dep-info" : "shared";
      added += stores.blobs.adopt(temps[index]!, file.sha256, file.size, kind);
    });
    const now = Date.now();
    const entry: Entry = {
      key: metadata.key,
      crate: metadata.crate,
      crateTypes: metadata.crateTypes,
      target: metadata.target,
      profile: metadata.profile,
      features: metadata.features,
      files: metadata.files.map((file, index) => ({
        name: file.name,
        blob: file.sha256,
        size: file.size,
        check: checks[index]!,
        executable: file.executable,
        depInfo: file.depInfo,
      })),
      stdout: metadata.stdout,
      stderr: metadata.stderr,
      compileMs: metadata.compileMs,
      size: metadata.files.reduce((sum, file) => sum + file.size, 0),
      hits: 0,
      created: now,
      lastUsed: now,
      components: metadata.components,
      boundTo: null,
    };
    stores.index.db.transaction(() => {
      stores.index.putEntry(entry);
      addStoreBytes(stores.index, added);
      if (metadata.manifest)
        stores.index.putManifest(
          metadata.manifest.fingerprint,
          metadata.manifest.text,
          MANIFESTS_PER_FINGERPRINT,
        );
    })();
    return entry;
  } finally {
    for (const path of temps) unlinkQuietly(path);
  }
}
