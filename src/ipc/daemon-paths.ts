// Where the daemon's files live in the cache dir, and how a process names itself and its build epoch.
import { statSync } from "node:fs";
import { basename, join } from "node:path";

export interface DaemonPaths {
  socket: string;
  lock: string;
  log: string;
  /** Raw stderr of a daemon started in the background or by launchd: only crashes write here. */
  stderrLog: string;
  /** Touched by a running daemon every 100 ms: a fresh one means "alive, maybe busy". */
  heartbeat: string;
}

export function daemonPaths(cacheDir: string): DaemonPaths {
  return {
    socket: join(cacheDir, "daemon.sock"),
    lock: join(cacheDir, "daemon.lock"),
    log: join(cacheDir, "daemon.log"),
    stderrLog: join(cacheDir, "daemon.stderr.log"),
    heartbeat: join(cacheDir, "daemon.heartbeat"),
  };
}

/** The build epoch: the modification time of this process's executable, in ms. */
export function ownEpoch(): number {
  try {
    return Math.floor(statSync(process.execPath).mtimeMs);
  } catch {
    return 0;
  }
}

/** How to run this same kache again: the compiled binary, or bun plus the entry script in development. */
export function selfCommand(): string[] {
  const exe = process.execPath;
  if (!/^bun(-debug)?(\.exe)?$/.test(basename(exe))) return [exe];
  return [exe, join(import.meta.dir, "..", "main.ts")];
}
