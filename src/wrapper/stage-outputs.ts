// After a successful miss: the outputs staged for the store (hardlinks, microseconds each) and the
// entry described, so the hashing and copying can happen after the wrapper has exited.

import { copyFileSync, linkSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RemoteSettings } from "../config/settings";
import type { PathNormaliser } from "../util/path-roots";
import type { KeyComponents } from "./cache-key";
import { collectOutputs, fileStem, outputCrateTypes } from "./output-files";
import type { RustcArgs } from "./rustc-args";
import {
  type EntryFields,
  type FileStamp,
  newStagingDir,
  STORE_JOB_FORMAT,
  type StagedFile,
  type StoreJob,
} from "./store-job";

export interface StoreRequest {
  cacheDir: string;
  configDir: string;
  lockName: string;
  args: RustcArgs;
  outDir: string;
  key: string;
  components: KeyComponents;
  target: string;
  stdout: string;
  stderr: string;
  compileMs: number;
  startedWallMs: number;
  manifest: StoreJob["manifest"];
  upload: RemoteSettings | null;
  fingerprint: string | null;
}

function profileOf(outDir: string): string {
  const parts = outDir.split("/");
  const at = parts.lastIndexOf("deps") !== -1 ? parts.lastIndexOf("deps") : parts.lastIndexOf("build");
  return at > 0 ? parts[at - 1]! : "";
}

export function stampOf(path: string): FileStamp {
  const stat = statSync(path, { bigint: true });
  return { size: Number(stat.size), mtimeNs: String(stat.mtimeNs), ino: String(stat.ino) };
}

/** A link costs no copy; another filesystem than the cache dir's means copying. */
function stageFile(output: string, staged: string): void {
  try {
    linkSync(output, staged);
  } catch {
    copyFileSync(output, staged);
  }
}

function entryFields(req: StoreRequest, normaliser: PathNormaliser): EntryFields {
  const { args } = req;
  return {
    crate: args.crateName ?? "",
    crateTypes: args.isTest ? ["test"] : outputCrateTypes(args),
    target: req.target,
    profile: profileOf(req.outDir),
    features: args.cfgs.filter((c) => c.startsWith("feature=")).map((c) => c.slice(9).replace(/^"|"$/g, "")),
    stdout: normaliser.normalise(req.stdout),
    stderr: normaliser.normalise(req.stderr),
    compileMs: Math.round(req.compileMs),
    components: req.components,
  };
}

/** Stages the outputs and describes the entry; `why` when the outputs cannot be stored. */
export function stageOutputs(
  req: StoreRequest,
  normaliser: PathNormaliser,
): { job: StoreJob } | { why: string } {
  const collected = collectOutputs(req.args, req.outDir, req.startedWallMs);
  if (!collected.storable) return { why: collected.why ?? "outputs cannot be stored" };
  const stagingDir = newStagingDir(req.cacheDir);
  const depInfoName = `${fileStem(req.args)}.d`;
  let files: StagedFile[];
  try {
    files = collected.files.map((name, i) => {
      const output = join(req.outDir, name);
      const staged = join(stagingDir, String(i));
      const depInfo = name === depInfoName;
      if (depInfo) writeFileSync(staged, normaliser.normalise(readFileSync(output, "utf8")));
      else stageFile(output, staged);
      const executable = !depInfo && (statSync(output).mode & 0o111) !== 0;
      return { name, output, staged, executable, depInfo, stamp: stampOf(staged) };
    });
  } catch (error) {
    // A full disk stops a copy half-way: what was staged must not keep taking the space.
    rmSync(stagingDir, { recursive: true, force: true });
    throw error;
  }
  return {
    job: {
      format: STORE_JOB_FORMAT,
      cacheDir: req.cacheDir,
      configDir: req.configDir,
      lockName: req.lockName,
      stagingDir,
      key: req.key,
      entry: entryFields(req, normaliser),
      files,
      roots: normaliser.roots,
      manifest: req.manifest,
      upload: req.upload,
      fingerprint: req.fingerprint,
      memoRows: [],
    },
  };
}
