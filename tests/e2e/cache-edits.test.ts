// Invalidation (SPEC §3): from a warm cache, each kind of compile-time input edit misses for exactly
// the crates it affects and shows in the program's output; reverting everything hits the old entries.
// The edits accumulate (one workspace, in order); the env var stays set once set, until the revert.
// Outcomes come from events.jsonl: cargo may replay progress lines of fresh units from earlier builds.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cargo,
  copyFixture,
  makeTempDir,
  newCacheDir,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const ORIGINAL = {
  greeting: "Hello from the fixture",
  generated: "generated-from-alpha",
  "build value": "build-ALPHA",
  env: "unset",
  util: "util says hi",
  shout: "off",
  macro: "Fixture described by fixture_macros",
  noisy: "42",
};
type Report = typeof ORIGINAL;

const FILES = {
  util: "core/src/util.rs",
  greeting: "core/data/greeting.txt",
  buildInput: "core/build-input.txt",
};

let workspace: string;
let cacheDir: string;
let env: Record<string, string | undefined> = {};
const originals: Record<string, string> = {};
const expected: Report = { ...ORIGINAL };

async function build(features: string[] = []) {
  const args = ["build", "--locked", ...features.flatMap((feature) => ["--features", feature])];
  const result = await cargo(args, { cwd: workspace, cacheDir, env });
  expect(result.code).toBe(0);
  return result;
}

function report(): Report {
  const output = runBinary(join(workspace, "target", "debug", "fixture_app"));
  return Object.fromEntries(
    output
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
  ) as Report;
}

/** Rewrites a file in place (same inode), replacing `from` with `to`. */
function edit(file: string, from: string, to: string): void {
  const path = join(workspace, file);
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

const misses = (crates: string[]) => crates.map((crate) => `${crate}: miss`).sort();
const hits = (crates: string[]) => crates.map((crate) => `${crate}: local hit`).sort();

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  for (const file of Object.values(FILES)) originals[file] = readFileSync(join(workspace, file), "utf8");
  const cold = await build();
  expect(summarise(cold.events)).toEqual(misses(PATH_WS_UNITS));
  expect(report()).toEqual(ORIGINAL);
}, 120_000);
afterAll(removeTempDirs);

test("module file core/src/util.rs: fixture_core and fixture_app miss", async () => {
  edit(FILES.util, "util says hi", "util was edited");
  const result = await build();
  expect(summarise(result.events)).toEqual(misses(["fixture_core", "fixture_app"]));
  expect(report()).toEqual(Object.assign(expected, { util: "util was edited" }));
}, 120_000);

test("include_str! target core/data/greeting.txt: fixture_core and fixture_app miss", async () => {
  edit(FILES.greeting, "Hello from the fixture", "Greetings, edited fixture");
  const result = await build();
  expect(summarise(result.events)).toEqual(misses(["fixture_core", "fixture_app"]));
  expect(report()).toEqual(Object.assign(expected, { greeting: "Greetings, edited fixture" }));
}, 120_000);

test("build-script input core/build-input.txt: the script reruns, fixture_core and fixture_app miss", async () => {
  edit(FILES.buildInput, "alpha", "beta");
  const result = await build();
  expect(summarise(result.events)).toEqual(misses(["fixture_core", "fixture_app"]));
  expect(report()).toEqual(
    Object.assign(expected, { generated: "generated-from-beta", "build value": "build-BETA" }),
  );
}, 120_000);

test("--features fixture_app/shout on misses the feature's units, off again recompiles nothing new", async () => {
  const on = await build(["fixture_app/shout"]);
  expect(summarise(on.events)).toEqual(misses(["build_script_build", "fixture_core", "fixture_app"]));
  expect(report()).toEqual({ ...expected, shout: "on", greeting: expected.greeting.toUpperCase() });

  // The feature-off units' artifacts and fingerprints are still in target/ (features change their
  // -C metadata hash, so the on build wrote beside them): cargo finds them fresh and runs nothing.
  const off = await build();
  expect(summarise(off.events).filter((line) => !line.endsWith("local hit"))).toEqual([]);
  expect(off.compiled).toEqual([]);
  expect(off.events).toEqual([]);
  expect(report()).toEqual(expected);
}, 120_000);

test("env var read by option_env! (KACHE_FIXTURE_NAME): fixture_core and fixture_app miss", async () => {
  env = { KACHE_FIXTURE_NAME: "from-the-env" };
  const result = await build();
  expect(summarise(result.events)).toEqual(misses(["fixture_core", "fixture_app"]));
  expect(report()).toEqual(Object.assign(expected, { env: "from-the-env" }));
}, 120_000);

test("an edit that keeps size and mtime (touch -r a saved copy), then rm -rf target: the edit is seen", async () => {
  // kache memoises a file's hash only once the file is over 1 s old: let util.rs settle and get memoised.
  await Bun.sleep(1_100);
  removeTarget(workspace);
  expect(summarise((await build()).events)).toEqual(hits(PATH_WS_UNITS));

  const path = join(workspace, FILES.util);
  const reference = join(makeTempDir("kache-e2e-ref-"), "util.rs");
  expect(Bun.spawnSync(["cp", "-p", path, reference]).exitCode).toBe(0); // keeps the mtime kache saw
  edit(FILES.util, "util was edited", "util WAS edited"); // same length, same inode
  expect(Bun.spawnSync(["touch", "-r", reference, path]).exitCode).toBe(0);
  const [now, before] = [statSync(path, { bigint: true }), statSync(reference, { bigint: true })];
  expect({ size: now.size, mtime: now.mtimeNs }).toEqual({ size: before.size, mtime: before.mtimeNs });

  removeTarget(workspace);
  const result = await build();
  expect(summarise(result.events)).toEqual(
    [
      ...misses(["fixture_core", "fixture_app"]),
      ...hits(["build_script_build", "fixture_macros", "fixture_noisy"]),
    ].sort(),
  );
  expect(report()).toEqual(Object.assign(expected, { util: "util WAS edited" }));
}, 120_000);

// Decision: the revert is built over the edited target/ (no wipe), the harder case: cargo recompiles
// what changed and every one of those units must be a hit on the original entries. Then a wiped
// target/ must hit all five units too.
test("reverting everything (files, feature off, env unset) hits the original entries", async () => {
  for (const [file, text] of Object.entries(originals)) writeFileSync(join(workspace, file), text);
  env = {};
  const reverted = await build();
  expect(reverted.events.length).toBeGreaterThanOrEqual(2);
  expect(summarise(reverted.events).filter((line) => !line.endsWith("local hit"))).toEqual([]);
  // What the edits touched, and only that, reruns: all of it as hits.
  expect(summarise(reverted.events)).toEqual(hits(["fixture_core", "fixture_app"]));
  expect(report()).toEqual(ORIGINAL);

  removeTarget(workspace);
  const wiped = await build();
  expect(summarise(wiped.events)).toEqual(hits(PATH_WS_UNITS));
  expect(report()).toEqual(ORIGINAL);
}, 120_000);
