// Compiler output replay and other cargo front ends (SPEC §2): warnings survive `rm -rf target` on a
// hit; `cargo check`, `cargo test` and `cargo clippy` cache and replay; nightly never gets stable's entries.
import { afterAll, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  cargo,
  cargoEnv,
  copyFixture,
  makeTempDir,
  newCacheDir,
  PATH_WS_UNITS,
  readEvents,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
  writeTree,
} from "./harness";

const WARNING = "warning: unused variable: `unused_on_purpose`";
const CLIPPY_LINT = "clippy::ptr_arg";

afterAll(removeTempDirs);

/** The set of `warning:`/`error:` lines and lint names cargo printed, for comparing diagnostics. */
function diagnostics(result: CargoResult): string[] {
  const lines = result.cargoText
    .split("\n")
    .filter((line) => /^(warning|error)(\[|:)|#\[warn\(|clippy::/.test(line.trim()))
    .map((line) => line.trim());
  return [...new Set(lines)].sort();
}

function outcomesOf(result: CargoResult): Set<string> {
  return new Set(result.events.map((event) => String(event.outcome)));
}

/** Runs `args` cold, wipes target/, runs it warm; checks all misses then all hits with equal diagnostics. */
async function coldThenWarm(args: string[], workspace: string, cacheDir: string) {
  const cold = await cargo(args, { cwd: workspace, cacheDir });
  expect(cold.code).toBe(0);
  expect(cold.events.length).toBeGreaterThanOrEqual(5);
  expect(outcomesOf(cold)).toEqual(new Set(["miss"]));
  removeTarget(workspace);
  const warm = await cargo(args, { cwd: workspace, cacheDir });
  expect(warm.code).toBe(0);
  expect(summarise(warm.events)).toEqual(
    summarise(cold.events).map((line) => line.replace(/miss$/, "local hit")),
  );
  expect(diagnostics(warm)).toEqual(diagnostics(cold));
  return { cold, warm };
}

test("fixture_noisy's warning prints on the miss and again on the hit after rm -rf target", async () => {
  const workspace = copyFixture("path-ws");
  const { cold, warm } = await coldThenWarm(["build", "--locked"], workspace, newCacheDir());
  expect(cold.events.find((event) => event.crate === "fixture_noisy")?.outcome).toBe("miss");
  expect(warm.events.find((event) => event.crate === "fixture_noisy")?.outcome).toBe("local hit");
  expect(cold.cargoText).toContain(WARNING);
  expect(warm.cargoText).toContain(WARNING);
  expect(warm.cargoText).toContain("noisy/src/lib.rs:3:9");
}, 120_000);

/** The files named by the spans of cargo's `compiler-message` lines. */
function jsonSpanFiles(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((message) => message.reason === "compiler-message")
    .flatMap((message) => message.message.spans.map((span: { file_name: string }) => span.file_name));
}

// Cargo gives rustc an absolute path for a package outside the workspace (as for registry and git
// crates), and kache's --remap-path-prefix would reach rustc's diagnostics as well as the artifacts.
test("a path dependency outside the workspace: its warning names the real file on a miss and a hit", async () => {
  const root = makeTempDir();
  writeTree(root, {
    "app/Cargo.toml": `[package]\nname = "outside_app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\noutside_lib = { path = "../lib" }\n`,
    "app/src/main.rs": 'fn main() {\n    println!("{} {}", outside_lib::value(), outside_lib::FILE);\n}\n',
    "lib/Cargo.toml": `[package]\nname = "outside_lib"\nversion = "0.1.0"\nedition = "2021"\n`,
    "lib/src/lib.rs":
      "pub fn value() -> u32 {\n    let unused_here = 1;\n    2\n}\npub const FILE: &str = file!();\n",
  });
  const app = join(root, "app");
  const source = join(root, "lib", "src", "lib.rs");
  const outcomeOf = (result: CargoResult) => result.events.find((e) => e.crate === "outside_lib")?.outcome;
  // Cargo always reads rustc's JSON, so a JSON build and a text one share their entries.
  for (const args of [["build"], ["build", "--message-format=json"]]) {
    const cacheDir = newCacheDir();
    for (const expected of ["miss", "local hit"]) {
      removeTarget(app);
      const result = await cargo(args, { cwd: app, cacheDir });
      expect(result.code, result.stderr).toBe(0);
      expect(outcomeOf(result)).toBe(expected);
      expect(`${result.cargoText}${result.stdout}`).not.toMatch(/<(WORKSPACE|TMPDIR|HOME|TARGET)>/);
      if (args.length === 1) expect(result.cargoText).toContain(`${source}:2:9`);
      else expect(jsonSpanFiles(result.stdout)).toEqual([source]);
      // The program names the crate's file by a sentinel of its own root (TMPDIR here), never as
      // if it were in the workspace.
      const printed = runBinary(join(app, "target", "debug", "outside_app")).trim();
      expect(printed).toMatch(/^2 <[A-Z_]+>\/.*\/lib\/src\/lib\.rs$/);
      expect(printed).not.toContain("<WORKSPACE>");
    }
  }
}, 120_000);

test("a build in a terminal (cargo adds --diagnostic-width) hits what a piped build stored", async () => {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  const piped = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(piped.code, piped.stderr).toBe(0);
  for (const columns of [97, 213]) {
    removeTarget(workspace);
    const before = readEvents(cacheDir).length;
    const terminal = Bun.spawnSync(
      ["script", "-qfec", `stty cols ${columns}; cargo build --locked`, "/dev/null"],
      { cwd: workspace, env: cargoEnv({ cwd: workspace, cacheDir }), stdout: "pipe", stderr: "pipe" },
    );
    expect(terminal.exitCode, terminal.stdout.toString()).toBe(0);
    // The warning is rendered at the stored width; every unit is a hit all the same.
    expect(terminal.stdout.toString()).toContain("unused_on_purpose");
    const outcomes = readEvents(cacheDir)
      .slice(before)
      .map((event) => `${event.crate}: ${event.outcome}`);
    expect(outcomes.sort()).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  }
}, 120_000);

test("cargo check (metadata only): cold misses, warm hits after rm -rf target, same warning", async () => {
  const workspace = copyFixture("path-ws");
  const { cold, warm } = await coldThenWarm(["check", "--locked"], workspace, newCacheDir());
  expect(cold.cargoText).toContain(WARNING);
  expect(warm.cargoText).toContain(WARNING);
  expect(warm.compiled.sort()).toEqual(["fixture_app", "fixture_core", "fixture_macros", "fixture_noisy"]);
}, 120_000);

test("cargo test (unit + integration harnesses) passes cold and warm, warm all hits", async () => {
  const workspace = copyFixture("path-ws");
  const { cold, warm } = await coldThenWarm(["test", "--locked"], workspace, newCacheDir());
  for (const result of [cold, warm]) {
    expect(result.stdout).not.toContain("FAILED");
    expect(result.stdout).toContain("test tests::report_has_one_line_per_fact ... ok");
    expect(result.stdout).toContain("test binary_prints_the_report ... ok");
    expect(result.stdout).toContain("test tests::generated_code_is_included ... ok");
  }
  const summary = (result: CargoResult) => result.stdout.match(/^test result: .*(?= finished)/gm)?.sort();
  expect(summary(warm)).toEqual(summary(cold));
  // Test harnesses: the integration test crate plus a second (--test) unit for every package.
  const warmHits = summarise(warm.events);
  expect(warmHits).toContain("run_binary: local hit");
  for (const crate of ["fixture_app", "fixture_core", "fixture_noisy"]) {
    expect(warmHits.filter((line) => line === `${crate}: local hit`).length).toBe(2);
  }
}, 120_000);

test("cargo clippy: never served cargo check's entries, then warm hits with the same diagnostics", async () => {
  const workspace = copyFixture("path-ws");
  // A clippy-only lint (ptr_arg) that a wrong hit on a plain rustc entry would lose.
  appendFileSync(
    join(workspace, "noisy", "src", "lib.rs"),
    "\npub fn clippy_bait(values: &Vec<u32>) -> usize {\n    values.len()\n}\n",
  );
  const cacheDir = newCacheDir();
  const check = await cargo(["check", "--locked"], { cwd: workspace, cacheDir });
  expect(check.code).toBe(0);
  expect(check.cargoText).not.toContain(CLIPPY_LINT);
  removeTarget(workspace);

  const { cold, warm } = await coldThenWarm(["clippy", "--locked"], workspace, cacheDir);
  const checkKeys = new Set(check.events.map((event) => event.key));
  expect(cold.events.filter((event) => checkKeys.has(event.key))).toEqual([]);
  for (const result of [cold, warm]) {
    expect(result.cargoText).toContain(WARNING);
    expect(result.cargoText).toContain(CLIPPY_LINT);
  }
}, 120_000);

test("cargo +nightly build after a warm stable cache misses every unit, and its binary runs", async () => {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  const stable = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(stable.code).toBe(0);
  const expected = runBinary(join(workspace, "target", "debug", "fixture_app"));
  removeTarget(workspace);

  const nightly = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, toolchain: "nightly" });
  expect(nightly.code).toBe(0);
  expect(summarise(nightly.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  const stableKeys = new Set(stable.events.map((event) => event.key));
  expect(nightly.events.filter((event) => stableKeys.has(event.key))).toEqual([]);
  expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(expected);

  // And stable's entries are still there for stable.
  removeTarget(workspace);
  const again = await cargo(["build", "--locked"], { cwd: workspace, cacheDir });
  expect(summarise(again.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  expect(runBinary(join(workspace, "target", "debug", "fixture_app"))).toBe(expected);
}, 120_000);
