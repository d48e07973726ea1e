// Cold build misses everything; after `rm -rf target` every unit is a local hit with byte-identical
// outputs; the build after that is a no-op (SPEC §2, §4). A counting RUSTC shim witnesses, apart from
// kache's own lines and events, how often the real compiler ran.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import {
  type CompilerCounter,
  cargo,
  compilerCounter,
  copyFixture,
  hashTree,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const EXPECTED_OUTPUT = PATH_WS_OUTPUT.join("\n");

let workspace: string;
let cacheDir: string;
let coldHashes: Record<string, string>;
let coldOutput: string;
let compiler: CompilerCounter;

const build = () => cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: compiler.env });
const app = () => runBinary(join(workspace, "target", "debug", "fixture_app"));

/** The final binary, every rlib, the proc-macro .so and the compiled build script. */
function artifactHashes(): Record<string, string> {
  return hashTree(
    join(workspace, "target", "debug"),
    (path) =>
      path === "fixture_app" ||
      /^deps\/[^/]+\.(rlib|so)$/.test(path) ||
      /^deps\/fixture_app-[0-9a-f]+$/.test(path) ||
      /^build\/fixture_core-[0-9a-f]+\/build_script_build-[0-9a-f]+$/.test(path),
  );
}

beforeAll(() => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  compiler = compilerCounter();
});
afterAll(removeTempDirs);

test("cold build: every unit misses, nothing hits", async () => {
  const result = await build();
  expect(result.code).toBe(0);
  expect(result.outcomes).toEqual({
    "local hit": 0,
    "remote hit": 0,
    "prefetch hit": 0,
    miss: 5,
    passthrough: 0,
  });
  expect(summarise(result.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  expect(result.lines.map((line) => line.crate).sort()).toEqual(PATH_WS_UNITS);
  // The witness sees each unit compiled once, and no pre-pass (direct mode compiles first).
  expect(compiler.takeRuns()).toEqual({ compiles: PATH_WS_UNITS, prepasses: [] });
  coldHashes = artifactHashes();
  expect(Object.keys(coldHashes)).toContain("fixture_app");
  expect(Object.keys(coldHashes).filter((path) => path.endsWith(".rlib")).length).toBe(2);
  expect(Object.keys(coldHashes).some((path) => path.endsWith(".so"))).toBe(true);
  expect(Object.keys(coldHashes).some((path) => path.startsWith("build/"))).toBe(true);
  coldOutput = app();
  expect(coldOutput.trim()).toBe(EXPECTED_OUTPUT);
}, 120_000);

test("rm -rf target, build: zero misses, every unit a local hit, identical bytes and output", async () => {
  removeTarget(workspace);
  const result = await build();
  expect(result.code).toBe(0);
  expect(result.outcomes).toEqual({
    "local hit": 5,
    "remote hit": 0,
    "prefetch hit": 0,
    miss: 0,
    passthrough: 0,
  });
  expect(summarise(result.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  for (const event of result.events) expect(event.saved_ms as number).toBeGreaterThan(0);
  expect(compiler.takeRuns()).toEqual({ compiles: [], prepasses: [] });
  expect(artifactHashes()).toEqual(coldHashes);
  expect(app()).toBe(coldOutput);
}, 120_000);

test("a build right after the warm one recompiles nothing", async () => {
  const result = await build();
  expect(result.code).toBe(0);
  expect(result.compiled).toEqual([]);
  expect(result.events).toEqual([]);
  expect(compiler.takeRuns()).toEqual({ compiles: [], prepasses: [] });
  expect(app()).toBe(coldOutput);
}, 120_000);
