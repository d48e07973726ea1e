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
});
