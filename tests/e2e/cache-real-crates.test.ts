// Real registry crates (Debian's serde, serde_json, anyhow via an offline directory source; stable
// only): cold misses everything including proc-macro serde_derive and build scripts, warm after
// rm -rf target misses nothing, and the binary's output is identical. Prints wall times for the notes.
// A counting RUSTC shim witnesses, apart from kache's own events, how often the real compiler ran.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type CargoResult,
  type CompilerCounter,
  cargo,
  compilerCounter,
  copyFixture,
  hashTree,
  newCacheDir,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const EXPECTED = '{"name":"real-crates","crates":3,"cached":true}';
const REGISTRY = "/usr/share/cargo/registry";
// Packages with a build.rs (kache sees `build_script_build`): anyhow, proc-macro2, quote, ryu, serde,
// serde_derive, serde_json, syn (the fixture's README says 6, but quote and ryu have one too).
const WITH_BUILD_SCRIPTS = 8;
const PROBE_CRATE = "anyhow_build";

let workspace: string;
let cacheDir: string;
let cold: CargoResult;
let coldOutput: string;
let coldHashes: Record<string, string>;
const times: Record<string, number> = {};
let compiler: CompilerCounter;

async function timedBuild(label: string, cwd: string, wrapper = true): Promise<CargoResult> {
  const started = performance.now();
  const env = wrapper ? compiler.env : {};
  const result = await cargo(["build", "--locked"], { cwd, cacheDir, wrapper, env });
  times[label] = Math.round(performance.now() - started);
  expect(result.code).toBe(0);
  return result;
}

const binary = () => join(workspace, "target", "debug", "real_crates");
const artifacts = () =>
  hashTree(
    join(workspace, "target", "debug"),
    (path) => path === "real_crates" || /^deps\/[^/]+\.(rlib|so)$/.test(path),
  );

beforeAll(() => {
  if (!existsSync(join(REGISTRY, "serde_derive-1.0.152"))) {
    throw new Error(`${REGISTRY} lacks Debian's serde crates: apt-get install librust-serde-derive-dev ...`);
  }
  workspace = copyFixture("real-crates");
  cacheDir = newCacheDir();
  compiler = compilerCounter();
});
afterAll(() => {
  console.log(
    `real-crates wall times: kache cold ${times.cold} ms, kache warm (rm -rf target) ${times.warm} ms, ` +
      `plain cargo cold (no kache) ${times.plain} ms`,
  );
  removeTempDirs();
});

test("plain cargo without kache (baseline time, run first so no build gets a warmer disk cache)", async () => {
  const plain = copyFixture("real-crates");
  const result = await timedBuild("plain", plain, false);
  expect(result.events).toEqual([]);
  expect(runBinary(join(plain, "target", "debug", "real_crates"))).toBe(`${EXPECTED}\n`);
}, 180_000);

test("cold: every unit misses, proc-macro serde_derive and the build scripts included", async () => {
  cold = await timedBuild("cold", workspace);
  // anyhow's build script probes rustc (crate anyhow_build) with code that fails on stable: never cached.
  const notMisses = cold.events.filter((event) => event.outcome !== "miss" && event.crate !== PROBE_CRATE);
  expect(notMisses.map(({ crate, outcome, reason, detail }) => ({ crate, outcome, reason, detail }))).toEqual(
    [],
  );
  const crates = cold.events.map((event) => String(event.crate));
  for (const crate of [
    "serde_derive",
    "serde",
    "serde_json",
    "anyhow",
    "syn",
    "proc_macro2",
    "quote",
    "real_crates",
  ]) {
    expect(crates).toContain(crate);
  }
  expect(crates.filter((crate) => crate === "build_script_build").length).toBe(WITH_BUILD_SCRIPTS);
  expect(cold.outcomes["local hit"]).toBe(0);
  expect(cold.events.filter((event) => event.crate === PROBE_CRATE).map((event) => event.reason)).toEqual([
    "compile-failed",
  ]);
  expect(cold.compiled.length).toBe(11);
  // The witness: each unit kache reported ran the real compiler once, and nothing else ran.
  expect(compiler.takeRuns()).toEqual({ compiles: crates.sort(), prepasses: [] });
  coldOutput = runBinary(binary());
  expect(coldOutput.trim()).toBe(EXPECTED);
  coldHashes = artifacts();
  expect(Object.keys(coldHashes).some((path) => /libserde_derive-[0-9a-f]+\.so$/.test(path))).toBe(true);
}, 180_000);

test("rm -rf target, warm: zero misses, every unit a local hit, same bytes and output", async () => {
  removeTarget(workspace);
  const warm = await timedBuild("warm", workspace);
  expect(summarise(warm.events)).toEqual(
    summarise(cold.events).map((line) => line.replace(/miss$/, "local hit")),
  );
  expect(warm.outcomes.miss).toBe(0);
  // Only what kache never caches (the failing probe) ran the real compiler again.
  const uncached = cold.events
    .filter((event) => event.outcome !== "miss")
    .map((event) => String(event.crate));
  expect(uncached).toEqual([PROBE_CRATE]);
  expect(compiler.takeRuns()).toEqual({ compiles: uncached, prepasses: [] });
  expect(artifacts()).toEqual(coldHashes);
  expect(runBinary(binary())).toBe(coldOutput);

  const again = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: compiler.env });
  expect(again.compiled).toEqual([]);
  expect(again.events).toEqual([]);
  expect(compiler.takeRuns()).toEqual({ compiles: [], prepasses: [] });
}, 180_000);
