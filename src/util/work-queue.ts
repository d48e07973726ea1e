// A queue that workers wait on: items pushed while they run, and an end once nothing more comes.

export class WorkQueue<T> {
  private readonly items: T[] = [];
  private readonly waiting: ((item: T | null) => void)[] = [];
  private ended = false;

  push(item: T): void {
    const worker = this.waiting.shift();
    if (worker) worker(item);
    else this.items.push(item);
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
