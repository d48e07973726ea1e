// Direct mode for C/C++: the files a compile's preprocessor read (its line markers), recorded with
// their hashes, key a later identical call without running the preprocessor again.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { digestKey, type KeyComponents } from "../wrapper/cache-key";

/** Input lists kept per call fingerprint: a few header variants (branches) each. */
const MANIFESTS_PER_FINGERPRINT = 8;

interface CcManifest {
  key: string;
  /** Normalised path and sha256 of every file the preprocessor read. */
  inputs: [string, string][];
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
  return manifest.inputs.every(([path, hash]) => memo.hash(normaliser.denormalise(path)) === hash);
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
  paths: string[],
  normaliser: PathNormaliser,
  startedWallMs: number,
): boolean {
  const inputs: [string, string][] = [];
  for (const path of paths) {
    const hash = stores.memo.hash(path);
    if (hash === null || statSync(path).mtimeMs >= startedWallMs - 10) return false;
    inputs.push([normaliser.normalise(path), hash]);
  }
  const manifest: CcManifest = { key, inputs };
  stores.index.putManifest(fingerprint, JSON.stringify(manifest), MANIFESTS_PER_FINGERPRINT);
  stores.memo.flush();
  return true;
}
