// The prefetch's queue: workers wait for items pushed later, each item is worked once, and draining
// ends when the queue has ended and is empty.
import { describe, expect, test } from "bun:test";
import { WorkQueue } from "../../../src/util/work-queue";

describe("work queue", () => {
  test("items pushed before, during and after the workers start are each worked once", async () => {
    const queue = new WorkQueue<number>();
    queue.push(1);
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    const drained = queue.drain(2, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await Bun.sleep(5);
      seen.push(item);
      running -= 1;
    });
    for (const item of [2, 3, 4]) queue.push(item);
    await Bun.sleep(30);
    queue.push(5);
    queue.end();
    await drained;
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  test("an ended queue gives null to waiting and later takers", async () => {
    const queue = new WorkQueue<string>();
    const waiting = queue.take();
    queue.end();
    expect(await waiting).toBeNull();
    expect(await queue.take()).toBeNull();
  });

  test("with an order, a taker gets the queued item that sorts first, the first pushed among equals", async () => {
    const queue = new WorkQueue<{ at: number; name: string }>((a, b) => a.at - b.at);
    for (const [at, name] of [
      [5, "e"],
      [1, "a"],
      [3, "c"],
      [1, "b"],
      [9, "i"],
    ] as const)
      queue.push({ at, name });
    queue.end();
    const seen: string[] = [];
    await queue.drain(1, async (item) => {
      seen.push(item.name);
    });
    expect(seen).toEqual(["a", "b", "c", "e", "i"]);
  });

  test("an item pushed to a waiting worker goes to it at once, whatever its order", async () => {
    const queue = new WorkQueue<number>((a, b) => a - b);
    const waiting = queue.take();
    queue.push(7);
    queue.push(2);
    expect(await waiting).toBe(7);
    expect(await queue.take()).toBe(2);
  });
});
