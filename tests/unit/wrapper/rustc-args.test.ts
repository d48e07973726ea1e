// The rustc argument model against argument lines cargo really passes (captured with `cargo build -v`).
import { describe, expect, test } from "bun:test";
import { parseRustcArgs, stripIncremental } from "../../../src/wrapper/rustc-args";

/** Splits a shell-quoted line the way the captured `cargo build -v` output quotes it. */
function shellSplit(line: string): string[] {
  const out: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|(\S+)/g)) out.push(match[1] ?? match[2]!);
  return out;
}

const BUILD_SCRIPT = `--crate-name build_script_build --edition=2021 core/build.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type bin --emit=dep-info,link -C embed-bitcode=no --cfg 'feature="default"' --check-cfg 'cfg(docsrs,test)' --check-cfg 'cfg(feature, values("default", "shout"))' -C metadata=581c7385dd725230 -C extra-filename=-288be2e5e625f3c1 --out-dir /w/target/debug/build/fixture_core-288be2e5e625f3c1 -C incremental=/w/target/debug/incremental -L dependency=/w/target/debug/deps`;
const PROC_MACRO = `--crate-name fixture_macros --edition=2021 macros/src/lib.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type proc-macro --emit=dep-info,link -C prefer-dynamic -C embed-bitcode=no -C debuginfo=2 --check-cfg 'cfg(docsrs,test)' --check-cfg 'cfg(feature, values())' -C metadata=e1f5e22a69614914 -C extra-filename=-13b3c67db6ca9897 --out-dir /w/target/debug/deps -C incremental=/w/target/debug/incremental -L dependency=/w/target/debug/deps --extern proc_macro`;
const LIB = `--crate-name fixture_core --edition=2021 core/src/lib.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type lib --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 --cfg 'feature="default"' --check-cfg 'cfg(docsrs,test)' -C metadata=e326be247cb4fed4 -C extra-filename=-c2bafa14c51a2fce --out-dir /w/target/debug/deps -C incremental=/w/target/debug/incremental -L dependency=/w/target/debug/deps --extern fixture_macros=/w/target/debug/deps/libfixture_macros-13b3c67db6ca9897.so -L native=/w/target/debug/build/fixture_core-93ad/out`;
const REGISTRY = `--crate-name serde --edition=2015 /usr/share/cargo/registry/serde-1.0.152/src/lib.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --cap-lints allow --crate-type lib --emit=dep-info,metadata,link -C opt-level=3 -C embed-bitcode=no --cfg 'feature="default"' --cfg 'feature="derive"' -C metadata=aa -C extra-filename=-aa --out-dir /w/target/release/deps -L dependency=/w/target/release/deps --extern serde_derive=/w/target/release/deps/libserde_derive-bb.so --cfg no_std_atomic64`;
const TEST_HARNESS = `--crate-name fixture_app --edition=2021 app/src/main.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --emit=dep-info,link -C embed-bitcode=no -C debuginfo=2 --test -C metadata=cc -C extra-filename=-cc --out-dir /w/target/debug/deps -C incremental=/w/target/debug/incremental -L dependency=/w/target/debug/deps --extern fixture_core=/w/target/debug/deps/libfixture_core-dd.rlib`;

describe("parseRustcArgs on cargo's argument lines", () => {
  test("build script: a bin with its own out-dir, incremental removed", () => {
    const args = parseRustcArgs(shellSplit(BUILD_SCRIPT));
    expect(args.passthrough).toBeNull();
    expect(args.crateName).toBe("build_script_build");
    expect(args.crateTypes).toEqual(["bin"]);
    expect(args.emit).toEqual(["dep-info", "link"]);
    expect(args.edition).toBe("2021");
    expect(args.input).toBe("core/build.rs");
    expect(args.outDir).toBe("/w/target/debug/build/fixture_core-288be2e5e625f3c1");
    expect(args.codegen).toContainEqual(["extra-filename", "-288be2e5e625f3c1"]);
    expect(args.codegen.some(([k]) => k === "incremental")).toBe(false);
    expect(args.compileArgs.join(" ")).not.toContain("incremental");
    expect(args.cfgs).toEqual(['feature="default"']);
    expect(args.otherFlags).toContain('--check-cfg=cfg(feature, values("default", "shout"))');
  });

  test("proc-macro with a sysroot extern and no path", () => {
    const args = parseRustcArgs(shellSplit(PROC_MACRO));
    expect(args.crateTypes).toEqual(["proc-macro"]);
    expect(args.externs).toEqual([{ name: "proc_macro", path: null }]);
    expect(args.codegen).toContainEqual(["prefer-dynamic", ""]);
  });

  test("lib with an extern path and a native search path", () => {
    const args = parseRustcArgs(shellSplit(LIB));
    expect(args.externs).toEqual([
      { name: "fixture_macros", path: "/w/target/debug/deps/libfixture_macros-13b3c67db6ca9897.so" },
    ]);
    expect(args.searchPaths).toEqual([
      "dependency=/w/target/debug/deps",
      "native=/w/target/debug/build/fixture_core-93ad/out",
    ]);
    expect(args.compileArgs.length).toBe(shellSplit(LIB).length - 2);
  });

  test("registry crate: cap-lints, opt-level and several cfgs", () => {
    const args = parseRustcArgs(shellSplit(REGISTRY));
    expect(args.passthrough).toBeNull();
    expect(args.otherFlags).toContain("--cap-lints=allow");
    expect(args.codegen).toContainEqual(["opt-level", "3"]);
    expect(args.cfgs).toEqual(['feature="default"', 'feature="derive"', "no_std_atomic64"]);
  });

  test("--diagnostic-width (cargo on a terminal) reaches rustc but not the key", () => {
    for (const width of ["--diagnostic-width=80", "--diagnostic-width=213"]) {
      const args = parseRustcArgs([...shellSplit(REGISTRY), width]);
      expect(args.compileArgs).toContain(width);
      expect(args.otherFlags.some((flag) => flag.startsWith("--diagnostic-width"))).toBe(false);
    }
  });

  test("test harness has no crate type but --test", () => {
    const args = parseRustcArgs(shellSplit(TEST_HARNESS));
    expect(args.isTest).toBe(true);
    expect(args.crateTypes).toEqual([]);
    expect(args.passthrough).toBeNull();
  });
});

describe("pass-through decisions", () => {
  test.each([
    [["-vV"], "no-input"],
    [["-", "--crate-name", "___", "--print=file-names", "--crate-type", "bin"], "stdin-input"],
    [["--crate-name", "a", "a.rs", "--print", "cfg"], "print"],
    [["--crate-name", "a", "a.rs", "--emit=asm"], "unsupported-emit"],
    [["--crate-name", "a", "a.rs", "--emit=link=/tmp/out"], "unsupported-emit"],
    [["--crate-name", "a", "a.rs", "--frobnicate"], "unsupported-flag"],
    [["--crate-name", "a", "a.rs", "-o", "out"], "unsupported-flag"],
    [["--crate-name", "a", "a.rs", "-Cprofile-generate=/tmp/pgo"], "profiling"],
  ])("%j passes through as %s", (argv, reason) => {
    expect(parseRustcArgs(argv).passthrough).toBe(reason as never);
  });

  test("joined short flags and --flag=value forms parse like the split ones", () => {
    const joined = parseRustcArgs([
      "--crate-name=a",
      "a.rs",
      "-Copt-level=2",
      "-Ldependency=/d",
      "--crate-type=lib",
    ]);
    const split = parseRustcArgs([
      "--crate-name",
      "a",
      "a.rs",
      "-C",
      "opt-level=2",
      "-L",
      "dependency=/d",
      "--crate-type",
      "lib",
    ]);
    expect(joined.codegen).toEqual(split.codegen);
    expect(joined.searchPaths).toEqual(split.searchPaths);
    expect(joined.crateName).toBe("a");
    expect(joined.crateTypes).toEqual(["lib"]);
  });

  test("stripIncremental removes every spelling and nothing else", () => {
    const argv = [
      "a.rs",
      "-C",
      "incremental=/x",
      "-Cincremental=/y",
      "--codegen=incremental=/z",
      "-C",
      "opt-level=1",
    ];
    expect(stripIncremental(argv)).toEqual(["a.rs", "-C", "opt-level=1"]);
  });

  test("argfiles are expanded", async () => {
    const file = `${require("node:os").tmpdir()}/kache-argfile-${process.pid}`;
    await Bun.write(file, "--crate-name\nfromfile\n--crate-type\nlib\n");
    const args = parseRustcArgs([`@${file}`, "lib.rs"]);
    expect(args.crateName).toBe("fromfile");
    expect(args.crateTypes).toEqual(["lib"]);
  });
});
