// What a prefetch pulls for a workspace: its crates (from `cargo metadata`, dependencies first) and,
// per crate, the input lists and the newest entries the remote holds, within a byte budget.
import type { RemoteSettings } from "../config/settings";
import { parseManifestObjectKey } from "../remote/manifests";
import type { SavedEntry } from "../remote/namespaces";
import { parseEntryObjectKey, type RemoteObject } from "../remote/remote";
import { parseToolchainMarker, type Suitability, suitability } from "../remote/toolchain-markers";
import type { ToolchainTags } from "../wrapper/toolchain-tag";

/** Entries per crate a prefetch takes (the newest): one per profile and toolchain in use, roughly. */
const ENTRIES_PER_CRATE = 4;
/** Most bytes of archives one prefetch downloads. */
export const PREFETCH_BUDGET_BYTES = 2 * 1024 ** 3;

/** Target kinds a plain `cargo build` compiles. */
const BUILT_KINDS = new Set([
  "lib",
  "rlib",
  "dylib",
  "cdylib",
  "staticlib",
  "proc-macro",
  "bin",
  "custom-build",
]);
/** Parallel listings: the daemon's thread also answers every wrapper within 20 ms. */
const LISTINGS_AT_ONCE = 4;

interface Metadata {
  packages: { id: string; targets: { name: string; kind: string[] }[] }[];
  resolve: { nodes: { id: string; deps: { pkg: string }[] }[] } | null;
}

/** Crate names as rustc sees them, every dependency before what depends on it. */
export function cratesInBuildOrder(metadata: Metadata): string[] {
  const deps = new Map(
    (metadata.resolve?.nodes ?? []).map((node) => [node.id, node.deps.map((dep) => dep.pkg)]),
  );
  const byId = new Map(metadata.packages.map((pkg) => [pkg.id, pkg]));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const dep of deps.get(id) ?? []) visit(dep);
    for (const target of byId.get(id)?.targets ?? []) {
      if (!target.kind.some((kind) => BUILT_KINDS.has(kind))) continue; // examples, tests, benches
      const name = target.kind.includes("custom-build")
        ? "build_script_build"
        : target.name.replaceAll("-", "_");
      if (!order.includes(name)) order.push(name);
    }
  };
  for (const pkg of metadata.packages) visit(pkg.id);
  return order;
}

export async function cargoMetadata(cargo: string, projectDir: string): Promise<Metadata> {
  // --frozen: never touch the network, and never rewrite the user's Cargo.lock (it fails instead).
  const child = Bun.spawn([cargo, "metadata", "--format-version", "1", "--frozen"], {
    cwd: projectDir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(), 60_000);
  try {
    const [text, , code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    if (code !== 0) throw new Error(`cargo metadata exited with ${code} in ${projectDir}`);
    return JSON.parse(text) as Metadata;
  } finally {
    clearTimeout(timer);
  }
}

/** A saved manifest's entries of these crates that are not here yet, dearest first, within the budget. */
export function savedFirst(
  saved: SavedEntry[],
  crates: string[],
  skip: (entry: SavedEntry) => boolean,
): SavedEntry[] {
  const named = new Set(crates);
  const picked: SavedEntry[] = [];
  let budget = PREFETCH_BUDGET_BYTES;
  for (const entry of [...saved].sort((a, b) => b.compileMs - a.compileMs)) {
    if (!named.has(entry.crate) || skip(entry) || entry.size > budget) continue;
    budget -= entry.size;
    picked.push(entry);
  }
  return picked;
}

export interface PrefetchPlan {
  manifests: { key: string; fingerprint: string }[];
  entries: { crate: string; key: string; size: number }[];
}

export interface PrefetchRequest {
  crates: string[];
  /** The session's compiler and targets; null: any (a request from a kache before markers). */
  session: ToolchainTags | null;
  /** Entries a saved manifest names: pulled first, when this compiler built them. */
  saved: SavedEntry[];
  haveEntry: (key: string) => boolean;
}

async function listAll(list: (crate: string) => Promise<RemoteObject[]>, crates: string[]) {
  const listings: RemoteObject[][] = [];
  let next = 0;
  const lister = async () => {
    while (next < crates.length) {
      const index = next++;
      listings[index] = await list(crates[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTINGS_AT_ONCE, crates.length) }, lister));
  return listings;
}

interface Candidate {
  crate: string;
  key: string;
  size: number;
  modified: number;
  rank: Suitability;
}

/** A crate's entries that are not here yet, ranked for the session. */
function candidatesOf(
  objects: RemoteObject[],
  crate: string,
  settings: RemoteSettings,
  request: PrefetchRequest,
): Candidate[] {
  const markers = objects.map((object) => parseToolchainMarker(object.key)).filter((m) => m !== null);
  const rank = request.session ? suitability(markers, request.session) : () => 2 as const;
  return objects.flatMap((object) => {
    const entry = parseEntryObjectKey(settings, object.key);
    if (entry?.crate !== crate || request.haveEntry(entry.key)) return [];
    return [{ crate, key: entry.key, size: object.size, modified: object.modified, rank: rank(entry.key) }];
  });
}

/**
 * Lists each crate's objects and picks what to pull: every input list, then the saved manifest's
 * entries, then per crate the newest entries this compiler built (for the session's targets
 * first). Never an entry another compiler built.
 */
export async function planPrefetch(
  list: (crate: string) => Promise<RemoteObject[]>,
  settings: RemoteSettings,
  request: PrefetchRequest,
): Promise<PrefetchPlan & { fromSaved: number; otherCompiler: number }> {
  const { crates } = request;
  const listings = await listAll(list, crates);
  const manifests = listings.flat().flatMap((object) => {
    const manifest = parseManifestObjectKey(object.key);
    return manifest ? [{ key: object.key, fingerprint: manifest.fingerprint }] : [];
  });
  const candidates = crates.map((crate, index) => candidatesOf(listings[index]!, crate, settings, request));
  const usable = new Set(
    candidates.flat().flatMap((candidate) => (candidate.rank === null ? [] : [candidate.key])),
  );
  const first = savedFirst(request.saved, crates, (entry) => !usable.has(entry.key));
  const entries = first.map(({ crate, key, size }) => ({ crate, key, size }));
  const planned = new Set(first.map((entry) => entry.key));
  let budget = PREFETCH_BUDGET_BYTES - first.reduce((sum, entry) => sum + entry.size, 0);
  for (const ofCrate of candidates) {
    const newest = ofCrate
      .filter((candidate) => candidate.rank !== null && !planned.has(candidate.key))
      .sort((a, b) => a.rank! - b.rank! || b.modified - a.modified)
      .slice(0, ENTRIES_PER_CRATE);
    for (const { crate, key, size } of newest) {
      if (size > budget) continue;
      budget -= size;
      entries.push({ crate, key, size });
    }
  }
  const otherCompiler = candidates.flat().filter((candidate) => candidate.rank === null).length;
  return { manifests, entries, fromSaved: first.length, otherCompiler };
}
