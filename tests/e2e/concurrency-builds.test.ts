// Two cargo builds of one project at once, into two target dirs, sharing one cache (SPEC §4: per-key
// lock, atomic store, concurrent event appends): both succeed with identical, correct programs.
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { brokenEventLines, corruptBlobs, kacheLogLines, plainAppOutput } from "./fault-support";
import { cargo, copyFixture, hashTree, newCacheDir, readEvents, removeTempDirs, runBinary } from "./harness";

afterAll(removeTempDirs);

const UNITS = ["build_script_build", "fixture_app", "fixture_core", "fixture_macros", "fixture_noisy"];

/** Builds into t1 and t2 at the same time; checks both results and the shared cache; returns the outcomes. */
async function twinBuilds(workspace: string, cacheDir: string): Promise<string[]> {
  for (const dir of ["t1", "t2"]) rmSync(join(workspace, dir), { recursive: true, force: true });
  const eventsBefore = readEvents(cacheDir).length;
  const results = await Promise.all(
    ["t1", "t2"].map((dir) =>
      cargo(["build", "--locked", "--target-dir", dir], { cwd: workspace, cacheDir }),
    ),
  );
  const expected = await plainAppOutput();
  for (const result of results) {
    expect(result.code, result.stderr).toBe(0);
    expect(kacheLogLines(result.stderr), result.stderr).toEqual([]);
    // Every unit cached or served: a pass-through here would mean kache gave up under contention.
    expect(result.lines.map((line) => line.crate).sort(), result.stderr).toEqual(UNITS);
    expect(result.outcomes.passthrough, result.stderr).toBe(0);
  }
  const [one, two] = ["t1", "t2"].map((dir) => join(workspace, dir, "debug"));
  expect(runBinary(join(one!, "fixture_app"))).toBe(expected);
  expect(runBinary(join(two!, "fixture_app"))).toBe(expected);
  // Identical artifacts in both trees (dep-info names each tree's own paths, so it is left out).
  const artifacts = (dir: string) =>
    hashTree(dir, (path) => /^(deps\/[^/]+|fixture_app)$/.test(path) && !path.endsWith(".d"));
  expect(artifacts(two!)).toEqual(artifacts(one!));
  expect(Object.keys(artifacts(one!)).length).toBeGreaterThanOrEqual(6);

  expect(corruptBlobs(cacheDir)).toEqual([]);
  expect(brokenEventLines(cacheDir)).toEqual([]);
  const events = readEvents(cacheDir).slice(eventsBefore);
  const handled = events.filter((event) => UNITS.includes(String(event.crate)));
  expect(handled.length).toBe(2 * UNITS.length);
  return results.flatMap((result) => result.lines.map((line) => `${line.crate}: ${line.outcome}`)).sort();
}

test("two cold builds at once into t1 and t2 share one fresh cache (three rounds)", async () => {
  for (let round = 0; round < 3; round++) {
    const outcomes = await twinBuilds(copyFixture("path-ws"), newCacheDir());
    // Each unit was compiled by at least one of the two builds: the cache started empty.
    for (const unit of UNITS) expect(outcomes).toContain(`${unit}: miss`);
  }
}, 240_000);

test("two builds at once from a warm cache are all hits, with identical programs", async () => {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  await twinBuilds(workspace, cacheDir);
  const outcomes = await twinBuilds(workspace, cacheDir);
  expect(outcomes).toEqual(UNITS.flatMap((unit) => [`${unit}: local hit`, `${unit}: local hit`]));
}, 240_000);
