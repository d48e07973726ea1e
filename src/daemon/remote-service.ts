// The daemon's work with remotes: remote checks (download, verify, store; one download per key however
// many wrappers ask; recent misses remembered) and the upload queue (HEAD first, bounded parallelism,
// backoff, a pause when the remote keeps failing, a bucket refusing writes is read-only). A state per remote.
import type { RemoteSettings } from "../config/settings";
import type { DaemonTransfers, RemoteHealthReport, TransferCause } from "../ipc/protocol";
import { ArchiveError } from "../remote/archive";
import { manifestListPrefix, pullManifestLists, pushManifests } from "../remote/manifests";
import { DEFAULT_NAMESPACE, loadNamespace } from "../remote/namespaces";
import { entryObjectKey, remoteIdentity } from "../remote/remote";
import { TarError } from "../remote/tar";
import { type LocalStores, pullEntry, pushEntry, remoteTemp, storedDamage } from "../remote/transfer";
import { BlobStore } from "../store/blobs";
import { IndexDb } from "../store/index-db";
import { dropUpload, queuedUploadCount, queuedUploads, type UploadItem } from "../store/upload-queue";
import { describeError } from "../util/errors";
import { RightOfWay } from "../util/right-of-way";
import type { ToolchainTags } from "../wrapper/toolchain-tag";
import {
  cargoMetadata,
  cratesInBuildOrder,
  insideWorkspace,
  memberCrates,
  targetsPerCrate,
} from "./prefetch";
import { pullPlanned } from "./prefetch-pulls";
import { newRemoteState, type RemoteState } from "./remote-state";
import type { DaemonLogger } from "./server";
import { type ActiveTransfer, TransferLog } from "./transfer-log";

/** How long a key the remote did not have is answered "miss" without asking again. */
const MISS_MEMORY_MS = 60_000;

export class RemoteService {
  private readonly states = new Map<string, RemoteState>();
  private readonly blobs: BlobStore;
  private index: IndexDb | null = null;
  private draining: Promise<void> | null = null;
  /** Workspaces with a prefetch under way, and whether their session is known to link (see prefetch()). */
  private readonly prefetching = new Map<string, { links: boolean }>();
  private wakeAgain = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly transfers = new TransferLog();
  /** Wrappers' downloads: the prefetch starts none while one is under way (a check_timeout at most). */
  private readonly asked = new RightOfWay();

  constructor(
    private readonly cacheDir: string,
    private readonly concurrency: number,
    private readonly compressionLevel: number,
    private readonly log: DaemonLogger,
  ) {
    this.blobs = new BlobStore(cacheDir);
  }

  /**
   * Loads the backend of the daemon's own remote now: importing the AWS SDK blocks the event loop
   * for tens of ms, and the first wrappers' requests must be acknowledged within 20 ms. Then asks for
   * the bucket's first page without waiting: a daemon started for a build (autostart, CI) answers
   * its first wrappers' input-list requests from it instead of listing each crate on the way.
   */
  async warm(settings: RemoteSettings): Promise<void> {
    const state = this.state(settings);
    const remote = await state.remote.catch(() => null);
    if (remote) void state.listings.prime(remote, state.settings);
  }

  /** Uploads whatever is queued on disk now, and looks again every little while. */
  start(): void {
    this.wake();
    this.timer = setInterval(() => this.wake(), 5_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.index?.close();
    this.index = null;
  }

  private db(): IndexDb {
    this.index ??= IndexDb.open(this.cacheDir);
    return this.index;
  }

  private stores(): LocalStores {
    return { cacheDir: this.cacheDir, index: this.db(), blobs: this.blobs };
  }

  private state(settings: RemoteSettings): RemoteState {
    const id = remoteIdentity(settings);
    let state = this.states.get(id);
    if (!state) {
      state = newRemoteState(settings, this.log, () => this.wake());
      this.states.set(id, state);
    }
    return state;
  }

  health(): RemoteHealthReport[] {
    const queued = queuedUploads(this.cacheDir);
    return [...this.states.entries()].map(([id, state]) => ({
      remote: state.description,
      queued: queued.filter((item) => remoteIdentity(item.remote) === id).length,
      uploadsDone: state.uploadsDone,
      downloadsDone: state.downloadsDone,
      lastError: state.health.lastError,
      paused: state.health.paused(),
      notAnswering: state.health.notAnswering(),
      writable: !state.health.writesRefused() && !state.settings.readOnly,
    }));
  }

  /** What the monitor shows: transfers under way, the newest finished ones, the queue. */
  transferReport(): DaemonTransfers {
    const states = [...this.states.values()];
    return {
      inFlight: this.transfers.inFlight(),
      recent: this.transfers.recent(),
      queued: queuedUploadCount(this.cacheDir),
      uploadsDone: states.reduce((sum, state) => sum + state.uploadsDone, 0),
      downloadsDone: states.reduce((sum, state) => sum + state.downloadsDone, 0),
    };
  }

  /** Brings `key` into the local store from the remote; "hit" once it is there. */
  async check(
    settings: RemoteSettings,
    key: string,
    crate: string,
  ): Promise<{ result: "hit" | "miss"; reason?: string }> {
    if (this.db().getEntry(key)) return { result: "hit" };
    const state = this.state(settings);
    const missedAt = state.misses.get(key);
    if (missedAt !== undefined && Date.now() - missedAt < MISS_MEMORY_MS)
      return { result: "miss", reason: "not in the remote (remembered)" };
    if (!state.health.usable())
      return {
        result: "miss",
        reason: state.health.notAnswering() ? "remote not answering" : "remote paused after failures",
      };
    if (
      !state.downloads.has(key) &&
      !(await this.listed(state, crate, entryObjectKey(state.settings, crate, key)))
    ) {
      state.misses.set(key, Date.now());
      return { result: "miss", reason: "not in the remote" };
    }
    return { result: await this.asked.during(this.fetchEntry(state, key, crate, "remote-check")) };
  }

  /** Whether the crate's listing has the object; true when the listing itself failed (ask directly). */
  private async listed(state: RemoteState, crate: string, objectKey: string): Promise<boolean> {
    try {
      const objects = await state.listings.get(await state.remote, state.settings, crate);
      return objects.some((object) => object.key === objectKey);
    } catch {
      return true;
    }
  }

  /** One download per key, shared by remote checks and prefetch. */
  private fetchEntry(
    state: RemoteState,
    key: string,
    crate: string,
    cause: TransferCause,
  ): Promise<"hit" | "miss"> {
    let download = state.downloads.get(key);
    if (!download) {
      download = this.download(state, key, crate, cause).finally(() => state.downloads.delete(key));
      state.downloads.set(key, download);
    }
    return download;
  }

  /**
   * Pulls a workspace's input lists and newest entries, dependencies first, with s3_concurrency
   * downloads at once, so most compiler calls find them local. Runs in the background; one at a
   * time per workspace. `links` is what a library's call said of the session: true, it links them
   * (a check's entries are of no use to it); false, it checks them; null, not known (a build
   * script's call links in every session). A prefetch under way learns it from a later request,
   * which never starts another (`onlyTells`): that session's prefetch is done.
   */
  prefetch(
    settings: RemoteSettings,
    projectDir: string,
    cargo: string,
    session: ToolchainTags | null = null,
    { links = null, onlyTells = false }: { links?: boolean | null; onlyTells?: boolean } = {},
  ): boolean {
    const running = this.prefetching.get(projectDir);
    if (running && links !== null) running.links = links;
    const state = this.state(settings);
    if (running || onlyTells || !state.health.usable()) return false;
    const told = { links: links ?? false };
    this.prefetching.set(projectDir, told);
    void this.runPrefetch(state, projectDir, cargo, session, () => told.links).finally(() =>
      this.prefetching.delete(projectDir),
    );
    return true;
  }

  private async runPrefetch(
    state: RemoteState,
    projectDir: string,
    cargo: string,
    session: ToolchainTags | null,
    sessionLinks: () => boolean,
  ): Promise<void> {
    const started = Date.now();
    if (!insideWorkspace(projectDir)) return;
    try {
      // The bucket's first page comes while cargo metadata runs: a small bucket then needs no
      // listing per crate.
      state.remote.then((remote) => state.listings.prime(remote, state.settings)).catch(() => {});
      const metadata = await cargoMetadata(cargo, projectDir);
      const crates = cratesInBuildOrder(metadata);
      const remote = await state.remote;
      const index = this.db();
      // A saved manifest names the keys a build of this workspace used: those first, dearest first.
      const saved = await loadNamespace(
        remote,
        state.settings,
        DEFAULT_NAMESPACE,
        remoteTemp(this.cacheDir, ".json"),
      );
      const counts = await pullPlanned(
        {
          remote,
          settings: state.settings,
          index,
          concurrency: this.concurrency,
          list: (crate) => state.listings.get(remote, state.settings, crate),
          fetchEntry: (key, crate) => this.fetchEntry(state, key, crate, "prefetch"),
          mayStart: () => this.asked.clear(state.settings.checkTimeoutSecs * 1000),
          usable: () => state.health.usable(),
        },
        {
          crates,
          members: memberCrates(metadata),
          targetsPerCrate: targetsPerCrate(metadata),
          session,
          saved: saved?.entries ?? [],
          haveEntry: (key) => index.getEntry(key) !== null,
          sessionLinks,
        },
      );
      state.health.succeeded();
      this.log.info(
        `prefetch for ${projectDir}: ${crates.length} crates, ${counts.manifests} input lists, ${counts.pulled} entries ` +
          `(${counts.fromSaved} named by a saved manifest; ${counts.otherCompiler} of another compiler or salt left; ` +
          `${counts.checksLeft} check entries left, as the session links) in ${Date.now() - started} ms`,
      );
    } catch (error) {
      this.log.warn(`prefetch for ${projectDir} failed: ${describeError(error)}`);
    }
  }

  private async download(
    state: RemoteState,
    key: string,
    crate: string,
    cause: TransferCause,
  ): Promise<"hit" | "miss"> {
    const transfer = this.transfers.begin("download", crate, key, state.description, cause);
    try {
      const remote = await state.remote;
      const size = await pullEntry(remote, state.settings, crate, key, this.stores(), transfer);
      state.health.succeeded();
      if (size === null) {
        this.transfers.drop(transfer);
        state.misses.set(key, Date.now());
        return "miss";
      }
      this.transfers.finish(transfer, { bytes: size });
      state.downloadsDone += 1;
      return "hit";
    } catch (error) {
      this.transfers.finish(transfer, { error });
      if (error instanceof ArchiveError || error instanceof TarError) {
        this.log.warn(`rejected ${crate} ${key.slice(0, 12)} from ${state.description}: ${error.message}`);
        state.misses.set(key, Date.now());
        this.checkDamage(state, crate, key, error.message);
      } else state.health.failed(error, false);
      return "miss";
    }
  }

  /**
   * Fetches a rejected object again: damaged where it is stored, it is replaced by the next upload
   * of its key (this machine's compile of it) instead of being skipped as there; otherwise every
   * machine would reject it and compile for good.
   */
  private checkDamage(state: RemoteState, crate: string, key: string, reason: string): void {
    if (state.damaged.has(key)) return;
    const objectKey = entryObjectKey(state.settings, crate, key);
    const confirmed = (async () => {
      const remote = await state.remote;
      const listed = (await state.listings.get(remote, state.settings, crate)).find(
        (object) => object.key === objectKey,
      );
      if (!listed) return false;
      const target = { crate, key, listedSize: listed.size };
      return storedDamage(remote, state.settings, target, this.stores(), reason);
    })().catch(() => false);
    state.damaged.set(key, confirmed);
    // Keys never uploaded from here (bound, read-only) would stay: the oldest go past a few hundred.
    if (state.damaged.size > 256) state.damaged.delete(state.damaged.keys().next().value!);
    void confirmed.then((damaged) => {
      if (!damaged) state.damaged.delete(key);
    });
  }

  /** Brings the remote's input lists of a fingerprint into the index; how many of them it holds now. */
  async manifests(settings: RemoteSettings, fingerprint: string, crate: string): Promise<number> {
    const state = this.state(settings);
    const fetchedAt = state.manifestsFetched.get(fingerprint);
    if ((fetchedAt !== undefined && Date.now() - fetchedAt < MISS_MEMORY_MS) || !state.health.usable())
      return 0;
    let fetch = state.manifestFetches.get(fingerprint);
    if (!fetch) {
      fetch = this.fetchManifests(state, fingerprint, crate).finally(() =>
        state.manifestFetches.delete(fingerprint),
      );
      state.manifestFetches.set(fingerprint, fetch);
    }
    return fetch;
  }

  private async fetchManifests(state: RemoteState, fingerprint: string, crate: string): Promise<number> {
    try {
      const remote = await state.remote;
      const prefix = manifestListPrefix(state.settings, crate, fingerprint);
      const lists = (await state.listings.get(remote, state.settings, crate)).filter((object) =>
        object.key.startsWith(prefix),
      );
      const added = await pullManifestLists(remote, lists, fingerprint, this.db());
      state.health.succeeded();
      state.manifestsFetched.set(fingerprint, Date.now());
      return added;
    } catch (error) {
      state.health.failed(error, false);
      return 0;
    }
  }

  /** Starts draining the queue (or drains again once the current pass ends). */
  wake(): void {
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = null;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  /** Resolves once the queue has been worked through (tests, and a graceful stop). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    const items = queuedUploads(this.cacheDir);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await this.uploadOne(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
  }

  private async uploadOne(item: UploadItem): Promise<void> {
    const state = this.state(item.remote);
    if (item.remote.readOnly || state.health.writesRefused()) {
      dropUpload(this.cacheDir, item.key);
      return;
    }
    if (!state.health.usable()) return; // stays queued
    const entry = this.db().getEntry(item.key);
    if (!entry || entry.boundTo) {
      dropUpload(this.cacheDir, item.key); // evicted, or cached for its location only
      return;
    }
    // Until pushEntry returns: a failure after it (the input lists) is not the entry's.
    let transfer: ActiveTransfer | null = this.transfers.begin(
      "upload",
      entry.crate,
      entry.key,
      state.description,
      "upload",
    );
    try {
      const remote = await state.remote;
      const replace = (await state.damaged.get(item.key)) ?? false;
      const sent = await pushEntry(
        remote,
        item.remote,
        entry,
        this.stores(),
        this.compressionLevel,
        transfer,
        replace,
      );
      if (replace) {
        state.damaged.delete(item.key);
        this.log.warn(`replaced ${entry.crate} ${entry.key.slice(0, 12)}, damaged in ${state.description}`);
      }
      // A HEAD that found the object there moved nothing: not a transfer.
      if (sent > 0) this.transfers.finish(transfer, { bytes: sent });
      else this.transfers.drop(transfer);
      transfer = null;
      if (sent > 0) {
        state.uploadsDone += 1;
        state.health.wrote();
      }
      if (item.fingerprint)
        await pushManifests(
          remote,
          item.remote,
          entry.crate,
          item.fingerprint,
          this.db(),
          remoteTemp(this.cacheDir, ".json"),
        );
      state.health.succeeded();
      dropUpload(this.cacheDir, item.key);
    } catch (error) {
      if (transfer) this.transfers.finish(transfer, { error });
      if (error instanceof ArchiveError) {
        this.log.warn(`not uploading ${entry.crate} ${entry.key.slice(0, 12)}: ${error.message}`);
        dropUpload(this.cacheDir, item.key);
      } else {
        state.health.failed(error, true);
        if (state.health.writesRefused()) dropUpload(this.cacheDir, item.key);
      }
    }
  }
}
