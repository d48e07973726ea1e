// Remote transfers: what the hits brought in (from events), uploads still queued on disk, and the
// running daemon's counters since it started.
import type { Settings } from "../config/settings";
import { daemonStatus } from "../daemon/control";
import { queuedUploadCount } from "../store/upload-queue";
import type { ActivityFigures, Transferred } from "./event-summary";

export interface DaemonTransfers {
  started_at: string;
  uploaded: number;
  downloaded: number;
  queued: number;
  remotes: {
    remote: string;
    uploaded: number;
    downloaded: number;
    queued: number;
    last_error: string | null;
  }[];
}

export interface TransferFigures {
  remote_hits: Transferred;
  prefetch_hits: Transferred;
  /** Stored entries waiting in the upload queue for the daemon. */
  uploads_pending: number;
  /** The daemon's counters since it started; null when no daemon runs. */
  daemon: DaemonTransfers | null;
}

/** Asks a running daemon (never starts or replaces one: a summary changes nothing). */
async function daemonTransfers(settings: Settings): Promise<DaemonTransfers | null> {
  let status: Awaited<ReturnType<typeof daemonStatus>>;
  try {
    status = await daemonStatus(settings);
  } catch {
    return null;
  }
  if (!status) return null;
  const remotes = (status.remotes ?? []).map((remote) => ({
    remote: remote.remote,
    uploaded: remote.uploadsDone,
    downloaded: remote.downloadsDone,
    queued: remote.queued,
    last_error: remote.lastError,
  }));
  const sum = (field: "uploaded" | "downloaded" | "queued") =>
    remotes.reduce((total, remote) => total + remote[field], 0);
  return {
    started_at: new Date(status.startedAt).toISOString(),
    uploaded: sum("uploaded"),
    downloaded: sum("downloaded"),
    queued: sum("queued"),
    remotes,
  };
}

export async function transferFigures(
  settings: Settings,
  activity: ActivityFigures,
): Promise<TransferFigures> {
  return {
    ...activity.transfers,
    uploads_pending: queuedUploadCount(settings.cacheDir),
    daemon: await daemonTransfers(settings),
  };
}
