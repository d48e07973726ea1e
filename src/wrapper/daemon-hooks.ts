// The wrapper's side of the daemon: remote checks and upload hand-offs that cost a few ms at most
// when the daemon is gone or silent. Only used when a remote cache is configured.
import { join } from "node:path";
import type { Settings } from "../config/settings";
import { callDaemon, DaemonUnavailable } from "../ipc/client";
import { daemonPaths, selfCommand } from "../ipc/daemon-paths";
import { log } from "../util/log";
import { markerDue } from "../util/rate-marker";

/** A daemon that is up answers (or acknowledges) well within this; a silent one costs no more. */
const ANSWER_MS = 10;
/** Once acknowledged, how long a remote check (a download) may take. */
const REMOTE_CHECK_MS = 10_000;
/** Wrappers that find no daemon start one at most this often. */
const AUTOSTART_EVERY_MS = 10_000;

export function daemonWanted(settings: Settings): boolean {
  return Boolean(settings.remote.bucket);
}

function isNoDaemon(error: unknown): boolean {
  return error instanceof DaemonUnavailable && (error.code === "ENOENT" || error.code === "ECONNREFUSED");
}

/**
 * Starts `kache daemon start` detached, without waiting, when no daemon listens. A marker file
 * rate-limits this: a cold build's hundreds of wrappers must not each spawn one.
 */
async function autostart(cacheDir: string): Promise<void> {
  if (!markerDue(join(cacheDir, "daemon.autostart"), AUTOSTART_EVERY_MS)) return;
  const { spawn } = await import("node:child_process");
  const [command, ...rest] = selfCommand();
  const child = spawn(command!, [...rest, "daemon", "start"], { detached: true, stdio: "ignore" });
  child.unref();
  log.info("no daemon was running; starting one in the background");
}

async function onUnavailable(cacheDir: string, error: unknown): Promise<void> {
  log.debug(`daemon unavailable: ${(error as Error)?.message ?? error}`);
  if (!isNoDaemon(error)) return;
  try {
    await autostart(cacheDir);
  } catch (startError) {
    log.debug(`could not start the daemon: ${(startError as Error)?.message ?? startError}`);
  }
}

/** Asks the daemon to fetch `key` from the remote into the local store; true when it did. */
export async function remoteCheck(settings: Settings, key: string, crate: string): Promise<boolean> {
  try {
    const response = await callDaemon(
      daemonPaths(settings.cacheDir).socket,
      { type: "remote-check", key, crate },
      { ackTimeoutMs: ANSWER_MS, replyTimeoutMs: REMOTE_CHECK_MS },
    );
    return "ok" in response && response.ok && response.type === "remote-check" && response.result === "hit";
  } catch (error) {
    await onUnavailable(settings.cacheDir, error);
    return false;
  }
}

/** Hands a freshly stored entry to the daemon's upload queue and returns at once. */
export async function handOffUpload(cacheDir: string, key: string, crate: string): Promise<void> {
  try {
    await callDaemon(
      daemonPaths(cacheDir).socket,
      { type: "upload", key, crate },
      { ackTimeoutMs: ANSWER_MS },
    );
  } catch (error) {
    await onUnavailable(cacheDir, error);
  }
}
