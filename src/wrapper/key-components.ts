// Builds each key component from the parsed args, dep-info, environment and tool identities.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { FileHashMemo } from "../store/file-hash-memo";
import { KEY_FORMAT_VERSION, type KeyComponents } from "./cache-key";
import type { DepInfo } from "./dep-info";
import type { PathNormaliser } from "./path-roots";
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
  remapApplied: boolean;
  salt: string;
  extraInputs: { patterns: string[]; files: { path: string; hash: string }[] };
}

export function hashOf(ctx: KeyContext, path: string): string {
  return ctx.memo.hash(resolve(ctx.cwd, path)) ?? "missing";
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

/** Fills the two components that come from dep-info (SPEC §3 items 7 and 8). */
export function withDepInfo(
  components: KeyComponents,
  ctx: KeyContext,
  depInfo: DepInfo,
  hashes: Map<string, string>,
): KeyComponents {
  return {
    ...components,
    sources: depInfo.sources
      .map((path) => `${sourcePath(ctx.normaliser, path)}=${hashes.get(path) ?? hashOf(ctx, path)}`)
      .sort(),
    env_deps: depInfo.envDeps.map(([name, value]) => envDepLine(ctx.normaliser, name, value)),
  };
}

function externLines(ctx: KeyContext): string[] {
  return ctx.args.externs
    .map(({ name, path }) => {
      if (path === null) return name;
      const absolute = resolve(ctx.cwd, path);
      if (isUnder(absolute, ctx.compiler.sysroot)) return `${name}=<sysroot>`;
      return `${name}=${hashOf(ctx, absolute)}`;
    })
    .sort();
}

/** `-l static=foo` links `libfoo.a` into the output: its bytes matter, so find and hash it. */
function nativeLibLines(ctx: KeyContext): string[] {
  const dirs = ctx.args.searchPaths
    .map((spec) => {
      const eq = spec.indexOf("=");
      const kind = eq === -1 ? "all" : spec.slice(0, eq);
      return { kind, dir: eq === -1 ? spec : spec.slice(eq + 1) };
    })
    .filter((p) => p.kind === "all" || p.kind === "native")
    .map((p) => resolve(ctx.cwd, p.dir));
  return ctx.args.nativeLibs.map((spec) => {
    const eq = spec.indexOf("=");
    const kind = eq === -1 ? "" : spec.slice(0, eq);
    const name = (eq === -1 ? spec : spec.slice(eq + 1)).split(":")[0]!;
    if (!kind.startsWith("static")) return spec;
    const found = dirs.map((dir) => join(dir, `lib${name}.a`)).find((file) => existsSync(file));
    return `${spec}=${found ? hashOf(ctx, found) : "not-found"}`;
  });
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

/** Every component except sources and env-deps, which `withDepInfo` adds. */
export function buildKeyComponents(ctx: KeyContext): KeyComponents {
  const { args, normaliser, env } = ctx;
  const n = (text: string) => normaliser.normalise(text);
  const codegen = [...args.codegen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    format: [String(KEY_FORMAT_VERSION)],
    compiler: [ctx.compiler.version],
    wrapper: ctx.wrapperVersion === null ? [] : [ctx.wrapperVersion, ...clippyConfigLines(ctx)],
    target: [targetLine(ctx)],
    crate: [
      `name=${args.crateName}`,
      `types=${[...args.crateTypes].sort().join(",")}`,
      `edition=${args.edition ?? ""}`,
      `test=${args.isTest}`,
    ],
    codegen: codegen.map(([key, value]) => `${key}=${n(value)}`),
    flags: [
      `out-dir=${args.outDir ? normaliser.normalisePath(args.outDir) : ""}`,
      `input=${args.input ? normaliser.normalisePath(args.input) : ""}`,
      `emit=${args.emit.join(",")}`,
      ...args.searchPaths.map((p) => `-L ${n(p)}`),
      ...args.remaps.map((r) => `remap ${n(r)}`),
      ...args.otherFlags.map(n),
    ],
    cfg: [...args.cfgs].sort(),
    sources: [],
    env_deps: [],
    externs: externLines(ctx),
    native_libs: nativeLibLines(ctx),
    rustflags: ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"].map((name) => `${name}=${n(env[name] ?? "")}`),
    cargo_cfg: Object.keys(env)
      .filter((name) => name.startsWith("CARGO_CFG_"))
      .sort()
      .map((name) => `${name}=${env[name]}`),
    env: COMPILER_ENV.filter((name) => env[name] !== undefined).map((name) => `${name}=${n(env[name]!)}`),
    linker: ctx.linkerVersion === null ? [] : [ctx.linkerVersion],
    remap: [ctx.remapApplied ? "sentinels" : "none"],
    salt: ctx.salt ? [ctx.salt] : [],
    extra_inputs: [
      ...ctx.extraInputs.patterns.map((p) => `pattern ${p}`),
      ...ctx.extraInputs.files.map((f) => `${f.path}=${f.hash}`),
    ],
  };
}
