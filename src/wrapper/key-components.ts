// Builds each key component from the parsed args, dep-info, environment and tool identities.
import { existsSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { PathNormaliser } from "../util/path-roots";
import { bundlableDirs, nativeSearchDir } from "./bundled-archives";
import { KEY_FORMAT_VERSION, type KeyComponents } from "./cache-key";
import { declaredEnvLines } from "./declared-env";
import type { DepInfo } from "./dep-info";
import type { RustcArgs } from "./rustc-args";
import { type CompilerIdentity, isUnder } from "./tool-identity";

/** Cargo variables whose values are paths: normalised so another checkout gets the same key. */
const PATH_VALUED_ENV = new Set([
  "OUT_DIR",
  "CARGO_MANIFEST_DIR",
  "CARGO_MANIFEST_PATH",
  "CARGO_TARGET_TMPDIR",
  "CARGO_RUSTC_CURRENT_DIR",
  "CARGO_WORKSPACE_DIR",
  "CARGO",
]);

/** Variables rustc or clippy read that change output but never show up as env-deps. */
const COMPILER_ENV = [
  "RUSTC_BOOTSTRAP",
  "MACOSX_DEPLOYMENT_TARGET",
  "IPHONEOS_DEPLOYMENT_TARGET",
  "TVOS_DEPLOYMENT_TARGET",
  "WATCHOS_DEPLOYMENT_TARGET",
  "CLIPPY_ARGS",
  "CLIPPY_CONF_DIR",
];

export interface KeyContext {
  args: RustcArgs;
  cwd: string;
  env: Record<string, string | undefined>;
  compiler: CompilerIdentity;
  /** `--version` of clippy-driver or another wrapper before rustc, when present. */
  wrapperVersion: string | null;
  normaliser: PathNormaliser;
  memo: FileHashMemo;
  linkerVersion: string | null;
  /** `-C target-cpu=native` (and `-Z tune-cpu=native`) as this machine resolves it. */
  nativeCpu: () => string;
  remapApplied: boolean;
  /** The call compiles incrementally (cargo asked, and cache.incremental is keep). */
  incremental: boolean;
  salt: string;
  /** cache.key_env_vars. */
  keyEnvVars: string[];
  extraInputs: { patterns: string[]; files: { path: string; absolute: string; hash: string }[] };
  /** Every file whose hash went into the key, absolute: checked again after the compile. */
  hashedFiles: Set<string>;
}

/** A file's content hash for the key; every such file is checked again after the compile. */
export function hashOf(ctx: KeyContext, path: string): string {
  const absolute = resolve(ctx.cwd, path);
  ctx.hashedFiles.add(absolute);
  return ctx.memo.hash(absolute) ?? "missing";
}

/** An env-dep as the key and the direct-mode manifest record it. */
export function envDepLine(normaliser: PathNormaliser, name: string, value: string | null): string {
  if (value === null) return name;
  const pathValued = PATH_VALUED_ENV.has(name) || name.startsWith("CARGO_BIN_EXE_");
  return `${name}=${pathValued ? normaliser.normalise(value) : value}`;
}

/** A source as the key records it: its path as rustc names it (absolute ones normalised) and its hash. */
export function sourcePath(normaliser: PathNormaliser, path: string): string {
  return isAbsolute(path) ? normaliser.normalisePath(path) : path;
}

export const SYSROOT_SENTINEL = "<sysroot>";

/** A link input's path as the key and manifests record it: the sysroot's under its own sentinel. */
export function linkInputPath(ctx: KeyContext, path: string): string {
  if (isUnder(path, ctx.compiler.sysroot))
    return `${SYSROOT_SENTINEL}${path.slice(ctx.compiler.sysroot.length)}`;
  return ctx.normaliser.normalisePath(path);
}

/** A link input as the key records it; the sysroot's files are covered by the compiler identity. */
function linkInputLine(ctx: KeyContext, path: string, hash: string | undefined): string {
  const shown = linkInputPath(ctx, path);
  return shown.startsWith(SYSROOT_SENTINEL) ? shown : `${shown}=${hash ?? hashOf(ctx, path)}`;
}

/** Fills the components that come from dep-info and the link's input list (SPEC §3 items 7, 8, 12). */
export function withDepInfo(
  components: KeyComponents,
  ctx: KeyContext,
  depInfo: DepInfo,
  hashes: Map<string, string>,
  links: string[] | null,
): KeyComponents {
  return {
    ...components,
    sources: depInfo.sources
      .map((path) => `${sourcePath(ctx.normaliser, path)}=${hashes.get(path) ?? hashOf(ctx, path)}`)
      .sort(),
    env_deps: depInfo.envDeps.map(([name, value]) => envDepLine(ctx.normaliser, name, value)),
    link_inputs: (links ?? []).map((path) => linkInputLine(ctx, path, hashes.get(path))).sort(),
  };
}

/**
 * Each `--extern` by content. A link reads every rlib it is given, so a linking call's rlibs are
 * keyed by the linker's own list (link_inputs) instead of here: a dependency that was just rebuilt
 * is then told apart from the recorded one by its xxHash check before anyone reads it for sha256,
 * which on the edit loop would sit between the dependency's compile and the link.
 */
function externLines(ctx: KeyContext, linking: boolean): string[] {
  return ctx.args.externs
    .map(({ name, path }) => {
      if (path === null) return name;
      const absolute = resolve(ctx.cwd, path);
      if (isUnder(absolute, ctx.compiler.sysroot)) return `${name}=<sysroot>`;
      if (linking && absolute.endsWith(".rlib")) return `${name}=<linked>`;
      return `${name}=${hashOf(ctx, absolute)}`;
    })
    .sort();
}

function nativeSearchDirs(ctx: KeyContext): string[] {
  return ctx.args.searchPaths.map((spec) => nativeSearchDir(spec, ctx.cwd)).filter((dir) => dir !== null);
}

/** Static archives in a search dir: a library crate may bundle any of them, named by `-l` or `#[link]`. */
function staticArchives(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(".a") || name.endsWith(".lib"))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/**
 * `-l static=foo` links `libfoo.a` into the output: its bytes matter, so find and hash it. A
 * library crate also bundles what a `#[link(kind = "static")]` attribute names, found in the
 * search dirs without any `-l`: every archive in the dirs its own build script named is hashed
 * for that (bundled-archives.ts). (A link's reads come from the linker's input list.)
 */
function nativeLibLines(ctx: KeyContext, linking: boolean): string[] {
  const dirs = nativeSearchDirs(ctx);
  const lines = ctx.args.nativeLibs.map((spec) => {
    const eq = spec.indexOf("=");
    const kind = eq === -1 ? "" : spec.slice(0, eq);
    const [name, rename] = (eq === -1 ? spec : spec.slice(eq + 1)).split(":");
    if (!kind.startsWith("static")) return spec;
    const file = kind.includes("+verbatim") ? (rename ?? name)! : `lib${rename ?? name}.a`;
    const found = dirs.map((dir) => join(dir, file)).find((path) => existsSync(path));
    return `${spec}=${found ? hashOf(ctx, found) : "not-found"}`;
  });
  if (linking) return lines;
  const call = { cwd: ctx.cwd, outDir: ctx.env.OUT_DIR, sysroot: ctx.compiler.sysroot };
  for (const archive of bundlableDirs(dirs, call).flatMap(staticArchives))
    lines.push(`archive ${ctx.normaliser.normalisePath(archive)}=${hashOf(ctx, archive)}`);
  return lines;
}

/** Host-dependent codegen (`native`) is keyed as what it means on this machine, never as the word. */
function codegenValue(ctx: KeyContext, key: string, value: string): string {
  if (key === "target-cpu" && value === "native") return `native(${ctx.nativeCpu()})`;
  return ctx.normaliser.normalise(value);
}

function otherFlagLine(ctx: KeyContext, flag: string): string {
  if (/^-Z ?tune-cpu=native$/.test(flag)) return `-Z tune-cpu=native(${ctx.nativeCpu()})`;
  return ctx.normaliser.normalise(flag);
}

function targetLine(ctx: KeyContext): string {
  const target = ctx.args.target;
  if (!target) return ctx.compiler.host;
  if (target.endsWith(".json")) return `json:${hashOf(ctx, target)}`;
  return target;
}

/** Clippy reads clippy.toml from CLIPPY_CONF_DIR or the crate dir upwards; it is part of its output. */
function clippyConfigLines(ctx: KeyContext): string[] {
  let dir = ctx.env.CLIPPY_CONF_DIR ?? ctx.env.CARGO_MANIFEST_DIR;
  while (dir) {
    for (const name of ["clippy.toml", ".clippy.toml"]) {
      const file = join(dir, name);
      if (existsSync(file)) return [`${name}=${hashOf(ctx, file)}`];
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return [];
}

/** How the outputs were built: an incremental compile's outputs are never served to a plain call. */
export function buildKind(incremental: boolean): string {
  return incremental ? "incremental" : "plain";
}

/** What a wrapper (clippy-driver) decides from: its version, its config and whether the crate is primary. */
function wrapperLines(ctx: KeyContext): string[] {
  if (ctx.wrapperVersion === null) return [];
  // With --no-deps, clippy lints only crates cargo marks primary: the same call is then a plain compile.
  const primary = `primary=${ctx.env.CARGO_PRIMARY_PACKAGE !== undefined}`;
  return [ctx.wrapperVersion, primary, ...clippyConfigLines(ctx)];
}

/** Every component except sources, env-deps and link inputs, which `withDepInfo` adds. */
export function buildKeyComponents(ctx: KeyContext, linking: boolean): KeyComponents {
  const { args, normaliser, env } = ctx;
  const n = (text: string) => normaliser.normalise(text);
  const codegen = [...args.codegen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    format: [String(KEY_FORMAT_VERSION)],
    compiler: [ctx.compiler.version],
    wrapper: wrapperLines(ctx),
    target: [targetLine(ctx)],
    crate: [
      `name=${args.crateName}`,
      `types=${[...args.crateTypes].sort().join(",")}`,
      `edition=${args.edition ?? ""}`,
      `test=${args.isTest}`,
    ],
    codegen: codegen.map(([key, value]) => `${key}=${codegenValue(ctx, key, value)}`),
    incremental: [buildKind(ctx.incremental)],
    flags: [
      `out-dir=${args.outDir ? normaliser.normalisePath(args.outDir) : ""}`,
      `input=${args.input ? normaliser.normalisePath(args.input) : ""}`,
      `emit=${args.emit.join(",")}`,
      ...args.searchPaths.map((p) => `-L ${n(p)}`),
      ...args.remaps.map((r) => `remap ${n(r)}`),
      ...args.otherFlags.map((flag) => otherFlagLine(ctx, flag)),
    ],
    cfg: [...args.cfgs].sort(),
    sources: [],
    env_deps: [],
    externs: externLines(ctx, linking),
    native_libs: nativeLibLines(ctx, linking),
    rustflags: ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"].map((name) => `${name}=${n(env[name] ?? "")}`),
    cargo_cfg: Object.keys(env)
      .filter((name) => name.startsWith("CARGO_CFG_"))
      .sort()
      .map((name) => `${name}=${env[name]}`),
    env: [
      ...COMPILER_ENV.filter((name) => env[name] !== undefined).map((name) => `${name}=${n(env[name]!)}`),
      ...declaredEnvLines(ctx.keyEnvVars, env),
    ],
    linker: ctx.linkerVersion === null ? [] : [ctx.linkerVersion],
    link_inputs: [],
    remap: [ctx.remapApplied ? "sentinels" : "none"],
    salt: ctx.salt ? [ctx.salt] : [],
    extra_inputs: [
      ...ctx.extraInputs.patterns.map((p) => `pattern ${p}`),
      ...ctx.extraInputs.files.map((f) => `${f.path}=${f.hash}`),
    ],
  };
}
