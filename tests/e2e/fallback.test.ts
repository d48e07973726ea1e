// cache.fallback on real cargo builds of path-ws: what kache passes through runs as
// `<fallback> <compiler> <args>`, what it caches does not, and a broken fallback never breaks a build.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { writeScript } from "./compiler-support";
import {
  type CargoResult,
  cargo,
  copyFixture,
  freePort,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  PATH_WS_OUTPUT,
  removeTarget,
  removeTempDirs,
  runBinary,
} from "./harness";

let workspace: string;
let cacheDir: string;
let tools: string;

beforeAll(() => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  tools = makeTempDir("kache-e2e-fallback-");
}, 120_000);

afterAll(removeTempDirs);

interface Recorder {
  path: string;
  /** The argv of every call the recorder saw since the last take (its own name not included). */
  take(): string[][];
}

/** A fallback that logs each call's argv (one file per call: calls run in parallel) and execs the rest. */
function recorder(name: string, exec = '"$@"'): Recorder {
  const log = join(tools, `${name}.calls`);
  mkdirSync(log, { recursive: true });
  const path = writeScript(join(tools, name), [
    "#!/bin/sh",
    `printf '%s\\0' "$@" >"$(mktemp "${log}/call.XXXXXXXX")" || exit 99`,
    `exec ${exec}`,
  ]);
  return {
    path,
    take() {
      const calls = readdirSync(log).map((file) => {
        const argv = readFileSync(join(log, file), "utf8").split("\0").slice(0, -1);
        rmSync(join(log, file));
        return argv;
      });
      return calls;
    },
  };
}

function crateOf(argv: string[]): string | null {
  const at = argv.indexOf("--crate-name");
  return at >= 0 && argv[at + 1] !== "___" ? argv[at + 1]! : null;
}

/** The crates the fallback compiled (sorted), leaving out cargo's probes. */
function compiledCrates(calls: string[][]): string[] {
  return calls.flatMap((argv) => crateOf(argv) ?? []).sort();
}

function eventsByCrate(result: CargoResult): Record<string, [unknown, unknown]> {
  return Object.fromEntries(result.events.map((event) => [event.crate, [event.outcome, event.reason]]));
}

function appOutput(): string[] {
  return runBinary(join(workspace, "target/debug/fixture_app")).trim().split("\n");
}

const EXECUTABLES = ["build_script_build", "fixture_app", "fixture_macros"];

test("pass-throughs run as <fallback> <compiler> <args>; the calls kache caches do not", async () => {
  const fallback = recorder("record");
  const env = { KACHE_FALLBACK: fallback.path, KACHE_CACHE_EXECUTABLES: "0" };
  const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(cold.code, cold.stderr).toBe(0);
  const calls = fallback.take();
  // Every call is the compiler first, exactly as cargo handed it to kache.
  for (const argv of calls) expect(basename(argv[0]!)).toBe("rustc");
  expect(calls.some((argv) => argv[1] === "-vV")).toBe(true);
  expect(calls.some((argv) => argv.includes("-") && argv.some((arg) => arg.startsWith("--print")))).toBe(
    true,
  );
  expect(compiledCrates(calls)).toEqual(EXECUTABLES);
  const events = eventsByCrate(cold);
  expect(events.fixture_core).toEqual(["miss", null]);
  expect(events.fixture_app).toEqual(["passthrough", "executables-disabled"]);
  expect(appOutput()).toEqual(PATH_WS_OUTPUT);

  removeTarget(workspace);
  const warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(warm.code, warm.stderr).toBe(0);
  expect(eventsByCrate(warm).fixture_core).toEqual(["local hit", null]);
  expect(compiledCrates(fallback.take())).toEqual(EXECUTABLES);
  expect(appOutput()).toEqual(PATH_WS_OUTPUT);
}, 120_000);

test("KACHE_DISABLED=1 sends every call to the fallback", async () => {
  const fallback = recorder("record-disabled");
  removeTarget(workspace);
  const env = { KACHE_FALLBACK: fallback.path, KACHE_DISABLED: "1" };
  const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(result.code, result.stderr).toBe(0);
  expect(compiledCrates(fallback.take())).toEqual([...EXECUTABLES, "fixture_core", "fixture_noisy"].sort());
  for (const event of result.events) expect(event.reason).toBe("disabled");
  expect(appOutput()).toEqual(PATH_WS_OUTPUT);
}, 120_000);

test("a fallback that is missing or cannot start leaves the plain compiler, with one warning", async () => {
  const badInterpreter = writeScript(join(tools, "bad-interpreter"), ["#!/nonexistent/sh", "exit 1"]);
  for (const [fallback, warning] of [
    [join(tools, "no-such-dir", "sccache"), "was not found; running the compiler directly"],
    ["no-such-sccache-on-path", "was not found; running the compiler directly"],
    [badInterpreter, "could not be started"],
  ] as const) {
    removeTarget(workspace);
    const env = { KACHE_FALLBACK: fallback, KACHE_CACHE_EXECUTABLES: "0" };
    const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir: newCacheDir(), env });
    expect(result.code, result.stderr).toBe(0);
    // Three executables passed through, but a build hears about the fallback once.
    expect(result.stderr.split(warning).length - 1, result.stderr).toBe(1);
    expect(result.stderr).toContain(fallback);
    expect(appOutput()).toEqual(PATH_WS_OUTPUT);
  }
}, 120_000);

test("kache is never its own fallback, and a fallback that calls kache again does not loop", async () => {
  const alias = join(tools, "alias", "sccache");
  mkdirSync(join(tools, "alias"), { recursive: true });
  symlinkSync(KACHE_BIN, alias);
  for (const fallback of [KACHE_BIN, alias]) {
    removeTarget(workspace);
    const env = { KACHE_FALLBACK: fallback, KACHE_CACHE_EXECUTABLES: "0" };
    // A fresh cache dir each: the warning is said once a minute per cache dir.
    const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir: newCacheDir(), env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.split("is kache itself; running the compiler directly").length - 1).toBe(1);
  }
  // A script in front of kache: the kache it starts sees it runs inside a fallback and compiles plainly.
  const looping = recorder("record-then-kache", `"${KACHE_BIN}" "$@"`);
  removeTarget(workspace);
  const env = { KACHE_FALLBACK: looping.path, KACHE_CACHE_EXECUTABLES: "0" };
  const result = await cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  expect(result.code, result.stderr).toBe(0);
  expect(compiledCrates(looping.take())).toEqual(EXECUTABLES);
  expect(appOutput()).toEqual(PATH_WS_OUTPUT);
}, 120_000);

interface SccacheStats {
  cache_hits: { counts: Record<string, number> };
  cache_misses: { counts: Record<string, number> };
}

test("with sccache as the fallback (set in the config file), sccache caches the crate kache excludes", async () => {
  if (!Bun.which("sccache"))
    throw new Error("sccache is not installed: apt-get install sccache (.ci/run does)");
  const sccacheConfig = join(tools, "sccache.conf");
  // sccache fails a call whose server has not started within 10 s; in CI this test once failed at 10.4 s.
  writeFileSync(sccacheConfig, "server_startup_timeout_ms = 60000\n");
  const sccacheEnv = {
    SCCACHE_CONF: sccacheConfig,
    SCCACHE_DIR: makeTempDir("kache-e2e-sccache-"),
    SCCACHE_SERVER_PORT: String(freePort()),
    // The server outlives the build; if this test dies before stopping it, it stops itself.
    SCCACHE_IDLE_TIMEOUT: "120",
  };
  // Started here, as CI set-ups start it, so the build's first calls do not race to start it.
  const started = Bun.spawnSync(["sccache", "--start-server"], { env: { ...process.env, ...sccacheEnv } });
  expect(started.exitCode, started.stderr.toString()).toBe(0);
  const stats = (): SccacheStats => {
    const run = Bun.spawnSync(["sccache", "--show-stats", "--stats-format", "json"], {
      env: { ...process.env, ...sccacheEnv },
    });
    return JSON.parse(run.stdout.toString()).stats as SccacheStats;
  };
  const config = join(tools, "sccache-config.toml");
  writeFileSync(config, '[cache]\nfallback = "sccache"\nexclude = ["**/noisy/src/**"]\n');
  // sccache does not cache incremental compiles; workspace members compile incrementally by default.
  const env = { ...sccacheEnv, KACHE_CONFIG: config, CARGO_INCREMENTAL: "0" };
  try {
    const ownCache = newCacheDir();
    const cold = await cargo(["build", "--locked"], { cwd: workspace, cacheDir: ownCache, env });
    expect(cold.code, cold.stderr).toBe(0);
    expect(eventsByCrate(cold).fixture_noisy).toEqual(["passthrough", "excluded"]);
    expect(eventsByCrate(cold).fixture_core).toEqual(["miss", null]);
    expect(cold.cargoText).toContain("unused variable: `unused_on_purpose`");
    expect(stats().cache_misses.counts.Rust, cold.stderr).toBe(1);
    expect(appOutput()).toEqual(PATH_WS_OUTPUT);

    removeTarget(workspace);
    const warm = await cargo(["build", "--locked"], { cwd: workspace, cacheDir: ownCache, env });
    expect(warm.code, warm.stderr).toBe(0);
    expect(eventsByCrate(warm).fixture_core).toEqual(["local hit", null]);
    expect(stats().cache_hits.counts.Rust, warm.stderr).toBe(1);
    expect(warm.cargoText).toContain("unused variable: `unused_on_purpose`");
    expect(appOutput()).toEqual(PATH_WS_OUTPUT);
  } finally {
    Bun.spawnSync(["sccache", "--stop-server"], { env: { ...process.env, ...sccacheEnv } });
  }
}, 120_000);
