// Direct mode: per invocation fingerprint, the inputs the last pre-pass found. While they all still
// match, the key is computed from this manifest and the dep-info pre-pass is skipped.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import { digestKey, type KeyComponents } from "./cache-key";
import type { DepInfo } from "./dep-info";
import { envDepLine, hashOf, type KeyContext, sourcePath } from "./key-components";

interface Manifest {
  /** Source paths as the key records them (relative, or absolute with sentinels) and content hashes. */
  sources: { path: string; hash: string }[];
  /** Env-dep name and the line the key recorded for it. */
  envDeps: [string, string][];
}

export interface KnownInputs {
  depInfo: DepInfo;
  hashes: Map<string, string>;
}

/** Everything in the key except what dep-info decides (SPEC §3 items 7 and 8). */
export function invocationFingerprint(components: KeyComponents): string {
  return hashParts(["direct-mode", digestKey({ ...components, sources: [], env_deps: [] })]);
}

export function hashSources(ctx: KeyContext, depInfo: DepInfo): Map<string, string> {
  return new Map(depInfo.sources.map((path) => [path, hashOf(ctx, path)]));
}

/**
 * Input sets kept per fingerprint. Several, so that switching a branch back and forth (or reverting
 * an edit) still finds the inputs of each state without a pre-pass.
 */
export const MANIFESTS_PER_FINGERPRINT = 16;

/** The inputs of the first recorded set whose files and env values all still match; otherwise null. */
export function inputsFromManifest(index: IndexDb, fingerprint: string, ctx: KeyContext): KnownInputs | null {
  for (const text of index.getManifests(fingerprint, MANIFESTS_PER_FINGERPRINT)) {
    const inputs = matchManifest(JSON.parse(text) as Manifest, ctx);
    if (inputs) return inputs;
  }
  return null;
}

function matchManifest(manifest: Manifest, ctx: KeyContext): KnownInputs | null {
  const sources: string[] = [];
  const hashes = new Map<string, string>();
  for (const source of manifest.sources) {
    const path = ctx.normaliser.denormalise(source.path);
    const hash = hashOf(ctx, path);
    if (hash !== source.hash) return null;
    sources.push(path);
    hashes.set(path, hash);
  }
  const envDeps: [string, string | null][] = [];
  for (const [name, line] of manifest.envDeps) {
    const value = ctx.env[name] ?? null;
    if (envDepLine(ctx.normaliser, name, value) !== line) return null;
    envDeps.push([name, value]);
  }
  return { depInfo: { sources, envDeps }, hashes };
}

/**
 * The first input modified at or after `sinceNs` on the filesystem clock (mtime or ctime), or null.
 * Such a file may have changed between being read and being hashed, so neither a manifest nor an
 * entry may trust it. Anything older was complete before this call's compiler read it.
 */
export function inputModifiedSince(paths: string[], cwd: string, sinceNs: bigint): string | null {
  for (const path of paths) {
    try {
      const stat = statSync(resolve(cwd, path), { bigint: true });
      if (stat.mtimeNs >= sinceNs || stat.ctimeNs >= sinceNs) return path;
    } catch {
      return path;
    }
  }
  return null;
}

/** Records what the pre-pass found; refuses (returns false) when an input changed during the call. */
export function recordManifest(
  index: IndexDb,
  fingerprint: string,
  ctx: KeyContext,
  inputs: KnownInputs,
  callStartNs: bigint,
): boolean {
  if (inputModifiedSince(inputs.depInfo.sources, ctx.cwd, callStartNs) !== null) return false;
  const manifest: Manifest = {
    sources: inputs.depInfo.sources.map((path) => ({
      path: sourcePath(ctx.normaliser, path),
      hash: inputs.hashes.get(path) ?? hashOf(ctx, path),
    })),
    envDeps: inputs.depInfo.envDeps.map(([name, value]) => [name, envDepLine(ctx.normaliser, name, value)]),
  };
  index.putManifest(fingerprint, JSON.stringify(manifest), MANIFESTS_PER_FINGERPRINT);
  return true;
}
