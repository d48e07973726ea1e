// parseCcArgs on real command lines (cc-rs 1.0.73, CMake, autotools/libtool) and the pass-throughs.
import { describe, expect, test } from "bun:test";
import { depFilePath, objectPath, parseCcArgs, preprocessArgs } from "../../../src/cc/cc-args";

const split = (line: string) => line.split(/\s+/).filter(Boolean);

describe("cacheable compiles", () => {
  test("cc-rs: a -sys crate's object under OUT_DIR", () => {
    const line =
      "-O0 -ffunction-sections -fdata-sections -fPIC -g -fno-omit-frame-pointer -m64 -I src -Wall -Wextra -o /t/debug/build/foo-sys-1/out/src/foo.o -c src/foo.c";
    const args = parseCcArgs(split(line), "cc");
    expect(args.passthrough).toBeNull();
    expect(args.noSource).toBe(false);
    expect(args.source).toBe("src/foo.c");
    expect(args.language).toBe("c");
    expect(args.output).toBe("/t/debug/build/foo-sys-1/out/src/foo.o");
    expect(args.depFile).toBeNull();
    expect(args.flags.map((f) => f.args.join(" "))).toEqual([
      "-O0",
      "-ffunction-sections",
      "-fdata-sections",
      "-fPIC",
      "-g",
      "-fno-omit-frame-pointer",
      "-m64",
      "-I src",
      "-Wall",
      "-Wextra",
    ]);
    expect(args.flags.find((f) => f.args[0] === "-I")?.path).toBe(true);
  });

  test("cc-rs: C++ with -std and a cross target", () => {
    const line =
      "-O2 -fPIC --target=aarch64-unknown-linux-gnu -std=c++14 -I/r/include -o /o/x.o -c /r/src/x.cpp";
    const args = parseCcArgs(split(line), "c++");
    expect(args.passthrough).toBeNull();
    expect(args.language).toBe("c++");
    expect(args.target).toBe("aarch64-unknown-linux-gnu");
  });

  test("CMake: -MD -MT -MF with the object in CMakeFiles", () => {
    const line =
      "-DFOO -I/x/include -O2 -g -DNDEBUG -fPIC -MD -MT CMakeFiles/x.dir/a.c.o -MF CMakeFiles/x.dir/a.c.o.d -o CMakeFiles/x.dir/a.c.o -c /src/a.c";
    const args = parseCcArgs(split(line), "/usr/bin/cc");
    expect(args.passthrough).toBeNull();
    expect(args.source).toBe("/src/a.c");
    expect(args.depFile).toEqual({
      mode: "-MD",
      file: "CMakeFiles/x.dir/a.c.o.d",
      shaping: ["-MT", "CMakeFiles/x.dir/a.c.o"],
    });
    expect(depFilePath(args)).toBe("CMakeFiles/x.dir/a.c.o.d");
    expect(args.flags.map((f) => f.args.join(" "))).toEqual([
      "-DFOO",
      "-I/x/include",
      "-O2",
      "-g",
      "-DNDEBUG",
      "-fPIC",
    ]);
  });

  test("autotools/libtool: flags after the source, -MP, -o .libs/a.o", () => {
    const line =
      "-DHAVE_CONFIG_H -I. -g -O2 -MT a.lo -MD -MP -MF .deps/a.Tpo -c a.c  -fPIC -DPIC -o .libs/a.o";
    const args = parseCcArgs(split(line), "gcc");
    expect(args.passthrough).toBeNull();
    expect(args.output).toBe(".libs/a.o");
    expect(args.depFile).toEqual({ mode: "-MD", file: ".deps/a.Tpo", shaping: ["-MT", "a.lo", "-MP"] });
    expect(args.flags.map((f) => f.args.join(" "))).toEqual([
      "-DHAVE_CONFIG_H",
      "-I.",
      "-g",
      "-O2",
      "-fPIC",
      "-DPIC",
    ]);
  });

  test("defaults: <stem>.o in the cwd, and the dep file beside the object", () => {
    const bare = parseCcArgs(["-c", "src/lib.c", "-MMD"], "gcc");
    expect(objectPath(bare)).toBe("lib.o");
    expect(depFilePath(bare)).toBe("lib.d");
    const named = parseCcArgs(["-c", "a.c", "-MD", "-oout/a.c.o"], "gcc");
    expect(objectPath(named)).toBe("out/a.c.o");
    expect(depFilePath(named)).toBe("out/a.c.d");
  });

  test("-x c++ makes a .c file C++, and a C++ driver compiles .c as C++", () => {
    expect(parseCcArgs(["-x", "c++", "-c", "a.c"], "gcc").language).toBe("c++");
    expect(parseCcArgs(["-c", "a.c"], "g++").language).toBe("c++");
    expect(parseCcArgs(["-c", "a.c"], "clang++-16").language).toBe("c++");
    expect(parseCcArgs(["-xc", "-c", "a.inc"], "cc").language).toBe("c");
  });

  test("the user's prefix maps are recorded", () => {
    const args = parseCcArgs(["-ffile-prefix-map=/src=.", "-c", "a.c"], "cc");
    expect(args.passthrough).toBeNull();
    expect(args.userPrefixMap).toBe(true);
  });
});

describe("pass-throughs", () => {
  test.each([
    ["-E a.c", "preprocess-only", "-E"],
    ["-S a.c", "assembly-output", "-S"],
    ["-M a.c", "deps-only", "-M"],
    ["-MM a.c", "deps-only", "-MM"],
    ["-c a.c b.c", "multiple-sources", undefined],
    ["-c start.S", "assembly-source", "start.S"],
    ["-c crt.s", "assembly-source", "crt.s"],
    ["-x c-header -c all.h", "precompiled-header", "-x c-header"],
    ["-c all.h", "precompiled-header", "all.h"],
    ["-include-pch all.pch -c a.c", "precompiled-header", "-include-pch"],
    ["-fprofile-generate -c a.c", "profiling", "-fprofile-generate"],
    ["-fprofile-use=x.profdata -c a.c", "profiling", "-fprofile-use=x.profdata"],
    ["--coverage -c a.c", "coverage", "--coverage"],
    ["-ftest-coverage -c a.c", "coverage", "-ftest-coverage"],
    ["-save-temps -c a.c", "save-temps", "-save-temps"],
    ["@args.rsp", "response-file", "@args.rsp"],
    ["-c a.c -o -", "stdout-output", undefined],
    ["a.c -o prog", "compile-and-link", undefined],
    ["-c obj.m", "unsupported-language", "obj.m"],
    ["-c - -o x.o", "stdin-input", undefined],
    ["-Wa,--noexecstack -c a.c", "unsupported-flag", "-Wa,--noexecstack"],
    ["-Wl,-O1 -c a.c", "unsupported-flag", "-Wl,-O1"],
    ["-Wp,-MD,x.d -c a.c", "unsupported-flag", "-Wp,-MD,x.d"],
    ["-gsplit-dwarf -c a.c", "unsupported-flag", "-gsplit-dwarf"],
    ["-fplugin=x.so -c a.c", "unsupported-flag", "-fplugin=x.so"],
    ["-fdump-tree-all -c a.c", "unsupported-flag", "-fdump-tree-all"],
    ["-fsanitize-coverage=trace-pc -c a.c", "unsupported-flag", "-fsanitize-coverage=trace-pc"],
    ["-Xclang -load -c a.c", "unsupported-flag", "-Xclang"],
    ["-L/x -c a.c", "unsupported-flag", "-L/x"],
  ])("%s → %s", (line, reason, detail) => {
    const args = parseCcArgs(split(line), "cc");
    expect(args.passthrough).toBe(reason as never);
    expect(args.passthroughDetail).toBe(detail as never);
  });

  test.each([
    "--version",
    "-dumpmachine",
    "-v",
    "-print-search-dirs",
    "a.o b.o -o prog -lm",
    "-shared -o libx.so a.o",
    "",
  ])("no source at all (%s): no event", (line) => {
    expect(parseCcArgs(split(line), "cc").noSource).toBe(true);
  });
});

test("the -E run drops -c, -o and the dep file flags, and keeps the rest in order", () => {
  const line =
    "-DHAVE_CONFIG_H -I. -g -MT a.lo -MD -MP -MF .deps/a.Tpo -c a.c -fPIC -o .libs/a.o -MQ x -oy.o";
  expect(preprocessArgs(split(line))).toEqual(["-DHAVE_CONFIG_H", "-I.", "-g", "a.c", "-fPIC"]);
});
