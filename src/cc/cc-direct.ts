// Direct mode for C/C++: the files a compile's preprocessor read (its line markers), recorded with
// their hashes, key a later identical call without running the preprocessor again.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { IndexDb } from "../store/index-db";
import { hashParts } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { digestKey, type KeyComponents } from "../wrapper/cache-key";
import { isUnder } from "../wrapper/tool-identity";
import type { CcArgs } from "./cc-args";
import { keyFlag } from "./cc-key";

/** Input lists kept per call fingerprint: a few header variants (branches) each. */
const MANIFESTS_PER_FINGERPRINT = 8;

/** How many trailing path parts of a header an includer-relative `#include` may have named (`"sys/x.h"`: 2). */
const INCLUDE_DEPTH = 2;

interface CcManifest {
  key: string;
  /**
   * Every file the preprocessor read, with its sha256: as its line markers name it when that is
   * relative (found from the call's dir, so another checkout's call finds its own), else normalised.
   */
  inputs: [string, string][];
  /**
   * Paths, in the same form, that did not exist when the list was recorded but would be read
   * instead of a recorded header if they came to exist (the same name in an earlier include dir).
   * Any of them appearing sends the call back to the preprocessor.
   */
  absent?: string[];
  /** Set by the kache that records inputs as their line markers name them: older lists are not trusted. */
  spelled?: true;
}

/**
 * The names an included file may have been asked for by: its last one or two path parts (an
 * includer-relative include), and its path under each include dir that holds it (`<a/b/c.h>`).
 */
function includeNames(name: string, dirs: string[], cwd: string): Set<string> {
  const names = new Set<string>();
  const parts = name.split("/");
  for (let depth = 1; depth <= Math.min(INCLUDE_DEPTH, parts.length - 1); depth++)
    names.add(parts.slice(-depth).join("/"));
  const path = resolve(cwd, name);
  for (const dir of dirs) {
    const root = resolve(cwd, dir);
    if (path.startsWith(`${root}/`)) names.add(path.slice(root.length + 1));
  }
  return names;
}

/**
 * Where a header the preprocessor read could be shadowed by a new file: each name it may have been
 * asked for under every include dir of the call and every dir an input came from (a quoted include
 * searches the includer's dir first). Names and dirs as the call spells them (relative to `cwd`,
 * or absolute); only paths absent now are kept.
 */
export function shadowCandidates(names: string[], includeDirs: string[], cwd: string): string[] {
  const read = new Set(names.map((name) => resolve(cwd, name)));
  const dirs = [...new Set([...includeDirs, ...names.map((name) => dirname(name))])];
  const candidates = new Set<string>();
  for (const name of names)
    for (const asked of includeNames(name, includeDirs, cwd))
      for (const dir of dirs) {
        const candidate = join(dir, asked);
        if (!read.has(resolve(cwd, candidate))) candidates.add(candidate);
      }
  return [...candidates].filter((candidate) => !existsSync(resolve(cwd, candidate)));
}

/** A recorded path: a relative one as it is (found from the call's dir), an absolute one normalised. */
function recorded(name: string, normaliser: PathNormaliser): string {
  return isAbsolute(name) ? normaliser.normalise(resolve(name)) : name;
}

/** Where a recorded path is for this call. */
function located(path: string, cwd: string, normaliser: PathNormaliser): string {
  return resolve(cwd, normaliser.denormalise(path));
}

/**
 * The call without its sources' contents: which source, where it is and how it is spelled (the
 * spelling is `__FILE__`), which flags and where their relative paths lead from here (`-I../inc`
 * is the same flag in another checkout, but other headers), which compiler, which epoch.
 */
export function ccFingerprint(
  components: KeyComponents,
  args: CcArgs,
  cwd: string,
  env: Record<string, string | undefined>,
  normaliser: PathNormaliser,
): string {
  const source = args.source!;
  const where = normaliser.normalisePath(resolve(cwd, source));
  const leads = args.flags.filter((flag) => flag.path).map((flag) => keyFlag(flag, normaliser, cwd));
  return hashParts([
    "cc-direct",
    digestKey(components),
    where,
    `spelled ${normaliser.normalisePath(source)}`,
    ...leads,
    env.SOURCE_DATE_EPOCH ?? "",
  ]);
}

function matches(manifest: CcManifest, memo: FileHashMemo, cwd: string, normaliser: PathNormaliser): boolean {
  // A list from before kache recorded absent paths, or inputs as spelled, may name another
  // checkout's headers or miss a shadowing one: not trusted.
  if (!manifest.absent || !manifest.spelled) return false;
  if (!manifest.inputs.every(([path, hash]) => memo.hash(located(path, cwd, normaliser)) === hash))
    return false;
  return manifest.absent.every((path) => !existsSync(located(path, cwd, normaliser)));
}

/** The key of a recorded input list whose files all still hash the same, or null. */
export function directKey(
  index: IndexDb,
  memo: FileHashMemo,
  fingerprint: string,
  cwd: string,
  normaliser: PathNormaliser,
): string | null {
  for (const text of index.getManifests(fingerprint, MANIFESTS_PER_FINGERPRINT)) {
    try {
      const manifest = JSON.parse(text) as CcManifest;
      if (matches(manifest, memo, cwd, normaliser)) return manifest.key;
    } catch {
      // an unreadable list is skipped; the preprocessor decides
    }
  }
  return null;
}

/**
 * Records what this call's preprocessor read under `key`: `names` as its line markers name them,
 * `includeDirs` as the call spells them. A file written since the call began may not be what the
 * preprocessor saw: then nothing is recorded and the next call preprocesses again.
 */
export function recordManifest(
  stores: { index: IndexDb; memo: FileHashMemo },
  fingerprint: string,
  key: string,
  read: { names: string[]; includeDirs: string[]; cwd: string },
  normaliser: PathNormaliser,
  startedWallMs: number,
): boolean {
  const paths = read.names.map((name) => resolve(read.cwd, name));
  // __TIMESTAMP__ expands to a file's mtime, which no content hash sees: such calls always
  // preprocess. So do those whose own headers ask __has_include about files that may not exist
  // (no list of read files shows them); the compiler's own headers (glibc's, libstdc++'s use it)
  // are not watched, as for new headers.
  const callDirs = read.includeDirs.map((dir) => resolve(read.cwd, dir));
  const compilers = (name: string) =>
    isAbsolute(name) && !callDirs.some((dir) => isUnder(resolve(name), dir));
  for (const [i, path] of paths.entries()) {
    const text = readFileSync(path);
    if (text.includes("__TIMESTAMP__")) return false;
    if (!compilers(read.names[i]!) && (text.includes("__has_include") || text.includes("__has_embed")))
      return false;
  }
  const inputs: [string, string][] = [];
  for (const [i, path] of paths.entries()) {
    const hash = stores.memo.hash(path);
    if (hash === null || statSync(path).mtimeMs >= startedWallMs - 10) return false;
    inputs.push([recorded(read.names[i]!, normaliser), hash]);
  }
  const absent = shadowCandidates(read.names, read.includeDirs, read.cwd).map((path) =>
    recorded(path, normaliser),
  );
  const manifest: CcManifest = { key, inputs, absent, spelled: true };
  stores.index.putManifest(fingerprint, JSON.stringify(manifest), MANIFESTS_PER_FINGERPRINT);
  stores.memo.flush();
  return true;
}
