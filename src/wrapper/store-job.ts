// A miss's store as a job: outputs staged (linked) beside the store, plus everything needed to
// record the entry. It runs right away, or in a detached process after the wrapper has exited.

import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { STORE_JOB_COMMAND } from "../command-names";
import type { RemoteSettings } from "../config/settings";
import { selfCommand } from "../ipc/daemon-paths";
import type { PendingRow } from "../store/file-hash-memo";
import type { Entry } from "../store/index-db";
import { stagingRoot } from "../store/pending-stores";
import { atomicWrite } from "../util/atomic-write";
import type { PathRoot } from "../util/path-roots";

/** Bump when the job's shape changes: a job written by another kache is not run. */
export const STORE_JOB_FORMAT = 3;

export interface FileStamp {
  size: number;
  mtimeNs: string;
  ino: string;
}

export interface StagedFile {
  /** File name in the out-dir. */
  name: string;
  /** The output in the target dir, for the file-hash memo. */
  output: string;
  /** A hardlink of the output (or a copy, across filesystems), or the normalised dep-info. */
  staged: string;
  executable: boolean;
  depInfo: boolean;
  /** The staged file right after staging: any write to it since then means it is not stored. */
  stamp: FileStamp;
}

export type EntryFields = Pick<
  Entry,
  | "crate"
  | "crateTypes"
  | "target"
  | "profile"
  | "features"
  | "stdout"
  | "stderr"
  | "compileMs"
  | "components"
>;

export interface StoreJob {
  format: number;
  cacheDir: string;
  /** Where the call's settings came from: a daemon this job starts runs there (daemon-hooks.ts). */
  configDir: string;
  /** The build lock the wrapper held: waiters for it wait for this job. */
  lockName: string;
  stagingDir: string;
  key: string;
  entry: EntryFields;
  files: StagedFile[];
  /** The call's local roots: the entry is bound to the ones its bytes name. */
  roots: PathRoot[];
  /** An input list to record once the entry exists (compile-first calls and links). */
  manifest: { fingerprint: string; text: string } | null;
  /** The call's direct-mode fingerprint (its input lists are uploaded with the entry). */
  fingerprint: string | null;
  /** The remote to queue the entry for afterwards, when one is configured. */
  upload: RemoteSettings | null;
  /**
   * The file-hash memo rows the call gathered, written by whoever records the entry: a wrapper
   * that writes nothing to the index spends no fsync on cargo's critical path.
   */
  memoRows: PendingRow[];
}

export function newStagingDir(cacheDir: string): string {
  mkdirSync(stagingRoot(cacheDir), { recursive: true, mode: 0o700 });
  return mkdtempSync(join(stagingRoot(cacheDir), "job-"));
}

const JOB_FILE = "job.json";

export function writeJob(job: StoreJob): void {
  atomicWrite(join(job.stagingDir, JOB_FILE), JSON.stringify(job), { mode: 0o600 });
}

export function readJob(stagingDir: string): StoreJob {
  const job = JSON.parse(readFileSync(join(stagingDir, JOB_FILE), "utf8")) as StoreJob;
  if (job.format !== STORE_JOB_FORMAT)
    throw new Error(`store job format ${job.format} is not ${STORE_JOB_FORMAT}`);
  return job;
}

/**
 * Starts `kache __store-job <dir>` in its own session with no stdio: cargo waits for the wrapper
 * and reads its pipes to their end, so the store must hold neither. Bun.spawn, not node's spawn:
 * loading node:child_process and its spawn cost the wrapper about 2 ms on every miss, this 0.2 ms.
 */
export function spawnStoreJob(stagingDir: string): number {
  const child = Bun.spawn([...selfCommand(), STORE_JOB_COMMAND, stagingDir], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore"],
  });
  child.unref();
  return child.pid;
}
