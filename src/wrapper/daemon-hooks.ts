// The wrapper's side of the daemon: remote checks and upload hand-offs that cost a few ms at most
// when the daemon is gone or silent. Only used when a remote cache is configured.
import { join } from "node:path";
import { type RemoteSettings, remoteConfigured, type Settings } from "../config/settings";
import { callDaemon, DaemonUnavailable } from "../ipc/client";
import { daemonPaths, selfCommand } from "../ipc/daemon-paths";
import { queueUpload } from "../store/upload-queue";
import { withoutJobserver } from "../util/jobserver-env";
import { log } from "../util/log";
import { markerDue, markerFresh, releaseMarker } from "../util/rate-marker";
import type { ToolchainTags } from "./toolchain-tag";

/**
 * A daemon that is up answers (or acknowledges) well within this, even on a machine a build keeps
 * busy; a silent one costs no more.
 */
const ANSWER_MS = 20;
/**
 * A daemon whose heartbeat is fresh is alive but busy (downloads, a loaded machine): wait this long.
 * A fresh machine's build on 2 cores held the daemon's thread up to 60-160 ms at a time, and with
 * 250 ms one build in about seven compiled a unit whose answer was on its way.
 */
export const BUSY_ANSWER_MS = 500;

function patience(cacheDir: string) {
  return { path: daemonPaths(cacheDir).heartbeat, busyAckTimeoutMs: BUSY_ANSWER_MS };
}
/** Wrappers that find no daemon start one at most this often. */
const AUTOSTART_EVERY_MS = 10_000;

export function daemonWanted(settings: Settings): boolean {
  return remoteConfigured(settings.remote);
}

/** Where a daemon a call starts runs: for the call's cache dir, from where its settings came. */
export type DaemonHome = Pick<Settings, "cacheDir" | "configDir">;

function isNoDaemon(error: unknown): boolean {
  return error instanceof DaemonUnavailable && (error.code === "ENOENT" || error.code === "ECONNREFUSED");
}

/**
 * Starts `kache daemon start` detached, without waiting, when no daemon listens. A marker file
 * rate-limits this: a cold build's hundreds of wrappers must not each spawn one. It runs where the
 * call's settings came from, for the call's cache dir: cargo runs a registry crate's compiler in
 * that crate's dir, where `kache daemon start` would find no `.kache.toml` and serve another cache
 * dir, and so no remote, for the whole build.
 */
async function autostart(home: DaemonHome): Promise<void> {
  if (!markerDue(join(home.cacheDir, "daemon.autostart"), AUTOSTART_EVERY_MS)) return;
  const { spawn } = await import("node:child_process");
  const [command, ...rest] = selfCommand();
  const child = spawn(command!, [...rest, "daemon", "start"], {
    cwd: home.configDir,
    env: { ...withoutJobserver(process.env), KACHE_CACHE_DIR: home.cacheDir },
    detached: true,
    stdio: "ignore",
  });
  child.on("error", (error) => log.debug(`could not start the daemon: ${error.message}`));
  child.unref();
  log.info("no daemon was running; starting one in the background");
}

/** Set once a call found no daemon or a silent one: this call asks it nothing more. */
let unavailable = false;

/**
 * When this call stops waiting on the remote: check_timeout bounds its waits together (the input
 * lists, then each key's entry), not each of them.
 */
let remoteDeadline: number | null = null;

/** For measurements that ask a silent daemon many times from one process (bench/daemon-fallback.ts). */
export function forgetUnavailableDaemon(): void {
  unavailable = false;
  remoteDeadline = null;
}

async function onUnavailable(home: DaemonHome, error: unknown): Promise<void> {
  unavailable = true;
  log.debug(`daemon unavailable: ${(error as Error)?.message ?? error}`);
  if (!isNoDaemon(error)) return;
  try {
    await autostart(home);
  } catch (startError) {
    log.debug(`could not start the daemon: ${(startError as Error)?.message ?? startError}`);
  }
}

/**
 * A request the daemon acknowledges at once and answers within what is left of the call's
 * check_timeout; null, without asking, once nothing is left.
 */
function askForRemoteWork(settings: Settings, request: Parameters<typeof callDaemon>[1]) {
  remoteDeadline ??= performance.now() + settings.remote.checkTimeoutSecs * 1000;
  const replyTimeoutMs = remoteDeadline - performance.now();
  if (replyTimeoutMs <= 0) return null;
  return callDaemon(daemonPaths(settings.cacheDir).socket, request, {
    ackTimeoutMs: ANSWER_MS,
    replyTimeoutMs,
    heartbeat: patience(settings.cacheDir),
  });
}

/** Asks the daemon for the remote's input lists of a fingerprint; true when the index holds any now. */
export async function fetchManifests(
  settings: Settings,
  fingerprint: string,
  crate: string,
): Promise<boolean> {
  if (unavailable) return false;
  try {
    const response = await askForRemoteWork(settings, {
      type: "manifests",
      fingerprint,
      crate,
      remote: settings.remote,
    });
    return (
      response !== null &&
      "ok" in response &&
      response.ok &&
      response.type === "manifests" &&
      response.added > 0
    );
  } catch (error) {
    await onUnavailable(settings, error);
    return false;
  }
}

/** At most one prefetch per workspace and remote in this long: a build session. */
const PREFETCH_EVERY_MS = 5 * 60_000;

/** The marker of a workspace's prefetch from one remote; `.links` beside it once told whether the session links. */
export function prefetchMarker(settings: Settings, projectDir: string): string {
  const where = `${projectDir}\0${settings.remote.bucket ?? settings.remote.path ?? ""}`;
  return join(settings.cacheDir, `prefetch-${Bun.hash(where).toString(16)}`);
}

/**
 * At the start of a build session, asks the daemon to pull the workspace's entries and input lists
 * ahead of the compiler calls; true when it asked (the call then counts as waiting on the remote).
 * `links` is what this call says of the session (sessionLinks): the first call that says it tells
 * the daemon once more, when the prefetch was started by one that did not. Costs a marker check
 * on each miss, one or two round trips per session.
 */
export async function startPrefetch(
  settings: Settings,
  projectDir: string,
  cargo: string,
  toolchain: ToolchainTags,
  links: boolean | null,
): Promise<boolean> {
  if (unavailable) return false;
  const marker = prefetchMarker(settings, projectDir);
  const starts = markerDue(marker, PREFETCH_EVERY_MS);
  const tells = links !== null && markerDue(`${marker}.links`, PREFETCH_EVERY_MS);
  if (!starts && !tells) return false;
  const unheard = await askPrefetch(
    settings,
    { projectDir, cargo, toolchain, links, onlyTells: !starts },
    patience(settings.cacheDir),
  );
  // No daemon listened (this call may just have started one): a later call asks again.
  if (unheard && starts) releaseMarker(marker);
  if (unheard && tells) releaseMarker(`${marker}.links`);
  return true;
}

/**
 * Sends one prefetch request; true when no daemon listened, so a later call should ask again. A
 * daemon that is gone or silent marks this call as without one; a silent one is not asked again.
 */
async function askPrefetch(
  settings: Settings,
  ask: {
    projectDir: string;
    cargo: string;
    toolchain: ToolchainTags;
    links: boolean | null;
    onlyTells: boolean;
  },
  heartbeat?: ReturnType<typeof patience>,
): Promise<boolean> {
  const { links, onlyTells, ...rest } = ask;
  try {
    await callDaemon(
      daemonPaths(settings.cacheDir).socket,
      {
        type: "prefetch",
        ...rest,
        remote: settings.remote,
        ...(links === null ? {} : { links }),
        ...(onlyTells ? { onlyTells } : {}),
      },
      { ackTimeoutMs: ANSWER_MS, ...(heartbeat ? { heartbeat } : {}) },
    );
    return false;
  } catch (error) {
    await onUnavailable(settings, error);
    return isNoDaemon(error);
  }
}

/**
 * A call restored from a prefetched entry tells the session's prefetch whether the session links,
 * when no call has yet: the first libraries of a fresh machine's build are often all prefetched,
 * and a prefetch never told would go on to pull the bucket's `cargo check` entries for a build.
 * Starts nothing (a build of hits never asks for a prefetch), and waits ANSWER_MS at most, busy
 * daemon or not: telling late only costs downloads, waiting costs the build.
 */
export async function tellSessionLinks(
  settings: Settings,
  projectDir: string,
  cargo: string,
  toolchain: ToolchainTags,
  links: boolean | null,
): Promise<void> {
  if (unavailable || links === null) return;
  const marker = prefetchMarker(settings, projectDir);
  if (!markerFresh(marker, PREFETCH_EVERY_MS) || !markerDue(`${marker}.links`, PREFETCH_EVERY_MS)) return;
  if (await askPrefetch(settings, { projectDir, cargo, toolchain, links, onlyTells: true }))
    releaseMarker(`${marker}.links`);
}

/** Asks the daemon to fetch `key` from the remote into the local store; true when it did. */
export async function remoteCheck(settings: Settings, key: string, crate: string): Promise<boolean> {
  if (unavailable) return false;
  try {
    const response = await askForRemoteWork(settings, {
      type: "remote-check",
      key,
      crate,
      remote: settings.remote,
    });
    return (
      response !== null &&
      "ok" in response &&
      response.ok &&
      response.type === "remote-check" &&
      response.result === "hit"
    );
  } catch (error) {
    await onUnavailable(settings, error);
    return false;
  }
}

/**
 * Queues a freshly stored entry for upload on disk, then tells the daemon and returns at once. With
 * no daemon the item waits for the next one to start.
 */
export async function handOffUpload(
  home: DaemonHome,
  key: string,
  crate: string,
  remote: RemoteSettings,
  fingerprint: string | null,
): Promise<void> {
  if (remote.readOnly) return;
  try {
    queueUpload(home.cacheDir, { key, crate, remote, fingerprint });
  } catch (error) {
    log.debug(`could not queue ${crate} for upload: ${(error as Error)?.message ?? error}`);
    return;
  }
  try {
    await callDaemon(
      daemonPaths(home.cacheDir).socket,
      { type: "upload", key, crate, remote },
      { ackTimeoutMs: ANSWER_MS, heartbeat: patience(home.cacheDir) },
    );
  } catch (error) {
    await onUnavailable(home, error);
  }
}
