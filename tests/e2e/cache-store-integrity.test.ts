// "The store is never written through a link" (SPEC §4): after hits leave hardlinks into the store in
// target/, recompiling the same crates into the same target dir must not change any blob's bytes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashFile } from "../../src/util/hash";
import {
  cargo,
  copyFixture,
  newCacheDir,
  PATH_WS_UNITS,
  removeTarget,
  removeTempDirs,
  runBinary,
  summarise,
} from "./harness";

const SOURCES = {
  util: "core/src/util.rs",
  macros: "macros/src/lib.rs",
  noisy: "noisy/src/lib.rs",
  buildInput: "core/build-input.txt",
};

let workspace: string;
let cacheDir: string;
let originalOutput: string;
const originals: Record<string, string> = {};

const build = (args: string[] = []) => cargo(["build", "--locked", ...args], { cwd: workspace, cacheDir });
const app = () => runBinary(join(workspace, "target", "debug", "fixture_app"));

interface Blob {
  path: string;
  name: string;
  ino: number;
  mode: number;
}

function blobs(): Blob[] {
  const store = join(cacheDir, "store");
  const found: Blob[] = [];
  for (const dir of readdirSync(store)) {
    for (const name of readdirSync(join(store, dir))) {
      if (name.startsWith(".")) continue; // a temp file of a store in progress
      const path = join(store, dir, name);
      const stat = statSync(path);
      found.push({ path, name, ino: stat.ino, mode: stat.mode & 0o777 });
    }
  }
  return found;
}

/** Files under target/debug that share an inode with a blob. */
function linkedIntoStore(): string[] {
  const inodes = new Set(blobs().map((blob) => blob.ino));
  const debug = join(workspace, "target", "debug");
  return readdirSync(debug, { recursive: true, encoding: "utf8" }).filter((path) => {
    const stat = statSync(join(debug, path));
    return stat.isFile() && inodes.has(stat.ino);
  });
}

/** Replaces one occurrence of `from` in a workspace file (in place: same inode). */
function edit(file: string, from: string, to: string): void {
  const path = join(workspace, file);
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

function revertAll(): void {
  for (const [file, text] of Object.entries(originals)) writeFileSync(join(workspace, file), text);
}

beforeAll(async () => {
  workspace = copyFixture("path-ws");
  cacheDir = newCacheDir();
  for (const file of Object.values(SOURCES)) originals[file] = readFileSync(join(workspace, file), "utf8");
  const cold = await build();
  expect(cold.code).toBe(0);
  originalOutput = app();
  removeTarget(workspace);
  const warm = await build();
  expect(summarise(warm.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
}, 120_000);
afterAll(removeTempDirs);

test("after hits, target/ holds hardlinks into the store (the precondition)", () => {
  const linked = linkedIntoStore();
  expect(linked.some((path) => /^deps\/libfixture_core-[0-9a-f]+\.rlib$/.test(path))).toBe(true);
  expect(linked.some((path) => /^deps\/libfixture_noisy-[0-9a-f]+\.rlib$/.test(path))).toBe(true);
  expect(linked.filter((path) => path.endsWith(".d"))).toEqual([]); // dep-info is always a fresh file
});

test("recompiling over linked outputs, round after round, leaves every blob intact and private", async () => {
  for (const round of ["1", "2", "3"]) {
    edit(SOURCES.util, "util says hi", `util says ${round}`);
    edit(SOURCES.macros, "described by fixture_macros", `described in round ${round}`);
    edit(SOURCES.noisy, "42", `42${round}`);
    edit(SOURCES.buildInput, "alpha", `alpha${round}`);
    const edited = await build();
    expect(edited.code).toBe(0);
    // The build script's own source did not change: it reruns without recompiling.
    expect(summarise(edited.events)).toEqual(
      ["fixture_app", "fixture_core", "fixture_macros", "fixture_noisy"].map((crate) => `${crate}: miss`),
    );
    expect(app()).toContain(`util: util says ${round}`);
    expect(app()).toContain(`macro: Fixture described in round ${round}`);

    // The feature flips the build script, core and app onto other files; then back, over the links.
    expect((await build(["--features", "fixture_app/shout"])).code).toBe(0);

    // Back to the original sources (hits or not: cache-edits checks that); the next round's edits
    // then recompile over outputs that are links into the store again.
    revertAll();
    expect((await build()).code).toBe(0);
    expect(app()).toBe(originalOutput);
    expect(linkedIntoStore().some((path) => /^deps\/libfixture_core-[0-9a-f]+\.rlib$/.test(path))).toBe(true);
  }

  const all = blobs();
  expect(all.length).toBeGreaterThan(10);
  const corrupt = all
    .filter((blob) => hashFile(blob.path) !== blob.name.replace(/\.x$/, ""))
    .map((blob) => blob.path);
  expect(corrupt).toEqual([]);
  // Executables are the store's own copies (0555); a hardlinkable output keeps the mode rustc gave
  // it, so a tree that links it sees rustc's mode; kache's own dep-info blobs are 0444.
  const outputMode = 0o666 & ~process.umask();
  const wrongMode = all
    .filter((blob) =>
      blob.name.endsWith(".x") ? blob.mode !== 0o555 : ![0o444, outputMode].includes(blob.mode),
    )
    .map((blob) => `${blob.path} ${blob.mode.toString(8)}`);
  expect(wrongMode).toEqual([]);
}, 240_000);

test("a wiped target/ is restored from those blobs with the original output", async () => {
  removeTarget(workspace);
  const result = await build();
  expect(summarise(result.events)).toEqual(PATH_WS_UNITS.map((crate) => `${crate}: local hit`));
  expect(app()).toBe(originalOutput);
}, 120_000);

test("restored files have the modes rustc gives its outputs, and no executable shares an inode with a blob", () => {
  const umask = process.umask();
  const deps = join(workspace, "target", "debug", "deps");
  const modes = Object.fromEntries(
    readdirSync(deps).map((name) => [name, statSync(join(deps, name)).mode & 0o777] as const),
  );
  const app = Object.entries(modes).find(([name]) => /^fixture_app-[0-9a-f]+$/.test(name));
  const rlib = Object.entries(modes).find(([name]) => /^libfixture_core-[0-9a-f]+\.rlib$/.test(name));
  const macro = Object.entries(modes).find(([name]) => /^libfixture_macros-[0-9a-f]+\.so$/.test(name));
  expect(app?.[1]).toBe(0o777 & ~umask);
  expect(macro?.[1]).toBe(0o777 & ~umask);
  expect(rlib?.[1]).toBe(0o666 & ~umask);
  const linkedExecutables = linkedIntoStore().filter(
    (path) => (statSync(join(workspace, "target", "debug", path)).mode & 0o111) !== 0,
  );
  expect(linkedExecutables).toEqual([]);
});
