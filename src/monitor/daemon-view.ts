// The running daemon as the monitor sees it: asked once a refresh, never started or replaced (a
// monitor only watches). A daemon that did not answer the last ask is offline.
import type { Settings } from "../config/settings";
import { daemonStatus } from "../daemon/control";
import type { DaemonStatus } from "../ipc/protocol";

export class DaemonView {
  status: DaemonStatus | null = null;
  /** Set once the first ask has ended: before that the header says "asking" rather than "offline". */
  asked = false;
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

  private async ask(): Promise<void> {
    try {
      this.status = await daemonStatus(this.settings);
    } catch {
      this.status = null;
    }
    this.asked = true;
  }
}
