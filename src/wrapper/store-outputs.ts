// After a successful miss: put the outputs into the store and record the entry (blobs first, then the row).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BlobStore } from "../store/blobs";
import type { FileHashMemo } from "../store/file-hash-memo";
import type { Entry, IndexDb, StoredFile } from "../store/index-db";
import { contentCheck } from "../util/hash";
import type { PathNormaliser } from "../util/path-roots";
import { type KeyComponents, locationBoundKey } from "./cache-key";
import { collectOutputs, fileStem } from "./output-files";
import type { RustcArgs } from "./rustc-args";

export interface StoreRequest {
  args: RustcArgs;
  outDir: string;
  key: string;
  components: KeyComponents;
  target: string;
  stdout: string;
  stderr: string;
  compileMs: number;
  startedWallMs: number;
}

export interface StoreResult {
  stored: boolean;
  size: number;
  why?: string;
}

function profileOf(outDir: string): string {
  const parts = outDir.split("/");
  const at = parts.lastIndexOf("deps") !== -1 ? parts.lastIndexOf("deps") : parts.lastIndexOf("build");
  return at > 0 ? parts[at - 1]! : "";
}

export function storeOutputs(
  req: StoreRequest,
  parts: { index: IndexDb; blobs: BlobStore; memo: FileHashMemo; normaliser: PathNormaliser },
): StoreResult {
  const { args, outDir } = req;
  const collected = collectOutputs(args, outDir, req.startedWallMs);
  if (!collected.storable) return { stored: false, size: 0, why: collected.why };
  const depInfoName = `${fileStem(args)}.d`;
  // A local root inside an artifact (after remapping) means it embeds this location's paths.
  const boundRoots = new Set<string>();
  const files: StoredFile[] = [];
  const remembered: { path: string; hash: string }[] = [];
  let size = 0;
  for (const name of collected.files) {
    const path = join(outDir, name);
    if (name === depInfoName) {
      const data = Buffer.from(parts.normaliser.normalise(readFileSync(path, "utf8")));
      const blob = parts.blobs.putBytes(data);
      files.push({
        name,
        blob: blob.hash,
        size: blob.size,
        check: contentCheck(data),
        executable: false,
        depInfo: true,
      });
      size += blob.size;
      continue;
    }
    const data = readFileSync(path);
    const executable = (statSync(path).mode & 0o111) !== 0;
    for (const root of parts.normaliser.rootsFoundIn(data)) boundRoots.add(root);
    const blob = parts.blobs.putFile(path, data, executable);
    remembered.push({ path, hash: blob.hash });
    files.push({
      name,
      blob: blob.hash,
      size: blob.size,
      check: contentCheck(data),
      executable,
      depInfo: false,
    });
    size += blob.size;
  }
  const now = Date.now();
  // Bound only to the roots that occur: an object that names the shared registry (CARGO_HOME)
  // still serves every checkout on this machine.
  const bound = boundRoots.size > 0;
  const boundTo = [...boundRoots].sort().join(",");
  const entryKey = bound ? locationBoundKey(req.key, parts.normaliser.signatureOf([...boundRoots])) : req.key;
  const entry: Entry = {
    key: entryKey,
    crate: args.crateName ?? "",
    crateTypes: args.isTest ? ["test"] : args.crateTypes,
    target: req.target,
    profile: profileOf(outDir),
    features: args.cfgs.filter((c) => c.startsWith("feature=")).map((c) => c.slice(9).replace(/^"|"$/g, "")),
    files,
    stdout: parts.normaliser.normalise(req.stdout),
    stderr: parts.normaliser.normalise(req.stderr),
    compileMs: Math.round(req.compileMs),
    size,
    hits: 0,
    created: now,
    lastUsed: now,
    components: req.components,
    boundTo: null,
  };
  parts.index.db.transaction(() => {
    for (const file of remembered) parts.memo.remember(file.path, file.hash);
    parts.memo.flush();
    parts.index.putEntry(entry);
    // The portable key points at the location-bound one; another checkout computes a different one and misses.
    if (bound) parts.index.putEntry({ ...entry, key: req.key, files: [], boundTo, size: 0 });
  })();
  return {
    stored: true,
    size,
    why: bound ? `outputs embed local paths (${boundTo}); cached for this location only` : undefined,
  };
}
