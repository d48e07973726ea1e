// Tools that rewrite outputs in place (strip, objcopy, a stray write) work on target/ as rustc left it,
// and never change what a later hit serves: kache gives target/ no modes of its own, copies executables
// in and out of the store, and checks every restored file's content.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { hashFile } from "../../src/util/hash";
import {
  type CargoResult,
  cargo,
  copyFixture,
  type KacheEvent,
  newCacheDir,
  PATH_WS_OUTPUT,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";
import { type UnprivilegedUser, unprivilegedUser } from "./unprivileged";

const allHits = PATH_WS_UNITS.map((crate) => `${crate}: local hit`);
const allMisses = PATH_WS_UNITS.map((crate) => `${crate}: miss`);

const debugDir = (workspace: string) => join(workspace, "target", "debug");
const appPath = (workspace: string) => join(debugDir(workspace), "fixture_app");
const appOutput = (workspace: string) => runBinary(appPath(workspace)).trim().split("\n");

/** The one file in target/debug/deps whose name matches. */
function depsFile(workspace: string, pattern: RegExp): string {
  const deps = join(debugDir(workspace), "deps");
  const names = readdirSync(deps).filter((name) => pattern.test(name));
  expect(names).toHaveLength(1);
  return join(deps, names[0]!);
}

const coreRlib = (workspace: string) => depsFile(workspace, /^libfixture_core-[0-9a-f]+\.rlib$/);

/** The executables a developer's tools rewrite: the bin and the proc-macro .so. */
const executables = (workspace: string) => [
  appPath(workspace),
  depsFile(workspace, /^libfixture_macros-[0-9a-f]+\.so$/),
];

/** Workspace-relative path → sha256 of each executable. */
function executableHashes(workspace: string): Record<string, string> {
  return Object.fromEntries(
    executables(workspace).map((path) => [relative(workspace, path), hashFile(path)]),
  );
}

/**
 * "path mode" for every file under target/ whose mode is not one rustc gives (0777 or 0666 under
 * the umask). rustc's own incremental state (its session locks are 0600) is none of kache's doing.
 */
function foreignModes(workspace: string): string[] {
  const allowed = [0o777, 0o666].map((mode) => mode & ~process.umask());
  const target = join(workspace, "target");
  return readdirSync(target, { recursive: true, encoding: "utf8" }).flatMap((path) => {
    if (path.startsWith("debug/incremental/")) return [];
    const stat = statSync(join(target, path));
    const mode = stat.mode & 0o7777;
    return stat.isFile() && !allowed.includes(mode) ? [`${path} ${mode.toString(8)}`] : [];
  });
}

/** The modes rustc gives: executables 0777, the rlib 0666, under the umask; nothing else anywhere. */
function expectRustcModes(workspace: string): void {
  const umask = process.umask();
  const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);
  const [executable, other] = [0o777, 0o666].map((mode) => (mode & ~umask).toString(8));
  expect(executables(workspace).map(mode)).toEqual([executable!, executable!]);
  expect(mode(coreRlib(workspace))).toBe(other!);
  expect(foreignModes(workspace)).toEqual([]);
}

/** The store's blob files (ab/<sha256>, executables ab/<sha256>.x), relative to store/. */
function blobNames(cacheDir: string): string[] {
  const store = join(cacheDir, "store");
  return readdirSync(store, { recursive: true, encoding: "utf8" }).filter((name) =>
    /^[0-9a-f]{2}\/[0-9a-f]{64}(\.x)?$/.test(name),
  );
}

/** Blobs whose bytes no longer hash to their name: what a write through a link leaves behind. */
function changedBlobs(cacheDir: string): string[] {
  const names = blobNames(cacheDir);
  expect(names.length).toBeGreaterThan(10); // the layout this reads is the store's
  return names.filter(
    (name) => hashFile(join(cacheDir, "store", name)) !== name.slice(3).replace(/\.x$/, ""),
  );
}

/** Whether `path` is a hardlink to one of the store's blobs. */
function sharesInodeWithBlob(path: string, cacheDir: string): boolean {
  const { ino, dev } = statSync(path);
  return blobNames(cacheDir).some((name) => {
    const blob = statSync(join(cacheDir, "store", name));
    return blob.ino === ino && blob.dev === dev;
  });
}

/** Writes `text` over the middle of a file, as a tool that patches in place does: same inode, same size. */
function overwriteMiddle(path: string, text: string): void {
  const bytes = Buffer.from(text);
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, Math.floor((statSync(path).size - bytes.length) / 2));
  } finally {
    closeSync(fd);
  }
}

function outcomeOf(events: KacheEvent[], crate: string): string | undefined {
  return events.find((event) => event.crate === crate)?.outcome;
}

/** The build's outcomes first: where kache served wrong bytes, a build may also fail, for that reason. */
function expectBuilt(result: CargoResult, expected: string[]): void {
  if (result.code !== 0) console.error(result.stderr);
  expect(summarise(result.events)).toEqual(expected);
  expect(result.code).toBe(0);
}

afterAll(removeTempDirs);

describe("a user who is not root rewrites outputs with strip and objcopy", () => {
  let user: UnprivilegedUser;
  let workspace: string;
  let cacheDir: string;
  let note: string;
  let unstripped: Record<string, string>;
  const build = () => cargo(["build", "--locked"], { cwd: workspace, cacheDir, env: user.cargoEnv });

  /** strip, then objcopy --add-section, each in place as the user; the commands that failed. */
  function rewriteInPlace(): string[] {
    const failures: string[] = [];
    for (const file of executables(workspace)) {
      for (const command of [
        ["strip", file],
        ["objcopy", "--add-section", `.kache_note=${note}`, file],
      ]) {
        const result = user.run(command, dirname(file));
        if (result.code !== 0)
          failures.push(`${command.join(" ")}: exit ${result.code}: ${result.output.trim()}`);
      }
    }
    return failures;
  }

  /** The tools did their work on the tree's copy: every executable's bytes changed. */
  function expectRewritten(): void {
    for (const [path, hash] of Object.entries(executableHashes(workspace))) {
      expect({ path, changed: hash !== unstripped[path] }).toEqual({ path, changed: true });
    }
  }

  /** A wiped target/ comes back from the cache: all hits, the cold build's bytes, its output. */
  async function expectUnstrippedRestore(): Promise<void> {
    removeTarget(workspace);
    expectBuilt(await build(), allHits);
    expect(executableHashes(workspace)).toEqual(unstripped);
    expect(appOutput(workspace)).toEqual(PATH_WS_OUTPUT);
    expectRustcModes(workspace);
  }

  beforeAll(async () => {
    user = unprivilegedUser();
    workspace = copyFixture("path-ws");
    cacheDir = newCacheDir();
    note = join(dirname(workspace), "note.txt");
    writeFileSync(note, "added in place by objcopy\n");
    user.own(dirname(workspace));
    user.own(cacheDir);
    expectBuilt(await build(), allMisses);
    unstripped = executableHashes(workspace);
  }, 240_000);

  test("the cold build leaves rustc's modes on every file in target/", () => {
    expect(user.uid).not.toBe(0);
    expect(statSync(appPath(workspace)).uid).toBe(user.uid); // cargo really ran as that user
    expectRustcModes(workspace);
  });

  test("strip and objcopy rewrite the fresh outputs in place", () => {
    expect(rewriteInPlace()).toEqual([]);
    expectRewritten();
  });

  test("after rm -rf target, every unit is a local hit with the unstripped bytes", async () => {
    await expectUnstrippedRestore();
  }, 120_000);

  test("strip and objcopy rewrite restored outputs, and the next restore is unstripped again", async () => {
    expect(rewriteInPlace()).toEqual([]);
    expectRewritten();
    await expectUnstrippedRestore();
  }, 120_000);
});

// As root, modes stop nothing: a tool's write lands wherever the inode is shared. Here the test's
// own user runs everything (root in CI), which is where a write through a link could reach the store.
describe("a write into a restored output never reaches another checkout", () => {
  let cacheDir: string;
  let first: string;
  let coldRlib: string;
  let coldApp: string;
  // An incremental compile names its objects per session, so only a plain compile's rlib can be
  // compared byte for byte with the one a later compile makes.
  const build = (cwd: string) =>
    cargo(["build", "--locked"], { cwd, cacheDir, env: { CARGO_INCREMENTAL: "0" } });

  beforeAll(async () => {
    cacheDir = newCacheDir();
    first = copyFixture("path-ws");
    expectBuilt(await build(first), allMisses);
    coldRlib = hashFile(coreRlib(first));
    coldApp = hashFile(appPath(first));
    removeTarget(first);
    expectBuilt(await build(first), allHits);
  }, 240_000);

  // Strip goes first: a served rlib write breaks later builds, and strip's test would fail for that.
  test("strip of a restored binary does not change what another checkout restores", async () => {
    const strip = Bun.spawnSync(["strip", appPath(first)], { stderr: "pipe" });
    expect({ code: strip.exitCode, stderr: strip.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    expect(hashFile(appPath(first))).not.toBe(coldApp);
    expect(changedBlobs(cacheDir)).toEqual([]);

    const second = copyFixture("path-ws");
    const result = await build(second);
    expect(outcomeOf(result.events, "fixture_app")).toBe("local hit");
    expect(hashFile(appPath(second))).toBe(coldApp);
    expectBuilt(result, allHits);
    expect(appOutput(second)).toEqual(PATH_WS_OUTPUT);
  }, 120_000);

  test("18 bytes written in place into a restored rlib are not served to another checkout", async () => {
    const rlib = coreRlib(first);
    const before = statSync(rlib);
    expect(sharesInodeWithBlob(rlib, cacheDir)).toBe(true); // the precondition: a write reaches the store
    overwriteMiddle(rlib, "in-place rewrite!!");
    expect([statSync(rlib).ino, statSync(rlib).size]).toEqual([before.ino, before.size]);
    expect(hashFile(rlib)).not.toBe(coldRlib);

    const third = copyFixture("path-ws");
    const result = await build(third);
    expect(outcomeOf(result.events, "fixture_core")).toBe("miss");
    expect(hashFile(coreRlib(third))).toBe(coldRlib);
    // The recompiled rlib has the cold build's bytes, so everything that links it still hits.
    const coreRecompiled = allHits.map((line) =>
      line.replace("fixture_core: local hit", "fixture_core: miss"),
    );
    expectBuilt(result, coreRecompiled);
    expect(appOutput(third)).toEqual(PATH_WS_OUTPUT);
  }, 120_000);
});
