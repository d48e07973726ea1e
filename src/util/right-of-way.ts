// Work someone waits for goes first: background work asks `clear()` before each step and waits while
// any waited-for work is under way, for as long as anyone would still be waiting for it.

export class RightOfWay {
  private underWay = 0;
  private readonly waiting: (() => void)[] = [];

  /** Holds background work back until `work` settles; returns `work`. */
  during<T>(work: Promise<T>): Promise<T> {
    this.underWay += 1;
    const release = () => {
      this.underWay -= 1;
      if (this.underWay === 0) for (const resume of this.waiting.splice(0)) resume();
    };
    work.then(release, release);
    return work;
  }

  /**
   * Resolves at once when nothing waited-for is under way, else once it has all settled or
   * `withinMs` have passed: a download that hangs must not hold background work back for good.
   */
  clear(withinMs: number): Promise<void> {
    if (this.underWay === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, withinMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
