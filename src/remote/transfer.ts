// Moving one entry between the local store and a remote: the daemon and `kache sync` both do it
// this way. A push packs into a temp archive that is always removed; a pull unpacks as it downloads.
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RemoteSettings } from "../config/settings";
import type { BlobStore } from "../store/blobs";
import type { Entry, IndexDb } from "../store/index-db";
import { unlinkQuietly } from "../util/atomic-write";
import type { KeyComponents } from "../wrapper/cache-key";
import { invocationFingerprint } from "../wrapper/direct-mode";
import { ArchiveError, packEntry, unpackArchive, unpackStream } from "./archive";
import { importEntry } from "./import-entry";
import { entryObjectKey, type Remote, RemoteError, readsRefused } from "./remote";
import { TarError } from "./tar";
import { hasToolchainMarker, putToolchainMarker } from "./toolchain-markers";

/** The largest archive kache downloads. */
export const MAX_ARCHIVE_BYTES = 4 * 1024 ** 3;

export interface LocalStores {
  cacheDir: string;
  index: IndexDb;
  blobs: BlobStore;
}

let counter = 0;

/** A fresh temp path in `<cache>/tmp` for an object on its way in or out. */
export function remoteTemp(cacheDir: string, suffix = ".tar.zst"): string {
  const dir = join(cacheDir, "tmp");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  counter += 1;
  return join(dir, `remote-${process.pid}-${counter}-${Date.now()}${suffix}`);
}

/** Where a caller that shows transfers reads how far one has got: archive bytes so far. */
export interface TransferProgress {
  bytes: number;
}

/** Downloads, verifies and stores one entry; the archive's size, or null when the remote lacks it. */
export async function pullEntry(
  remote: Remote,
  settings: RemoteSettings,
  crate: string,
  key: string,
  stores: LocalStores,
  progress?: TransferProgress,
): Promise<number | null> {
  const body = await remote.read(entryObjectKey(settings, crate, key), MAX_ARCHIVE_BYTES);
  if (!body) return null;
  const pieces = body[Symbol.asyncIterator]();
  let size = 0;
  const counted = async function* () {
    for (let next = await pieces.next(); !next.done; next = await pieces.next()) {
      size += next.value.length;
      if (progress) progress.bytes = size;
      yield next.value;
    }
  };
  try {
    // Unpacked as it arrives: no copy of the archive is written to disk and read back.
    importEntry(await unpackStream(counted(), stores.blobs), { key, crate }, stores);
    return size;
  } finally {
    // An unpack that stopped early (a bad archive) leaves the file or connection open otherwise.
    await pieces.return?.();
  }
}

/**
 * Whether the object of a rejected download is damaged where it is stored, not on its way: fetched
 * again whole, it has the size the listing gives and is rejected for the same `reason`, one about
 * its bytes (not a format or limit this kache refuses, which another may accept). A body spoiled
 * in transit (a proxy cutting it short but framing it as whole) differs in size or in reason; one
 * that now unpacks is stored, as a pull would.
 */
export async function storedDamage(
  remote: Remote,
  settings: RemoteSettings,
  target: { crate: string; key: string; listedSize: number },
  stores: LocalStores,
  reason: string,
): Promise<boolean> {
  const { crate, key } = target;
  const archive = remoteTemp(stores.cacheDir);
  try {
    if (!(await remote.download(entryObjectKey(settings, crate, key), archive, MAX_ARCHIVE_BYTES)))
      return false;
    if (statSync(archive).size !== target.listedSize) return false;
    try {
      importEntry(await unpackArchive(archive, stores.blobs), { key, crate }, stores);
      return false;
    } catch (error) {
      const bytesWrong = (error instanceof ArchiveError && error.damaged) || error instanceof TarError;
      return bytesWrong && error.message === reason;
    }
  } finally {
    unlinkQuietly(archive);
  }
}

/**
 * The HEAD an upload starts with. A 403 to it is a refused read, not a refused write: wrong
 * credentials, or a policy without s3:ListBucket (AWS then answers a missing key with 403). Taken
 * for a read-only bucket, it made the daemon drop every queued upload for good.
 */
async function headBeforeUpload(remote: Remote, objectKey: string) {
  try {
    return await remote.head(objectKey);
  } catch (error) {
    if (!(error instanceof RemoteError) || error.kind !== "denied") throw error;
    throw readsRefused(error);
  }
}

/**
 * Uploads one entry unless the remote has it; the bytes sent (0 when it was there). `replace`:
 * the remote's object is known to be damaged (storedDamage), so it is overwritten.
 */
export async function pushEntry(
  remote: Remote,
  settings: RemoteSettings,
  entry: Entry,
  stores: LocalStores,
  level: number,
  progress?: TransferProgress,
  replace = false,
): Promise<number> {
  const objectKey = entryObjectKey(settings, entry.crate, entry.key);
  if (!replace && (await headBeforeUpload(remote, objectKey)) !== null) {
    // The archive is there; its marker may not be (its PUT failed after the archive's).
    if (!(await hasToolchainMarker(remote, settings, entry.crate, entry.key)))
      await putToolchainMarker(remote, settings, entry, remoteTemp(stores.cacheDir, ".marker"));
    return 0;
  }
  const archive = remoteTemp(stores.cacheDir);
  try {
    // The newest input list of the entry's fingerprint rides along: a pull then needs no pre-pass.
    const fingerprint = invocationFingerprint(entry.components as unknown as KeyComponents);
    const [text] = stores.index.getManifests(fingerprint, 1);
    const size = await packEntry(entry, stores.blobs, archive, level, text ? { fingerprint, text } : null);
    if (progress) progress.bytes = size;
    await remote.upload(objectKey, archive);
    // After the archive: a marker never names an object that is not there.
    await putToolchainMarker(remote, settings, entry, remoteTemp(stores.cacheDir, ".marker"));
    return size;
  } finally {
    unlinkQuietly(archive);
  }
}
