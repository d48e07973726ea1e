// What the Transfer tab and the header know of transfers: the daemon's record of recent uploads and
// downloads and the ones in flight (asked once a refresh), or, with no daemon, the upload queue on disk.
import type { Settings } from "../config/settings";
import { daemonTransfers } from "../daemon/control";
import type { DaemonTransfers } from "../ipc/protocol";
import { queuedUploadCount } from "../store/upload-queue";

export interface TransferFacts {
  /** Null when no daemon answered. */
  daemon: DaemonTransfers | null;
  queued: number;
}

export class TransferView {
  facts: TransferFacts = { daemon: null, queued: 0 };
  private asking: Promise<void> | null = null;

  constructor(private readonly settings: Settings) {}

  /** Starts an ask unless one is under way; `onAnswer` runs when it ends. */
  poll(onAnswer: () => void): void {
    if (this.asking) return;
    this.asking = this.ask().finally(() => {
      this.asking = null;
      onAnswer();
    });
  }

  inFlight(direction: "upload" | "download"): number {
    return this.facts.daemon?.inFlight.filter((item) => item.direction === direction).length ?? 0;
  }

  private async ask(): Promise<void> {
    let daemon: DaemonTransfers | null = null;
    try {
      daemon = await daemonTransfers(this.settings);
    } catch {
      // a daemon that answers nonsense is no better than none
    }
    this.facts = { daemon, queued: daemon?.queued ?? queuedUploadCount(this.settings.cacheDir) };
  }
}
