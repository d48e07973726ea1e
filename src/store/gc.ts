// Store upkeep: evicts entries (expired, least valuable, or purged), deletes the blobs no entry uses
// any more, orphans and leftovers, and the rows that pointed at what went, then measures the store.
//
// Builds run meanwhile. Rows are read before the store is walked (a row's blobs exist before the
// row), a row a build used or stored anew since is spared, and what is unlinked is re-checked
// against the index afterwards. A restore whose blob goes mid-way fails its check and compiles.
import { rmSync, unlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { BlobUsers, type EvictionPlan, planEviction } from "./eviction-policy";
import {
  blobsInUse,
  countManifestsExcept,
  deleteRows,
  deleteRowsAsRead,
  dropManifestsExcept,
  type GcRow,
  readGcRows,
  rowsCreatedSince,
} from "./gc-index";
import { INCREMENTAL_IDLE_MS, type RemovedDir, sweepIncrementalDirs } from "./incremental-dirs";
import type { IndexDb } from "./index-db";
import { type HeldLock, tryKernelLock } from "./kernel-lock";
import type { MadeRoom } from "./make-room";
import { sweepLeftovers } from "./pending-stores";
import { type ScannedFile, type StoreScan, scanStore } from "./store-scan";
import { readStoreBytes, setStoreBytes } from "./store-size";

/** gc brings the store down to this share of the limit, so it does not run again at once. */
export const TARGET_SHARE = 0.9;
/** Orphan blobs and temp files younger than this may belong to a store still in progress. */
export const LEFTOVER_GRACE_MS = 3_600_000;

export type RemovedWhy = "expired" | "evicted" | "purged" | "broken";

export interface RemovedEntry {
  key: string;
  crate: string;
  size: number;
  lastUsed: number;
  why: RemovedWhy;
}

export interface GcOptions {
  maxSize: number;
  maxAgeMs: number | null;
  dryRun: boolean;
  cleanIncremental: boolean;
  /** The direct-mode fingerprint of stored key components; without it input lists are kept. */
  fingerprintOf?: (components: Record<string, unknown>) => string;
  /** Purge: exactly the entries this picks go, whatever their age or the store's size. */
  purge?: (row: GcRow) => boolean;
  now?: number;
}

export interface Tally {
  count: number;
  bytes: number;
}

export interface GcReport {
  dryRun: boolean;
  limitBytes: number;
  targetBytes: number;
  /** Blob bytes before and after. */
  beforeBytes: number;
  afterBytes: number;
  entriesBefore: number;
  entriesAfter: number;
  removed: RemovedEntry[];
  /** Blobs of removed entries that no other entry uses. */
  freed: Tally;
  orphans: Tally;
  temps: Tally;
  markers: number;
  manifests: number;
  incremental: RemovedDir[];
  /** What went, without the index, to make room for it on a full disk (set by the caller). */
  madeRoom: MadeRoom | null;
}

interface Planned {
  plan: Pick<EvictionPlan<GcRow>, "expired" | "evicted"> & { purged: GcRow[] };
  users: BlobUsers;
  broken: GcRow[];
  orphans: ScannedFile[];
}

function sizesOf(scan: StoreScan): Map<string, number> {
  return new Map([...scan.blobs].map(([name, file]) => [name, file.size]));
}

function planRemovals(entries: GcRow[], scan: StoreScan, options: GcOptions, now: number): Planned {
  // Rows were read before the walk and a row's blobs exist before it: one missing now is gone for good.
  const broken = entries.filter((row) => row.blobs.some((blob) => !scan.blobs.has(blob)));
  const isBroken = new Set(broken);
  const sound = entries.filter((row) => !isBroken.has(row));
  const used = new Set(sound.flatMap((row) => row.blobs));
  const unused = [...scan.blobs].filter(([name]) => !used.has(name)).map(([, file]) => file);
  const orphans = unused.filter((file) => now - file.mtimeMs > LEFTOVER_GRACE_MS);
  const sizes = sizesOf(scan);
  if (options.purge) {
    const users = new BlobUsers(sound, sizes);
    const purged = sound.filter(options.purge);
    for (const row of purged) users.remove(row);
    return { plan: { expired: [], evicted: [], purged }, users, broken, orphans };
  }
  const usedBytes = [...used].reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0);
  const youngOrphanBytes = unused.reduce((sum, file) => sum + file.size, 0) - total(orphans).bytes;
  const plan = planEviction(sound, sizes, {
    now,
    usedBytes: usedBytes + youngOrphanBytes,
    targetBytes: options.maxSize * TARGET_SHARE,
    maxAgeMs: options.maxAgeMs,
  });
  return { plan: { ...plan, purged: [] }, users: plan.users, broken, orphans };
}

function total(files: ScannedFile[]): Tally {
  return { count: files.length, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

function removedEntries(planned: Planned): RemovedEntry[] {
  const entry = (why: RemovedWhy) => (row: GcRow) => ({
    key: row.key,
    crate: row.crate,
    size: row.size,
    lastUsed: row.lastUsed,
    why,
  });
  const { plan } = planned;
  return [
    ...planned.broken.map(entry("broken")),
    ...plan.expired.map(entry("expired")),
    ...plan.evicted.map(entry("evicted")),
    ...plan.purged.map(entry("purged")),
  ];
}

/** Markers whose entries all went: no remaining entry carries their key components. */
function danglingMarkers(rows: GcRow[], gone: Set<string>): GcRow[] {
  const kept = new Set(rows.filter((r) => !r.boundTo && !gone.has(r.key)).map((r) => r.components));
  return rows.filter((row) => row.boundTo && !kept.has(row.components));
}

function fingerprintsKept(rows: GcRow[], gone: Set<string>, options: GcOptions): Set<string> | null {
  const fingerprintOf = options.fingerprintOf;
  if (!fingerprintOf) return null;
  const kept = new Set<string>();
  for (const row of rows) {
    if (gone.has(row.key)) continue;
    try {
      kept.add(fingerprintOf(JSON.parse(row.components)));
    } catch {
      // unreadable components: nothing can be looked up through this row anyway
    }
  }
  return kept;
}

function unlinkAll(paths: string[]): void {
  for (const path of paths) {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }
}

/** Entries stored while gc worked that use a blob it unlinked: a restore would fail, so they go. */
function dropRowsMissing(index: IndexDb, unlinked: Set<string>, since: number): void {
  const hit = rowsCreatedSince(index, since).filter((row) => row.blobs.some((b) => unlinked.has(b)));
  if (hit.length)
    deleteRows(
      index,
      hit.map((row) => row.key),
    );
}

/** What pointed at the removed entries: their markers, and the fingerprints whose input lists stay. */
function pointers(rows: GcRow[], leaving: Set<string>, options: GcOptions) {
  const markers = danglingMarkers(rows, leaving);
  const gone = new Set([...leaving, ...markers.map((marker) => marker.key)]);
  return { markers, fingerprints: fingerprintsKept(rows, gone, options) };
}

/**
 * A store commits its row a little after it read the clock for `created`, and may wait for the
 * index meanwhile: rows stamped this long before gc read the index are re-checked too.
 */
const COMMIT_SLACK_MS = 5 * 60_000;

interface Applied {
  removedKeys: Set<string>;
  markers: number;
  manifests: number;
  unlinkedBytes: number;
}

function apply(
  index: IndexDb,
  rows: GcRow[],
  planned: Planned,
  scan: StoreScan,
  context: { readAt: number; options: GcOptions },
): Applied {
  const leaving = new Set(removedEntries(planned).map((entry) => entry.key));
  const { markers, fingerprints } = pointers(rows, leaving, context.options);
  const removable = [...rows.filter((row) => leaving.has(row.key)), ...markers];
  const result = index.db
    .transaction(() => {
      const removedKeys = deleteRowsAsRead(index, removable);
      const olderThan = context.readAt - LEFTOVER_GRACE_MS;
      const manifests = fingerprints ? dropManifestsExcept(index, fingerprints, olderThan) : 0;
      return { removedKeys, manifests, inUse: blobsInUse(index) };
    })
    .immediate(); // reads then writes: a deferred one would fail, not wait, when a store commits first
  const candidates = [...planned.users.freed.keys(), ...planned.orphans.map((file) => basename(file.path))];
  const unlink = candidates.filter((name) => !result.inUse.has(name) && scan.blobs.has(name));
  unlinkAll(unlink.map((name) => scan.blobs.get(name)!.path));
  dropRowsMissing(index, new Set(unlink), context.readAt - COMMIT_SLACK_MS);
  return {
    removedKeys: result.removedKeys,
    markers: markers.filter((marker) => result.removedKeys.has(marker.key)).length,
    manifests: result.manifests,
    unlinkedBytes: unlink.reduce((sum, name) => sum + scan.blobs.get(name)!.size, 0),
  };
}

function sweepTemps(scan: StoreScan, now: number, dryRun: boolean): Tally {
  const old = scan.temps.filter((file) => now - file.mtimeMs > LEFTOVER_GRACE_MS);
  if (!dryRun) for (const file of old) rmSync(file.path, { force: true });
  return total(old);
}

/** Runs one gc over the store of `cacheDir` (the caller holds the gc lock). */
export function collectGarbage(cacheDir: string, index: IndexDb, options: GcOptions): GcReport {
  const now = options.now ?? Date.now();
  const readAt = Date.now();
  const countedBefore = readStoreBytes(index);
  const rows = readGcRows(index);
  const scan = scanStore(cacheDir);
  const entries = rows.filter((row) => !row.boundTo);
  const planned = planRemovals(entries, scan, options, now);
  const removed = removedEntries(planned);
  const report: GcReport = {
    dryRun: options.dryRun,
    limitBytes: options.maxSize,
    targetBytes: Math.floor(options.maxSize * TARGET_SHARE),
    beforeBytes: scan.blobBytes,
    afterBytes: scan.blobBytes - planned.users.freedBytes - total(planned.orphans).bytes,
    entriesBefore: entries.length,
    entriesAfter: entries.length - removed.length,
    removed,
    freed: { count: planned.users.freed.size, bytes: planned.users.freedBytes },
    orphans: total(planned.orphans),
    temps: sweepTemps(scan, now, options.dryRun),
    markers: 0,
    manifests: 0,
    incremental: [],
    madeRoom: null,
  };
  if (options.dryRun) {
    const { markers, fingerprints } = pointers(rows, new Set(removed.map((entry) => entry.key)), options);
    report.markers = markers.length;
    if (fingerprints)
      report.manifests = countManifestsExcept(index, fingerprints, readAt - LEFTOVER_GRACE_MS);
  } else {
    const applied = apply(index, rows, planned, scan, { readAt, options });
    report.removed = removed.filter((entry) => applied.removedKeys.has(entry.key));
    report.entriesAfter = entries.length - report.removed.length;
    report.markers = applied.markers;
    report.manifests = applied.manifests;
    report.afterBytes = scan.blobBytes - applied.unlinkedBytes;
    sweepLeftovers(cacheDir);
    recordSize(index, countedBefore, report.afterBytes);
  }
  if (options.cleanIncremental) {
    const idle = Math.min(INCREMENTAL_IDLE_MS, options.maxAgeMs ?? Number.POSITIVE_INFINITY);
    report.incremental = sweepIncrementalDirs(index, now - idle, options.dryRun);
  }
  return report;
}

/** The measured size, plus what stores added to the running total while gc worked. */
function recordSize(index: IndexDb, countedBefore: number | null, measured: number): void {
  index.db
    .transaction(() => {
      const countedNow = readStoreBytes(index);
      const addedMeanwhile = countedBefore !== null && countedNow !== null ? countedNow - countedBefore : 0;
      setStoreBytes(index, measured + Math.max(0, addedMeanwhile));
    })
    .immediate();
}

/**
 * The one-gc-at-a-time lock, released by the kernel if its holder dies. Null when another gc still
 * holds it after `maxWaitMs`.
 */
export async function takeGcLock(cacheDir: string, maxWaitMs: number): Promise<HeldLock | null> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const lock = tryKernelLock(`${cacheDir}\0gc`, join(cacheDir, "locks", "gc.lock"));
    if (lock !== null) return lock ?? { release: () => {} };
    if (Date.now() >= deadline) return null;
    await Bun.sleep(50);
  }
}
