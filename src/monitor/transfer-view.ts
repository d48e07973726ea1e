// What the Transfer tab and the header know of transfers: the daemon's record of recent uploads and
// downloads and the ones in flight, or, with no daemon, the upload queue on disk.
import type { Settings } from "../config/settings";
import { daemonTransfers } from "../daemon/control";
import type { DaemonTransfers } from "../ipc/protocol";
import { queuedUploadCount } from "../store/upload-queue";
import { DaemonPoll } from "./daemon-poll";

export interface TransferFacts {
  /** Null when no daemon answered. */
  daemon: DaemonTransfers | null;
  queued: number;
}

export function transferPoll(settings: Settings): DaemonPoll<TransferFacts> {
  return new DaemonPoll(async () => {
    const daemon = await daemonTransfers(settings).catch(() => null);
    return { daemon, queued: daemon?.queued ?? queuedUploadCount(settings.cacheDir) };
  });
}

export function transfersInFlight(facts: TransferFacts | null, direction: "upload" | "download"): number {
  return facts?.daemon?.inFlight.filter((item) => item.direction === direction).length ?? 0;
}
