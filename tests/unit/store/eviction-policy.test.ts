// gc's eviction rule: least recently used first, weighed by compile time saved per byte (at most
// fourfold either way), and a blob counted as freed only when the last entry using it goes.
import { describe, expect, test } from "bun:test";
import {
  BlobUsers,
  type Candidate,
  evictionOrder,
  MAX_WORTH_FACTOR,
  planEviction,
  worth,
} from "../../../src/store/eviction-policy";

const NOW = 1_000_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function entry(key: string, fields: Partial<Candidate> = {}): Candidate {
  return { key, size: 1000, compileMs: 1000, lastUsed: NOW - HOUR, blobs: [`${key}-blob`], ...fields };
}

const keys = (list: Candidate[]) => list.map((candidate) => candidate.key);

describe("eviction order", () => {
  test("with equal worth, the least recently used goes first", () => {
    const order = evictionOrder(
      [
        entry("new", { lastUsed: NOW - HOUR }),
        entry("old", { lastUsed: NOW - DAY }),
        entry("mid", { lastUsed: NOW - 5 * HOUR }),
      ],
      NOW,
    );
    expect(keys(order)).toEqual(["old", "mid", "new"]);
  });

  test("an entry that saves more per byte is kept longer than an equally idle cheap one", () => {
    const order = evictionOrder(
      [
        entry("slow-compile", { compileMs: 20_000, lastUsed: NOW - 2 * HOUR }),
        entry("quick-compile", { compileMs: 100, lastUsed: NOW - HOUR }),
        entry("typical", { lastUsed: NOW - HOUR }),
      ],
      NOW,
    );
    // quick-compile: 1 h idle x 4 (the clamp) = 4 h; slow-compile: 2 h / 4 = 30 min; typical: 1 h.
    expect(keys(order)).toEqual(["quick-compile", "typical", "slow-compile"]);
  });

  test("a big entry is weighed by its size: the same compile time over more bytes is worth less", () => {
    const order = evictionOrder([entry("small"), entry("big", { size: 100_000 }), entry("typical")], NOW);
    expect(keys(order)[0]).toBe("big");
  });

  test("worth moves an entry at most fourfold: a month-old entry goes before last week's, whatever it saves", () => {
    const order = evictionOrder(
      [
        entry("month-old-precious", { compileMs: 1e9, lastUsed: NOW - 30 * DAY }),
        entry("week-old-cheap", { compileMs: 1, size: 1e9, lastUsed: NOW - 7 * DAY }),
        entry("typical", { lastUsed: NOW - 7 * DAY }),
      ],
      NOW,
    );
    // 30 d / 4 = 7.5 d > 7 d; the cheap one: 7 d x 4 = 28 d.
    expect(keys(order)).toEqual(["week-old-cheap", "month-old-precious", "typical"]);
    expect(worth(entry("x", { compileMs: 1e12 }), 1)).toBe(MAX_WORTH_FACTOR);
    expect(worth(entry("x", { compileMs: 0 }), 1)).toBe(1 / MAX_WORTH_FACTOR);
  });

  test("ties break by last use, then by key, so the order is stable", () => {
    const order = evictionOrder([entry("b"), entry("a"), entry("c", { lastUsed: NOW - HOUR - 1 })], NOW);
    expect(keys(order)).toEqual(["c", "a", "b"]);
  });
});

describe("planning an eviction", () => {
  test("evicts in order until the blobs in use fit the target, and no further", () => {
    const candidates = [
      entry("a", { lastUsed: NOW - 4 * DAY }),
      entry("b", { lastUsed: NOW - 3 * DAY }),
      entry("c", { lastUsed: NOW - 2 * DAY }),
      entry("d", { lastUsed: NOW - DAY }),
    ];
    const sizes = new Map(candidates.map((c) => [c.blobs[0]!, 1000]));
    const plan = planEviction(candidates, sizes, {
      now: NOW,
      usedBytes: 4000,
      targetBytes: 2500,
      maxAgeMs: null,
    });
    expect(keys(plan.evicted)).toEqual(["a", "b"]);
    expect(plan.users.freedBytes).toBe(2000);
  });

  test("a blob shared by two entries is freed only when both go", () => {
    const shared = "shared-blob";
    const candidates = [
      entry("a", { lastUsed: NOW - 3 * DAY, blobs: [shared, "a-own"] }),
      entry("b", { lastUsed: NOW - 2 * DAY, blobs: [shared] }),
      entry("c", { lastUsed: NOW - DAY, blobs: ["c-own"] }),
    ];
    const sizes = new Map([
      [shared, 5000],
      ["a-own", 100],
      ["c-own", 100],
    ]);
    const users = new BlobUsers(candidates, sizes);
    expect(users.remove(candidates[0]!)).toBe(100); // the shared blob stays for b
    expect(users.remove(candidates[1]!)).toBe(5000);
    const plan = planEviction(candidates, sizes, {
      now: NOW,
      usedBytes: 5200,
      targetBytes: 1000,
      maxAgeMs: null,
    });
    expect(keys(plan.evicted)).toEqual(["a", "b"]);
    expect([...plan.users.freed.keys()].sort()).toEqual(["a-own", shared]);
  });

  test("--max-age takes every entry unused for longer, even when the store is small", () => {
    const candidates = [
      entry("ancient", { lastUsed: NOW - 40 * DAY }),
      entry("old", { lastUsed: NOW - 31 * DAY }),
      entry("recent", { lastUsed: NOW - 29 * DAY }),
    ];
    const sizes = new Map(candidates.map((c) => [c.blobs[0]!, 1000]));
    const plan = planEviction(candidates, sizes, {
      now: NOW,
      usedBytes: 3000,
      targetBytes: 1e12,
      maxAgeMs: 30 * DAY,
    });
    expect(keys(plan.expired)).toEqual(["ancient", "old"]);
    expect(plan.evicted).toEqual([]);
  });

  test("a store under its target loses nothing", () => {
    const candidates = [entry("a"), entry("b")];
    const plan = planEviction(candidates, new Map(), {
      now: NOW,
      usedBytes: 10,
      targetBytes: 100,
      maxAgeMs: null,
    });
    expect(plan.evicted).toEqual([]);
    expect(plan.expired).toEqual([]);
  });
});
