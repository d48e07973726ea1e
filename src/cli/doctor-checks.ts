// `kache doctor`'s checks of kache's own side: its config file, the cache dir, the daemon, the remote.
import { chmodSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatIssue, type LoadResult } from "../config/load";
import { remoteConfigured, type Settings } from "../config/settings";
import { daemonStatus, ensureDaemon } from "../daemon/control";
import { ownEpoch } from "../ipc/daemon-paths";
import { type DaemonStatus, PROTOCOL_VERSION } from "../ipc/protocol";
import { describeError } from "../util/errors";
import { formatDuration } from "../util/size";
import { withinMs } from "../util/within";
import { VERSION } from "../version";
import { check, type FixableCheck } from "./check-report";
import { displayPath } from "./wrapper-setup";

/** How far back doctor looks for background stores that failed. */
const STORE_LOG_DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Background stores finish after their wrapper returned, so a store that failed (a full disk, say)
 * left only a `miss` line in the build's output and a line in store.log: say so here.
 */
export function storeLogCheck(cacheDir: string, now = Date.now()): FixableCheck {
  let lines: string[];
  try {
    lines = readFileSync(join(cacheDir, "store.log"), "utf8").split("\n");
  } catch {
    lines = [];
  }
  const recent = lines.filter((line) => {
    const time = Date.parse(line.slice(0, line.indexOf(" ")));
    return Number.isFinite(time) && now - time < STORE_LOG_DAY_MS;
  });
  if (recent.length === 0) return check("background stores", "ok", "none failed in the last day");
  const latest = recent.at(-1)!.slice(recent.at(-1)!.indexOf(" ") + 1);
  const failed = recent.length === 1 ? "1 failed" : `${recent.length} failed`;
  return check(
    "background stores",
    "warn",
    `${failed} in the last day (their units were not cached); the latest: ${latest}`,
    `see ${displayPath(join(cacheDir, "store.log"))}`,
  );
}

/** How long doctor waits for the remote to answer one listing. */
const REMOTE_TIMEOUT_MS = 10_000;

/** One line per config error; the file in use otherwise. */
export function configChecks(loaded: LoadResult): FixableCheck[] {
  if (loaded.errors.length === 0) {
    const detail = loaded.file
      ? `${displayPath(loaded.file)} is valid`
      : "no config file; the defaults and KACHE_* apply";
    return [check("config", "ok", detail)];
  }
  return loaded.errors.map((issue) =>
    check("config", "problem", formatIssue({ ...issue, hint: "" }), issue.hint || "fix it by hand"),
  );
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, "0");
}

/** Wrappers refuse a cache dir someone else owns or anyone may write (store/cache-dir.ts): say why first. */
export function cacheDirCheck(cacheDir: string): FixableCheck {
  const shown = displayPath(cacheDir);
  const stat = statSync(cacheDir, { throwIfNoEntry: false });
  if (!stat) return check("cache dir", "ok", `${shown} does not exist yet (the first build creates it)`);
  if (!stat.isDirectory())
    return check("cache dir", "problem", `${shown} is not a directory`, "set KACHE_CACHE_DIR to a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    return check(
      "cache dir",
      "problem",
      `${shown} belongs to uid ${stat.uid}, not to you (uid ${uid}): every call compiles uncached`,
      "set KACHE_CACHE_DIR to a directory of your own",
    );
  }
  if ((stat.mode & 0o002) !== 0) {
    const item = check(
      "cache dir",
      "problem",
      `${shown} is writable by every user (mode ${octal(stat.mode)}): every call compiles uncached`,
      `run \`kache doctor --fix\` or chmod 700 ${shown}`,
    );
    item.fix = () => {
      chmodSync(cacheDir, 0o700);
      return `made ${shown} private (mode 0700)`;
    };
    return item;
  }
  return check("cache dir", "ok", `${shown} (mode ${octal(stat.mode)}, yours)`);
}

function describeDaemon(status: DaemonStatus): string {
  return `pid ${status.pid}, version ${status.version}, epoch ${status.epoch}`;
}

const startDaemon = (settings: Settings) => async () => {
  const result = await ensureDaemon(settings);
  return `${result.replaced ? "replaced it" : "started it"}: ${describeDaemon(result.status)}`;
};

/** Running, of this build, and its remotes healthy; not running is fine when no remote needs it. */
export async function daemonCheck(settings: Settings): Promise<FixableCheck> {
  let status: DaemonStatus | null;
  try {
    status = await daemonStatus(settings);
  } catch (error) {
    return check("daemon", "problem", `cannot ask it: ${describeError(error)}`, "see `kache daemon log`");
  }
  if (!status) {
    if (!remoteConfigured(settings.remote))
      return check("daemon", "ok", "not running; only a remote cache needs it, and none is configured");
    const item = check(
      "daemon",
      "warn",
      "not running: the next build starts it, and its first calls go without the remote cache",
      "run `kache daemon start`, or `kache init` to install its service",
    );
    item.fix = startDaemon(settings);
    return item;
  }
  if (status.epoch < ownEpoch()) {
    const item = check(
      "daemon",
      "warn",
      `an older kache's daemon runs (${describeDaemon(status)}); this is version ${VERSION}, epoch ${ownEpoch()}`,
      "the next `kache daemon` command replaces it; `kache doctor --fix` does now",
    );
    item.fix = startDaemon(settings);
    return item;
  }
  if (status.version !== VERSION || status.protocol !== PROTOCOL_VERSION) {
    const detail = `another kache's daemon runs (${describeDaemon(status)}, protocol ${status.protocol})`;
    return check(
      "daemon",
      "warn",
      `${detail}; this is ${VERSION}, protocol ${PROTOCOL_VERSION}`,
      "run `kache daemon restart`",
    );
  }
  const troubled = (status.remotes ?? []).find(
    (remote) => remote.paused || remote.notAnswering || remote.lastError,
  );
  if (troubled) {
    const how = troubled.notAnswering
      ? "is not answering"
      : troubled.paused
        ? "paused after failures"
        : "had errors";
    const last = troubled.lastError ? `: ${troubled.lastError}` : "";
    const detail = `running (pid ${status.pid}), but its remote ${troubled.remote} ${how}${last}`;
    return check("daemon", "warn", detail, "see `kache daemon log`");
  }
  return check("daemon", "ok", `running (${describeDaemon(status)}, up ${formatDuration(status.uptimeMs)})`);
}

/** One listing of an empty prefix: it proves the bucket or directory exists and answers, and costs nothing. */
export async function remoteCheck(settings: Settings): Promise<FixableCheck> {
  if (!remoteConfigured(settings.remote)) return check("remote", "ok", "none configured (local cache only)");
  const { openRemote, crateListPrefix } = await import("../remote/remote");
  let description = settings.remote.bucket ?? settings.remote.path ?? "the remote";
  const started = performance.now();
  try {
    const remote = await openRemote(settings.remote);
    description = remote.description;
    await withinMs(
      remote.list(crateListPrefix(settings.remote, "kache-doctor-probe")),
      REMOTE_TIMEOUT_MS,
      `no answer within ${REMOTE_TIMEOUT_MS / 1000}s`,
    );
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    const hint =
      kind === "denied"
        ? "the credentials lack s3:ListBucket (kache needs GetObject, PutObject, ListBucket)"
        : kind === "config"
          ? "check the bucket, endpoint, region and credentials (`kache config list`)"
          : "check the network and the endpoint; builds go on without the remote meanwhile";
    // The SDK appends lines of advice for its own developers; the first line is the error.
    const reason = describeError(error).split("\n")[0];
    return check("remote", "problem", `${description} does not answer: ${reason}`, hint);
  }
  const ms = Math.round(performance.now() - started);
  const mode = settings.remote.readOnly ? ", read-only" : "";
  return check("remote", "ok", `${description} answers (${ms} ms${mode})`);
}
