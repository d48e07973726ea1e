// Incremental compilation where cargo asks for it (SPEC §2 "Incremental"): the edit loop keeps
// rustc's incremental state, outputs are still cached, and a call without incremental never
// receives an output an incremental compile made.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crateCall, type RustcCall, recordRustcCalls, spawnWrapper, withOutDir } from "./fault-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  hashTree,
  type KacheEvent,
  makeTempDir,
  newCacheDir,
  PATH_WS_UNITS,
  readEvents,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const UTIL = "core/src/util.rs";

let workspace: string;
let cacheDir: string;
let original: string;
let noisy: RustcCall;

async function build(
  env: Record<string, string> = {},
  cwd = workspace,
  cache = cacheDir,
): Promise<CargoResult> {
  const result = await cargo(["build", "--locked"], { cwd, cacheDir: cache, env });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** Files and bytes under target/debug/incremental. */
function incrementalState(cwd = workspace): { files: number; bytes: number; crates: string[] } {
  const dir = join(cwd, "target", "debug", "incremental");
  if (!existsSync(dir)) return { files: 0, bytes: 0, crates: [] };
  let files = 0;
  let bytes = 0;
  for (const path of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const stat = statSync(join(dir, path));
    if (!stat.isFile()) continue;
    files += 1;
    bytes += stat.size;
  }
  const crates = readdirSync(dir).map((name) => name.replace(/-[0-9a-z]+$/, ""));
  return { files, bytes, crates: [...new Set(crates)].sort() };
}

const app = (cwd = workspace) => runBinary(join(cwd, "target", "debug", "fixture_app"));
const outputs = (cwd: string) =>
  hashTree(
    join(cwd, "target", "debug"),
    (path) => path === "fixture_app" || /^deps\/[^/]+\.(rlib|so)$/.test(path),
  );

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  original = readFileSync(join(workspace, UTIL), "utf8");
  const cold = await build();
  expect(summarise(cold.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
}, 240_000);

afterAll(removeTempDirs);

test("a dev build keeps -C incremental for the members: the incremental dir exists, and grows after an edit", async () => {
  const before = incrementalState();
  expect(before.crates).toEqual([
    "build_script_build",
    "fixture_app",
    "fixture_core",
    "fixture_macros",
    "fixture_noisy",
  ]);
  expect(before.files).toBeGreaterThan(0);
  writeFileSync(join(workspace, UTIL), original.replace("util says hi", "util says edited"));
  const edited = await build();
  expect(summarise(edited.events)).toEqual(["fixture_app: miss", "fixture_core: miss"]);
  expect(app()).toContain("util: util says edited");
  const after = incrementalState();
  expect(after.files).toBeGreaterThan(before.files);
  expect(after.bytes).toBeGreaterThan(before.bytes);
  writeFileSync(join(workspace, UTIL), original);
}, 240_000);

test("rm -rf target, then build: every unit is a local hit, members included", async () => {
  await build(); // back to the original sources
  removeTarget(workspace);
  const warm = await build();
  expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  // A hit leaves the incremental dir as it is: here, not there at all.
  expect(incrementalState().files).toBe(0);
}, 240_000);

test("CARGO_INCREMENTAL=0 after incremental builds gets no incremental-built artifact", async () => {
  removeTarget(workspace);
  const plain = await build({ CARGO_INCREMENTAL: "0" });
  // Every unit is a workspace member, so every entry so far came from an incremental compile.
  expect(summarise(plain.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  // Byte for byte what a cold non-incremental build through kache makes, with a cache of its own.
  const reference = copyFixture("path-ws");
  await build({ CARGO_INCREMENTAL: "0" }, reference, newCacheDir());
  expect(outputs(workspace)).toEqual(outputs(reference));
  expect(app()).toBe(app(reference));
  // And the plain entries serve the next plain build.
  removeTarget(workspace);
  const again = await build({ CARGO_INCREMENTAL: "0" });
  expect(summarise(again.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  expect(outputs(workspace)).toEqual(outputs(reference));
}, 240_000);

/** One recorded rustc call of fixture_noisy, run through kache with and without its `-C incremental`. */
async function noisyCall(incremental: boolean, cache: string): Promise<KacheEvent> {
  const args = incremental ? noisy.args : withoutIncremental(noisy.args);
  const outDir = join(makeTempDir("kache-e2e-out-"), "debug", "deps");
  mkdirSync(outDir, { recursive: true });
  const child = spawnWrapper(noisy, withOutDir({ ...noisy, args }, outDir), cache);
  expect(await child.exited, await new Response(child.stderr).text()).toBe(0);
  return readEvents(cache).find((event) => event.pid === child.pid)!;
}

function withoutIncremental(args: string[]): string[] {
  const at = args.findIndex((arg, i) => arg === "-C" && args[i + 1]?.startsWith("incremental="));
  return at === -1 ? args : [...args.slice(0, at), ...args.slice(at + 2)];
}

test("the same call with and without -C incremental: incremental takes a plain entry, never the reverse", async () => {
  const calls = await recordRustcCalls(copyFixture("path-ws", { under: "recorded" }), { incremental: true });
  noisy = crateCall(calls, "fixture_noisy");
  expect(noisy.args.some((arg) => arg.startsWith("incremental="))).toBe(true);
  // (Through cargo the two never meet: cargo's -C metadata differs with CARGO_INCREMENTAL.)
  const plainFirst = newCacheDir();
  expect((await noisyCall(false, plainFirst)).outcome).toBe("miss");
  expect((await noisyCall(true, plainFirst)).outcome).toBe("local hit");
  const incrementalFirst = newCacheDir();
  expect((await noisyCall(true, incrementalFirst)).outcome).toBe("miss");
  expect((await noisyCall(false, incrementalFirst)).outcome).toBe("miss");
  expect((await noisyCall(true, incrementalFirst)).outcome).toBe("local hit");
}, 240_000);

test("KACHE_INCREMENTAL=strip compiles without incremental, as kache 0.5.0 did", async () => {
  const other = copyFixture("path-ws", { under: "stripped" });
  const cold = await build({ KACHE_INCREMENTAL: "strip" }, other, newCacheDir());
  expect(summarise(cold.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  expect(incrementalState(other).files).toBe(0);
  expect(app(other)).toBe(app());
}, 240_000);
