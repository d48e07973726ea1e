// The linker's input list: parsed from GNU ld/lld/mold dependency files and ld64's -dependency_info,
// with the compile's own products (its objects, rustc's temp files, the incremental cache) left out.
import { describe, expect, test } from "bun:test";
import {
  candidateStyles,
  externalLinkInputs,
  linkListArgs,
  parseDependencyFile,
  parseDependencyInfo,
} from "../../../src/wrapper/link-inputs";
import { linkerChoiceFlags } from "../../../src/wrapper/link-probe";
import { linksWithLto } from "../../../src/wrapper/output-files";
import { parseRustcArgs } from "../../../src/wrapper/rustc-args";

// The shape lld writes (checked here with rustc 1.95's rust-lld): one rule, then a phony rule per input.
const LLD = `/w/target/debug/deps/app-1a2b: \\
  /usr/lib/x86_64-linux-gnu/Scrt1.o \\
  /w/target/debug/deps/rustcAbC123/symbols.o \\
  /w/target/debug/deps/app-1a2b.app.9f8e-cgu.0.rcgu.o \\
  /w/target/debug/deps/libmid-77.rlib \\
  /w/target/debug/deps/libsys-88.rlib \\
  /w/target/debug/incremental/app-3c/s-abc/xyz.o \\
  /w/target/debug/build/app-99/out/extra\\ file.o \\
  /lib/x86_64-linux-gnu/libc.so.6

/usr/lib/x86_64-linux-gnu/Scrt1.o:

/w/target/debug/deps/libmid-77.rlib:
`;

describe("dependency files", () => {
  test("the first rule's prerequisites, with escaped spaces and continuation lines", () => {
    expect(parseDependencyFile(LLD)).toEqual([
      "/usr/lib/x86_64-linux-gnu/Scrt1.o",
      "/w/target/debug/deps/rustcAbC123/symbols.o",
      "/w/target/debug/deps/app-1a2b.app.9f8e-cgu.0.rcgu.o",
      "/w/target/debug/deps/libmid-77.rlib",
      "/w/target/debug/deps/libsys-88.rlib",
      "/w/target/debug/incremental/app-3c/s-abc/xyz.o",
      "/w/target/debug/build/app-99/out/extra file.o",
      "/lib/x86_64-linux-gnu/libc.so.6",
    ]);
  });

  test("ld64's -dependency_info: opcode 0x10 records are the inputs", () => {
    const record = (opcode: number, text: string) => [opcode, ...Buffer.from(text), 0];
    const data = new Uint8Array([
      ...record(0x00, "ld64-951.9"),
      ...record(0x10, "/w/target/debug/deps/libmid-77.rlib"),
      ...record(0x11, "/usr/lib/libmissing.dylib"),
      ...record(0x10, "/usr/lib/libSystem.tbd"),
      ...record(0x40, "/w/target/debug/deps/app-1a2b"),
    ]);
    expect(parseDependencyInfo(data)).toEqual([
      "/w/target/debug/deps/libmid-77.rlib",
      "/usr/lib/libSystem.tbd",
    ]);
  });

  test("the compile's own objects, rustc's temp dir and the incremental cache are not inputs", () => {
    const args = parseRustcArgs([
      "--crate-name",
      "app",
      "app/src/main.rs",
      "--crate-type",
      "bin",
      "-C",
      "extra-filename=-1a2b",
      "--out-dir",
      "/w/target/debug/deps",
      "-C",
      "incremental=/w/target/debug/incremental",
    ]);
    expect(args.incrementalDir).toBe("/w/target/debug/incremental");
    expect(externalLinkInputs(parseDependencyFile(LLD), args, "/w", "/w/target/debug/deps")).toEqual([
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/usr/lib/x86_64-linux-gnu/Scrt1.o",
      "/w/target/debug/build/app-99/out/extra file.o",
      "/w/target/debug/deps/libmid-77.rlib",
      "/w/target/debug/deps/libsys-88.rlib",
    ]);
  });
});

describe("asking the linker for its list", () => {
  test("GNU-style linkers first on Linux, ld64 on Apple targets; each through cc or directly", () => {
    expect(candidateStyles("x86_64-unknown-linux-gnu")).toEqual(["gnu-cc", "gnu"]);
    expect(candidateStyles("aarch64-apple-darwin")).toEqual(["ld64-cc", "ld64"]);
    expect(linkListArgs("gnu-cc", "/t/l.d")).toEqual(["-C", "link-arg=-Wl,--dependency-file=/t/l.d"]);
    expect(linkListArgs("gnu", "/t/l.d")).toEqual(["-C", "link-arg=--dependency-file=/t/l.d"]);
    expect(linkListArgs("ld64-cc", "/t/l.d")).toEqual(["-C", "link-arg=-Wl,-dependency_info,/t/l.d"]);
    expect(linkListArgs("none", "/t/l.d")).toEqual([]);
  });

  test("the probe uses the flags that choose the linker, and only those", () => {
    const args = parseRustcArgs([
      "--crate-name",
      "app",
      "src/main.rs",
      "--crate-type",
      "bin",
      "--target",
      "x86_64-unknown-linux-gnu",
      "-C",
      "linker=clang",
      "-C",
      "link-arg=-fuse-ld=mold",
      "-C",
      "link-arg=/w/target/debug/build/app-99/out/extra.o",
      "-C",
      "opt-level=3",
      "-Z",
      "linker-features=+lld",
    ]);
    expect(linkerChoiceFlags(args)).toEqual([
      "--target",
      "x86_64-unknown-linux-gnu",
      "-C",
      "linker=clang",
      "-C",
      "link-arg=-fuse-ld=mold",
      "-Zlinker-features=+lld",
    ]);
  });
});

describe("links under LTO, whose inputs no linker lists", () => {
  const linkWith = (...codegen: string[]) =>
    linksWithLto(
      parseRustcArgs([
        "--crate-name",
        "app",
        "--crate-type",
        "bin",
        ...codegen.flatMap((value) => ["-C", value]),
        "src/main.rs",
      ]),
    );

  test("cargo's lto = true, fat and thin are LTO; the last -C lto wins", () => {
    expect(linkWith("lto")).toBe(true);
    expect(linkWith("lto=fat")).toBe(true);
    expect(linkWith("lto=thin")).toBe(true);
    expect(linkWith("lto=yes")).toBe(true);
    expect(linkWith("lto=off", "lto=thin")).toBe(true);
  });

  test("no -C lto, or one that turns it off, is not", () => {
    expect(linkWith()).toBe(false);
    expect(linkWith("lto=off")).toBe(false);
    expect(linkWith("lto=no")).toBe(false);
    expect(linkWith("lto=false")).toBe(false);
    expect(linkWith("lto=n")).toBe(false);
    expect(linkWith("lto", "lto=off")).toBe(false);
  });
});
