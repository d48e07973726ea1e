// What a prefetch pulls of each crate, decided from that crate's listing alone as it arrives: the
// entries a saved manifest names, then the newest entries this compiler built (the session's
// targets first; of a workspace member, the newest build and the newest check), within one byte
// budget, and the input lists unless those entries are all the crate has. Never another
// compiler's entries.
import type { RemoteSettings } from "../config/settings";
import { parseManifestObjectKey } from "../remote/manifests";
import type { SavedEntry } from "../remote/namespaces";
import { parseEntryObjectKey, type RemoteObject } from "../remote/remote";
import { parseToolchainMarker, type Suitability, suitability } from "../remote/toolchain-markers";
import type { OutputKind, ToolchainTags } from "../wrapper/toolchain-tag";

/** Entries per crate a prefetch takes (the newest): one per profile and target in use, roughly. */
const ENTRIES_PER_CRATE = 4;
/**
 * A workspace member's entries differ mostly by edit, and only one of each output (a build's, a
 * check's) can be this checkout's: the newest, the one its uploader used last (the main branch's,
 * typically). The wrapper's remote check brings the right one when the guess is wrong.
 */
const ENTRIES_PER_MEMBER_OUTPUT = 1;
/** Most bytes of archives one prefetch downloads. */
export const PREFETCH_BUDGET_BYTES = 2 * 1024 ** 3;
/** Parallel listings: the daemon's thread also answers every wrapper within 20 ms. */
const LISTINGS_AT_ONCE = 4;

export interface PrefetchRequest {
  crates: string[];
  /** Those of `crates` that are the workspace's own. */
  members: Set<string>;
  /** Targets a crate name stands for, when more than one (`build_script_build`: each build script). */
  targetsPerCrate?: Map<string, number>;
  /** The session's compiler and targets; null: any (a request from a kache before markers). */
  session: ToolchainTags | null;
  /** Entries a saved manifest names: pulled first, when this compiler built them. */
  saved: SavedEntry[];
  haveEntry: (key: string) => boolean;
  /** True once the session is known to link its libraries: a check's entries are of no use to it. */
  sessionLinks?: () => boolean;
}

export interface PlannedEntry {
  crate: string;
  key: string;
  size: number;
  /**
   * When its uploader last used it (its marker's time, else the upload's): the pulls go in this
   * order, the uploader's build order, which is the order this build will ask for them in. An
   * entry a saved manifest names has -Infinity: it goes first.
   */
  used: number;
  /** null: a saved manifest's, or unmarked. */
  output: OutputKind | null;
}

export interface CratePlan {
  manifests: { key: string; fingerprint: string }[];
  entries: PlannedEntry[];
  fromSaved: number;
  otherCompiler: number;
  /** A check's entries not taken because the session links. */
  checksLeft: number;
}

/** What a whole prefetch may still download; shared by the crates' plans. */
export interface Budget {
  bytes: number;
}

/** A saved manifest's entries of these crates, dearest first, within the budget (taken from it). */
export function savedFirst(
  saved: SavedEntry[],
  crates: string[],
  skip: (entry: SavedEntry) => boolean,
  budget: Budget = { bytes: PREFETCH_BUDGET_BYTES },
): SavedEntry[] {
  const named = new Set(crates);
  const picked: SavedEntry[] = [];
  for (const entry of [...saved].sort((a, b) => b.compileMs - a.compileMs)) {
    if (!named.has(entry.crate) || skip(entry) || entry.size > budget.bytes) continue;
    budget.bytes -= entry.size;
    picked.push(entry);
  }
  return picked;
}

interface Candidate {
  key: string;
  size: number;
  /** When the uploading machine last used it, from its marker; else when it was uploaded. */
  modified: number;
  rank: Suitability;
  /** null: unmarked, or marked before outputs were named. */
  output: OutputKind | null;
}

/** The best of the candidates a crate may take: of a member, that many of each output. */
function newestOf(candidates: Candidate[], limit: number, perOutput: boolean): Candidate[] {
  const best = candidates.sort((a, b) => a.rank! - b.rank! || b.modified - a.modified);
  if (!perOutput) return best.slice(0, limit);
  const taken = new Map<OutputKind | null, number>();
  return best.filter((candidate) => {
    const count = taken.get(candidate.output) ?? 0;
    taken.set(candidate.output, count + 1);
    return count < limit;
  });
}

/** One crate's plan from its listing. */
export function planCrate(
  objects: RemoteObject[],
  crate: string,
  settings: RemoteSettings,
  request: PrefetchRequest,
  budget: Budget,
): CratePlan {
  const manifests = objects.flatMap((object) => {
    const manifest = parseManifestObjectKey(object.key);
    return manifest ? [{ key: object.key, fingerprint: manifest.fingerprint }] : [];
  });
  const markers = objects.map((object) => parseToolchainMarker(object.key)).filter((m) => m !== null);
  const rank = request.session ? suitability(markers, request.session) : () => 2 as const;
  const marked = new Map(markers.map((marker) => [marker.key, marker]));
  const links = request.sessionLinks?.() ?? false;
  let checksLeft = 0;
  const candidates: Candidate[] = objects.flatMap((object) => {
    const entry = parseEntryObjectKey(settings, object.key);
    if (entry?.crate !== crate || request.haveEntry(entry.key)) return [];
    const marker = marked.get(entry.key);
    const modified = marker?.used ?? object.modified;
    const output = marker?.output ?? null;
    if (links && output === "meta") {
      checksLeft += 1;
      return [];
    }
    return [{ key: entry.key, size: object.size, modified, rank: rank(entry.key), output }];
  });
  const usable = new Set(candidates.filter((c) => c.rank !== null).map((c) => c.key));
  const first = savedFirst(request.saved, [crate], (entry) => !usable.has(entry.key), budget);
  const planned = new Set(first.map((entry) => entry.key));
  const entries: PlannedEntry[] = first.map(({ key, size }) => ({
    crate,
    key,
    size,
    used: -Infinity,
    output: null,
  }));
  const member = request.members.has(crate);
  const targets = request.targetsPerCrate?.get(crate) ?? 1;
  const newest = newestOf(
    candidates.filter((candidate) => candidate.rank !== null && !planned.has(candidate.key)),
    (member ? ENTRIES_PER_MEMBER_OUTPUT : ENTRIES_PER_CRATE) * targets,
    member,
  );
  for (const { key, size, modified, output } of newest) {
    if (size > budget.bytes) continue;
    budget.bytes -= size;
    entries.push({ crate, key, size, used: modified, output });
  }
  const otherCompiler = candidates.filter((candidate) => candidate.rank === null).length;
  // An archive carries the input list of its entry's invocation: with every usable entry on its
  // way, the crate's input lists would be a request each for nothing, and the first wrappers'
  // requests wait behind them.
  const taken = new Set(entries.map((entry) => entry.key));
  const allTaken = [...usable].every((key) => taken.has(key));
  return {
    manifests: allTaken ? [] : manifests,
    entries,
    fromSaved: first.length,
    otherCompiler,
    checksLeft,
  };
}

/**
 * Lists the crates, a few at a time in build order, and hands each crate's plan to `take` as soon
 * as its listing arrives: the downloads of the first crates start while later ones are listed.
 */
export async function eachCratePlan(
  list: (crate: string) => Promise<RemoteObject[]>,
  settings: RemoteSettings,
  request: PrefetchRequest,
  take: (plan: CratePlan) => void,
): Promise<void> {
  const budget = { bytes: PREFETCH_BUDGET_BYTES };
  let next = 0;
  const lister = async () => {
    while (next < request.crates.length) {
      const crate = request.crates[next++]!;
      take(planCrate(await list(crate), crate, settings, request, budget));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTINGS_AT_ONCE, request.crates.length) }, lister));
}
