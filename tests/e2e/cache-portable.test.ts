// Portability (SPEC §3): the same sources at another absolute path and depth hit the same entries,
// no artifact carries a checkout's absolute path, and alternating checkouts stay no-ops.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  cargo,
  copyFixture,
  newCacheDir,
  PATH_WS_UNITS,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const build = (cwd: string, cacheDir: string) => cargo(["build", "--locked"], { cwd, cacheDir });
const app = (workspace: string) => runBinary(join(workspace, "target", "debug", "fixture_app"));
const allHits = PATH_WS_UNITS.map((crate) => `${crate}: local hit`);

/** Files kache produced or restored in a debug build: the binary, deps/* (not dep-info), build script exes. */
function artifactFiles(workspace: string): string[] {
  const debug = join(workspace, "target", "debug");
  const files = [join(debug, "fixture_app")];
  for (const name of readdirSync(join(debug, "deps"))) {
    if (!name.endsWith(".d")) files.push(join(debug, "deps", name));
  }
  for (const dir of readdirSync(join(debug, "build"))) {
    for (const name of readdirSync(join(debug, "build", dir))) {
      if (name.startsWith("build_script_build-") && !name.endsWith(".d"))
        files.push(join(debug, "build", dir, name));
    }
  }
  return files.filter((path) => statSync(path).isFile());
}

/** "file: path" for every artifact whose bytes contain one of the paths. */
function leaks(workspace: string, paths: string[]): string[] {
  const found: string[] = [];
  for (const file of artifactFiles(workspace)) {
    const bytes = readFileSync(file);
    for (const path of paths) if (bytes.includes(path)) found.push(`${file}: ${path}`);
  }
  return found;
}

afterAll(removeTempDirs);

describe("same cache, another absolute path and depth", () => {
  let first: string;
  let second: string;
  let cacheDir: string;

  beforeAll(() => {
    first = copyFixture("path-ws");
    second = copyFixture("path-ws", { under: "a/b/c" });
    cacheDir = newCacheDir();
  });

  test("a copy at another path and depth hits every entry, then is a no-op", async () => {
    const cold = await build(first, cacheDir);
    expect(cold.code).toBe(0);
    expect(cold.outcomes.miss).toBe(5);

    const moved = await build(second, cacheDir);
    expect(moved.code).toBe(0);
    expect(moved.outcomes.miss).toBe(0);
    expect(summarise(moved.events)).toEqual(allHits);
    expect(app(second)).toBe(app(first));

    const again = await build(second, cacheDir);
    expect(again.code).toBe(0);
    expect(again.compiled).toEqual([]);
    expect(again.events).toEqual([]);
  }, 120_000);

  test("no artifact of either checkout contains either checkout's absolute path", () => {
    const paths = [first, second];
    expect(artifactFiles(first).length).toBeGreaterThanOrEqual(6);
    expect(artifactFiles(second).length).toBe(artifactFiles(first).length);
    expect([...leaks(first, paths), ...leaks(second, paths)]).toEqual([]);
  });
});

test("two checkouts built alternately A, B, A, B: B hits everything, the second round is no-ops", async () => {
  const a = copyFixture("path-ws");
  const b = copyFixture("path-ws", { under: "x/y" });
  const cacheDir = newCacheDir();

  const a1 = await build(a, cacheDir);
  expect(a1.code).toBe(0);
  expect(summarise(a1.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));

  const b1 = await build(b, cacheDir);
  expect(b1.code).toBe(0);
  expect(summarise(b1.events)).toEqual(allHits);

  const started = performance.now();
  for (const [name, workspace] of [
    ["A", a],
    ["B", b],
    ["A", a],
    ["B", b],
  ] as const) {
    const result = await build(workspace, cacheDir);
    expect(result.code).toBe(0);
    expect({ checkout: name, compiled: result.compiled, events: summarise(result.events) }).toEqual({
      checkout: name,
      compiled: [],
      events: [],
    });
  }
  console.log(`4 alternating builds: ${Math.round(performance.now() - started)} ms`);
  expect(app(a)).toBe(app(b));
}, 120_000);
