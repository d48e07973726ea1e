// `kache __store-job <staging dir>`: a miss's store, finished in a detached process after the
// wrapper exited, so hashing and copying large outputs stays off cargo's critical path.
import { appendFileSync, rmSync } from "node:fs";
import { setPriority } from "node:os";
import { join } from "node:path";
import { BlobStore } from "../store/blobs";
import { FileHashMemo } from "../store/file-hash-memo";
import { IndexDb } from "../store/index-db";
import { clearPending, sweepLeftovers, takeStoreLock } from "../store/pending-stores";
import { describeError } from "../util/errors";
import { commitStoreJob } from "./commit-store";
import { handOffUpload } from "./daemon-hooks";
import { readJob, type StoreJob } from "./store-job";

/** Nobody reads a detached process's stderr: what went wrong goes to `<cache>/store.log`. */
function note(cacheDir: string, message: string): void {
  try {
    appendFileSync(join(cacheDir, "store.log"), `${new Date().toISOString()} ${message}\n`);
  } catch {
    // nowhere left to say it
  }
}

const LOWEST_PRIORITY = 19;

/**
 * The job runs while cargo goes on compiling the units that waited for this one: on a machine with
 * few cores it must only take CPU the compilers leave idle.
 */
function yieldToCompilers(): void {
  try {
    setPriority(LOWEST_PRIORITY);
  } catch {
    // not allowed here: the job runs at the wrapper's priority
  }
}

export async function runStoreJob(stagingDir: string): Promise<void> {
  yieldToCompilers();
  let job: StoreJob;
  try {
    job = readJob(stagingDir);
  } catch {
    rmSync(stagingDir, { recursive: true, force: true });
    return;
  }
  const lock = takeStoreLock(job.cacheDir, job.lockName);
  try {
    const index = IndexDb.open(job.cacheDir);
    const memo = new FileHashMemo(index);
    memo.adopt(job.memoRows);
    try {
      const result = commitStoreJob(job, { index, blobs: new BlobStore(job.cacheDir), memo });
      if (!result.stored) note(job.cacheDir, `${job.entry.crate}: not cached: ${result.why}`);
      else if (job.upload) await handOffUpload(job, job.key, job.entry.crate, job.upload, job.fingerprint);
    } finally {
      memo.flush(); // the call's rows, when no entry was recorded to carry them
      index.close();
    }
  } catch (error) {
    note(job.cacheDir, `${job.entry.crate}: store failed: ${describeError(error)}`);
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
    clearPending(job.cacheDir, job.lockName);
    lock.release();
    sweepLeftovers(job.cacheDir);
  }
}
