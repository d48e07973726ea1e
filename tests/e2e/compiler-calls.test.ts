// How kache treats the compiler it is handed (SPEC §1, §2): a rustc under another name or behind a
// script is still cached, a program that is not rustc passes through untouched, and a compile-first
// call keeps rustc's default output and writes its side dep-info only inside a private temp dir.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { type DirectRun, runDirect, toolchainRustc, writeLibCrate, writeScript } from "./compiler-support";
import { kacheEnv } from "./daemon-support";
import {
  cargo,
  copyFixture,
  hashTree,
  KACHE_BIN,
  makeTempDir,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  readEvents,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

afterAll(removeTempDirs);

/** A temp dir holding the one-file crate and, as cargo makes them before calling rustc, `outDirs`. */
function crateDir(outDirs: string[] = []): string {
  const dir = makeTempDir();
  writeLibCrate(dir);
  for (const out of outDirs) mkdirSync(join(dir, out));
  return dir;
}

/** What a library call of the one-file crate passes after the compiler; `out` is its --out-dir. */
function libArgs(out: string, emit: string[] = []): string[] {
  return ["--crate-name", "foo", "--crate-type", "lib", "src/lib.rs", "--out-dir", out, ...emit];
}

/** `kache <rustc> <lib call into out>` in `dir`; asserts it succeeded and wrote just the rlib. */
async function compileLib(dir: string, cacheDir: string, out: string): Promise<DirectRun> {
  const run = await runDirect(KACHE_BIN, [toolchainRustc(), ...libArgs(out)], dir, kacheEnv(cacheDir));
  expect(run.code, run.stderr).toBe(0);
  expect(readdirSync(join(dir, out))).toEqual(["libfoo.rlib"]);
  return run;
}

/** `crate: outcome (reason)` per event of `cacheDir`, in the order kache wrote them. */
function outcomesOf(cacheDir: string): string[] {
  return readEvents(cacheDir).map((e) => `${e.crate}: ${e.outcome}${e.reason ? ` (${e.reason})` : ""}`);
}

/**
 * A cold build of path-ws with `env` (which names the compiler) stores every unit, and after
 * `rm -rf target` restores every one: kache took the compiler for rustc and cached it.
 */
async function expectCachedWith(env: Record<string, string>): Promise<void> {
  const workspace = copyFixture("path-ws");
  const cacheDir = newCacheDir();
  const build = () => cargo(["build", "--locked"], { cwd: workspace, cacheDir, env });
  const app = () => runBinary(join(workspace, "target", "debug", "fixture_app")).trim();
  const cold = await build();
  expect(cold.code, cold.stderr).toBe(0);
  expect(app()).toBe(PATH_WS_OUTPUT.join("\n"));
  expect(summarise(cold.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  removeTarget(workspace);
  const warm = await build();
  expect(warm.code, warm.stderr).toBe(0);
  expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  expect(app()).toBe(PATH_WS_OUTPUT.join("\n"));
}

describe("a compiler not named rustc", () => {
  // Cargo asks `kache rustc-1.95 -vV` first: a kache that took the name for a command failed the build.
  test("RUSTC=rustc-1.95, a link on PATH to the toolchain's rustc, is cached", async () => {
    const bin = makeTempDir("kache-e2e-path-");
    symlinkSync(toolchainRustc(), join(bin, "rustc-1.95"));
    await expectCachedWith({ RUSTC: "rustc-1.95", PATH: `${bin}:${process.env.PATH}` });
  });

  // A script's `-vV` is never memoised (it may exec another rustc tomorrow), but it is still asked.
  test("RUSTC=/abs/path/my-rustc, a script that execs rustc, is cached", async () => {
    const script = join(makeTempDir("kache-e2e-rustc-"), "my-rustc");
    writeScript(script, ["#!/bin/sh", `exec "${toolchainRustc()}" "$@"`]);
    await expectCachedWith({ RUSTC: script });
  });

  // The script answers `-vV` with rustc's words whatever flags it adds: its content is in the key.
  test("RUSTC a script that adds --cfg: the edited script gets its own entries, never the old ones", async () => {
    const script = join(makeTempDir("kache-e2e-rustc-"), "my-rustc");
    const workspace = copyFixture("path-ws");
    const cacheDir = newCacheDir();
    const build = () => cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: { RUSTC: script } });
    writeScript(script, ["#!/bin/sh", `exec "${toolchainRustc()}" "$@" --cfg kache_script_flag`]);
    expect((await build()).code).toBe(0);
    writeScript(script, ["#!/bin/sh", `exec "${toolchainRustc()}" "$@"`]);
    removeTarget(workspace);
    const edited = await build();
    expect(edited.code, edited.stderr).toBe(0);
    expect(summarise(edited.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: miss`));
  });

  // It answers `-vV` with its own words and exit code 3: not rustc, so kache only runs it, unchanged.
  test("a program that is not rustc passes through with its exit code and output untouched", async () => {
    const dir = crateDir(["out"]);
    const fake = writeScript(join(dir, "not-a-compiler"), [
      "#!/bin/sh",
      'echo "out: $*"',
      'echo "err: $# args" >&2',
      "exit 3",
    ]);
    const cacheDir = newCacheDir();
    const args = libArgs("out");
    const run = await runDirect(KACHE_BIN, [fake, ...args], dir, kacheEnv(cacheDir));
    expect(run.code).toBe(3);
    expect(run.stdout).toBe(`out: ${args.join(" ")}\n`);
    expect(run.stderr).toBe(`err: ${args.length} args\n`);
    expect(outcomesOf(cacheDir)).toEqual(["foo: passthrough (unknown-compiler)"]);
  });
});

// `kache init` sets build.rustc-wrapper; a user who also sets RUSTC_WORKSPACE_WRAPPER=kache gets
// `kache kache rustc ...`: one kache caches each unit, instead of a pass-through around a cached call.
test("kache named as RUSTC_WORKSPACE_WRAPPER too caches each unit once", async () => {
  await expectCachedWith({ RUSTC_WORKSPACE_WRAPPER: KACHE_BIN });
}, 240_000);

describe("a compile-first call", () => {
  // The side dep-info used to come as `--emit=dep-info=<tmp>`, which replaces rustc's default `link`.
  test("with no --emit writes the rlib, and the same call into a fresh out dir restores it", async () => {
    const dir = crateDir(["out"]);
    const cacheDir = newCacheDir();
    await compileLib(dir, cacheDir, "out");
    renameSync(join(dir, "out"), join(dir, "first"));
    mkdirSync(join(dir, "out"));
    await compileLib(dir, cacheDir, "out");
    expect(outcomesOf(cacheDir)).toEqual(["foo: miss", "foo: local hit"]);
    expect(hashTree(join(dir, "out"))).toEqual(hashTree(join(dir, "first")));
  });

  // rustc makes a missing --out-dir itself; kache used to fail its clock probe in it and not cache.
  test("whose --out-dir is missing is cached, and a hit restores into a missing one too", async () => {
    const dir = crateDir();
    const cacheDir = newCacheDir();
    for (let run = 0; run < 2; run++) {
      rmSync(join(dir, "new"), { recursive: true, force: true });
      expect((await compileLib(dir, cacheDir, "new/out")).stderr).toBe("");
    }
    expect(outcomesOf(cacheDir)).toEqual(["foo: miss", "foo: local hit"]);
  });

  // A predictable name in the shared temp dir can be created (or linked elsewhere) by another user first.
  test.each([
    ["--emit=metadata", "libfoo.rmeta"],
    ["no --emit", "libfoo.rlib"],
  ])("with %s puts its side dep-info in a private dir, removed afterwards", async (emit, output) => {
    const dir = crateDir(["out"]);
    const tmp = makeTempDir("kache-e2e-tmpdir-");
    const record = join(dir, "dep-info-dirs");
    // The shim looks at the side dep-info's dir while it exists: rustc is about to write into it.
    const shim = writeScript(join(makeTempDir("kache-e2e-rustc-"), "rustc"), [
      "#!/bin/sh",
      "for arg do",
      '  case "$arg" in --emit=*dep-info=*)',
      `    path="\${arg#*dep-info=}"`,
      `    printf '%s %s\\n' "$path" "$(stat -c '%a %u' "$(dirname "$path")")" >>"${record}" ;;`,
      "  esac",
      "done",
      `exec "${toolchainRustc()}" "$@"`,
    ]);
    const args = libArgs("out", emit === "no --emit" ? [] : [emit]);
    const run = await runDirect(KACHE_BIN, [shim, ...args], dir, kacheEnv(newCacheDir(), { TMPDIR: tmp }));
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(join(dir, "out"))).toEqual([output]);
    const lines = readFileSync(record, "utf8").trim().split("\n");
    expect(lines.length).toBe(1);
    const [path, mode, uid] = lines[0]!.split(" ");
    expect(dirname(path!)).not.toBe(tmp);
    expect(dirname(dirname(path!))).toBe(tmp);
    expect(`${mode} ${uid}`).toBe(`700 ${process.getuid!()}`);
    expect(existsSync(dirname(path!))).toBe(false);
    expect(readdirSync(tmp).filter((name) => name.includes("kache"))).toEqual([]);
  });
});

// The daemon's `cargo metadata` (and anything else started outside cargo) can carry cargo's jobserver
// variable without its fds: Bun refuses to pass a closed fd, and kache died before running rustc.
test("CARGO_MAKEFLAGS naming closed jobserver fds: a probe and a cached compile still run", async () => {
  const jobserver = { CARGO_MAKEFLAGS: "-j --jobserver-fds=61,62 --jobserver-auth=61,62" };
  const dir = crateDir(["out"]);
  const cacheDir = newCacheDir();
  const env = { ...kacheEnv(cacheDir), ...jobserver };
  const probe = await runDirect(KACHE_BIN, [toolchainRustc(), "-vV"], dir, env);
  expect(probe.code, probe.stderr).toBe(0);
  expect(probe.stdout).toStartWith("rustc ");
  for (const outcome of ["miss", "local hit"]) {
    rmSync(join(dir, "out"), { recursive: true, force: true });
    const run = await runDirect(KACHE_BIN, [toolchainRustc(), ...libArgs("out")], dir, env);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(join(dir, "out"))).toEqual(["libfoo.rlib"]);
    expect(outcomesOf(cacheDir).at(-1)).toBe(`foo: ${outcome}`);
  }
});
