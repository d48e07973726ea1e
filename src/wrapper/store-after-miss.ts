// After a successful miss: stage the outputs, then store them here or in a detached process.
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { isCi, type Settings } from "../config/settings";
import type { FileHashMemo } from "../store/file-hash-memo";
import { clearPending, markPending, recordStorePid } from "../store/pending-stores";
import { describeError } from "../util/errors";
import { log } from "../util/log";
import type { PathNormaliser } from "../util/path-roots";
import { storeFailureWarning } from "./cache-failure";
import { commitStoreJob, type StoreResult } from "./commit-store";
import type { CapturedRun } from "./compiler-process";
import {
  compilesIncrementally,
  type Keyed,
  type KeyPlan,
  keyedFiles,
  manifestToRecord,
  type Stores,
} from "./compute-key";
import { daemonWanted, handOffUpload } from "./daemon-hooks";
import { inputModifiedSince } from "./direct-mode";
import { stageOutputs } from "./stage-outputs";
import { startGcWhenFull } from "./start-gc";
import { type StoreJob, spawnStoreJob, writeJob } from "./store-job";

export interface Miss {
  plan: KeyPlan;
  keyed: Keyed;
  run: CapturedRun;
  startedWallMs: number;
  /** The build lock held for this call: a background store is announced under its name. */
  lockName: string;
  outDir: string;
  normaliser: PathNormaliser;
  stores: Stores;
}

function stagedBytes(job: StoreJob): number {
  return job.files.reduce((sum, file) => sum + file.stamp.size, 0);
}

/**
 * Hashing and copying cost about 1 ms per MB; a process of its own about 10 ms of CPU and 2 ms of
 * the wrapper's time to start. Below this, storing in place is cheaper for everyone.
 */
const BACKGROUND_MIN_BYTES = 8_000_000;

/**
 * In CI the job may end (and its cache be saved) the moment cargo does: store before exiting.
 * Elsewhere an incremental compile is a workspace member in the edit loop, where a developer waits
 * on each call and the other cores are mostly idle: its store (and the index's fsyncs, which wait
 * for the compile's freshly written files on ext4) happens after the wrapper returns, whatever
 * its size.
 */
function storesInBackground(settings: Settings, job: StoreJob, incremental: boolean): boolean {
  if (settings.backgroundStore === "auto")
    return !isCi(process.env) && (incremental || stagedBytes(job) >= BACKGROUND_MIN_BYTES);
  return settings.backgroundStore === "always";
}

/** The job run here, before the wrapper exits. */
async function storeInPlace(job: StoreJob, stores: Stores): Promise<StoreResult> {
  try {
    const result = commitStoreJob(job, stores);
    if (result.stored && job.upload)
      await handOffUpload(job, job.key, job.entry.crate, job.upload, job.fingerprint);
    return result;
  } finally {
    rmSync(job.stagingDir, { recursive: true, force: true });
  }
}

/**
 * The job handed to a detached process. The pending marker goes up before the build lock is
 * released, so whoever takes the lock next waits for the entry instead of compiling it again.
 */
function storeInBackground(job: StoreJob, memo: FileHashMemo): void {
  job.memoRows = memo.handOver();
  try {
    writeJob(job);
    markPending(job.cacheDir, job.lockName, job.stagingDir);
    recordStorePid(job.stagingDir, spawnStoreJob(job.stagingDir));
  } catch (error) {
    clearPending(job.cacheDir, job.lockName); // stored here after all, under the lock still held
    memo.adopt(job.memoRows); // the rows are this process's to write again
    job.memoRows = [];
    throw error;
  }
}

/**
 * Stores a miss's outputs; the bytes staged for the store, 0 when nothing is stored. A store that
 * grew the cache past its limit starts gc in the background (never on a hit).
 */
export async function storeAfterMiss(miss: Miss): Promise<number> {
  const size = await storeOutputs(miss);
  if (size > 0) {
    try {
      await startGcWhenFull(miss.plan.inv.settings, miss.stores.index);
    } catch (error) {
      log.debug(`could not start gc: ${describeError(error)}`);
    }
  }
  return size;
}

async function storeOutputs(miss: Miss): Promise<number> {
  const { plan, keyed, run } = miss;
  const { inv } = plan;
  const crate = inv.args.crateName;
  try {
    const guarded = keyedFiles(plan, keyed.inputs);
    const changed = inputModifiedSince(guarded, inv.cwd, plan.callStartNs, miss.normaliser.inTargetDir);
    if (changed !== null) {
      const how = existsSync(resolve(inv.cwd, changed)) ? "changed" : "was removed";
      log.info(`${crate}: not cached: ${changed} ${how} while compiling`);
      return 0;
    }
    const staged = stageOutputs(
      {
        cacheDir: inv.settings.cacheDir,
        configDir: inv.settings.configDir,
        lockName: miss.lockName,
        args: inv.args,
        outDir: miss.outDir,
        key: keyed.key,
        components: keyed.components,
        target: inv.args.target ?? keyed.target,
        stdout: run.stdout,
        stderr: run.stderr,
        compileMs: run.ms,
        startedWallMs: miss.startedWallMs,
        manifest: manifestToRecord(plan, keyed),
        fingerprint: inv.settings.directMode ? plan.fingerprint : null,
        upload: daemonWanted(inv.settings) ? inv.settings.remote : null,
      },
      miss.normaliser,
    );
    if ("why" in staged) {
      log.info(`${crate}: not cached: ${staged.why}`);
      return 0;
    }
    if (storesInBackground(inv.settings, staged.job, compilesIncrementally(inv))) {
      try {
        storeInBackground(staged.job, miss.stores.memo);
        return stagedBytes(staged.job);
      } catch (error) {
        log.debug(`could not start a background store (${describeError(error)}); storing now`);
      }
    }
    const result = await storeInPlace(staged.job, miss.stores);
    if (!result.stored) log.info(`${crate}: not cached: ${result.why}`);
    else if (result.why) log.info(`${crate}: ${result.why}`);
    return result.size;
  } catch (error) {
    const warning = storeFailureWarning(crate ?? "", error, inv.settings.cacheDir);
    if (warning) log.warn(warning);
    return 0;
  }
}
