// The monitor's bounded lists.
import { expect, test } from "bun:test";
import { Ring } from "../../../src/monitor/ring";

test("keeps the newest items up to its capacity, newest first", () => {
  const ring = new Ring<number>(3);
  expect(ring.newestFirst()).toEqual([]);
  for (let n = 1; n <= 5; n++) ring.push(n);
  expect(ring.newestFirst()).toEqual([5, 4, 3]);
  expect(ring.size).toBe(3);
  ring.clear();
  ring.push(9);
  expect(ring.newestFirst()).toEqual([9]);
});
