// Starting gc by itself: a detached `kache gc --background`, from a wrapper whose miss finds the
// store well over its limit, and from the daemon on a schedule.
import { closeSync, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import { selfCommand } from "../ipc/daemon-paths";
import type { IndexDb } from "../store/index-db";
import { readStoreBytes } from "../store/store-size";
import { markerDue } from "../util/rate-marker";

/** A wrapper starts gc once the store is this far over its limit (gc then brings it to 90%). */
export const START_SHARE = 1.1;
/** However full the store, wrappers start gc at most this often. */
export const START_EVERY_MS = 5 * 60_000;

export interface GcSettings {
  cacheDir: string;
  maxSize: number;
  cleanIncremental: boolean;
}

/** The output of the last background gc: nobody reads a detached process's stdout. */
export function backgroundGcLog(cacheDir: string): string {
  return join(cacheDir, "gc.log");
}

/**
 * Starts gc in its own session with the settings of its starter (a project's config file names
 * them, and gc runs elsewhere), its output in `<cache>/gc.log`. Returns its pid.
 */
export async function startBackgroundGc(settings: GcSettings): Promise<number | undefined> {
  if (!existsSync(settings.cacheDir)) return undefined;
  const { spawn } = await import("node:child_process");
  const [command, ...rest] = selfCommand();
  const output = openSync(backgroundGcLog(settings.cacheDir), "w", 0o600);
  try {
    const child = spawn(command!, [...rest, "gc", "--background"], {
      cwd: settings.cacheDir,
      detached: true,
      stdio: ["ignore", output, output],
      env: {
        ...process.env,
        KACHE_CACHE_DIR: settings.cacheDir,
        KACHE_MAX_SIZE: String(settings.maxSize),
        KACHE_CLEAN_INCREMENTAL: settings.cleanIncremental ? "1" : "0",
      },
    });
    child.on("error", () => {}); // unheard, a failed start (no processes left) would end the caller
    child.unref();
    return child.pid;
  } finally {
    closeSync(output);
  }
}

/**
 * After a miss's store: one row read says whether the store is over START_SHARE of its limit (or
 * was never measured); if so, and no wrapper did so in the last START_EVERY_MS, gc starts.
 */
export async function startGcWhenFull(settings: GcSettings, index: IndexDb): Promise<boolean> {
  const bytes = readStoreBytes(index);
  if (bytes !== null && bytes <= settings.maxSize * START_SHARE) return false;
  if (!markerDue(join(settings.cacheDir, "gc.started"), START_EVERY_MS)) return false;
  return (await startBackgroundGc(settings)) !== undefined;
}
