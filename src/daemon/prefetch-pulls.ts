// Runs a prefetch's plan: each crate's input lists and entries are queued as its listing arrives,
// and pulled while later crates are still being listed. The entries go in the order their uploader
// last used them: one listing holds every build script of the workspace, and pulled in listing
// order they all came before the crates the first wrappers wait for.
import type { RemoteSettings } from "../config/settings";
import { pullManifestObject } from "../remote/manifests";
import type { Remote, RemoteObject } from "../remote/remote";
import type { IndexDb } from "../store/index-db";
import { WorkQueue } from "../util/work-queue";
import { eachCratePlan, type PlannedEntry, type PrefetchRequest } from "./prefetch-plan";

/** Parallel entry downloads: each is hashed on the daemon's thread, which must still answer every wrapper within 20 ms. */
const PREFETCH_DOWNLOADS = 4;

export interface PrefetchPulls {
  remote: Remote;
  settings: RemoteSettings;
  index: IndexDb;
  /** Parallel input-list downloads. */
  concurrency: number;
  /** Parallel entry downloads; PREFETCH_DOWNLOADS unless told. */
  downloads?: number;
  list(crate: string): Promise<RemoteObject[]>;
  /** Brings one entry into the store (one download per key, shared with remote checks). */
  fetchEntry(key: string, crate: string): Promise<"hit" | "miss">;
  /** Resolves once the next entry may start: downloads a wrapper waits for go first. */
  mayStart?(): Promise<void>;
  /** Whether the remote may be asked now: a paused one gets nothing more from this prefetch. */
  usable?(): boolean;
}

export interface PrefetchCounts {
  manifests: number;
  fromSaved: number;
  otherCompiler: number;
  /** Entries this prefetch brought in. */
  pulled: number;
  /** A check's entries left in the bucket because the session links. */
  checksLeft: number;
}

/** Earliest used first (-Infinity, a saved manifest's, before all). */
function byUse(a: PlannedEntry, b: PlannedEntry): number {
  return a.used < b.used ? -1 : a.used > b.used ? 1 : 0;
}

export async function pullPlanned(pulls: PrefetchPulls, request: PrefetchRequest): Promise<PrefetchCounts> {
  const { index } = pulls;
  const manifests = new WorkQueue<{ key: string; fingerprint: string }>();
  const entries = new WorkQueue<PlannedEntry>(byUse);
  const counts = { manifests: 0, fromSaved: 0, otherCompiler: 0, pulled: 0, checksLeft: 0 };
  const planned = eachCratePlan(pulls.list, pulls.settings, request, (plan) => {
    for (const manifest of plan.manifests) manifests.push(manifest);
    // Idle workers take what is pushed at once: the earliest first.
    for (const entry of plan.entries.toSorted(byUse)) entries.push(entry);
    counts.manifests += plan.manifests.length;
    counts.fromSaved += plan.fromSaved;
    counts.otherCompiler += plan.otherCompiler;
    counts.checksLeft += plan.checksLeft;
  }).finally(() => {
    manifests.end();
    entries.end();
  });
  const stopped = () => pulls.usable !== undefined && !pulls.usable();
  // Settled, every one: a failure must not leave the other workers downloading on their own.
  const done = await Promise.allSettled([
    planned,
    manifests.drain(pulls.concurrency, async (item) => {
      if (stopped()) return;
      await pullManifestObject(pulls.remote, item.key, item.fingerprint, index);
    }),
    entries.drain(pulls.downloads ?? PREFETCH_DOWNLOADS, async (item) => {
      await pulls.mayStart?.();
      if (stopped()) return;
      // A remote check of the build may have brought it since the plan: a second download would
      // cost its bytes again and replace the row a wrapper has just counted a hit on.
      if (index.getEntry(item.key) !== null) return;
      // Planned before a later call said the session links.
      if (item.output === "meta" && request.sessionLinks?.()) {
        counts.checksLeft += 1;
        return;
      }
      if ((await pulls.fetchEntry(item.key, item.crate)) === "hit") {
        index.setMemo(`prefetched|${item.key}`, "1");
        counts.pulled += 1;
      }
    }),
  ]);
  const failed = done.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return counts;
}
