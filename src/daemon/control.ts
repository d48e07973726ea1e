// Starting, stopping and asking the daemon from the CLI, including replacing one from an older build.
import { closeSync, mkdirSync, openSync } from "node:fs";
import type { Settings } from "../config/settings";
import { callDaemon, DaemonUnavailable } from "../ipc/client";
import { daemonPaths, ownEpoch, selfCommand } from "../ipc/daemon-paths";
import type { DaemonStatus, DaemonTransfers } from "../ipc/protocol";
import { KacheError } from "../util/errors";
import { processIsAlive } from "../util/process-alive";
import { tailLines } from "./daemon-log";

const START_TIMEOUT_MS = 5000;
/** The monitor asks every second: a busy daemon's late answer is skipped, not waited for. */
const TRANSFERS_TIMEOUT_MS = 500;
const STOP_TIMEOUT_MS = 15_000;

export async function daemonStatus(settings: Settings): Promise<DaemonStatus | null> {
  try {
    const response = await callDaemon(
      daemonPaths(settings.cacheDir).socket,
      { type: "status" },
      { ackTimeoutMs: 1000 },
    );
    return "ok" in response && response.ok && response.type === "status" ? response.status : null;
  } catch (error) {
    if (error instanceof DaemonUnavailable) return null;
    throw error;
  }
}

/**
 * The daemon's transfers (under way, the newest finished, the queue), or null when no daemon
 * answers in time or it is from a build without the request. Never starts or replaces one.
 */
export async function daemonTransfers(settings: Settings): Promise<DaemonTransfers | null> {
  try {
    const response = await callDaemon(
      daemonPaths(settings.cacheDir).socket,
      { type: "transfers" },
      { ackTimeoutMs: TRANSFERS_TIMEOUT_MS },
    );
    return "ok" in response && response.ok && response.type === "transfers" ? response.transfers : null;
  } catch (error) {
    if (error instanceof DaemonUnavailable) return null;
    throw error;
  }
}

/** Asks the daemon to stop and waits until its process is gone. Returns the pid it stopped, or null. */
export async function stopDaemon(settings: Settings): Promise<number | null> {
  const status = await daemonStatus(settings);
  if (!status) return null;
  try {
    await callDaemon(daemonPaths(settings.cacheDir).socket, { type: "shutdown" }, { ackTimeoutMs: 2000 });
  } catch {
    // it may close the connection as it goes
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (processIsAlive(status.pid)) {
    if (Date.now() > deadline)
      throw new KacheError(`daemon pid ${status.pid} did not stop`, `kill it with: kill ${status.pid}`);
    await Bun.sleep(20);
  }
  return status.pid;
}

/** Spawns `kache daemon run` detached (stderr kept for crashes) and waits until the socket answers. */
async function spawnDaemon(settings: Settings): Promise<DaemonStatus> {
  const paths = daemonPaths(settings.cacheDir);
  mkdirSync(settings.cacheDir, { recursive: true, mode: 0o700 });
  const logFd = openSync(paths.stderrLog, "a");
  try {
    const { spawn } = await import("node:child_process");
    const [command, ...rest] = selfCommand();
    const child = spawn(command!, [...rest, "daemon", "run", "--background"], {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: { ...process.env, KACHE_CACHE_DIR: settings.cacheDir },
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const status = await daemonStatus(settings);
    if (status) return status;
    await Bun.sleep(25);
  }
  const tail = [...tailLines(paths.stderrLog, 3), ...tailLines(paths.log, 3)].join(" | ");
  throw new KacheError(
    `the daemon did not answer within ${START_TIMEOUT_MS / 1000}s`,
    `its log says: ${tail || "(empty)"}`,
  );
}

export interface StartResult {
  status: DaemonStatus;
  started: boolean;
  /** Set when an older build's daemon was replaced. */
  replaced?: DaemonStatus;
}

/**
 * Makes sure a daemon of this build runs: one from an older build (an earlier epoch) is stopped
 * gracefully and replaced. Only CLI and daemon-start paths call this, never the wrapper.
 */
export async function ensureDaemon(settings: Settings): Promise<StartResult> {
  const running = await daemonStatus(settings);
  if (running && running.epoch >= ownEpoch()) return { status: running, started: false };
  if (running) await stopDaemon(settings);
  const status = await spawnDaemon(settings);
  return { status, started: true, replaced: running ?? undefined };
}

/** For CLI commands that talk to the daemon: replaces an outdated one, leaves a stopped one stopped. */
export async function freshDaemonStatus(
  settings: Settings,
): Promise<{ status: DaemonStatus | null; replaced?: DaemonStatus }> {
  const running = await daemonStatus(settings);
  if (!running || running.epoch >= ownEpoch()) return { status: running };
  const result = await ensureDaemon(settings);
  return { status: result.status, replaced: result.replaced };
}
