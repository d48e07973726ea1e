// What the Transfer tab and the header know of transfers: the daemon's record of recent uploads and
// downloads and the ones in flight (asked once a refresh), and the upload queue on disk.
import { pendingUploads } from "../cli/transfer-summary";
import type { Settings } from "../config/settings";

export interface TransferRecord {
  direction: "upload" | "download";
  crate: string;
  key: string;
  bytes: number;
  ms: number;
  at: number;
  ok: boolean;
  error?: string;
}

export interface InFlightTransfer {
  direction: "upload" | "download";
  crate: string;
  key: string;
  startedAt: number;
}

export interface TransferFacts {
  /** Null when no daemon answered. */
  daemon: {
    inFlight: InFlightTransfer[];
    recent: TransferRecord[];
    uploadsDone: number;
    downloadsDone: number;
  } | null;
  queued: number;
}

export class TransferView {
  facts: TransferFacts = { daemon: null, queued: 0 };
  private asking: Promise<void> | null = null;

  constructor(private readonly settings: Settings) {}

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
    const queued = pendingUploads(this.settings.cacheDir);
    this.facts = { daemon: null, queued };
  }
}
