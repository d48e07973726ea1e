// A fixed-capacity list that keeps the newest items: a monitor left open for days stays the same size.
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.items.fill(undefined);
    this.next = 0;
    this.count = 0;
  }

  /** Newest first. */
  newestFirst(): T[] {
    const out: T[] = [];
    for (let step = 1; step <= this.count; step++)
      out.push(this.items[(this.next - step + this.capacity) % this.capacity] as T);
    return out;
  }
}
