// What a prefetch pulls for a workspace: its crates (from `cargo metadata`, dependencies first) and,
// per crate, the input lists and the newest entries the remote holds, within a byte budget.
import type { RemoteSettings } from "../config/settings";
import { parseManifestObjectKey } from "../remote/manifests";
import type { SavedEntry } from "../remote/namespaces";
import { parseEntryObjectKey, type RemoteObject } from "../remote/remote";

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
  haveEntry: (key: string) => boolean,
): SavedEntry[] {
  const wanted = new Set(crates);
  const picked: SavedEntry[] = [];
  let budget = PREFETCH_BUDGET_BYTES;
  for (const entry of [...saved].sort((a, b) => b.compileMs - a.compileMs)) {
    if (!wanted.has(entry.crate) || haveEntry(entry.key) || entry.size > budget) continue;
    budget -= entry.size;
    picked.push(entry);
  }
  return picked;
}

export interface PrefetchPlan {
  manifests: { key: string; fingerprint: string }[];
  entries: { crate: string; key: string; size: number }[];
}

/** Lists each crate's objects and picks what to pull: every input list, the newest entries. */
export async function planPrefetch(
  list: (crate: string) => Promise<RemoteObject[]>,
  settings: RemoteSettings,
  crates: string[],
  haveEntry: (key: string) => boolean,
): Promise<PrefetchPlan> {
  const plan: PrefetchPlan = { manifests: [], entries: [] };
  let budget = PREFETCH_BUDGET_BYTES;
  const listings: RemoteObject[][] = [];
  let next = 0;
  const lister = async () => {
    while (next < crates.length) {
      const index = next++;
      listings[index] = await list(crates[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTINGS_AT_ONCE, crates.length) }, lister));
  crates.forEach((crate, index) => {
    const objects = listings[index]!;
    for (const object of objects) {
      const list = parseManifestObjectKey(object.key);
      if (list) plan.manifests.push({ key: object.key, fingerprint: list.fingerprint });
    }
    const entries = objects
      .map((object) => ({ object, entry: parseEntryObjectKey(settings, object.key) }))
      .filter((item) => item.entry && item.entry.crate === crate && !haveEntry(item.entry.key))
      .sort((a, b) => b.object.modified - a.object.modified)
      .slice(0, ENTRIES_PER_CRATE);
    for (const { object, entry } of entries) {
      if (object.size > budget) continue;
      budget -= object.size;
      plan.entries.push({ crate, key: entry!.key, size: object.size });
    }
  });
  return plan;
}
