// Machine-local path roots and the sentinels that replace them, so keys and stored text are portable.
import { realpathSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, isAbsolute, resolve } from "node:path";

export type RootName = "WORKSPACE" | "TARGET" | "CARGO_HOME" | "RUSTUP_HOME" | "HOME" | "TMPDIR";

export interface PathRoot {
  name: RootName;
  path: string;
  /** Where a symlinked root leads: it normalises to the root's sentinel, which turns back into `path`'s twin. */
  alias?: boolean;
}

/** Roots whose literal presence in an output means the artifact is bound to this location. */
const BINDING_ROOTS: ReadonlySet<RootName> = new Set([
  "WORKSPACE",
  "TARGET",
  "CARGO_HOME",
  "RUSTUP_HOME",
  "HOME",
]);

function clean(path: string | undefined): string | null {
  if (!path) return null;
  const resolved = resolve(path);
  return resolved === "/" ? null : resolved.replace(/\/+$/, "");
}

/**
 * The target dir from rustc's `--out-dir`: `<target>/[<triple>/]<profile>/{deps,examples}` or
 * `<target>/[<triple>/]<profile>/build/<unit>` for build scripts.
 */
export function targetDirFromOutDir(outDir: string | null, triple: string | null): string | null {
  if (!outDir) return null;
  const dir = resolve(outDir);
  let profileDir: string;
  if (["deps", "examples"].includes(basename(dir))) profileDir = dirname(dir);
  else if (basename(dirname(dir)) === "build") profileDir = dirname(dirname(dir));
  else return null;
  let target = dirname(profileDir);
  if (triple && basename(target) === triple) target = dirname(target);
  return target;
}

/** Where a symlinked dir really is, or null: rustc names the libraries it links by that path. */
function realPathIfOther(path: string | null): string | null {
  if (!path) return null;
  try {
    const real = clean(realpathSync(path));
    return real === path ? null : real;
  } catch {
    return null;
  }
}

/**
 * The roots of one compiler call. `workspace` is the dir cargo runs a workspace member's compiler
 * in, or null for any other crate: cargo runs a registry, git or outside path crate's compiler in
 * the crate's own dir, which as WORKSPACE would make every dependency's paths (panics, `file!()`,
 * debug info) read `<WORKSPACE>/src/...`; its paths then fall under CARGO_HOME, HOME or TMPDIR.
 */
export function detectRoots(
  workspace: string | null,
  cwd: string,
  outDir: string | null,
  triple: string | null,
  env: Record<string, string | undefined>,
): PathRoot[] {
  const home = env.HOME || homedir();
  const target = clean(targetDirFromOutDir(outDir ? resolve(cwd, outDir) : null, triple) ?? undefined);
  const candidates: [RootName, string | null][] = [
    ["WORKSPACE", clean(workspace ?? undefined)],
    ["TARGET", target],
    ["CARGO_HOME", clean(env.CARGO_HOME || `${home}/.cargo`)],
    ["RUSTUP_HOME", clean(env.RUSTUP_HOME || `${home}/.rustup`)],
    ["HOME", clean(home)],
    ["TMPDIR", clean(env.TMPDIR || tmpdir())],
  ];
  const roots: PathRoot[] = candidates
    .filter((c): c is [RootName, string] => c[1] !== null && c[1].length > 1)
    .map(([name, path]) => ({ name, path }));
  const realTarget = realPathIfOther(target);
  if (realTarget) roots.push({ name: "TARGET", path: realTarget, alias: true });
  // Longest first so the most specific root claims a path (a target dir inside the workspace).
  return roots.sort((a, b) => b.path.length - a.path.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces roots by sentinels and back, only at path boundaries (`/root` never matches `/rootfs`). */
export class PathNormaliser {
  private readonly toSentinel: RegExp | null;
  private readonly fromSentinel = /<(WORKSPACE|TARGET|CARGO_HOME|RUSTUP_HOME|HOME|TMPDIR)>/g;
  private readonly byName: Map<RootName, string>;
  private readonly byPath: Map<string, RootName>;

  constructor(readonly roots: PathRoot[]) {
    this.byName = new Map(roots.filter((r) => !r.alias).map((r) => [r.name, r.path]));
    this.byPath = new Map(roots.map((r) => [r.path, r.name]));
    const alternatives = roots.map((r) => escapeRegExp(r.path)).join("|");
    this.toSentinel = alternatives ? new RegExp(`(${alternatives})(?=[/\\\\"'\\s:;,)\\]]|$)`, "gm") : null;
  }

  normalise(text: string): string {
    if (!this.toSentinel) return text;
    return text.replace(this.toSentinel, (match) => `<${this.byPath.get(match)}>`);
  }

  denormalise(text: string): string {
    return text.replace(this.fromSentinel, (match, name: RootName) => this.byName.get(name) ?? match);
  }

  /** A path as the key sees it: relative paths stay relative to the workspace (cwd). */
  normalisePath(path: string): string {
    return isAbsolute(path) ? this.normalise(resolve(path)) : path;
  }

  /** `--remap-path-prefix` args, least specific first because rustc applies the last match. */
  remapArgs(): string[] {
    return [...this.roots].reverse().map((r) => `--remap-path-prefix=${r.path}=<${r.name}>`);
  }

  /** True for a path inside the target dir (cargo's outputs). */
  readonly inTargetDir = (path: string): boolean =>
    this.roots.some((r) => r.name === "TARGET" && (path === r.path || path.startsWith(`${r.path}/`)));

  /** The roots whose literal presence in an artifact binds it to this location, shortest first. */
  bindingRoots(): PathRoot[] {
    return this.roots
      .filter((r) => BINDING_ROOTS.has(r.name) && r.path.length >= 4)
      .sort((a, b) => a.path.length - b.path.length);
  }

  /** The paths of the named roots here, as one string to bind a key to. */
  signatureOf(names: readonly string[]): string {
    return [...names]
      .sort()
      .map((name) => `${name}=${this.byName.get(name as RootName) ?? ""}`)
      .join("\n");
  }
}
