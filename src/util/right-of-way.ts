// Work someone waits for goes first: background work asks `clear()` before each step and waits while
// any waited-for work is under way.

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

  /** Resolves at once when nothing waited-for is under way, else once it has all settled. */
  clear(): Promise<void> {
    if (this.underWay === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
