// A queue that workers wait on: items pushed while they run, and an end once nothing more comes.

export class WorkQueue<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((item: T | null) => void)[] = [];
  private ended = false;

  /** With `order`, a taker gets the waiting item that sorts first (first pushed among equals). */
  constructor(private readonly order?: (a: T, b: T) => number) {}

  push(item: T): void {
    const worker = this.waiting.shift();
    if (worker) worker(item);
    else if (!this.order) this.items.push(item);
    else {
      const after = this.items.findIndex((queued) => this.order!(item, queued) < 0);
      this.items.splice(after === -1 ? this.items.length : after, 0, item);
    }
  }

  /** No more items: every waiting worker, and each that asks later, gets null. */
  end(): void {
    this.ended = true;
    for (const worker of this.waiting.splice(0)) worker(null);
  }

  /** The next item, waiting for one; null once the queue has ended and is empty. */
  take(): Promise<T | null> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs `work` on each item with `workers` at once, until the queue ends and is drained. */
  async drain(workers: number, work: (item: T) => Promise<void>): Promise<void> {
    const worker = async () => {
      for (let item = await this.take(); item !== null; item = await this.take()) await work(item);
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }
}
