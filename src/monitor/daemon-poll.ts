// Asking the daemon from the monitor: one question at a time, once a refresh, the last answer kept
// for the frames in between. The monitor only watches: nothing here starts or replaces a daemon.

export class DaemonPoll<T> {
  /** The last answer; null when the daemon did not give one. */
  value: T | null = null;
  /** Set once the first ask has ended: before that the header says "asking" rather than "offline". */
  asked = false;
  private asking: Promise<void> | null = null;

  constructor(private readonly ask: () => Promise<T | null>) {}

  /** Starts an ask unless one is under way; `onAnswer` runs when it ends. */
  poll(onAnswer: () => void): void {
    if (this.asking) return;
    this.asking = this.ask()
      .catch(() => null) // a daemon that answers nonsense is no better than none
      .then((value) => {
        this.value = value;
        this.asked = true;
      })
      .finally(() => {
        this.asking = null;
        onAnswer();
      });
  }
}
