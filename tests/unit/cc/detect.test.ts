// ccInvocation: which argv is a C/C++ compiler call, by basename alone.
import { describe, expect, test } from "bun:test";
import { ccCompilerName, ccInvocation } from "../../../src/cc/detect";

describe("ccCompilerName", () => {
  test.each([
    "cc",
    "c++",
    "gcc",
    "g++",
    "clang",
    "clang++",
    "gcc-12",
    "clang-16",
    "clang++-16",
    "x86_64-linux-gnu-gcc",
    "aarch64-linux-gnu-gcc-12",
    "x86_64-w64-mingw32-g++",
    "/usr/bin/gcc-12",
    "/home/u/.cache/kache/shims/cc",
  ])("%s is a C/C++ compiler", (name) => {
    expect(ccCompilerName(name)).not.toBeNull();
  });

  test.each([
    "kache",
    "rustc",
    "sccache",
    "ccache",
    "distcc",
    "cc1",
    "gcc-ar",
    "clang-tidy",
    "gccgo",
    "-c",
    "",
  ])("%s is not", (name) => {
    expect(ccCompilerName(name)).toBeNull();
  });
});

describe("ccInvocation", () => {
  test("masquerade: argv0 names the compiler and every argument is its own", () => {
    expect(ccInvocation("cc", ["-c", "x.c"])).toEqual({ name: "cc", compiler: "cc", args: ["-c", "x.c"] });
    expect(ccInvocation("/shims/c++", ["-c", "x.cc"])).toEqual({
      name: "c++",
      compiler: "c++",
      args: ["-c", "x.cc"],
    });
  });

  test("explicit: the first argument names the compiler, by name or path", () => {
    expect(ccInvocation("kache", ["cc", "-c", "x.c"])).toEqual({
      name: "cc",
      compiler: "cc",
      args: ["-c", "x.c"],
    });
    expect(ccInvocation("/opt/kache", ["/usr/bin/clang", "-c", "x.c"])).toEqual({
      name: "clang",
      compiler: "/usr/bin/clang",
      args: ["-c", "x.c"],
    });
  });

  test("rustc calls, CLI commands and bare kache are not C/C++ calls", () => {
    expect(ccInvocation("kache", ["rustc", "-vV"])).toBeNull();
    expect(ccInvocation("kache", ["stats"])).toBeNull();
    expect(ccInvocation("kache", [])).toBeNull();
    expect(ccInvocation("bun", ["/work/src/main.ts"])).toBeNull();
  });
});
