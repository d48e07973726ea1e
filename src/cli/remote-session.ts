// What `kache sync` and `kache save-manifest` start from: the configured remote (or a clear error)
// and the local index and store.
import type { Settings } from "../config/settings";
import { remoteConfigured } from "../config/settings";
import { openRemote, type Remote } from "../remote/remote";
import type { LocalStores } from "../remote/transfer";
import { BlobStore } from "../store/blobs";
import { ensureCacheDir } from "../store/cache-dir";
import { IndexDb } from "../store/index-db";
import { KacheError } from "../util/errors";

export async function openRemoteSession(
  settings: Settings,
): Promise<{ remote: Remote; stores: LocalStores }> {
  if (!remoteConfigured(settings.remote))
    throw new KacheError(
      "no remote cache is configured",
      "set KACHE_S3_BUCKET, or cache.remote.* in the config file",
    );
  const remote = await openRemote(settings.remote);
  // CI pulls before its first build: the cache dir may not exist yet (made as a wrapper makes it).
  ensureCacheDir(settings.cacheDir);
  const index = IndexDb.open(settings.cacheDir);
  return { remote, stores: { cacheDir: settings.cacheDir, index, blobs: new BlobStore(settings.cacheDir) } };
}
