// Parsing rustc's dep-info and normalising machine-local paths to sentinels and back.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectRoots, PathNormaliser, targetDirFromOutDir } from "../../../src/util/path-roots";
import { parseDepInfo, prepassArgs } from "../../../src/wrapper/dep-info";

const DEP_INFO = `/w/target/debug/deps/fixture_core-c2.d: core/src/lib.rs core/src/util.rs core/src/../data/greeting.txt /w/target/debug/build/fixture_core-93/out/generated.rs dir\\ with\\ space/x.rs

/w/target/debug/deps/libfixture_core-c2.rmeta: core/src/lib.rs core/src/util.rs core/src/../data/greeting.txt /w/target/debug/build/fixture_core-93/out/generated.rs dir\\ with\\ space/x.rs

core/src/lib.rs:
core/src/util.rs:
core/src/../data/greeting.txt:
/w/target/debug/build/fixture_core-93/out/generated.rs:
dir\\ with\\ space/x.rs:

# env-dep:FIXTURE_BUILD_VALUE=build-ALPHA
# env-dep:KACHE_FIXTURE_NAME
# env-dep:OUT_DIR=/w/target/debug/build/fixture_core-93/out
`;

describe("dep-info", () => {
  test("sources from the first rule, env-deps with and without values", () => {
    const info = parseDepInfo(DEP_INFO);
    expect(info.sources).toEqual([
      "core/src/lib.rs",
      "core/src/util.rs",
      "core/src/../data/greeting.txt",
      "/w/target/debug/build/fixture_core-93/out/generated.rs",
      "dir with space/x.rs",
    ]);
    expect(info.envDeps).toEqual([
      ["FIXTURE_BUILD_VALUE", "build-ALPHA"],
      ["KACHE_FIXTURE_NAME", null],
      ["OUT_DIR", "/w/target/debug/build/fixture_core-93/out"],
    ]);
  });

  test("the pre-pass replaces emit and out-dir only", () => {
    const args = [
      "--crate-name",
      "a",
      "a.rs",
      "--emit=dep-info,metadata,link",
      "--out-dir",
      "/o",
      "-C",
      "opt-level=1",
    ];
    expect(prepassArgs(args, "/tmp/x")).toEqual([
      "--crate-name",
      "a",
      "a.rs",
      "-C",
      "opt-level=1",
      "--emit=dep-info",
      "--out-dir=/tmp/x",
    ]);
  });
});

describe("path roots", () => {
  test("the target dir is found from deps, build and triple out-dirs", () => {
    expect(targetDirFromOutDir("/w/target/debug/deps", null)).toBe("/w/target");
    expect(targetDirFromOutDir("/w/target/debug/build/foo-1", null)).toBe("/w/target");
    expect(targetDirFromOutDir("/t/x86_64-unknown-linux-gnu/release/deps", "x86_64-unknown-linux-gnu")).toBe(
      "/t",
    );
    expect(targetDirFromOutDir("/somewhere/else", null)).toBeNull();
  });

  const env = {
    HOME: "/home/ann",
    CARGO_HOME: "/home/ann/.cargo",
    RUSTUP_HOME: "/home/ann/.rustup",
    TMPDIR: "/tmp",
  };

  /** A member's call in /home/ann/src/proj, its target dir inside. */
  const annsProject = () =>
    new PathNormaliser(
      detectRoots(
        "/home/ann/src/proj",
        "/home/ann/src/proj",
        "/home/ann/src/proj/target/debug/deps",
        null,
        env,
      ),
    );

  test("the most specific root wins and boundaries are respected", () => {
    const n = annsProject();
    expect(n.normalise("/home/ann/src/proj/target/debug/deps/liba.rlib")).toBe(
      "<TARGET>/debug/deps/liba.rlib",
    );
    expect(n.normalise("/home/ann/src/proj/src/lib.rs")).toBe("<WORKSPACE>/src/lib.rs");
    expect(n.normalise("/home/ann/.cargo/registry/src/x")).toBe("<CARGO_HOME>/registry/src/x");
    expect(n.normalise("/home/annie/file")).toBe("/home/annie/file");
    expect(n.normalise('{"artifact":"/home/ann/src/proj/target/debug/deps/a.d"}')).toBe(
      '{"artifact":"<TARGET>/debug/deps/a.d"}',
    );
  });

  test("normalise then denormalise in another checkout gives that checkout's paths", () => {
    const a = new PathNormaliser(detectRoots("/a/proj", "/a/proj", "/a/proj/target/debug/deps", null, env));
    const b = new PathNormaliser(
      detectRoots("/b/deeper/proj", "/b/deeper/proj", "/b/deeper/proj/target/debug/deps", null, env),
    );
    const stored = a.normalise("/a/proj/target/debug/deps/x.rmeta: /a/proj/target/debug/build/o/out/g.rs");
    expect(b.denormalise(stored)).toBe(
      "/b/deeper/proj/target/debug/deps/x.rmeta: /b/deeper/proj/target/debug/build/o/out/g.rs",
    );
  });

  test("a crate outside the workspace has no WORKSPACE root: its registry path stays readable", () => {
    const crateDir = "/home/ann/.cargo/registry/src/index.crates.io-6f17d22bba15001f/clap-4.0.32";
    const n = new PathNormaliser(
      detectRoots(null, crateDir, "/home/ann/src/proj/target/debug/deps", null, env),
    );
    expect(n.normalise(`${crateDir}/src/lib.rs`)).toBe(
      "<CARGO_HOME>/registry/src/index.crates.io-6f17d22bba15001f/clap-4.0.32/src/lib.rs",
    );
    expect(n.remapArgs().some((arg) => arg.includes("<WORKSPACE>"))).toBe(false);
  });

  test("a symlinked target dir: the path it leads to is the target dir too, and turns back into the link", () => {
    const root = mkdtempSync(join(tmpdir(), "kache-roots-"));
    try {
      mkdirSync(join(root, "real", "debug", "deps"), { recursive: true });
      symlinkSync(join(root, "real"), join(root, "target"));
      const n = new PathNormaliser(detectRoots(root, root, join(root, "target", "debug", "deps"), null, {}));
      const rlib = join(root, "real", "debug", "deps", "liba.rlib");
      expect(n.inTargetDir(rlib)).toBe(true);
      expect(n.normalise(rlib)).toBe("<TARGET>/debug/deps/liba.rlib");
      expect(n.denormalise("<TARGET>/debug/deps/liba.rlib")).toBe(
        join(root, "target", "debug", "deps", "liba.rlib"),
      );
      expect(n.remapArgs()).toContain(`--remap-path-prefix=${join(root, "real")}=<TARGET>`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("remap args go least specific first, since rustc applies the last match", () => {
    const n = annsProject();
    const remaps = n.remapArgs();
    expect(remaps.at(-1)).toBe("--remap-path-prefix=/home/ann/src/proj/target=<TARGET>");
    expect(remaps[0]).toBe("--remap-path-prefix=/tmp=<TMPDIR>");
  });
});
