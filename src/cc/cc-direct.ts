// Direct mode for C/C++: the files a compile's preprocessor read (its line markers), recorded with
// their hashes, key a later identical call without running the preprocessor again.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { digestKey, type KeyComponents } from "../wrapper/cache-key";

/** Input lists kept per call fingerprint: a few header variants (branches) each. */
const MANIFESTS_PER_FINGERPRINT = 8;

/** How many trailing path parts of a header an `#include` may have named (`<sys/types.h>`: 2). */
const INCLUDE_DEPTH = 2;

interface CcManifest {
  key: string;
  /** Normalised path and sha256 of every file the preprocessor read. */
  inputs: [string, string][];
  /**
   * Normalised paths that did not exist when the list was recorded, but would be read instead of
   * a recorded header if they came to exist (the same name in another include dir). Any of them
   * appearing sends the call back to the preprocessor.
   */
  absent?: string[];
}

/**
 * Where a header the preprocessor read could be shadowed by a new file: its last one or two path
 * parts under every include dir of the call and every dir an input came from (a quoted include
 * searches the includer's dir first). Only paths absent now are kept.
 */
export function shadowCandidates(inputs: string[], includeDirs: string[]): string[] {
  const read = new Set(inputs);
  const dirs = [...new Set([...includeDirs, ...inputs.map((input) => dirname(input))])];
  const candidates = new Set<string>();
  for (const input of inputs) {
    const parts = input.split("/");
    for (let depth = 1; depth <= Math.min(INCLUDE_DEPTH, parts.length - 2); depth++) {
      const name = parts.slice(-depth).join("/");
      for (const dir of dirs) {
        const candidate = join(dir, name);
        if (!read.has(candidate)) candidates.add(candidate);
      }
    }
  }
  return [...candidates].filter((candidate) => !existsSync(candidate));
}

/** The call without its sources' contents: which source, which flags, which compiler, which epoch. */
export function ccFingerprint(
  components: KeyComponents,
  source: string,
  cwd: string,
  env: Record<string, string | undefined>,
  normaliser: PathNormaliser,
): string {
  const where = normaliser.normalisePath(resolve(cwd, source));
  return hashParts(["cc-direct", digestKey(components), where, env.SOURCE_DATE_EPOCH ?? ""]);
}

function matches(manifest: CcManifest, memo: FileHashMemo, normaliser: PathNormaliser): boolean {
  // A list from before kache recorded absent paths cannot show a shadowing header: not trusted.
  if (!manifest.absent) return false;
  if (!manifest.inputs.every(([path, hash]) => memo.hash(normaliser.denormalise(path)) === hash))
    return false;
  return manifest.absent.every((path) => !existsSync(normaliser.denormalise(path)));
}

/** The key of a recorded input list whose files all still hash the same, or null. */
export function directKey(
  index: IndexDb,
  memo: FileHashMemo,
  fingerprint: string,
  normaliser: PathNormaliser,
): string | null {
  for (const text of index.getManifests(fingerprint, MANIFESTS_PER_FINGERPRINT)) {
    try {
      const manifest = JSON.parse(text) as CcManifest;
      if (matches(manifest, memo, normaliser)) return manifest.key;
    } catch {
      // an unreadable list is skipped; the preprocessor decides
    }
  }
  return null;
}

/**
 * Records what this call's preprocessor read under `key`. A file written since the call began may
 * not be what the preprocessor saw: then nothing is recorded and the next call preprocesses again.
 */
export function recordManifest(
  stores: { index: IndexDb; memo: FileHashMemo },
  fingerprint: string,
  key: string,
  read: { paths: string[]; includeDirs: string[] },
  normaliser: PathNormaliser,
  startedWallMs: number,
): boolean {
  // __TIMESTAMP__ expands to a file's mtime, which no content hash sees: such calls always preprocess.
  if (read.paths.some((path) => readFileSync(path).includes("__TIMESTAMP__"))) return false;
  const inputs: [string, string][] = [];
  for (const path of read.paths) {
    const hash = stores.memo.hash(path);
    if (hash === null || statSync(path).mtimeMs >= startedWallMs - 10) return false;
    inputs.push([normaliser.normalise(path), hash]);
  }
  const absent = shadowCandidates(read.paths, read.includeDirs).map((path) => normaliser.normalise(path));
  const manifest: CcManifest = { key, inputs, absent };
  stores.index.putManifest(fingerprint, JSON.stringify(manifest), MANIFESTS_PER_FINGERPRINT);
  stores.memo.flush();
  return true;
}
