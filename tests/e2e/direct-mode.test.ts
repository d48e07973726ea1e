// Direct mode (SPEC §3): warm rebuilds compute keys from recorded input lists with no pre-pass; a stale
// list may cost a miss, never a wrong hit, including when a source is edited while it compiles.
// A counting RUSTC shim witnesses, apart from kache's own events, which compiles and pre-passes ran.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { daemonPids, kache } from "./daemon-support";
import {
  type CompilerCounter,
  cargo,
  compilerCounter,
  copyFixture,
  KACHE_BIN,
  type KacheEvent,
  newCacheDir,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const UTIL = "core/src/util.rs";
const LIB = "core/src/lib.rs";

let workspace: string;
let cacheDir: string;
let compiler: CompilerCounter;
const originals: Record<string, string> = {};

async function build(env: Record<string, string | undefined> = {}) {
  const result = await cargo(["build", "--locked"], {
    cwd: workspace,
    cacheDir,
    env: { ...compiler.env, ...env },
  });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function appLine(prefix: string): string {
  const output = runBinary(join(workspace, "target/debug/fixture_app"));
  return output.split("\n").find((line) => line.startsWith(`${prefix}:`)) ?? "";
}

function edit(path: string, text: string): void {
  writeFileSync(join(workspace, path), text);
}

function event(events: KacheEvent[], crate: string): KacheEvent {
  const found = events.find((e) => e.crate === crate);
  if (!found) throw new Error(`no event for ${crate} in ${JSON.stringify(events)}`);
  return found;
}

function restoreOriginals(): void {
  for (const [path, text] of Object.entries(originals)) edit(path, text);
}

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  compiler = compilerCounter();
  for (const path of [UTIL, LIB]) originals[path] = readFileSync(join(workspace, path), "utf8");
  await build();
  // The witness works: a cold build compiles every unit once, with no pre-pass (compile first).
  expect(compiler.takeRuns()).toEqual({ compiles: PATH_WS_UNITS, prepasses: [] });
});

// The build with a remote configured starts a daemon in the background: stop it, leave none behind.
afterAll(async () => {
  const stop = await kache(KACHE_BIN, ["daemon", "stop"], cacheDir, { timeoutMs: 20_000 });
  const left = daemonPids(cacheDir);
  for (const pid of left) process.kill(pid, "SIGKILL");
  removeTempDirs();
  expect(stop.code, stop.stderr).toBe(0);
  expect(left, `daemon processes of ${cacheDir} after \`kache daemon stop\``).toEqual([]);
}, 30_000);

describe("direct mode", () => {
  test("a warm rebuild after rm -rf target runs no pre-pass and hits every unit", async () => {
    removeTarget(workspace);
    const warm = await build();
    expect(warm.events.length).toBe(5);
    expect(warm.events.every((e) => e.outcome === "local hit")).toBe(true);
    expect(warm.events.filter((e) => e.prepass === true)).toEqual([]);
    expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
    expect(compiler.takeRuns()).toEqual({ compiles: [], prepasses: [] });
  });

  test("with KACHE_DIRECT_MODE=0 every call pre-passes, and still hits", async () => {
    removeTarget(workspace);
    const warm = await build({ KACHE_DIRECT_MODE: "0" });
    expect(warm.events.every((e) => e.outcome === "local hit" && e.prepass === true)).toBe(true);
    // Not vacuous: exactly the five units, each a pre-passed hit; the compiler ran only the pre-passes.
    expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
    expect(warm.events.map((e) => e.prepass)).toEqual(PATH_WS_UNITS.map(() => true));
    expect(compiler.takeRuns()).toEqual({ compiles: [], prepasses: PATH_WS_UNITS });
  });

  test("a source edited while its crate compiles is neither trusted nor stored", async () => {
    edit(UTIL, originals[UTIL]!.replace("util says hi", "util says one"));
    // The proc-macro sleeps while expanding fixture_core, after util.rs has been read.
    const racing = build({ FIXTURE_MACRO_SLEEP_MS: "3000" });
    await Bun.sleep(1500);
    edit(UTIL, originals[UTIL]!.replace("util says hi", "util says two"));
    const raced = await racing;
    const core = event(raced.events, "fixture_core");
    expect(core.outcome).toBe("miss");
    expect(core.size).toBe(0);
    // The compile read "one"; a key from the file as it is now must not have been stored for it.
    const after = await build();
    expect(event(after.events, "fixture_core").outcome).toBe("miss");
    expect(appLine("util")).toBe("util: util says two");
    removeTarget(workspace);
    await build();
    expect(appLine("util")).toBe("util: util says two");
    restoreOriginals();
  });

  test("a new util/mod.rs beside the listed util.rs fails the build as rustc does, though no listed file changed", async () => {
    await build();
    removeTarget(workspace);
    mkdirSync(join(workspace, "core/src/util"));
    writeFileSync(
      join(workspace, "core/src/util/mod.rs"),
      'pub fn message() -> String { "shadow".into() }\n',
    );
    try {
      const shadowed = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: compiler.env });
      expect(shadowed.code).not.toBe(0);
      expect(shadowed.cargoText).toContain("error[E0761]");
      expect(shadowed.events.find((e) => e.crate === "fixture_core")?.outcome).not.toBe("local hit");
    } finally {
      rmSync(join(workspace, "core/src/util"), { recursive: true, force: true });
    }
    const after = await build();
    expect(event(after.events, "fixture_core")).toMatchObject({ outcome: "local hit", prepass: false });
  });

  test("util.rs moved to util/mod.rs: compiled and stored, though the old list names a file that is gone", async () => {
    await build();
    mkdirSync(join(workspace, "core/src/util"));
    writeFileSync(join(workspace, "core/src/util/mod.rs"), originals[UTIL]!);
    rmSync(join(workspace, UTIL));
    try {
      removeTarget(workspace);
      const moved = await build();
      expect(event(moved.events, "fixture_core").outcome).toBe("miss");
      expect(event(moved.events, "fixture_core").size).toBeGreaterThan(0); // stored, not refused
      removeTarget(workspace);
      const again = await build();
      expect(event(again.events, "fixture_core").outcome).toBe("local hit");
      expect(appLine("util")).toBe("util: util says hi");
    } finally {
      rmSync(join(workspace, "core/src/util"), { recursive: true, force: true });
      restoreOriginals();
    }
  });

  test("a listed file that was deleted misses and falls back (pre-pass when a remote could hit)", async () => {
    await build();
    rmSync(join(workspace, UTIL));
    edit(
      LIB,
      originals[LIB]!.replace(
        "mod util;",
        'mod util { pub fn message() -> String { "inline util".into() } }',
      ),
    );
    const compileFirst = await build();
    expect(event(compileFirst.events, "fixture_core")).toMatchObject({ outcome: "miss", prepass: false });
    expect(appLine("util")).toBe("util: inline util");
    // With a remote configured, an unknown input set is worth a lookup: the pre-pass runs (for a
    // call that is not an incremental rebuild where its outputs are: that is an edit, see
    // remote-filesystem.test.ts).
    edit(
      LIB,
      originals[LIB]!.replace("mod util;", 'mod util { pub fn message() -> String { "inline two".into() } }'),
    );
    const prepassed = await build({ KACHE_S3_BUCKET: "kache-test-unused", CARGO_INCREMENTAL: "0" });
    expect(event(prepassed.events, "fixture_core")).toMatchObject({ outcome: "miss", prepass: true });
    expect(appLine("util")).toBe("util: inline two");
    restoreOriginals();
    const reverted = await build();
    expect(event(reverted.events, "fixture_core")).toMatchObject({ outcome: "local hit", prepass: false });
    expect(appLine("util")).toBe("util: util says hi");
  });
});
