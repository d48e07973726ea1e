// The crates a prefetch is for: a workspace's, from `cargo metadata`, dependencies first (what to
// pull of each is prefetch-plan.ts).

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { withoutJobserver } from "../util/jobserver-env";

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

export interface Metadata {
  packages: { id: string; targets: { name: string; kind: string[] }[] }[];
  resolve: { nodes: { id: string; deps: { pkg: string }[] }[] } | null;
  workspace_members?: string[];
}

/**
 * The crates of the workspace's own packages (not their build scripts, whose crate name every
 * package shares). Each edit of a member makes another entry in the bucket.
 */
export function memberCrates(metadata: Metadata): Set<string> {
  const members = new Set(metadata.workspace_members ?? []);
  return new Set(
    metadata.packages
      .filter((pkg) => members.has(pkg.id))
      .flatMap((pkg) => pkg.targets)
      .filter((target) => target.kind.some((kind) => BUILT_KINDS.has(kind) && kind !== "custom-build"))
      .map(crateName),
  );
}

/** The crate name rustc compiles a target under: every build script is `build_script_build`. */
function crateName(target: { name: string; kind: string[] }): string {
  return target.kind.includes("custom-build") ? "build_script_build" : target.name.replaceAll("-", "_");
}

/**
 * How many of the workspace's targets each crate name stands for: one listing holds the entries of
 * every build script, and of each version of a crate the graph has twice.
 */
export function targetsPerCrate(metadata: Metadata): Map<string, number> {
  const counts = new Map<string, number>();
  for (const target of metadata.packages.flatMap((pkg) => pkg.targets)) {
    if (!target.kind.some((kind) => BUILT_KINDS.has(kind))) continue;
    const name = crateName(target);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
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
      const name = crateName(target);
      if (!order.includes(name)) order.push(name);
    }
  };
  for (const pkg of metadata.packages) visit(pkg.id);
  return order;
}

/**
 * A `Cargo.lock` in `dir` or a directory above it: `dir` is inside a workspace cargo has resolved
 * (cargo run in a member's dir), not a build script's or a registry crate's dir.
 */
export function insideWorkspace(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, "Cargo.lock"))) return true;
    if (dirname(at) === at) return false;
  }
}

export async function cargoMetadata(cargo: string, projectDir: string): Promise<Metadata> {
  // --frozen: never touch the network, and never rewrite the user's Cargo.lock (it fails instead).
  const child = Bun.spawn([cargo, "metadata", "--format-version", "1", "--frozen"], {
    cwd: projectDir,
    env: withoutJobserver(process.env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill(), 60_000);
  try {
    const [text, errors, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    if (code !== 0) {
      const said = errors.trim().split("\n").at(-1) ?? "";
      throw new Error(`cargo metadata exited with ${code} in ${projectDir}${said ? `: ${said}` : ""}`);
    }
    return JSON.parse(text) as Metadata;
  } finally {
    clearTimeout(timer);
  }
}
