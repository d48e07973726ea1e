// Work someone waits for goes first: background steps that ask `clear()` wait while any of it is
// under way, a failed piece of work releases them as a finished one does, and work that hangs holds
// them back no longer than the bound they asked with.
import { describe, expect, test } from "bun:test";
import { RightOfWay } from "../../../src/util/right-of-way";

describe("right of way", () => {
  test("clear resolves at once when nothing is under way", async () => {
    const way = new RightOfWay();
    let cleared = false;
    way.clear(60_000).then(() => {
      cleared = true;
    });
    await Bun.sleep(0);
    expect(cleared).toBe(true);
  });

  test("clear waits until every piece of waited-for work has settled, failed ones included", async () => {
    const way = new RightOfWay();
    const first = Promise.withResolvers<string>();
    const second = Promise.withResolvers<string>();
    const returned = way.during(first.promise);
    const failed = way.during(second.promise).catch((error: Error) => error.message);
    let cleared = false;
    way.clear(60_000).then(() => {
      cleared = true;
    });
    first.resolve("hit");
    expect(await returned).toBe("hit");
    await Bun.sleep(0);
    expect(cleared).toBe(false);
    second.reject(new Error("remote down"));
    expect(await failed).toBe("remote down");
    await Bun.sleep(0);
    expect(cleared).toBe(true);
    // Once clear, later background steps pass straight through again.
    await way.clear(60_000);
  });

  test("work that never settles holds background steps back only until the bound", async () => {
    const way = new RightOfWay();
    way.during(new Promise<void>(() => {}));
    const started = performance.now();
    await way.clear(50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});
