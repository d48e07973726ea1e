// events.jsonl stays under its size cap across many concurrent wrapper calls: full files move to
// events.jsonl.1 (one old file kept), no line is torn or lost between the two, readers see both.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeScript } from "./compiler-support";
import { kacheEnv } from "./daemon-support";
import { tempHome } from "./gc-support";
import { KACHE_BIN, makeTempDir, newCacheDir, readEvents, removeTempDirs } from "./harness";
import { runCollected } from "./run-collected";

afterAll(removeTempDirs);

const CAP = 8 * 1024;
const CALLS = 300;
const CONCURRENCY = 8;

/**
 * A compiler that fails at once, as rustc does on a source that does not exist, but without loading
 * rustc's 100 MB driver: the calls then come as fast and as many at once as kache can take them.
 */
let quickRustc = "";

/** One real wrapper call that records an event: KACHE_DISABLED passes it through to the compiler. */
function call(cacheDir: string, outDir: string, index: number, env: Record<string, string>) {
  quickRustc ||= writeScript(join(makeTempDir("kache-e2e-rustc-"), "rustc"), [
    "#!/bin/sh",
    'echo "error: couldn\'t read missing.rs" >&2',
    "exit 1",
  ]);
  const args = ["--crate-name", `event_${index}`, "--crate-type", "lib", "--out-dir", outDir, "missing.rs"];
  return runCollected([KACHE_BIN, quickRustc, ...args], {
    cwd: outDir,
    env: kacheEnv(cacheDir, { ...env, KACHE_DISABLED: "1", KACHE_PROGRESS: "never" }),
  });
}

async function callMany(cacheDir: string, env: Record<string, string>, count: number): Promise<void> {
  const outDir = makeTempDir("kache-e2e-out-");
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const result = await call(cacheDir, outDir, next++, env);
      expect(result.code).not.toBe(0); // rustc's own answer: the source is missing
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean);
}

test("events.jsonl is rotated at KACHE_EVENTS_MAX_SIZE and both files stay under it", async () => {
  const cacheDir = newCacheDir();
  mkdirSync(cacheDir, { recursive: true });
  await callMany(cacheDir, { ...tempHome(), KACHE_EVENTS_MAX_SIZE: "8KiB" }, CALLS);
  const current = join(cacheDir, "events.jsonl");
  const older = `${current}.1`;
  expect(existsSync(older)).toBe(true);
  const all = [...lines(older), ...lines(current)];
  const longest = Math.max(...all.map((line) => line.length + 1));
  // Writers that checked the size at the same moment may each add their line: at most one apiece.
  for (const path of [older, current])
    expect(statSync(path).size).toBeLessThanOrEqual(CAP + CONCURRENCY * longest);
  expect(statSync(current).size + statSync(older).size).toBeLessThan(CALLS * longest);
  // Every line whole, each call at most once, and the two files hold the newest calls.
  const events = all.map((line) => JSON.parse(line) as { crate: string; time: string });
  const crates = events.map((event) => event.crate);
  expect(new Set(crates).size).toBe(crates.length);
  expect(crates.length).toBeGreaterThanOrEqual(Math.floor(CAP / longest));
  expect(crates).toContain(`event_${CALLS - 1}`);
  expect(crates.every((crate) => /^event_\d+$/.test(crate))).toBe(true);
  // Readers get the old file first. A writer that opened the file just before another rotated it
  // puts its line at the end of the old one, so the two overlap by the lines of concurrent calls.
  const times = (path: string) =>
    lines(path)
      .map((line) => JSON.parse(line).time as string)
      .sort();
  expect(times(older)[0]! <= times(current)[0]!).toBe(true);
  expect(times(older).at(-1)! <= times(current).at(-1)!).toBe(true);
  expect(readEvents(cacheDir).map((event) => event.crate)).toEqual(crates);
}, 120_000);

test("below the default cap (10MiB) nothing is rotated", async () => {
  const cacheDir = newCacheDir();
  mkdirSync(cacheDir, { recursive: true });
  await callMany(cacheDir, tempHome(), 20);
  expect(lines(join(cacheDir, "events.jsonl")).length).toBe(20);
  expect(existsSync(join(cacheDir, "events.jsonl.1"))).toBe(false);
}, 60_000);
