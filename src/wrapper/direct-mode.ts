// Direct mode: per invocation fingerprint, the inputs the last pre-pass found. While they all still
// match, the key is computed from this manifest and the dep-info pre-pass is skipped.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { IndexDb } from "../store/index-db";
import { contentCheckOfFile, hashParts } from "../util/hash";
import { digestKey, type KeyComponents } from "./cache-key";
import type { DepInfo } from "./dep-info";
import {
  envDepLine,
  hashOf,
  type KeyContext,
  linkInputPath,
  SYSROOT_SENTINEL,
  sourcePath,
} from "./key-components";
import { isUnder } from "./tool-identity";

export interface Manifest {
  /** Source paths as the key records them (relative, or absolute with sentinels) and content hashes. */
  sources: { path: string; hash: string }[];
  /** Env-dep name and the line the key recorded for it. */
  envDeps: [string, string][];
  /**
   * For a link: the files the linker read (sentinel paths; `<sysroot>/...` unhashed), else absent.
   * Other units' outputs also carry their content check, so a rebuilt rlib is told apart from the
   * recorded one at xxHash speed before anyone pays for its sha256, and their size, which tells
   * most rebuilt ones apart at the cost of a stat.
   */
  links?: { path: string; hash: string; check?: string; size?: number }[];
}

export interface KnownInputs {
  depInfo: DepInfo;
  hashes: Map<string, string>;
  /** A link's input files (absolute), or null for a call that does not link. */
  links: string[] | null;
}

/** Everything in the key except what dep-info and the link's input list decide (SPEC §3 items 7, 8, 12). */
export function invocationFingerprint(components: KeyComponents): string {
  // The inputs do not depend on whether the compile is incremental: both kinds share their lists.
  const rest = { ...components, incremental: [], sources: [], env_deps: [], link_inputs: [] };
  return hashParts(["direct-mode", digestKey(rest)]);
}

/** Content hashes of the sources and link inputs (the sysroot's files are left out: see linkInputLine). */
export function hashInputs(ctx: KeyContext, depInfo: DepInfo, links: string[] | null): Map<string, string> {
  const hashes = new Map(depInfo.sources.map((path) => [path, hashOf(ctx, path)]));
  for (const path of links ?? [])
    if (!isUnder(path, ctx.compiler.sysroot)) hashes.set(path, hashOf(ctx, path));
  return hashes;
}

/** Content checks read in this call: one file is checked once against every recorded list. */
const checksThisCall = new Map<string, string | null>();

function fileCheck(path: string): string | null {
  let check = checksThisCall.get(path);
  if (check !== undefined) return check;
  try {
    check = contentCheckOfFile(path);
  } catch {
    check = null;
  }
  checksThisCall.set(path, check);
  return check;
}

/** Sizes read in this call, like the content checks. */
const sizesThisCall = new Map<string, number | null>();

function fileSize(path: string): number | null {
  let size = sizesThisCall.get(path);
  if (size !== undefined) return size;
  try {
    size = statSync(path).size;
  } catch {
    size = null;
  }
  sizesThisCall.set(path, size);
  return size;
}

/**
 * A unit rebuilt since the list was recorded (the edit loop's crate, below the binary that links
 * it) is nearly always another size: one stat then rules the list out before any file is hashed.
 */
function linkSizeDiffers(manifest: Manifest, ctx: KeyContext): boolean {
  return (manifest.links ?? []).some(
    (link) => link.size !== undefined && fileSize(ctx.normaliser.denormalise(link.path)) !== link.size,
  );
}

/** Two input lists name the same sources and env values (a pre-pass result against a manifest). */
export function sameSources(a: DepInfo, b: DepInfo): boolean {
  const sorted = (list: string[]) => [...list].sort().join("\0");
  return sorted(a.sources) === sorted(b.sources) && JSON.stringify(a.envDeps) === JSON.stringify(b.envDeps);
}

/**
 * Input sets kept per fingerprint. Several, so that switching a branch back and forth (or reverting
 * an edit) still finds the inputs of each state without a pre-pass.
 */
export const MANIFESTS_PER_FINGERPRINT = 16;

/**
 * The inputs of the first recorded set whose files and env values all still match; otherwise null.
 * A link needs a set with its input list; `sources`, when given (a pre-pass result), must be the set's.
 */
export function inputsFromManifest(
  index: IndexDb,
  fingerprint: string,
  ctx: KeyContext,
  linking: boolean,
  sources?: DepInfo,
): KnownInputs | null {
  for (const text of index.getManifests(fingerprint, MANIFESTS_PER_FINGERPRINT)) {
    const manifest = JSON.parse(text) as Manifest;
    if (linking !== Boolean(manifest.links)) continue;
    const inputs = matchManifest(manifest, ctx);
    if (inputs && (!sources || sameSources(sources, inputs.depInfo))) return inputs;
  }
  return null;
}

/**
 * A file's hash while a recorded list is tried. Not `hashOf`: a list that does not match must not
 * leave its files guarded (the compile's own inputs are), or a file it named that is gone now
 * (`foo.rs` after a move to `foo/mod.rs`) would refuse every store of the crate for good.
 */
function candidateHash(ctx: KeyContext, path: string): string {
  return ctx.memo.hash(resolve(ctx.cwd, path)) ?? "missing";
}

function matchLinks(manifest: Manifest, ctx: KeyContext, hashes: Map<string, string>): string[] | null {
  if (!manifest.links) return null;
  const links: string[] = [];
  for (const link of manifest.links) {
    if (link.path.startsWith(SYSROOT_SENTINEL)) {
      links.push(ctx.compiler.sysroot + link.path.slice(SYSROOT_SENTINEL.length));
      continue;
    }
    const path = ctx.normaliser.denormalise(link.path);
    if (link.check && !ctx.memo.known(path) && fileCheck(path) !== link.check) return null;
    const hash = candidateHash(ctx, path);
    if (hash !== link.hash) return null;
    links.push(path);
    hashes.set(path, hash);
  }
  return links;
}

/**
 * The file that would make a module source ambiguous: `foo/mod.rs` for `foo.rs` and the other way
 * round. rustc fails (E0761) when both exist, and the new one is in no input list.
 */
function moduleTwin(path: string): string | null {
  if (!path.endsWith(".rs")) return null;
  if (basename(path) === "mod.rs") return `${dirname(path)}.rs`;
  return `${path.slice(0, -3)}/mod.rs`;
}

function matchManifest(manifest: Manifest, ctx: KeyContext): KnownInputs | null {
  if (linkSizeDiffers(manifest, ctx)) return null;
  const sources: string[] = [];
  const hashes = new Map<string, string>();
  for (const source of manifest.sources) {
    const path = ctx.normaliser.denormalise(source.path);
    const hash = candidateHash(ctx, path);
    if (hash !== source.hash) return null;
    // A registry's unpacked crates do not change, so no twin appears there.
    const twin = source.path.startsWith("<CARGO_HOME>/") ? null : moduleTwin(path);
    if (twin && existsSync(twin)) return null;
    sources.push(path);
    hashes.set(path, hash);
  }
  const envDeps: [string, string | null][] = [];
  for (const [name, line] of manifest.envDeps) {
    const value = ctx.env[name] ?? null;
    if (envDepLine(ctx.normaliser, name, value) !== line) return null;
    envDeps.push([name, value]);
  }
  const links = matchLinks(manifest, ctx, hashes);
  if (manifest.links && !links) return null;
  return { depInfo: { sources, envDeps }, hashes, links };
}

/**
 * The first input modified at or after `sinceNs` on the filesystem clock (mtime or ctime), or null.
 * Such a file may have changed between being read and being hashed, so neither a manifest nor an
 * entry may trust it. Anything older was complete before this call's compiler read it. For files
 * `byMtimeOnly` names (other units' outputs in the target dir) only the mtime counts: cargo and
 * kache link, rename and unlink those (a new ctime each time) while they stay the same bytes.
 */
export function inputModifiedSince(
  paths: string[],
  cwd: string,
  sinceNs: bigint,
  byMtimeOnly: (path: string) => boolean = () => false,
): string | null {
  for (const path of paths) {
    try {
      const absolute = resolve(cwd, path);
      const stat = statSync(absolute, { bigint: true });
      if (stat.mtimeNs >= sinceNs || (stat.ctimeNs >= sinceNs && !byMtimeOnly(absolute))) return path;
    } catch {
      return path;
    }
  }
  return null;
}

/** An input list as a manifest records it (sentinel paths, content hashes). */
export function manifestText(ctx: KeyContext, inputs: KnownInputs): string {
  const manifest: Manifest = {
    sources: inputs.depInfo.sources.map((path) => ({
      path: sourcePath(ctx.normaliser, path),
      hash: inputs.hashes.get(path) ?? hashOf(ctx, path),
    })),
    envDeps: inputs.depInfo.envDeps.map(([name, value]) => [name, envDepLine(ctx.normaliser, name, value)]),
  };
  if (inputs.links) {
    manifest.links = inputs.links.map((path) => ({
      path: linkInputPath(ctx, path),
      hash: isUnder(path, ctx.compiler.sysroot) ? "" : (inputs.hashes.get(path) ?? hashOf(ctx, path)),
    }));
  }
  return JSON.stringify(manifest);
}

/** Records an input list; refuses (returns false) when one of `guarded` changed during the call. */
export function recordManifest(
  index: IndexDb,
  fingerprint: string,
  ctx: KeyContext,
  inputs: KnownInputs,
  guarded: string[],
  callStartNs: bigint,
): boolean {
  if (inputModifiedSince(guarded, ctx.cwd, callStartNs, ctx.normaliser.inTargetDir) !== null) return false;
  index.putManifest(fingerprint, manifestText(ctx, inputs), MANIFESTS_PER_FINGERPRINT);
  return true;
}
